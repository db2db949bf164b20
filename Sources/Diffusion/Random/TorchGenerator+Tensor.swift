import Tensor

extension TorchGenerator {
    /// A float32 tensor of standard normals, as `torch.randn(shape, generator=g)` (row-major, so a (1, 4, 64, 64)
    /// latent equals diffusers' `randn_tensor` for that shape). Negative sizes count as 0.
    public func randn(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        var t = Tensor(zeros: shape)
        t.withMutableValues { fillNormal($0, mean: mean, std: std) }
        return t
    }

    /// A float32 tensor of uniforms in [low, high), as `torch.rand(shape, generator=g)` (scaled).
    public func rand(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        var t = Tensor(zeros: shape)
        t.withMutableValues { fillUniform($0, low: low, high: high) }
        return t
    }
}
