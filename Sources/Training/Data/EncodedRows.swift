import Ranking

/// A chunk of training rows after `FeatureEncoder`: per block, `capacity × slotCount` (index, weight) slot
/// pairs (see docs/FEATURES.md), plus each row's labels and bookkeeping. Reused chunk after chunk, so
/// streaming a large file allocates nothing per row.
public final class EncodedRows {
    public let layout: InputLayout
    public let capacity: Int
    public private(set) var count = 0

    public let sharedIndices: RowBuffer<Int32>, sharedWeights: RowBuffer<Float>
    public let itemIndices: RowBuffer<Int32>, itemWeights: RowBuffer<Float>
    public let privilegedIndices: RowBuffer<Int32>, privilegedWeights: RowBuffer<Float>
    /// y: 1 when clicked.
    public let click: RowBuffer<Float>
    /// z_obs: 1 when a conversion was observed by the snapshot.
    public let conversion: RowBuffer<Float>
    /// e: hours from the click (or the impression when unclicked) to the snapshot; +∞ without timestamps.
    public let elapsedHours: RowBuffer<Float>
    /// Delay bucket of an observed conversion, else −1.
    public let delayBucket: RowBuffer<Int32>
    /// Hours from click to snapshot used for "newest clicks" slices; NaN when unknown or unclicked.
    public let clickTime: RowBuffer<Float>
    public let price: RowBuffer<Float>
    public let refund: RowBuffer<Float>
    /// Hashes of the user and request ids (0 when the schema has none); GAUC groups by them.
    public let userKey: RowBuffer<UInt64>, requestKey: RowBuffer<UInt64>

    public init(layout: InputLayout, capacity: Int) {
        self.layout = layout
        self.capacity = capacity
        sharedIndices = RowBuffer(count: capacity * layout.shared.slotCount, zero: 0)
        sharedWeights = RowBuffer(count: capacity * layout.shared.slotCount, zero: 0)
        itemIndices = RowBuffer(count: capacity * layout.item.slotCount, zero: 0)
        itemWeights = RowBuffer(count: capacity * layout.item.slotCount, zero: 0)
        privilegedIndices = RowBuffer(count: capacity * layout.privileged.slotCount, zero: 0)
        privilegedWeights = RowBuffer(count: capacity * layout.privileged.slotCount, zero: 0)
        click = RowBuffer(count: capacity, zero: 0)
        conversion = RowBuffer(count: capacity, zero: 0)
        elapsedHours = RowBuffer(count: capacity, zero: .infinity)
        delayBucket = RowBuffer(count: capacity, zero: -1)
        clickTime = RowBuffer(count: capacity, zero: .nan)
        price = RowBuffer(count: capacity, zero: 0)
        refund = RowBuffer(count: capacity, zero: 0)
        userKey = RowBuffer(count: capacity, zero: 0)
        requestKey = RowBuffer(count: capacity, zero: 0)
    }

    public var isFull: Bool { count == capacity }

    public func removeAll() { count = 0 }

    /// Keeps the row being written at index `count` (the parser writes it in place first).
    func commitRow() {
        precondition(count < capacity)
        count += 1
    }

    /// Slot pointers of row `row` in `block`.
    public func slots(_ block: InputLayout.BlockKind, row: Int) -> (
        indices: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>
    ) {
        switch block {
        case .shared:
            let s = layout.shared.slotCount
            return (sharedIndices.pointer + row * s, sharedWeights.pointer + row * s)
        case .item:
            let s = layout.item.slotCount
            return (itemIndices.pointer + row * s, itemWeights.pointer + row * s)
        case .privileged:
            let s = layout.privileged.slotCount
            return (privilegedIndices.pointer + row * s, privilegedWeights.pointer + row * s)
        }
    }

    /// Whether row `row`'s conversion label is final: converted, or W hours elapsed since the click.
    /// Do not use this to *select* training or evaluation rows: it keeps every recent conversion but drops
    /// recent non-conversions, so the selected recent clicks are positives only (outcome selection). Use
    /// `windowElapsed` for that.
    public func isMature(_ row: Int, window: Double) -> Bool {
        conversion[row] == 1 || windowElapsed(row, window: window)
    }

    /// Whether the attribution window of row `row` had elapsed by the snapshot (e ≥ W), whatever its label:
    /// the selection of clicks whose 0/1 conversion label may be used as a hard label. The selection depends
    /// only on the click time, not on the outcome, so it does not bias the conversion rate.
    public func windowElapsed(_ row: Int, window: Double) -> Bool {
        Double(elapsedHours[row]) >= window
    }
}
