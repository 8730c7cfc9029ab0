import ArgumentParser
import Training

/// `--threads`, shared by `train`, `evaluate` and `export`: how many threads the trainer's matrix products use.
struct ThreadOptions: ParsableArguments {
    @Option(
        help: """
            Threads for the trainer's matrix products (default: the cores this process may use). The trained model \
            does not depend on it.
            """)
    var threads: Int = Trainer.availableCores

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }
}
