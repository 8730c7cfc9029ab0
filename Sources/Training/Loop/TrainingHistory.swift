/// Loss and running AUCs over training, one point per progress report, kept in the training state for the
/// report's curves. Bounded: when `capacity` points are held, every other one is dropped and from then on only
/// every second report is kept (then every fourth, …), so a long run keeps evenly spaced points over all of it.
public struct TrainingHistory: Codable, Sendable, Equatable {
    public struct Point: Codable, Sendable, Equatable {
        public var step: Int
        public var rows: Int
        /// Exponential moving average of the batch loss.
        public var loss: Double
        /// AUC of pCTR and pCTCVR over the most recent training rows.
        public var runningCTRAUC: Double?
        public var runningCTCVRAUC: Double?

        public init(step: Int, rows: Int, loss: Double, runningCTRAUC: Double?, runningCTCVRAUC: Double?) {
            self.step = step
            self.rows = rows
            self.loss = loss
            self.runningCTRAUC = runningCTRAUC
            self.runningCTCVRAUC = runningCTCVRAUC
        }

        private enum CodingKeys: String, CodingKey {
            case step, rows, loss
            case runningCTRAUC = "running_ctr_auc"
            case runningCTCVRAUC = "running_ctcvr_auc"
        }
    }

    public private(set) var points: [Point] = []
    public let capacity: Int
    /// Reports per kept point (a power of two): the points are those of reports spacing, 2·spacing, 3·spacing, …
    public private(set) var spacing = 1
    /// Reports recorded so far.
    private var reports = 0

    public init(capacity: Int = 512) {
        precondition(capacity >= 2)
        self.capacity = capacity
    }

    public var isEmpty: Bool { points.isEmpty }

    /// A point whose loss is not finite (a diverged run) is left out: JSON, the state's format, has no NaN.
    public mutating func record(_ point: Point) {
        guard point.loss.isFinite else { return }
        var point = point
        if point.runningCTRAUC?.isFinite == false { point.runningCTRAUC = nil }
        if point.runningCTCVRAUC?.isFinite == false { point.runningCTCVRAUC = nil }
        reports += 1
        guard reports % spacing == 0 else { return }
        if points.count == capacity {
            // Keep the points of reports 2·spacing, 4·spacing, …: the grid stays even.
            points = points.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            spacing *= 2
            guard reports % spacing == 0 else { return }
        }
        points.append(point)
    }

    private enum CodingKeys: String, CodingKey {
        case points, capacity, spacing, reports
    }
}
