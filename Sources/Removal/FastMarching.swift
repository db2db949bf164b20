// Fast marching (Sethian) over a padded pixel grid: the arrival time T of a front that starts at the
// boundary of a region and moves inward at unit speed, solving |grad T| = 1 with the upwind scheme that
// OpenCV's inpainting uses. Telea's method fills pixels in the order the front reaches them.

/// State of a pixel in fast marching.
enum FrontState: UInt8 {
    /// T is final (a known pixel, or one the front has passed).
    case known = 0
    /// On the front: T is a tentative value and the pixel waits in the heap.
    case band = 1
    /// Not reached yet.
    case inside = 2
    /// The one-pixel padding around the image; never reached, never read.
    case outside = 3
}

/// A binary min-heap of (time, index) pairs; ties break on the smaller index so the order is deterministic.
struct FrontHeap {
    private var times: [Float] = []
    private var indices: [Int32] = []

    var isEmpty: Bool { times.isEmpty }

    init(capacity: Int) {
        times.reserveCapacity(capacity)
        indices.reserveCapacity(capacity)
    }

    @inline(__always) private func less(_ a: Int, _ b: Int) -> Bool {
        times[a] < times[b] || (times[a] == times[b] && indices[a] < indices[b])
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        times.swapAt(a, b)
        indices.swapAt(a, b)
    }

    mutating func push(_ time: Float, _ index: Int) {
        times.append(time)
        indices.append(Int32(index))
        var child = times.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: Float, index: Int)? {
        guard let lastTime = times.last, let lastIndex = indices.last else { return nil }
        let top = (times[0], Int(indices[0]))
        times[0] = lastTime; indices[0] = lastIndex
        times.removeLast(); indices.removeLast()
        var parent = 0
        let n = times.count
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < n, less(left, smallest) { smallest = left }
            if right < n, less(right, smallest) { smallest = right }
            if smallest == parent { break }
            swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}

/// The padded grid of states and arrival times shared by the marching passes.
struct FrontGrid {
    /// Padded width and height (image size + 2).
    let pw: Int, ph: Int
    var state: [FrontState]
    var time: [Float]

    static let far: Float = 1e6

    /// A grid for a `width` x `height` image; every pixel starts `.known` with T = 0, the padding `.outside`.
    init(width: Int, height: Int) {
        pw = width + 2; ph = height + 2
        state = [FrontState](repeating: .known, count: pw * ph)
        time = [Float](repeating: 0, count: pw * ph)
        for x in 0..<pw { state[x] = .outside; state[(ph - 1) * pw + x] = .outside }
        for y in 0..<ph { state[y * pw] = .outside; state[y * pw + pw - 1] = .outside }
    }

    /// Padded index of image pixel `(x, y)`.
    @inline(__always) func index(_ x: Int, _ y: Int) -> Int { (y + 1) * pw + x + 1 }

    /// Upwind solution of |grad T| = 1 at a pixel from two perpendicular neighbours `a` and `b`.
    @inline(__always)
    static func solve(_ a: Int, _ b: Int, _ state: UnsafeMutableBufferPointer<FrontState>, _ time: UnsafeMutableBufferPointer<Float>) -> Float {
        let sa = state[a], sb = state[b]
        let aFree = sa == .inside || sa == .outside, bFree = sb == .inside || sb == .outside
        if aFree { return bFree ? FrontGrid.far : time[b] + 1 }
        if bFree { return time[a] + 1 }
        let ta = time[a], tb = time[b]
        let d = ta - tb
        if d * d < 2 {
            let r = (2 - d * d).squareRoot()
            let s = (ta + tb - r) / 2
            if s >= ta, s >= tb { return s }
            let s2 = s + r
            if s2 >= ta, s2 >= tb { return s2 }
        }
        return 1 + min(ta, tb)
    }

    /// The smallest upwind solution at padded index `p` (row stride `pw`) over its four neighbour pairs.
    @inline(__always)
    static func arrival(at p: Int, pw: Int, _ state: UnsafeMutableBufferPointer<FrontState>, _ time: UnsafeMutableBufferPointer<Float>) -> Float {
        let up = p - pw, down = p + pw, left = p - 1, right = p + 1
        return min(min(solve(up, left, state, time), solve(down, left, state, time)),
                   min(solve(up, right, state, time), solve(down, right, state, time)))
    }

    /// Marks as `.band` (T = 0) every `.known` pixel 4-adjacent to an `.inside` one and returns their indices
    /// in scan order.
    mutating func seedBoundary() -> [Int] {
        var seeds: [Int] = []
        for p in 0..<state.count where state[p] == .known {
            if state[p - 1] == .inside || state[p + 1] == .inside || state[p - pw] == .inside || state[p + pw] == .inside {
                state[p] = .band
                time[p] = 0
                seeds.append(p)
            }
        }
        return seeds
    }

    /// Signed distances outside the hole: marches from the hole boundary over known pixels up to `limit` and
    /// stores T <= 0 there (negated), as OpenCV does so that T's gradient is defined across the boundary.
    /// Leaves the states as they were. `.inside` marks the hole.
    mutating func markOutsideDistances(limit: Float) {
        // Swap roles: the hole becomes known, the known region becomes the domain to march into.
        var outer = FrontGrid(width: pw - 2, height: ph - 2)
        for p in 0..<state.count where state[p] != .outside {
            outer.state[p] = state[p] == .inside ? .known : .inside
        }
        let seeds = outer.seedBoundary()
        var heap = FrontHeap(capacity: seeds.count * 4)
        for p in seeds { heap.push(0, p) }
        let pw = self.pw
        outer.state.withUnsafeMutableBufferPointer { st in
            outer.time.withUnsafeMutableBufferPointer { tm in
                while let (t, p) = heap.pop() {
                    st[p] = .known
                    if t > limit { continue }
                    for k in 0..<4 {
                        let q = k == 0 ? p - pw : k == 1 ? p + pw : k == 2 ? p - 1 : p + 1
                        guard st[q] == .inside else { continue }
                        let tq = FrontGrid.arrival(at: q, pw: pw, st, tm)
                        tm[q] = tq
                        st[q] = .band
                        heap.push(tq, q)
                    }
                }
            }
        }
        // The outer front starts on the hole's side of the boundary, so known boundary pixels arrive at 1:
        // shift by one so they sit at T = 0, where the inner pass starts.
        for p in 0..<state.count where state[p] == .known && outer.state[p] == .known {
            time[p] = 1 - outer.time[p]
        }
    }
}
