import Tensor

extension TorchGenerator {
    /// A float32 tensor of standard normals, as `torch.randn(shape, generator=g)` (row-major, so a (1, 4, 64, 64)
    /// latent equals diffusers' `randn_tensor` for that shape). Negative sizes count as 0.
    public func randn(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        var t = Tensor(zeros: shape)
        t.withMutableValues { fillNormal($0, mean: mean, std: std) }
        return t
    }

    /// A float32 tensor of standard normals drawn as torch fills a tensor that is not contiguous (e.g.
    /// `randn_like` of a channels-last tensor): one double-precision Box-Muller normal at a time (torch's serial
    /// kernel), in the order of `memoryOrder` (the tensor's dimensions from outermost to innermost in memory), then
    /// laid out row-major in `shape`. `memoryOrder` nil is row-major.
    public func randnSerial(_ shape: [Int], memoryOrder: [Int]? = nil) throws -> Tensor {
        let order = memoryOrder ?? Array(shape.indices)
        guard order.sorted() == Array(shape.indices) else {
            throw TensorError("randnSerial", "memory order \(order) is not a permutation of the dimensions of \(shape)")
        }
        let stored = order.map { shape[$0] }
        var values = [Float](repeating: 0, count: stored.reduce(1) { $0 * Swift.max($1, 0) })
        for i in values.indices { values[i] = Float(scalarNormal(mean: 0, std: 1)) }
        let inverse = shape.indices.map { d in order.firstIndex(of: d) ?? d }
        return try Tensor(values, shape: stored).permuted(inverse)
    }

    /// A float32 tensor of uniforms in [low, high), as `torch.rand(shape, generator=g)` (scaled).
    public func rand(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        var t = Tensor(zeros: shape)
        t.withMutableValues { fillUniform($0, low: low, high: high) }
        return t
    }
}
