import Foundation

/// Wall-clock timing for the benchmarks (`rorem bench ...`): one warm-up call, then timed calls.
public enum Timing {
    /// Milliseconds of each of `runs` calls of `body` (at least one), after one untimed warm-up call when `warmup`.
    public static func milliseconds(runs: Int, warmup: Bool = true, _ body: () throws -> Void) rethrows -> [Double] {
        if warmup { try body() }
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        return times
    }

    /// The middle value of `times` (the upper of the two middle ones for an even count); 0 for none.
    public static func median(_ times: [Double]) -> Double {
        let sorted = times.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
