import ArgumentParser
import Training

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Write a synthetic impression → click → purchase world with ground truth (train/test CSVs, schema, truth).")

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

    @Option(help: "Added to every purchase logit; negative makes conversions sparser (0: ≈ 12% of clicks convert).")
    var conversionLogitShift = SimulationConfiguration().conversionLogitShift

    func run() throws {
        let configuration = SimulationConfiguration(
            trainRows: trainRows, testRows: testRows, seed: seed, users: users, items: items, conversionLogitShift: conversionLogitShift)
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
