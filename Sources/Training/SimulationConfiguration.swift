/// Size and seed of a simulated impression → click → purchase world (see `WorldSimulator`).
public struct SimulationConfiguration: Codable, Sendable, Equatable {
    public var trainRows: Int
    public var testRows: Int
    public var seed: UInt64
    public var users: Int
    public var items: Int
    public var categories: Int
    /// Days of traffic in the training file; its labels are read at the end of them (the snapshot), so the
    /// newest clicks are immature. The test file covers the following `testDays` with mature labels.
    public var trainDays: Int
    public var testDays: Int
    public var candidatesPerRequest: Int
    /// Added to every purchase logit: negative values make conversions sparser (0 gives ≈ 12% of clicks).
    public var conversionLogitShift: Double

    public init(
        trainRows: Int = 400_000, testRows: Int = 100_000, seed: UInt64 = 1, users: Int = 20_000, items: Int = 10_000,
        categories: Int = 40, trainDays: Int = 14, testDays: Int = 3, candidatesPerRequest: Int = 10,
        conversionLogitShift: Double = 0
    ) {
        self.trainRows = trainRows
        self.testRows = testRows
        self.seed = seed
        self.users = users
        self.items = items
        self.categories = categories
        self.trainDays = trainDays
        self.testDays = testDays
        self.candidatesPerRequest = candidatesPerRequest
        self.conversionLogitShift = conversionLogitShift
    }

    private enum CodingKeys: String, CodingKey {
        case seed, users, items, categories
        case trainRows = "train_rows"
        case testRows = "test_rows"
        case trainDays = "train_days"
        case testDays = "test_days"
        case candidatesPerRequest = "candidates_per_request"
        case conversionLogitShift = "conversion_logit_shift"
    }
}
