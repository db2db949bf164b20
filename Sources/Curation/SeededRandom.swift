/// A small deterministic random generator (SplitMix64). Everything in Curation that is "random by seed" (synthetic
/// scenes, splits, review orders) draws from it through its own methods, so that the same seed gives the same
/// numbers on every run, platform and Swift version (the standard library's `random(in:using:)` makes no promise).
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose whole sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform double in `range`.
    public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + unit() * (range.upperBound - range.lowerBound)
    }

    /// A uniform integer in `0..<n` by multiply-shift (bias below 2^-32 for the sizes used here); 0 when `n <= 0`.
    public mutating func below(_ n: Int) -> Int {
        guard n > 0 else { return 0 }
        return Int(((next() >> 32) &* UInt64(n)) >> 32)
    }

    /// A uniformly chosen element of an array the caller has checked is not empty.
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// The indices `0..<n` in a random order (Fisher-Yates).
    public mutating func permutation(_ n: Int) -> [Int] {
        guard n > 1 else { return n == 1 ? [0] : [] }
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, below(i + 1)) }
        return order
    }
}
