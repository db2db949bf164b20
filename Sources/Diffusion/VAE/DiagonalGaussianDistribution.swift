import Foundation
import Tensor

/// The VAE's posterior, as diffusers' `DiagonalGaussianDistribution`: the encoder's moments (N, 2C, h, w) split
/// into `mean` and `logvar` (clamped to [-30, 20]); `std = exp(logvar / 2)`. Inference only: it records no graph.
public struct DiagonalGaussianDistribution {
    /// (N, C, h, w)
    public let mean: Tensor
    /// (N, C, h, w), clamped to [-30, 20].
    public let logvar: Tensor
    /// exp(0.5 * logvar), (N, C, h, w).
    public let std: Tensor

    /// Splits moments (N, 2C, h, w) along the channels.
    public init(moments: Tensor) throws {
        guard moments.rank == 4, moments.shape[1] % 2 == 0, moments.shape[1] > 0 else {
            throw TensorError("DiagonalGaussianDistribution", "moments \(moments.shape) should be (N, 2C, h, w)")
        }
        let c = moments.shape[1] / 2
        mean = try moments.slice(axis: 1, 0, c).detached
        var lv = try moments.slice(axis: 1, c, 2 * c).detached
        lv.withMutableValues { v in
            for i in 0..<v.count { v[i] = Swift.min(Swift.max(v[i], -30), 20) }
        }
        logvar = lv
        std = (lv * 0.5).exp()
    }

    /// The mode (the mean), as `retrieve_latents(..., sample_mode="argmax")`.
    public func mode() -> Tensor { mean }

    /// A draw `mean + std * noise`, where `noise` (the shape of `mean`) is standard normal noise drawn by the
    /// caller (e.g. from a torch-compatible generator, in the pipeline's order).
    public func sample(noise: Tensor) throws -> Tensor {
        guard noise.shape == mean.shape else {
            throw TensorError("DiagonalGaussianDistribution", "noise \(noise.shape) should have the mean's shape \(mean.shape)")
        }
        return try mean + std * noise
    }
}
