/// Every buffer one batch needs, allocated once for `maxRows` candidates and `maxRequests` requests, then
/// reused: running a batch allocates nothing. One workspace per worker thread; it belongs to the
/// `InferenceNetwork` that made it.
///
/// A batch is a sequence of requests; each request contributes one shared row (its user and context
/// fields) and a contiguous run of item rows (its candidates).
public final class InferenceWorkspace {
    public struct Request: Sendable {
        public let sharedRow: Int
        public let firstRow: Int
        public let rowCount: Int
    }

    /// Where to write one request's encoded slots (see `FeatureEncoder`).
    public struct RequestSlots {
        public let request: Request
        public let sharedIndices: UnsafeMutablePointer<Int32>
        public let sharedWeights: UnsafeMutablePointer<Float>
        /// Row r of the request starts at `itemIndices + r * itemSlotCount` (likewise weights).
        public let itemIndices: UnsafeMutablePointer<Int32>
        public let itemWeights: UnsafeMutablePointer<Float>
        public let itemSlotCount: Int
    }

    public let maxRows: Int
    public let maxRequests: Int
    public private(set) var requests: [Request]
    public private(set) var rowCount = 0

    let owner: ObjectIdentifier
    let layout: InputLayout
    /// The batch's encoded slots; a separate CTR network's workspace reads its student workspace's.
    private let slots: EncodedSlots
    var sharedIndices: UnsafeMutablePointer<Int32> { slots.sharedIndices }
    var sharedWeights: AlignedFloats { slots.sharedWeights }
    var itemIndices: UnsafeMutablePointer<Int32> { slots.itemIndices }
    var itemWeights: AlignedFloats { slots.itemWeights }
    /// Embedded inputs: [maxRequests × shared width], [maxRows × item width], [maxRows × serving width].
    let sharedInput: AlignedFloats
    let itemInput: AlignedFloats
    let fullInput: AlignedFloats
    /// The cross layers' outputs, alternating [2][maxRows × serving width] (empty without cross layers).
    let crossed: [AlignedFloats]
    /// Per request: the shared rows' contribution to level 0's fused layer, bias included.
    let sharedPreactivation: AlignedFloats
    /// Indexed like the network's plan: [level][fused layer], [level][expert][tail layer], [level][group].
    let fused: [[AlignedFloats]]
    let expertTails: [[[AlignedFloats]]]
    let groupOutputs: [[AlignedFloats?]]
    /// [task][tower layer], then one logit column per task.
    let towers: [[AlignedFloats]]
    let logits: [AlignedFloats]
    /// The wide part's gathered rows (`WidePart.layout`; empty without one).
    let wide: WidePart?
    let sharedWide: AlignedFloats
    let itemWide: AlignedFloats
    /// Outputs, one per row.
    public let ctr: AlignedFloats
    public let cvr: AlignedFloats
    /// The separate CTR network's buffers (same batch and slots), when the network has one.
    public let ctrWorkspace: InferenceWorkspace?

    init(network: InferenceNetwork, maxRows: Int, maxRequests: Int, slots shared: EncodedSlots? = nil) {
        precondition(maxRows >= 1 && maxRequests >= 1)
        self.maxRows = maxRows
        self.maxRequests = maxRequests
        owner = ObjectIdentifier(network)
        layout = network.shape.layout
        requests = []
        requests.reserveCapacity(maxRequests)
        let slots = shared ?? EncodedSlots(layout: layout, maxRows: maxRows, maxRequests: maxRequests)
        self.slots = slots
        ctrWorkspace = network.ctrNetwork.map {
            InferenceWorkspace(network: $0, maxRows: maxRows, maxRequests: maxRequests, slots: slots)
        }
        let shared = layout.shared, item = layout.item
        sharedInput = AlignedFloats(count: maxRequests * shared.width)
        itemInput = AlignedFloats(count: maxRows * item.width)
        fullInput = AlignedFloats(count: maxRows * layout.servingWidth)
        let servingWidth = layout.servingWidth
        crossed = network.crossLayers.prefix(2).map { _ in AlignedFloats(count: maxRows * servingWidth) }
        sharedPreactivation = AlignedFloats(count: maxRequests * network.levels[0].fused[0].width)
        fused = network.levels.map { $0.fused.map { AlignedFloats(count: maxRows * $0.width) } }
        expertTails = network.levels.map { level in
            level.experts.map { $0.tail.map { AlignedFloats(count: maxRows * $0.matrix.columns) } }
        }
        groupOutputs = network.levels.map { level in
            ExpertGroup.all.map { level.outputs[$0] == nil ? nil : AlignedFloats(count: maxRows * network.expertWidth) }
        }
        towers = network.towers.map { $0.layers.map { AlignedFloats(count: maxRows * $0.matrix.columns) } }
        logits = network.towers.map { _ in AlignedFloats(count: maxRows) }
        wide = network.wide?.part
        sharedWide = AlignedFloats(count: maxRequests * (wide?.layout.shared.width ?? 0))
        itemWide = AlignedFloats(count: maxRows * (wide?.layout.item.width ?? 0))
        ctr = AlignedFloats(count: maxRows)
        cvr = AlignedFloats(count: maxRows)
    }

