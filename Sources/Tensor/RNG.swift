import Foundation
import Support

/// The seeded generator tensors draw from: the project's one `SeededRandom` (Support).
public typealias RNG = SeededRandom

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
