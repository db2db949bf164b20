import Foundation

/// A seeded random generator (SplitMix64 state, xoshiro-style output): the same seed gives the same stream on
/// every run and thread count, because all draws happen serially on the caller's thread.
public struct RNG {
    private var state: UInt64
    private var spareNormal: Float?

    /// A generator seeded with `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform integer in `0..<bound`.
    public mutating func nextInt(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }

    /// Standard normal (Box-Muller).
    public mutating func nextNormal() -> Float {
        if let s = spareNormal { spareNormal = nil; return s }
        var u1 = nextFloat()
        while u1 <= 1e-12 { u1 = nextFloat() }
        let u2 = nextFloat()
        let r = (-2 * Foundation.log(u1)).squareRoot(), t = 2 * Float.pi * u2
        spareNormal = r * Foundation.sin(t)
        return r * Foundation.cos(t)
    }

    /// A permutation of `0..<n` (Fisher-Yates), for shuffling batches.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, nextInt(i + 1)) } }
        return p
    }
}

extension Tensor {
    /// Uniform samples in [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, rng: inout RNG) -> Tensor {
        var t = Tensor.empty(shape)
        t.withMutableValues { v in for i in 0..<v.count { v[i] = low + (high - low) * rng.nextFloat() } }
        return t
    }

    /// Normal samples with the given mean and standard deviation.
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout RNG) -> Tensor {
        var t = Tensor.empty(shape)
        t.withMutableValues { v in for i in 0..<v.count { v[i] = mean + std * rng.nextNormal() } }
        return t
    }
}
