import Training

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Training progress on standard output: on a terminal one line rewritten in place (carriage return, at most a
/// few times a second); otherwise, as in CI logs, plain lines, the first report and then one every few seconds.
final class ProgressDisplay {
    private let isTerminal: Bool
    private let interval: Duration
    private var lastShown: ContinuousClock.Instant?
    private var lineOpen = false

    init(isTerminal: Bool = isatty(STDOUT_FILENO) == 1) {
        self.isTerminal = isTerminal
        interval = isTerminal ? .milliseconds(200) : .seconds(5)
    }

    func show(_ progress: TrainingProgress) {
        let now = ContinuousClock.now
        if let lastShown, now - lastShown < interval { return }
        lastShown = now
        if isTerminal {
            // \r back to the line's start, then the new text and "erase to end of line" over the old text's tail.
            print("\r" + progress.line + "\u{1B}[K", terminator: "")
            fflush(nil)  // every stream: naming `stdout` is not concurrency-safe in Swift 6
            lineOpen = true
        } else {
            print(progress.line)
        }
    }

    /// Ends the updating line so the next output starts on a line of its own.
    func finish() {
        if lineOpen { print("") }
        lineOpen = false
    }
}
