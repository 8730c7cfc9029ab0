import Foundation
import HTTP2
import InferenceMessages
import Ranking
import SwiftProtobuf
import Synchronization

/// The Open Inference Protocol's gRPC service (`inference.GRPCInferenceService`) and gRPC health
/// (`grpc.health.v1.Health`, what Kubernetes' `grpc:` probes call) on the daemon's HTTP/2 port. ModelInfer goes
/// through the same decode pool, batcher, limits and drain as `/v1/score` (`ScoringService.score`); the other
/// methods are answered here, at once.
extension ScoringService {
    func answerGRPC(_ request: HTTPRequest, route: Route) -> HTTPResponse {
        guard GRPC.isGRPC(request.header("content-type")) else {
            return ScoringError.unsupportedMediaType(request.header("content-type") ?? "none").response
        }
        let method = request.path.split(separator: "/").last.map(String.init) ?? ""
        do throws(ScoringError) {
            switch (route, method) {
            case (.grpcInferenceService, "ServerLive"):
                _ = try GRPC.decode(Inference_ServerLiveRequest.self, from: request.body)
                return GRPC.response(Inference_ServerLiveResponse.with { $0.live = true })
            case (.grpcInferenceService, "ServerReady"):
                _ = try GRPC.decode(Inference_ServerReadyRequest.self, from: request.body)
                return GRPC.response(Inference_ServerReadyResponse.with { $0.ready = isReady })
            case (.grpcInferenceService, "ModelReady"):
                let asked = try GRPC.decode(Inference_ModelReadyRequest.self, from: request.body)
                let model = try? servedModel(at: Self.address(asked.name, asked.version))
                let ready = model != nil && !draining.load(ordering: .relaxed)
                return GRPC.response(Inference_ModelReadyResponse.with { $0.ready = ready })
            case (.grpcInferenceService, "ServerMetadata"):
                _ = try GRPC.decode(Inference_ServerMetadataRequest.self, from: request.body)
                return GRPC.response(
                    Inference_ServerMetadataResponse.with {
                        $0.name = InferenceProtocol.serverName
                        $0.version = serverVersion
                    })
            case (.grpcInferenceService, "ModelMetadata"):
                let asked = try GRPC.decode(Inference_ModelMetadataRequest.self, from: request.body)
                let model = try servedModel(at: Self.address(asked.name, asked.version))
                return GRPC.response(InferenceProtocol.grpcModelMetadata(model))
            case (.grpcHealth, "Check"):
                let asked = try GRPC.decode(Grpc_Health_V1_HealthCheckRequest.self, from: request.body)
                // The server as a whole (""), the inference service, or the served model by name.
                guard ["", "inference.GRPCInferenceService", store.current?.name].contains(asked.service) else {
                    return GRPC.failure(.notFound, message: "unknown service '\(asked.service)'")
                }
                return GRPC.response(
                    Grpc_Health_V1_HealthCheckResponse.with { $0.status = isReady ? .serving : .notServing })
            default:
                return GRPC.failure(.unimplemented, message: "\(request.path) is not implemented")
            }
        } catch {
            return GRPC.failure(error)
        }
    }

    private static func address(_ name: String, _ version: String) -> ModelAddress {
        ModelAddress(name: name, version: version.isEmpty ? nil : version, action: .metadata)
    }
}

extension InferenceProtocol {
    static func grpcModelMetadata(_ model: ServableModel) -> Inference_ModelMetadataResponse {
        func tensors(_ list: [TensorMetadata]) -> [Inference_ModelMetadataResponse.TensorMetadata] {
            list.map { tensor in
                .with {
                    $0.name = tensor.name
                    $0.datatype = tensor.datatype
                    $0.shape = tensor.shape.map(Int64.init)
                }
            }
        }
        return .with {
            $0.name = model.name
            $0.versions = [String(model.version)]
            $0.platform = platform
            $0.inputs = tensors(inputs(of: model))
            $0.outputs = tensors(outputs)
        }
    }

    /// The outputs as raw little-endian tensors (`raw_output_contents`), which every client reads.
    static func grpcInferResponse(_ response: ScoreResponse, request: InferRequest) -> Inference_ModelInferResponse {
        let results = response.results
        var message = Inference_ModelInferResponse()
        message.modelName = response.model.name
        message.modelVersion = String(response.model.version)
        message.id = request.id ?? ""
        for output in request.selectedOutputs {
            message.outputs.append(
                .with {
                    $0.name = output.rawValue
                    $0.datatype = output.datatype
                    $0.shape = [Int64(results.count)]
                })
            var raw = Data(capacity: results.count * 8)
            for result in results {
                switch output {
                case .pctr: raw.appendLittleEndian(result.prediction.ctr.bitPattern)
                case .pcvr: raw.appendLittleEndian(result.prediction.cvr.bitPattern)
                case .pctcvr: raw.appendLittleEndian(result.prediction.ctcvr.bitPattern)
                case .score: raw.appendLittleEndian(Float(result.score).bitPattern)
                case .candidateIndex: raw.appendLittleEndian(UInt64(bitPattern: Int64(Int(result.id) ?? -1)))
                }
            }
            message.rawOutputContents.append(raw)
        }
        return message
    }
}

extension Data {
    fileprivate mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
