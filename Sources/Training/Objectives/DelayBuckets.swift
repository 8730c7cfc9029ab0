import Ranking

/// Discretised click → conversion delay (docs/MODELS.md §4.2): K buckets with upper bounds in hours; the
/// last bound is the attribution window W. A click is *mature* once W hours have elapsed since it.
public struct DelayBuckets: Codable, Sendable, Equatable {
    public var attributionWindowHours: Double
    /// Increasing upper bounds; bucket k covers [bound_{k−1}, bound_k) with bound_{−1} = 0.
    public var boundsHours: [Double]

    /// The default for W = 7 days (finer in the first day, docs/MODELS.md §4.2): [0,1h), [1h,6h), [6h,24h), [1d,2d), [2d,3d), [3d,5d), [5d,7d].
    public init(attributionWindowHours: Double = 168, boundsHours: [Double] = [1, 6, 24, 48, 72, 120, 168]) {
        self.attributionWindowHours = attributionWindowHours
        self.boundsHours = boundsHours
    }

    public var count: Int { boundsHours.count }

    public func validate() throws(SpecError) {
        guard !boundsHours.isEmpty, boundsHours.allSatisfy({ $0.isFinite && $0 > 0 }),
            zip(boundsHours, boundsHours.dropFirst()).allSatisfy({ $0 < $1 }),
            attributionWindowHours.isFinite, attributionWindowHours > 0
        else { throw SpecError("delay buckets must be positive, finite and increasing") }
        guard boundsHours.last! == attributionWindowHours else {
            throw SpecError("the last delay bucket bound must equal attribution_window_hours")
        }
    }

    /// The bucket of a conversion `delay` hours after its click (delays beyond W land in the last bucket).
    public func bucket(ofDelay delay: Double) -> Int {
        boundsHours.firstIndex { delay < $0 } ?? count - 1
    }

    /// Buckets fully elapsed after `elapsed` hours, b(e), and the fraction of the current bucket elapsed
    /// (for interpolating the cumulative hazard inside it). Mature clicks have b = K.
    public func elapsedBuckets(_ elapsed: Double) -> (full: Int, fraction: Double) {
        if elapsed >= attributionWindowHours { return (count, 0) }
        let full = boundsHours.firstIndex { elapsed < $0 } ?? count
        let lower = full == 0 ? 0 : boundsHours[full - 1]
        return (full, max(0, (elapsed - lower) / (boundsHours[full] - lower)))
    }

    private enum CodingKeys: String, CodingKey {
        case attributionWindowHours = "attribution_window_hours"
        case boundsHours = "bucket_bounds_hours"
    }
}
