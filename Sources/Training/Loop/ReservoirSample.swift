import Ranking

/// A uniform random sample of at most `capacity` of the elements offered (reservoir sampling, Vitter's algorithm R),
/// seeded so a run is reproducible. Below the capacity it holds every element in arrival order, so a fit on it is the
/// fit on all of them.
struct ReservoirSample<Element> {
    let capacity: Int
    private(set) var elements: [Element] = []
    /// Elements offered so far.
    private(set) var seen = 0
    private var random: SplitMix64

    init(capacity: Int, seed: UInt64) {
        precondition(capacity > 0)
        self.capacity = capacity
        random = SplitMix64(seed: seed)
    }

    mutating func offer(_ element: Element) {
        seen += 1
        if elements.count < capacity {
            elements.append(element)
            return
        }
        let slot = Int(random.next() % UInt64(seen))
        if slot < capacity { elements[slot] = element }
    }

    /// Elements each kept one stands for (1 until the reservoir is full): the weight that turns a sum over the sample
    /// into an estimate of the sum over everything offered.
    var weight: Double { elements.isEmpty ? 1 : Double(seen) / Double(elements.count) }
}
