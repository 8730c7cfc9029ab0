import ArgumentParser

@main
struct FunnelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "funnel-bench",
        abstract: "Funnel's benchmarks; scripts/bench_kernel.py runs them beside onnxruntime and prints ratios.",
        subcommands: [KernelBenchmark.self, SteadyStateCommand.self])
}
