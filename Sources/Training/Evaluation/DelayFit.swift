/// How well a delay tower fits the click → conversion delays it models: per delay bucket, the observed share of
/// conversions that happened by the bucket's upper bound, F_obs(k), and the model's mean P(D ≤ k) on the same
/// conversions, F_pred(k). Only clicks whose attribution window has elapsed count: their delays are all
/// observed, so F_obs is not bent towards short delays by conversions still to come.
public struct DelayFit: Codable, Sendable, Equatable {
    public struct Bucket: Codable, Sendable, Equatable {
        /// The bucket's upper bound in hours.
        public var upperHours: Double
        /// Conversions whose delay fell in this bucket.
        public var conversions: Int
        public var observedCDF: Double
        public var predictedCDF: Double

        private enum CodingKeys: String, CodingKey {
            case conversions
            case upperHours = "upper_hours"
            case observedCDF = "observed_cdf"
            case predictedCDF = "predicted_cdf"
        }
    }

    /// Empty when no mature conversion was seen.
    public var buckets: [Bucket]
    public var conversions: Int

    /// Sums for a `DelayFit`, fed chunk by chunk (memory: two numbers per bucket).
    struct Accumulator {
        let delay: DelayBuckets
        private var counts: [Int]
        private var predictedSums: [Double]
        private var conversions = 0

        init(delay: DelayBuckets) {
            self.delay = delay
            counts = [Int](repeating: 0, count: delay.count)
            predictedSums = [Double](repeating: 0, count: delay.count)
        }

        /// The rows of `data` that count: mature conversions with a known delay bucket.
        func selected(_ data: EncodedRows) -> [Int] {
            // Buckets are the evaluation schema's; one the model's tower does not have (another schema) is skipped.
            (0..<data.count).filter {
                data.conversion[$0] == 1 && data.delayBucket[$0] >= 0 && Int(data.delayBucket[$0]) < delay.count
                    && data.windowElapsed($0, window: delay.attributionWindowHours)
            }
        }

        /// Adds `rows` with their hazard logits (`delay.count` per row, in `rows` order).
        mutating func add(_ data: EncodedRows, rows: [Int], hazardLogits: [Float]) {
            let k = delay.count
            hazardLogits.withUnsafeBufferPointer { logits in
                for (r, row) in rows.enumerated() {
                    counts[Int(data.delayBucket[row])] += 1
                    conversions += 1
                    var survival = 1.0
                    for j in 0..<k {
                        survival *= 1 - DelayHazards.hazard(logits.baseAddress! + r * k, j, k)
                        predictedSums[j] += 1 - survival
                    }
                }
            }
        }

        /// Adds every rank's counts and sums (sharded evaluation under MPI). A collective: every rank calls it.
        mutating func reduce(over communicator: any Communicator) {
            guard communicator.size > 1 else { return }
            let k = delay.count
            let sums = communicator.sum(counts.map(Double.init) + predictedSums + [Double(conversions)])
            counts = sums[0..<k].map { Int($0) }
            predictedSums = Array(sums[k..<2 * k])
            conversions = Int(sums[2 * k])
        }

        var result: DelayFit {
            guard conversions > 0 else { return DelayFit(buckets: [], conversions: 0) }
            var cumulative = 0
            let buckets = delay.boundsHours.enumerated().map { k, bound in
                cumulative += counts[k]
                return Bucket(
                    upperHours: bound, conversions: counts[k], observedCDF: Double(cumulative) / Double(conversions),
                    predictedCDF: predictedSums[k] / Double(conversions))
            }
            return DelayFit(buckets: buckets, conversions: conversions)
        }
    }
}
