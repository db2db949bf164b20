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

    /// Scaled dot-product attention: q (..., Lq, D), k (..., Lk, D), v (..., Lk, Dv) -> (..., Lq, Dv).
    /// Self-attention passes the same sequence for all three; cross-attention passes a context for k and v.
    ///
    /// Without a graph to record (inference) and with equal batch dimensions, it runs `Attention.flash`: query
    /// blocks against key blocks with an online softmax, in memory of a few score tiles instead of Lq x Lk.
    /// Recording a graph (training), it composes matmul, softmax and matmul, whose gradients are the primitives'.
    public static func scaledDotProductAttention(query q: Tensor, key k: Tensor, value v: Tensor, scale: Float? = nil) throws -> Tensor {
        guard q.rank >= 2, q.shape[q.rank - 1] == k.shape[k.rank - 1] else {
            throw TensorError("attention", "query \(shapeText(q.shape)) and key \(shapeText(k.shape)) need the same last dimension")
        }
        let s = scale ?? 1 / Float(q.shape[q.rank - 1]).squareRoot()
        let r = q.rank
        if !recording(q, k, v), k.rank == r, v.rank == r, q.shape.dropLast(2) == k.shape.dropLast(2),
           k.shape.dropLast(1) == v.shape.dropLast(1), k.shape[r - 2] > 0 {
            let batch = q.shape.dropLast(2).reduce(1, *)
            let (lq, lk, d, dv) = (q.shape[r - 2], k.shape[r - 2], q.shape[r - 1], v.shape[r - 1])
            let out = Tensor.empty(Array(q.shape.dropLast()) + [dv])
            if d == 0 {
                // Every score is 0: each output row is the mean of the value rows.
                return try v.mean(axes: [-2], keepDims: true).expanded(to: out.shape)
            }
            q.withF32 { qp in k.withF32 { kp in v.withF32 { vp in
                Attention.flash(q: qp, k: kp, v: vp, out: out.storage.pointer, batch: batch, lq: lq, lk: lk, d: d, dv: dv, scale: s)
            } } }
            return out
        }
        return try attentionComposite(query: q, key: k, value: v, scale: s)
    }

    /// Attention from primitives: softmax(scale * q k^T) v, holding the whole (..., Lq, Lk) score matrix (the
    /// training path and the reference of `Attention.flash`).
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
