import ArgumentParser
import Training

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract:
            "Write a synthetic impression → click → purchase world with ground truth (train/test CSVs, schema, truth).")

    @Option(name: .shortAndLong, help: "Directory for train.csv, test.csv, *_truth.csv and schema.json.")
    var output: String

    @Option(help: "Impressions in the training file.")
    var trainRows = SimulationConfiguration().trainRows

    @Option(help: "Impressions in the test file.")
    var testRows = SimulationConfiguration().testRows

    @Option(help: "Seed of the world and of the draws; the same seed writes the same files.")
    var seed: UInt64 = 1

    @Option(help: "Users in the world.")
    var users = SimulationConfiguration().users

    @Option(help: "Items in the world.")
    var items = SimulationConfiguration().items

    @Option(
        help: """
            World structure: \(SimulationConfiguration.Preset.allCases.map(\.rawValue).joined(separator: ", ")). \
            Flags below override it.
            """)
    var preset: String = SimulationConfiguration.Preset.default.rawValue

    @Option(help: "Added to every purchase logit; negative makes conversions sparser (0: ≈ 12% of clicks convert).")
    var conversionLogitShift: Double?

    @Option(help: "Scale of the hidden user × item taste (1: default world).")
    var latentStrength: Double?

    @Option(help: "Scale of observable segment × category and brand effects (0: default world).")
    var observableStrength: Double?

    @Option(help: "Scale of the clickbait selection bias (1: default world).")
    var selectionBias: Double?

    @Option(help: "Multiplies every click → purchase delay (1: default world).")
    var delayScale: Double?

    @Option(help: "Correlation of purchase taste with click taste, 0…1 (1: default world).")
    var purchaseTasteCorrelation: Double?

    @Option(help: "Zipf exponent of item popularity (0.8: default world).")
    var popularityExponent: Double?

    func run() throws {
        guard let world = SimulationConfiguration.Preset(rawValue: preset) else {
            throw ValidationError("unknown --preset \(preset)")
        }
        var configuration = SimulationConfiguration(
            trainRows: trainRows, testRows: testRows, seed: seed, users: users, items: items)
        world.apply(to: &configuration)
        if let conversionLogitShift { configuration.conversionLogitShift = conversionLogitShift }
        if let latentStrength { configuration.latentStrength = latentStrength }
        if let observableStrength { configuration.observableStrength = observableStrength }
        if let selectionBias { configuration.selectionBias = selectionBias }
        if let delayScale { configuration.delayScale = delayScale }
        if let purchaseTasteCorrelation {
            guard (0...1).contains(purchaseTasteCorrelation) else {
                throw ValidationError("--purchase-taste-correlation must be in 0…1")
            }
            configuration.purchaseTasteCorrelation = purchaseTasteCorrelation
        }
        if let popularityExponent { configuration.popularityExponent = popularityExponent }
        let (train, test) = try WorldSimulator(configuration: configuration).writeFiles(directory: output)
        for (name, s) in [("train", train), ("test", test)] {
            print(
                "\(name): \(s.rows) impressions, \(s.clicks) clicks (\(percent(s.clicks, s.rows))), "
                    + "\(s.conversionsEventual) conversions (\(percent(s.conversionsEventual, s.clicks)) of clicks), "
                    + "\(s.conversionsObserved) observed by the snapshot")
        }
        print("wrote \(output)/{train,test}.csv, {train,test}_truth.csv, schema.json")
    }

    private func percent(_ a: Int, _ b: Int) -> String {
        b == 0 ? "-" : "\(Double(Int(Double(a) / Double(b) * 10000)) / 100)%"
    }
}
