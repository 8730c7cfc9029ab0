import Ranking

/// Turns raw feature values into a `ScoreRequest`'s rows with the model's `FeatureEncoder` (the trainer's code):
/// the shared row once, then one item row per candidate. Both request formats (`/v1/score` and the Open Inference
/// Protocol) decode into `values` and build through here, so the same values give the same rows.
struct ScoreRequestBuilder {
    let model: ServableModel
    /// Every value by field index: the shared ones for the request, the item ones refilled per candidate.
    var values: [FeatureValue?]
    private var sharedIndices: [Int32]
    private var sharedWeights: [Float]
    private var itemIndices: [Int32]
    private var itemWeights: [Float]
    private var ids: [String] = []
    private var prices: [Double?] = []

    init(model: ServableModel, candidateCount: Int) {
        self.model = model
        let layout = model.encoder.layout
        values = [FeatureValue?](repeating: nil, count: model.encoder.spec.fields.count)
        sharedIndices = [Int32](repeating: 0, count: layout.shared.slotCount)
        sharedWeights = [Float](repeating: 0, count: layout.shared.slotCount)
        itemIndices = [Int32](repeating: 0, count: candidateCount * layout.item.slotCount)
        itemWeights = [Float](repeating: 0, count: candidateCount * layout.item.slotCount)
        ids.reserveCapacity(candidateCount)
        if model.priceField != nil { prices.reserveCapacity(candidateCount) }
    }

    mutating func clearItemValues() {
        for field in model.encoder.layout.item.fields { values[field] = nil }
    }

    /// Encodes the user and context values; call once, before the candidates.
    mutating func encodeShared() throws(ScoringError) {
        let values = self.values
        do {
            try model.encoder.encode(block: .shared, indices: &sharedIndices, weights: &sharedWeights) {
                values[$0] ?? .missing
            }
        } catch {
            throw .invalidFeature(error)
        }
    }

    /// Encodes the item values as the next candidate's row.
    mutating func appendCandidate(id: String) throws(ScoringError) {
        let position = ids.count
        let slots = model.encoder.layout.item.slotCount
        let encoder = model.encoder
        let values = self.values
        do {
            try itemIndices.withUnsafeMutableBufferPointer { indices throws(FeatureEncodingError) in
                try itemWeights.withUnsafeMutableBufferPointer { weights throws(FeatureEncodingError) in
                    try encoder.encode(
                        block: .item, indices: indices.baseAddress! + position * slots,
                        weights: weights.baseAddress! + position * slots
                    ) { values[$0] ?? .missing }
                }
            }
        } catch {
            throw .invalidFeature(error, candidate: position)
        }
        ids.append(id)
        if let field = model.priceField {
            switch values[field] {
            case .int(let value): prices.append(Double(value))
            case .double(let value): prices.append(value)
            default: prices.append(nil)
            }
        }
    }

    func build(topK: Int?, deadlineMilliseconds: Int?) -> ScoreRequest {
        ScoreRequest(
            model: model, candidateIDs: ids, sharedIndices: sharedIndices, sharedWeights: sharedWeights,
            itemIndices: itemIndices, itemWeights: itemWeights, prices: prices, topK: topK,
            deadlineMilliseconds: deadlineMilliseconds)
    }
}

extension FeatureEncoder {
    /// The index of the field a client may send under `name`: a field of the model other than a cross (crosses
    /// are computed from their components) or a privileged one (never served).
    func servingField(named name: String) -> Int? {
        guard let field = field(named: name) else { return nil }
        if case .cross = spec.fields[field].kind { return nil }
        return spec.fields[field].group == .privileged ? nil : field
    }
}
