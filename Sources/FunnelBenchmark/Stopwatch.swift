/// Best time per call of `body`, in seconds: 5 rounds, each long enough to fill a fifth of `seconds`.
/// The minimum is the figure least disturbed by other load on the machine.
func bestSecondsPerCall(seconds: Double, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    body()  // warm-up: caches, page faults, lazy initialisation
    var calls = 1
    while true {  // calibrate calls per round
        let elapsed = clock.measure { for _ in 0..<calls { body() } }
        if elapsed / .seconds(1) >= seconds / 10 || calls >= 1 << 24 { break }
        calls *= 2
    }
    var best = Double.infinity
    for _ in 0..<5 {
        let elapsed = clock.measure { for _ in 0..<calls { body() } }
        best = min(best, elapsed / .seconds(1) / Double(calls))
    }
    return best
}
