import FoundationEssentials
import Ranking

/// What the report says about the model, the data and the configuration, as label–value pairs (and the
/// configuration as JSON), gathered from a training state or a checkpoint header.
public struct ReportMetadata: Sendable {
    /// A one-line description for the page title, e.g. "esdc (delay: model)".
    public var title: String
    public var model: [(label: String, value: String)] = []
    public var data: [(label: String, value: String)] = []
    /// The configuration the model was trained with (or, for a checkpoint, its network), pretty-printed JSON.
    public var configuration: String?

    public init(title: String) { self.title = title }

    /// From a trainer (a training state, or the run that just finished).
    public init(trainer: Trainer) {
        let losses = trainer.configuration.losses
        title = "\(losses.model.rawValue) (delay: \(losses.delay.rawValue))"
        let serving = trainer.schema.servingFeatures.fields
        model = [
            ("model", losses.model.rawValue), ("delay handling", losses.delay.rawValue),
            ("bottom", trainer.configuration.network.architecture.rawValue),
            ("serving fields", "\(serving.count): " + serving.map(\.name).joined(separator: ", ")),
            (
                "privileged fields",
                trainer.schema.features.fields.filter { $0.group == .privileged }.map(\.name).joined(separator: ", ")
            ),
            ("steps", "\(trainer.steps)"), ("rows trained", "\(trainer.rowsSeen)"),
            ("seed", "\(trainer.configuration.seed)"),
        ]
        if let calibration = trainer.calibration {
            model.append(
                (
                    "calibration",
                    "\(trainer.configuration.calibration.method.rawValue): CTR logit · "
                        + String.fixed(calibration.ctrSlope, digits: 3) + " + "
                        + String.fixed(calibration.ctrOffset, digits: 3) + ", CVR logit · "
                        + String.fixed(calibration.cvrSlope, digits: 3) + " + "
                        + String.fixed(calibration.cvrOffset, digits: 3)
                        + (calibration.ctrNetworkOffset.map { offset in
                            ", separate CTR network's logit · "
                                + String.fixed(calibration.ctrNetworkSlope ?? 1, digits: 3) + " + "
                                + String.fixed(offset, digits: 3)
                        } ?? "") + " (fitted on \(calibration.rows) rows)"
                ))
        }
        configuration = Self.prettyJSON(trainer.configuration)
    }

    /// From a serving checkpoint's header.
    public init(checkpoint header: CheckpointHeader, path: String) {
        title = "\(header.model.name) v\(header.model.version)"
        let training = header.training
        model = [
            ("checkpoint", path), ("model", "\(header.model.name) version \(header.model.version)"),
            ("bottom", header.network.architecture.rawValue),
            (
                "serving fields",
                "\(header.features.fields.count): " + header.features.fields.map(\.name).joined(separator: ", ")
            ),
            ("producer", training.producer),
        ]
        if let createdAt = training.createdAt { model.append(("created", createdAt)) }
        if let seed = training.seed { model.append(("seed", "\(seed)")) }
        if let dataset = training.dataset { model.append(("trained on", dataset)) }
        if let rows = training.rows { model.append(("rows trained", "\(rows)")) }
        configuration = Self.prettyJSON(header.network)
    }

    static func prettyJSON(_ value: some Encodable) -> String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }
}
