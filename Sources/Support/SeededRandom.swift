import Foundation

/// The project's one seeded random generator (SplitMix64). Everything "random by seed" draws from it: weight
/// initialisation, training batches and augmentation, synthetic scenes, splits and review orders. The same seed
/// gives the same numbers on every run, platform, thread count and Swift version (the standard library's
/// `random(in:using:)` makes no such promise), because every draw happens serially on the caller's thread.
///
/// Diffusion noise is the exception: it follows `torch.Generator("cpu")` (Diffusion's `TorchGenerator`) so that
/// results match diffusers.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    private var spareNormal: Float?

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

    // MARK: Doubles and indices (curation)

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
    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// The indices `0..<n` in a random order (Fisher-Yates with `below`).
    public mutating func permutation(_ n: Int) -> [Int] {
        guard n > 1 else { return n == 1 ? [0] : [] }
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, below(i + 1)) }
        return order
    }

    // MARK: Floats (tensors)

    /// A uniform float in [0, 1) from the top 24 bits.
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// A uniform integer in `0..<bound` by modulo; 0 when `bound <= 1`.
    public mutating func nextInt(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }

    /// A standard normal float (Box-Muller; the second value of each pair is kept for the next call).
    public mutating func nextNormal() -> Float {
        if let s = spareNormal { spareNormal = nil; return s }
        var u1 = nextFloat()
        while u1 <= 1e-12 { u1 = nextFloat() }
        let u2 = nextFloat()
        let r = (-2 * Foundation.log(u1)).squareRoot(), t = 2 * Float.pi * u2
        spareNormal = r * Foundation.sin(t)
        return r * Foundation.cos(t)
    }

    /// The indices `0..<n` in a random order (Fisher-Yates with `nextInt`): the order training batches are drawn
    /// in. It differs from `permutation` only in how each index is drawn; both are kept so that every committed
    /// training and curation result reproduces.
    public mutating func batchOrder(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, nextInt(i + 1)) } }
        return p
    }
}
