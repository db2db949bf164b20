/// Scaled dot-product attention: the inference kernel, the fused training primitive and its backward rule.
extension Tensor {
    /// Scaled dot-product attention: q (..., Lq, D), k (..., Lk, D), v (..., Lk, Dv) -> (..., Lq, Dv).
    /// Self-attention passes the same sequence for all three; cross-attention passes a context for k and v.
    ///
    /// With equal batch dimensions and at least one key it runs `Attention.flash`: query blocks against key
    /// blocks with an online softmax, in memory of a few score tiles instead of Lq x Lk. Recording a graph
    /// (training), it is the fused `.attention` primitive: the same forward also saves each query row's log-sum-exp,
    /// and backward recomputes the probabilities tile by tile (`Attention.flashBackward`). Other shapes run the
    /// composite `attentionComposite` (matmul, softmax, matmul), which is also the reference of both. Zero-width heads
    /// (D = 0: every score is 0) give the mean of the value rows.
    public static func scaledDotProductAttention(query q: Tensor, key k: Tensor, value v: Tensor, scale: Float? = nil) throws -> Tensor {
        guard q.rank >= 2, q.shape[q.rank - 1] == k.shape[k.rank - 1] else {
            throw TensorError("attention", "query \(shapeText(q.shape)) and key \(shapeText(k.shape)) need the same last dimension")
        }
        let s = scale ?? 1 / Float(q.shape[q.rank - 1]).squareRoot()
        let r = q.rank
        guard k.rank == r, v.rank == r, q.shape.dropLast(2) == k.shape.dropLast(2),
              k.shape.dropLast(1) == v.shape.dropLast(1), k.shape[r - 2] > 0 else {
            return try attentionComposite(query: q, key: k, value: v, scale: s)
        }
        let batch = q.shape.dropLast(2).reduce(1, *)
        let (lq, lk, d, dv) = (q.shape[r - 2], k.shape[r - 2], q.shape[r - 1], v.shape[r - 1])
        let out = Tensor.empty(Array(q.shape.dropLast()) + [dv])                  // (..., Lq, Dv)
        if !recording(q, k, v) {
            if d == 0 {
                // Every score is 0: each output row is the mean of the value rows.
                return try v.mean(axes: [-2], keepDims: true).expanded(to: out.shape)
            }
            q.withF32 { qp in k.withF32 { kp in v.withF32 { vp in
                Attention.flash(q: qp, k: kp, v: vp, out: out.storage.pointer, batch: batch, lq: lq, lk: lk, d: d, dv: dv, scale: s)
            } } }
            return out
        }
        if d == 0 {
            // Zero-width heads: the mean of the value rows, broadcast by a recorded add (q and k get no gradient).
            return try v.mean(axes: [-2], keepDims: true) + Tensor(zeros: out.shape)
        }
        let lse = Tensor.empty(Array(q.shape.dropLast()))                        // (..., Lq)
        q.withF32 { qp in k.withF32 { kp in v.withF32 { vp in
            Attention.flash(q: qp, k: kp, v: vp, out: out.storage.pointer, logsumexp: lse.storage.pointer,
                            batch: batch, lq: lq, lk: lk, d: d, dv: dv, scale: s)
        } } }
        return record(out, [q, k, v], .attention(scale: s, output: out.detached, logsumexp: lse))
    }

    /// Multi-head attention on the projections' own layout: q (N, Lq, heads x D), k (N, Lk, heads x D), v (N, Lk,
    /// heads x Dv) -> (N, Lq, heads x Dv), head h being features h x D ..< (h + 1) x D. The same values as splitting
    /// the heads into (N, heads, L, D), `scaledDotProductAttention` and merging them back; without a graph, the flash
    /// kernel reads each head's rows in place and writes the merged output directly, so none of the four permuted
    /// copies is made. Recording a graph, it is that split, the fused primitive and the merge.
    public static func multiHeadAttention(query q: Tensor, key k: Tensor, value v: Tensor, heads: Int,
                                          scale: Float? = nil) throws -> Tensor {
        guard heads >= 1, q.rank == 3, k.rank == 3, v.rank == 3, q.shape[0] == k.shape[0], k.shape[0] == v.shape[0],
              k.shape[1] == v.shape[1], q.shape[2] == k.shape[2], q.shape[2] % heads == 0, v.shape[2] % heads == 0 else {
            throw TensorError("attention", "query \(shapeText(q.shape)), key \(shapeText(k.shape)) and value \(shapeText(v.shape)) do not split into \(heads) heads")
        }
        let (n, lq, lk, d, dv) = (q.shape[0], q.shape[1], k.shape[1], q.shape[2] / heads, v.shape[2] / heads)
        let s = scale ?? 1 / Float(d).squareRoot()
        if recording(q, k, v) || lk == 0 || d == 0 {
            func split(_ t: Tensor, _ width: Int) throws -> Tensor {          // (N, L, heads x w) -> (N, heads, L, w)
                try t.reshaped([n, t.shape[1], heads, width]).permuted([0, 2, 1, 3])
            }
            let attended = try scaledDotProductAttention(query: split(q, d), key: split(k, d), value: split(v, dv), scale: s)
            return try attended.permuted([0, 2, 1, 3]).reshaped([n, lq, heads * dv])
        }
        let out = Tensor.empty([n, lq, heads * dv])                             // (N, Lq, heads x Dv)
        q.withF32 { qp in k.withF32 { kp in v.withF32 { vp in
            Attention.flash(q: qp, k: kp, v: vp, out: out.storage.pointer, batch: n * heads, heads: heads,
                            lq: lq, lk: lk, d: d, dv: dv, scale: s)
        } } }
        return out
    }

    /// The `.attention` primitive's rule: [dq, dk, dv] (nil where `need` is false) from the saved output and
    /// log-sum-exp, never holding Lq x Lk.
    static func attentionBackward(inputs: [Tensor], grad g: Tensor, scale: Float, output: Tensor, logsumexp: Tensor,
                                  need: [Bool]) -> [Tensor?] {
        let q = inputs[0], k = inputs[1], v = inputs[2], r = q.rank
        let batch = q.shape.dropLast(2).reduce(1, *)
        let (lq, lk, d, dv) = (q.shape[r - 2], k.shape[r - 2], q.shape[r - 1], v.shape[r - 1])
        let dq = need[0] ? Tensor.empty(q.shape) : nil
        let dk = need[1] ? Tensor.empty(k.shape) : nil
        let dvT = need[2] ? Tensor.empty(v.shape) : nil
        q.withF32 { qp in k.withF32 { kp in v.withF32 { vp in g.withF32 { gp in
            Attention.flashBackward(q: qp, k: kp, v: vp, out: output.storage.pointer, logsumexp: logsumexp.storage.pointer,
                                    dOut: gp, dq: dq?.storage.pointer, dk: dk?.storage.pointer, dv: dvT?.storage.pointer,
                                    batch: batch, lq: lq, lk: lk, d: d, dv: dv, scale: scale)
        } } } }
        return [dq, dk, dvT]
    }
}
