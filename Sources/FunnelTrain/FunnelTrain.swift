import ArgumentParser

@main
struct FunnelTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel-train",
        abstract: "Funnel's offline side: make, inspect and verify model checkpoints.",
        subcommands: [
            CheckpointCommand.self, SimulateCommand.self, TrainCommand.self, EvaluateCommand.self, ExportCommand.self,
        ])
}
