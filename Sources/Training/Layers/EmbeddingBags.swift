import Ranking

/// The embedding layer of one or more blocks: encoded slots (docs/FEATURES.md) → input columns, exactly
/// `EmbeddingLookup`'s function: a table field's columns are Σ_s w_s · T[idx_s] (slots with w = 0 skipped),
/// a continuous field's column is its slot weight. Blocks are laid side by side in the order given, each
/// field at its `InputLayout` column offset (so [shared | item] is the serving input).
/// Shapes: output x [rows × width]; slots per block [rows × slotCount].
final class EmbeddingBags {
    struct Field {
        let block: Int
        let slotOffset: Int
        let slotCount: Int
        let column: Int
        let dimension: Int
        let table: EmbeddingTable?
    }

    let blocks: [InputLayout.BlockKind]
    let width: Int
    let tables: [EmbeddingTable]
    let fields: [Field]

    /// Tables are named `tableName(field)`: `NetworkShape.embedding` for the model's embeddings, `NetworkShape.wide`
    /// for its wide part (through `WidePart.layout`).
    init(
        layout: InputLayout, blocks: [InputLayout.BlockKind], tableName: (String) -> String = NetworkShape.embedding,
        random: inout SplitMix64
    ) {
        self.blocks = blocks
        var fields: [Field] = []
        var tables: [EmbeddingTable] = []
        var base = 0
        for (b, kind) in blocks.enumerated() {
            let block = layout.block(kind)
            for index in block.fields {
                let spec = layout.spec.fields[index]
                let placement = layout.placements[index]
                var table: EmbeddingTable?
                if let rows = spec.tableRows {
                    table = EmbeddingTable(
                        name: tableName(spec.name), rows: rows, dimension: spec.dimension, random: &random)
                    tables.append(table!)
                }
                fields.append(
                    Field(
                        block: b, slotOffset: placement.slotOffset, slotCount: spec.slotCount,
                        column: base + placement.columnOffset, dimension: spec.dimension, table: table))
            }
            base += block.width
        }
        self.fields = fields
        self.tables = tables
        width = base
    }

    /// Slot pointers and slots-per-row of each block for a batch's rows.
    private func slots(_ data: EncodedRows) -> [(UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Float>, Int)] {
        blocks.map { kind in
            let (indices, weights) = data.slots(kind, row: 0)
            return (indices, weights, data.layout.block(kind).slotCount)
        }
    }

    // ---------------------------------------------------------------------------------------------
    // forward: x[r, field columns] = Σ_s w_s · T[idx_s]  (or w for a continuous field).

    func forward(_ data: EncodedRows, rows batch: [Int], into x: UnsafeMutablePointer<Float>) {
        let blockSlots = slots(data)
        for (r, row) in batch.enumerated() {
            let out = x + r * width
            for field in fields {
                let (indices, weights, slotCount) = blockSlots[field.block]
                let index = indices + row * slotCount + field.slotOffset
                let weight = weights + row * slotCount + field.slotOffset
                let target = out + field.column
                guard let table = field.table else {
                    target[0] = weight[0]
                    continue
                }
                target.update(repeating: 0, count: field.dimension)
                for s in 0..<field.slotCount where weight[s] != 0 {
                    let w = weight[s]
                    let embedding = table.value.pointer + Int(index[s]) * field.dimension
                    for j in 0..<field.dimension { target[j] += w * embedding[j] }
                }
            }
        }
    }

    // backward: ∂L/∂T[idx_s] += w_s · ∂L/∂x[r, field columns]; touched rows are remembered (sparse update).

    func backward(_ data: EncodedRows, rows batch: [Int], dx: UnsafePointer<Float>) {
        let blockSlots = slots(data)
        for (r, row) in batch.enumerated() {
            let d = dx + r * width
            for field in fields {
                guard let table = field.table else { continue }
                let (indices, weights, slotCount) = blockSlots[field.block]
                let index = indices + row * slotCount + field.slotOffset
                let weight = weights + row * slotCount + field.slotOffset
                for s in 0..<field.slotCount where weight[s] != 0 {
                    table.accumulate(row: Int(index[s]), weight: weight[s], d + field.column)
                }
            }
        }
    }
}
