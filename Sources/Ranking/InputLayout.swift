/// Where each field lives in an encoded row and in the network's input vector.
///
/// The serving network's input is `[shared block | item block]`: the shared block holds the user and
/// context fields (encoded once per request), the item block the item fields (once per candidate), each
/// in spec order. Privileged fields form a third block that only the trainer's teacher reads.
public struct InputLayout: Sendable {
    public struct Block: Sendable {
        /// Indices into `FeatureSpec.fields`, in input order.
        public let fields: [Int]
        /// Slots of one encoded row of this block.
        public let slotCount: Int
        /// Input columns this block produces after embedding lookup.
        public let width: Int
    }

    public enum BlockKind: Sendable { case shared, item, privileged }

    /// A field's block and its offsets inside that block.
    public struct Placement: Sendable {
        public let block: BlockKind
        public let slotOffset: Int
        public let columnOffset: Int
    }

    public let spec: FeatureSpec
    public let shared: Block
    public let item: Block
    public let privileged: Block
    /// Indexed like `spec.fields`.
    public let placements: [Placement]

    /// Width of the serving network's input: shared then item columns.
    public var servingWidth: Int { shared.width + item.width }

    public init(spec: FeatureSpec) {
        self.spec = spec
        var placements = [Placement?](repeating: nil, count: spec.fields.count)
        func block(_ kind: BlockKind, _ groups: Set<FeatureGroup>) -> Block {
            var fields: [Int] = []
            var slots = 0
            var columns = 0
            for (index, field) in spec.fields.enumerated() where groups.contains(field.group) {
                placements[index] = Placement(block: kind, slotOffset: slots, columnOffset: columns)
                fields.append(index)
                slots += field.slotCount
                columns += field.dimension
            }
            return Block(fields: fields, slotCount: slots, width: columns)
        }
        shared = block(.shared, [.user, .context])
        item = block(.item, [.item])
        privileged = block(.privileged, [.privileged])
        self.placements = placements.map { $0! }
    }

    public func block(_ kind: BlockKind) -> Block {
        switch kind {
        case .shared: shared
        case .item: item
        case .privileged: privileged
        }
    }
}