    /// Empties the batch, keeping every buffer.
    public func reset() {
        requests.removeAll(keepingCapacity: true)
        rowCount = 0
    }

    /// Makes this workspace's batch `other`'s (whose slots it shares).
    func takeBatch(of other: InferenceWorkspace) {
        requests.removeAll(keepingCapacity: true)
        requests.append(contentsOf: other.requests)
        rowCount = other.rowCount
    }

    /// Reserves room for a request of `candidates` rows, or returns nil when the batch is full.
    public func appendRequest(candidates: Int) -> RequestSlots? {
        guard candidates >= 1, requests.count < maxRequests, rowCount + candidates <= maxRows else { return nil }
        let request = Request(sharedRow: requests.count, firstRow: rowCount, rowCount: candidates)
        requests.append(request)
        rowCount += candidates
        let shared = layout.shared.slotCount, item = layout.item.slotCount
        return RequestSlots(
            request: request,
            sharedIndices: sharedIndices + request.sharedRow * shared,
            sharedWeights: sharedWeights.pointer + request.sharedRow * shared,
            itemIndices: itemIndices + request.firstRow * item,
            itemWeights: itemWeights.pointer + request.firstRow * item,
            itemSlotCount: item)
    }

    /// The prediction of batch row `row` after `InferenceNetwork.run`.
    public func prediction(row: Int) -> Prediction {
        precondition(row < rowCount)
        return Prediction(ctr: ctr.pointer[row], cvr: cvr.pointer[row])
    }

    /// The wide part's gathered row `row` (shared then item columns of `WidePart.layout`), as the reference network
    /// takes it; empty without a wide part.
    public func wideRow(_ row: Int) -> [Float] {
        guard let part = wide else { return [] }
        let request = requests.first { row >= $0.firstRow && row < $0.firstRow + $0.rowCount }!
        let shared = part.layout.shared.width, item = part.layout.item.width
        return Array(UnsafeBufferPointer(start: sharedWide.pointer + request.sharedRow * shared, count: shared))
            + Array(UnsafeBufferPointer(start: itemWide.pointer + row * item, count: item))
    }

    /// The embedded input row `row` (shared then item columns), as the reference network and peers take it.
    public func inputRow(_ row: Int) -> [Float] {
        let request = requests.first { row >= $0.firstRow && row < $0.firstRow + $0.rowCount }!
        let shared = layout.shared.width, item = layout.item.width
        return Array(UnsafeBufferPointer(start: sharedInput.pointer + request.sharedRow * shared, count: shared))
            + Array(UnsafeBufferPointer(start: itemInput.pointer + row * item, count: item))
    }
}

/// A workspace is confined to the thread running its batches.
@available(*, unavailable)
extension InferenceWorkspace: Sendable {}

/// Encoded slot indices and weights of a batch (see `FeatureEncoder`): [maxRequests × shared slots] and
/// [maxRows × item slots].
final class EncodedSlots {
    let sharedIndices: UnsafeMutablePointer<Int32>
    let sharedWeights: AlignedFloats
    let itemIndices: UnsafeMutablePointer<Int32>
    let itemWeights: AlignedFloats

    init(layout: InputLayout, maxRows: Int, maxRequests: Int) {
        let shared = max(1, maxRequests * layout.shared.slotCount), item = max(1, maxRows * layout.item.slotCount)
        sharedIndices = .allocate(capacity: shared)
        sharedIndices.initialize(repeating: 0, count: shared)
        sharedWeights = AlignedFloats(count: maxRequests * layout.shared.slotCount)
        itemIndices = .allocate(capacity: item)
        itemIndices.initialize(repeating: 0, count: item)
        itemWeights = AlignedFloats(count: maxRows * layout.item.slotCount)
    }

    deinit {
        sharedIndices.deallocate()
        itemIndices.deallocate()
    }
}
