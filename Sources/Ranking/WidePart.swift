/// The first-order ("wide") part of a network with `NetworkSpec.wide`, as in Wide & Deep (Cheng et al., 2016):
/// every table field (categorical, multi-categorical, bucketized, cross) has a second table `wide.<field>`
/// [rows × 2] whose row holds that id's own additive weight on the CTR logit and on the CVR logit:
///
///     logit_t = tower_t(…) + Σ_fields Σ_slots weightₛ · wide_field[indexₛ][t]
///
/// Each task so gets id-level weights of its own, which the deep part's shared embeddings cannot give it. The
/// wide tables are looked up like embeddings, through a layout in which every table field is 2 wide (the slots,
/// hence the encoded rows, are the serving layout's); continuous fields are not in the wide part.
public struct WidePart: Sendable {
    /// The serving layout with every table field 2 wide: its `gather` writes one (ctr, cvr) pair per table field.
    public let layout: InputLayout
    /// Per block, the column of each table field's pair in a gathered row.
    public let sharedColumns: [Int]
    public let itemColumns: [Int]

    public init(features: FeatureSpec) {
        var spec = features
        for index in spec.fields.indices where spec.fields[index].tableRows != nil { spec.fields[index].dimension = 2 }
        let layout = InputLayout(spec: spec)
        let tableColumns = { (block: InputLayout.Block) in
            block.fields.filter { spec.fields[$0].tableRows != nil }.map { layout.placements[$0].columnOffset }
        }
        self.layout = layout
        sharedColumns = tableColumns(layout.shared)
        itemColumns = tableColumns(layout.item)
    }

    /// Task `task`'s term from one gathered row of a block: Σ over the block's table fields of their `task` column.
    @inline(__always)
    public func sum(_ row: UnsafePointer<Float>, columns: [Int], task: PredictionTask) -> Float {
        var total: Float = 0
        for column in columns { total += row[column + task.rawValue] }
        return total
    }
}
