import Foundation

/// Splits element-wise work over the CPU cores in fixed-size chunks, so results never depend on the thread count.
public enum Parallel {
    /// 1 runs every kernel serially on the calling thread; more than 1 hands chunks to Dispatch's pool (one
    /// thread per core) and runs that many batch samples of a convolution at once. Default: the active cores
    /// (at most 8). Results are the same for every value.
    nonisolated(unsafe) public static var threads = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

    /// Elements per chunk; reductions combine chunk results in chunk order, so they are deterministic.
    public static let grain = 1 << 15

    /// Calls `body` on consecutive ranges covering `0..<n`, in parallel when there is more than one chunk.
    @inlinable
    public static func forChunks(_ n: Int, grain: Int = Parallel.grain, _ body: (Range<Int>) -> Void) {
        let chunks = (n + grain - 1) / grain
        if chunks <= 1 || threads == 1 {
            if chunks <= 1 { body(0..<n) } else { for c in 0..<chunks { body(c * grain..<min(n, (c + 1) * grain)) } }
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            body(c * grain..<min(n, (c + 1) * grain))
        }
    }

    /// Calls `body(i)` for every `i` in `0..<n`, in parallel; each index must write disjoint memory.
    @inlinable
    public static func forEach(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 || threads == 1 {
            for i in 0..<n { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: n) { i in body(i) }
    }
}
