import Ranking

/// The human-readable description `funnel-train checkpoint inspect` prints.
struct CheckpointReport {
    let checkpoint: Checkpoint
    let path: String

    var text: String {
        let header = checkpoint.header
        let shape = checkpoint.shape
        let layout = shape.layout
        var lines: [String] = []
        lines.append("checkpoint  \(path) (\(checkpoint.byteCount) bytes, format v1, checksums OK)")
        lines.append("model       \(header.model.name) version \(header.model.version)")
        var made = "made by     \(header.training.producer)"
        if let seed = header.training.seed { made += ", seed \(seed)" }
        if let created = header.training.createdAt { made += ", \(created)" }
        lines.append(made)
        if let dataset = header.training.dataset { lines.append("dataset     \(dataset)") }
        for (key, value) in header.training.metrics.sorted(by: { $0.key < $1.key }) {
            lines.append("metric      \(key) = \(value)")
        }
        let score = header.score
        var formula = "pCTR^\(score.ctrExponent) · pCVR^\(score.cvrExponent)"
        if let price = score.priceField { formula += " · \(price)^\(score.priceExponent)" }
        lines.append("score       \(formula)")
        lines.append("network     \(describe(header.network))")
        if let ctrNetwork = header.ctrNetwork {
            lines.append(
                "ctr network \(describe(ctrNetwork)), serving pCTR; pCVR = min(1, the student's pCTCVR / pCTR)")
        }
        // Both networks' costs (the CTR network's counts its CVR-only parts, which the kernel skips).
        let shapes = [shape] + (checkpoint.ctrNetworkShape.map { [$0] } ?? [])
        let multiplyAdds = shapes.reduce(0) { $0 + $1.multiplyAddsPerRow }
        let shared = shapes.reduce(0) { $0 + $1.multiplyAddsPerRowSharingUserSide }
        lines.append(
            "input       \(layout.servingWidth) columns: \(layout.shared.width) shared (user, context, once per request)"
                + " + \(layout.item.width) item (per candidate)")
        lines.append(
            "cost        \(2 * multiplyAdds) FLOP per candidate; \(2 * shared) with user-side sharing"
                + "; \(shapes.reduce(0) { $0 + $1.parameterCount }) parameters")
        lines.append("")
        lines.append("features (hash seed \(header.features.hashSeed))")
        lines.append(row(["name", "group", "kind", "dim", "missing", "unknown"]))
        for field in header.features.fields {
            lines.append(
                row([
                    field.name, field.group.rawValue, describe(field.kind), "\(field.dimension)",
                    field.missing.rawValue, field.unknown.rawValue,
                ]))
        }
        lines.append("")
        lines.append("tensors (\(checkpoint.tensors.count))")
        lines.append(row(["name", "shape", "offset", "bytes", "crc32c"], widths: [40, 14, 12, 12, 10]))
        for tensor in checkpoint.tensors {
            lines.append(
                row(
                    [
                        tensor.name, tensor.shape.map(String.init).joined(separator: "×"), "\(tensor.offset)",
                        "\(tensor.byteLength)", hex(tensor.crc32c),
                    ], widths: [40, 14, 12, 12, 10]))
        }
        return lines.joined(separator: "\n")
    }

    private func describe(_ network: NetworkSpec) -> String {
        let experts = network.expertLayers.map(String.init).joined(separator: "→")
        let towers = (network.towerLayers + [1]).map(String.init).joined(separator: "→")
        switch network.architecture {
        case .sharedBottom: return "shared bottom \(experts); towers \(towers)"
        case .mmoe: return "MMoE, \(network.sharedExperts) experts \(experts); towers \(towers)"
        case .ple:
            return "PLE, \(network.levels) level(s), \(network.sharedExperts) shared + \(network.specificExperts)"
                + " per-task experts \(experts); towers \(towers)"
        }
    }

    private func describe(_ kind: FeatureKind) -> String {
        switch kind {
        case .categorical(let buckets): "categorical, \(buckets) buckets"
        case .multiCategorical(let buckets, let pooling, let maxValues):
            "multi-categorical, \(buckets) buckets, \(pooling.rawValue) of ≤\(maxValues)"
        case .cross(let components, let buckets): "cross of \(components.joined(separator: " × ")), \(buckets) buckets"
        case .numeric(.identity): "numeric"
        case .numeric(.log1p): "numeric, log1p"
        case .numeric(.standardize(let mean, let std)): "numeric, (x − \(mean)) / \(std)"
        case .numeric(.bucketize(let boundaries)): "numeric, \(boundaries.count + 1) buckets"
        }
    }

    private func row(_ cells: [String], widths: [Int] = [24, 12, 46, 5, 9, 8]) -> String {
        zip(cells, widths).map { cell, width in
            cell.count >= width ? cell + " " : cell + String(repeating: " ", count: width - cell.count)
        }.joined().trimmingTrailingSpaces()
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
