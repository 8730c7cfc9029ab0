import Foundation
import InferenceMessages

/// The gRPC front of `InferRequestDecoder`: a `ModelInfer` message, its tensors given either as typed `contents`
/// or as `raw_input_contents` (little-endian values; BYTES as a 4-byte length before each element), which
/// tritonclient sends. Both become the same `InferTensor`s as a JSON body, and go through the same checks.
extension InferRequestDecoder {
    func decode(_ message: Inference_ModelInferRequest, model: ServableModel, deadlineMilliseconds: Int?)
        throws(ScoringError) -> InferRequest
    {
        var parts = Parts()
        parts.id = message.id.isEmpty ? nil : message.id
        parts.modelName = message.modelName
        parts.modelVersion = message.modelVersion
        parts.parameters = try Self.parameters(message.parameters)
        if !message.outputs.isEmpty {
            parts.outputs = try message.outputs.map { output throws(ScoringError) in
                (output.name, try Self.parameters(output.parameters))
            }
        }
        let raw = message.rawInputContents
        guard raw.isEmpty || raw.count == message.inputs.count else {
            throw .invalidRequest("raw_input_contents has \(raw.count) entries for \(message.inputs.count) inputs")
        }
        for (index, input) in message.inputs.enumerated() {
            var shape: [Int] = []
            for size in input.shape {
                guard size >= 0, size <= 1 << 24 else {
                    throw .invalidRequest("input '\(input.name)': the shape's sizes must be in 0...16777216")
                }
                shape.append(Int(size))
            }
            if let key = input.parameters.keys.sorted().first {
                throw .invalidRequest("input '\(input.name)': parameter '\(key)' is not supported")
            }
            let elements =
                raw.isEmpty
                ? try Self.values(of: input.contents, datatype: input.datatype, name: input.name)
                : try Self.values(raw: raw[index], datatype: input.datatype, shape: shape, name: input.name)
            parts.tensors.append(
                try InferTensor(name: input.name, shape: shape, datatype: input.datatype, elements: elements))
        }
        return try assemble(parts, model: model, deadlineMilliseconds: deadlineMilliseconds)
    }

    /// Parameters as the JSON form has them, in name order.
    private static func parameters(_ map: [String: Inference_InferParameter]) throws(ScoringError)
        -> [(key: String, value: JSONValue)]
    {
        try map.keys.sorted().map { key throws(ScoringError) in
            switch map[key]?.parameterChoice {
            case .boolParam(let value)?: return (key, .bool(value))
            case .int64Param(let value)?: return (key, .int(value))
            case .stringParam(let value)?: return (key, .string(value))
            case .doubleParam(let value)?: return (key, .double(value))
            case .uint64Param(let value)?:
                guard let value = Int64(exactly: value) else {
                    throw .invalidRequest("parameter '\(key)' is too large")
                }
                return (key, .int(value))
            case nil: throw .invalidRequest("parameter '\(key)' has no value")
            }
        }
    }

    /// The typed field that `datatype` uses.
    private static func values(of contents: Inference_InferTensorContents, datatype: String, name: String)
        throws(ScoringError) -> [JSONValue]
    {
        switch datatype {
        case "BYTES": return contents.bytesContents.map { .string(String(decoding: $0, as: UTF8.self)) }
        case "INT64": return contents.int64Contents.map { .int($0) }
        case "INT32", "INT16", "INT8": return contents.intContents.map { .int(Int64($0)) }
        case "UINT32", "UINT16", "UINT8": return contents.uintContents.map { .int(Int64($0)) }
        case "UINT64":
            return try contents.uint64Contents.map { value throws(ScoringError) in
                guard let value = Int64(exactly: value) else {
                    throw .invalidRequest("input '\(name)': \(value) is too large")
                }
                return .int(value)
            }
        case "FP32": return contents.fp32Contents.map { .double(Double($0)) }
        case "FP64": return contents.fp64Contents.map { .double($0) }
        case "BOOL": return contents.boolContents.map { .bool($0) }
        default: throw .invalidRequest("input '\(name)': datatype \(datatype) is not supported")
        }
    }

    /// Little-endian values of `datatype`; their count is checked against the shape before any is made.
    private static func values(raw: Data, datatype: String, shape: [Int], name: String) throws(ScoringError)
        -> [JSONValue]
    {
        let bytes = [UInt8](raw)
        var expected = 1
        var overflow = false
        for size in shape where !overflow { (expected, overflow) = expected.multipliedReportingOverflow(by: size) }
        if datatype == "BYTES" { return try strings(bytes, expected: overflow ? -1 : expected, name: name) }
        let width: Int
        switch datatype {
        case "INT64", "UINT64", "FP64": width = 8
        case "INT32", "UINT32", "FP32": width = 4
        case "INT16", "UINT16": width = 2
        case "INT8", "UINT8", "BOOL": width = 1
        default: throw .invalidRequest("input '\(name)': datatype \(datatype) is not supported")
        }
        guard !overflow, bytes.count == expected * width else {
            throw .invalidRequest(
                "input '\(name)': shape \(shape) needs \(overflow ? "too many" : String(expected * width)) bytes of "
                    + "\(datatype), raw_input_contents has \(bytes.count)")
        }
        var values: [JSONValue] = []
        values.reserveCapacity(expected)
        for start in stride(from: 0, to: bytes.count, by: width) {
            var bits: UInt64 = 0
            for offset in (0..<width).reversed() { bits = bits << 8 | UInt64(bytes[start + offset]) }
            switch datatype {
            case "FP64": values.append(.double(Double(bitPattern: bits)))
            case "FP32": values.append(.double(Double(Float(bitPattern: UInt32(bits)))))
            case "INT64": values.append(.int(Int64(bitPattern: bits)))
            case "INT32": values.append(.int(Int64(Int32(bitPattern: UInt32(bits)))))
            case "INT16": values.append(.int(Int64(Int16(bitPattern: UInt16(bits)))))
            case "INT8": values.append(.int(Int64(Int8(bitPattern: UInt8(bits)))))
            case "BOOL": values.append(.bool(bits != 0))
            default:  // unsigned
                guard let value = Int64(exactly: bits) else {
                    throw .invalidRequest("input '\(name)': \(bits) is too large")
                }
                values.append(.int(value))
            }
        }
        return values
    }

    /// BYTES elements: a 4-byte little-endian length, then that many bytes, `expected` times (-1: the shape
    /// overflowed, which the count check then reports).
    private static func strings(_ bytes: [UInt8], expected: Int, name: String) throws(ScoringError) -> [JSONValue] {
        var values: [JSONValue] = []
        var position = 0
        while position < bytes.count {
            guard position + 4 <= bytes.count else {
                throw .invalidRequest("input '\(name)': raw BYTES end inside an element's length")
            }
            let length = (0..<4).reduce(0) { $0 | Int(bytes[position + $1]) << (8 * $1) }
            position += 4
            guard length <= bytes.count - position else {
                throw .invalidRequest("input '\(name)': a raw BYTES element runs past the end of its tensor")
            }
            values.append(.string(String(decoding: bytes[position..<position + length], as: UTF8.self)))
            position += length
            guard expected < 0 || values.count <= expected else { break }  // the count check reports it
        }
        return values
    }
}
