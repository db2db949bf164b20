import Foundation

/// Splits work over the CPU cores in pieces fixed by the shape of the work, so results never depend on the
/// thread count.
///
/// The thread policy: every kernel cuts its work into pieces chosen from the shape alone (a GEMM into row or
/// column blocks, a convolution into (sample, band of output rows) tasks, attention into (head, query block)
/// tasks), sized so that there are enough pieces to keep every core of the machine busy, and hands them to a
/// pool of `threads` workers. Which worker runs a piece changes nothing in its arithmetic, and no piece's
/// result is combined with another's except in a fixed order.
public enum Parallel {
    /// 1 runs every kernel serially on the calling thread; more than 1 runs pieces on that many of Dispatch's
    /// workers at once (at most one per core). Default: the active cores. Results are the same for every value.
    nonisolated(unsafe) public static var threads = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Elements per chunk; reductions combine chunk results in chunk order, so they are deterministic.
    public static let grain = 1 << 15

    /// The number of independent tasks a kernel aims for when it can choose: a multiple of the common core
    /// counts (2, 4, 8, 16), fixed so that the partition (and so every result) is the same on every machine.
    public static let targetTasks = 16

    /// Calls `body` on consecutive ranges covering `0..<n`, in parallel when there is more than one chunk.
    @inlinable
    public static func forChunks(_ n: Int, grain: Int = Parallel.grain, _ body: (Range<Int>) -> Void) {
        let chunks = (n + grain - 1) / grain
        if chunks <= 1 || threads == 1 {
            if chunks <= 1 { body(0..<n) } else { for c in 0..<chunks { body(c * grain..<min(n, (c + 1) * grain)) } }
            return
        }
        run(chunks) { c in body(c * grain..<min(n, (c + 1) * grain)) }
    }

    /// Calls `body(i)` for every `i` in `0..<n`, in parallel; each index must write disjoint memory.
    @inlinable
    public static func forEach(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 || threads == 1 {
            for i in 0..<n { body(i) }
            return
        }
        run(n, body)
    }

    /// Runs `body(0..<n)` on at most `threads` workers at once, which take the next index as they finish one
    /// (balancing load when other processes compete for the cores).
    @usableFromInline
    static func run(_ n: Int, _ body: (Int) -> Void) {
        if threads >= cores {
            DispatchQueue.concurrentPerform(iterations: n) { i in body(i) }
            return
        }
        let next = TaskCounter()
        DispatchQueue.concurrentPerform(iterations: Swift.min(n, threads)) { _ in
            while let i = next.take(below: n) { body(i) }
        }
    }

    /// The machine's active cores (Dispatch's pool width).
    @usableFromInline
    static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Most pieces a kernel cuts one product or convolution into: four per core of the machine, at most
    /// `targetTasks`. A function of the machine's cores, never of `threads`, so results stay the same for every
    /// thread count.
    static let machinePieces = min(targetTasks, 4 * cores)

    /// Splits `0..<extent` into at most `pieces` nearly equal blocks whose sizes (but the last) are multiples of
    /// `multiple`, never smaller than `minimum`; returns the block size (>= 1). A function of its arguments
    /// only, never of the thread count.
    @inlinable
    public static func blockSize(_ extent: Int, pieces: Int, multiple: Int = 1, minimum: Int = 1) -> Int {
        let p = Swift.max(1, pieces), m = Swift.max(1, multiple)
        let even = (extent + p - 1) / p
        let rounded = (even + m - 1) / m * m
        return Swift.max(1, Swift.max(rounded, minimum))
    }
}

/// Hands out 0, 1, 2, ... to the workers of `Parallel.run`.
@usableFromInline
final class TaskCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    @usableFromInline init() {}

    /// The next index, or nil once `n` have been handed out.
    @usableFromInline func take(below n: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < n else { return nil }
        value += 1
        return value - 1
    }
}
