/// Operations built from primitives; their gradients come from the primitives' rules.
extension Tensor {
    /// Softmax along `axis` (numerically stable: the max is subtracted as a constant).
    public func softmax(axis: Int = -1) throws -> Tensor {
        let shifted = try self - self.detached.max(axis: axis)
        let e = shifted.exp()
        return try e / e.sum(axes: [axis], keepDims: true)
    }

    /// Log-softmax along `axis`.
    public func logSoftmax(axis: Int = -1) throws -> Tensor {
        let shifted = try self - self.detached.max(axis: axis)
        return try shifted - shifted.exp().sum(axes: [axis], keepDims: true).log()
    }

    /// Linear map x (..., in) -> (..., out) with weight (out, in) and optional bias (out), as `nn.Linear`.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        guard weight.rank == 2, x.rank >= 1, x.shape[x.rank - 1] == weight.shape[1] else {
            throw TensorError("linear", "input \(shapeText(x.shape)) does not fit weight \(shapeText(weight.shape)) (out, in)")
        }
        let x2 = x.rank == 1 ? try x.reshaped([1, x.count]) : x
        var y = try Tensor.matmul(x2, weight, transposeB: true)
        if let bias { y = try y + bias }
        return x.rank == 1 ? try y.reshaped([weight.shape[0]]) : y
    }

    /// Attention from primitives: softmax(scale * q k^T) v, holding the whole (..., Lq, Lk) score matrix. The readable
    /// reference of `Attention.flash` and of the fused `.attention` primitive (Ops+Attention.swift), and the path for
    /// shapes those do not take (batch dimensions that differ, no keys, zero-width heads).
    static func attentionComposite(query q: Tensor, key k: Tensor, value v: Tensor, scale s: Float) throws -> Tensor {
        let scores = try Tensor.matmul(q, k, transposeB: true) * s   // (..., Lq, Lk)
        return try Tensor.matmul(scores.softmax(axis: -1), v)
    }

    /// Mean absolute error.
    public static func l1Loss(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        try checkSame(prediction, target, "l1Loss")
        return try (prediction - target).abs().mean()
    }

    /// Mean squared error.
    public static func mseLoss(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        try checkSame(prediction, target, "mseLoss")
        let d = try prediction - target
        return try (d * d).mean()
    }

    /// Binary cross-entropy on logits, mean over elements: softplus(x) - x * y (stable for large |x|).
    public static func bceWithLogitsLoss(_ logits: Tensor, _ target: Tensor) throws -> Tensor {
        try checkSame(logits, target, "bceWithLogitsLoss")
        return try (logits.softplus() - logits * target).mean()
    }

    /// Inverted dropout: zeroes each element with probability `p` and scales the rest by 1/(1-p).
    /// Identity when `training` is false or p is 0.
    public func dropout(p: Float, training: Bool, rng: inout RNG) throws -> Tensor {
        guard p >= 0, p < 1 else { throw TensorError("dropout", "probability \(p) must be in [0, 1)") }
        if !training || p == 0 { return self }
        var mask = Tensor.empty(shape)
        let keep = 1 / (1 - p)
        mask.withMutableValues { m in
            for i in 0..<m.count { m[i] = rng.nextFloat() < p ? 0 : keep }
        }
        return try self * mask
    }

    private static func checkSame(_ a: Tensor, _ b: Tensor, _ op: String) throws {
        guard a.shape == b.shape else {
            throw TensorError(op, "prediction \(shapeText(a.shape)) and target \(shapeText(b.shape)) differ")
        }
    }
}
