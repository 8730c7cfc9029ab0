/// Encoded slots → input columns: for each field, Σ weightₛ · table[indexₛ] over its slots (a table field)
/// or the slot's weight itself (a continuous numeric field). Reads the tables in place (memory-mapped).
public struct EmbeddingLookup: @unchecked Sendable {  // the tables are read-only views kept alive by `checkpoint`
    private struct Field {
        let slotOffset: Int
        let slotCount: Int
        let columnOffset: Int
        let dimension: Int
        let table: UnsafePointer<Float>?
        let rows: Int
    }

    public let layout: InputLayout
    private let sharedFields: [Field]
    private let itemFields: [Field]
    private let checkpoint: Checkpoint

    /// The student's embeddings.
    public init(checkpoint: Checkpoint) {
        self.init(weights: checkpoint.student)
    }

    /// One network's embeddings.
    public init(weights: NetworkWeights) {
        self.init(weights: weights, layout: weights.shape.layout, table: NetworkShape.embedding)
    }

    /// The tables named `table(field)`, looked up through `layout` (e.g. `WidePart.layout` with `NetworkShape.wide`).
    public init(weights: NetworkWeights, layout: InputLayout, table tableName: (String) -> String) {
        self.checkpoint = weights.checkpoint
        self.layout = layout
        func fields(_ kind: InputLayout.BlockKind) -> [Field] {
            layout.block(kind).fields.map { index in
                let spec = layout.spec.fields[index]
                let placement = layout.placements[index]
                let table = spec.tableRows.map { _ in weights.values(tableName(spec.name)).baseAddress! }
                return Field(
                    slotOffset: placement.slotOffset, slotCount: spec.slotCount, columnOffset: placement.columnOffset,
                    dimension: spec.dimension, table: table, rows: spec.tableRows ?? 0)
            }
        }
        sharedFields = fields(.shared)
        itemFields = fields(.item)
    }

    /// Writes the `layout.block(kind).width` input columns of one encoded row into `output`
    /// (`kind` is `.shared` or `.item`: the serving network reads no privileged fields).
    public func gather(
        _ kind: InputLayout.BlockKind, indices: UnsafePointer<Int32>, weights: UnsafePointer<Float>,
        into output: UnsafeMutablePointer<Float>
    ) {
        precondition(kind != .privileged, "the serving network reads no privileged fields")
        for field in kind == .shared ? sharedFields : itemFields {
            let out = output + field.columnOffset
            guard let table = field.table else {
                out[0] = weights[field.slotOffset]
                continue
            }
            out.update(repeating: 0, count: field.dimension)
            for slot in field.slotOffset..<field.slotOffset + field.slotCount {
                let weight = weights[slot]
                if weight == 0 { continue }
                let row = Int(indices[slot])
                precondition(row >= 0 && row < field.rows, "encoded index \(row) outside a table of \(field.rows) rows")
                let embedding = table + row * field.dimension
                for column in 0..<field.dimension { out[column] += weight * embedding[column] }
            }
        }
    }
}
