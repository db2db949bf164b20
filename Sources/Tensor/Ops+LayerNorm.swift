/// Layer normalisation as a recorded primitive (the training path): one pass per row forward, saving each row's
/// mean and 1/std, and a fused backward, instead of the eight primitives of `layerNormComposite` and their
/// same-size temporaries.
enum LayerNormKernels {
    /// Rows per task of the backward's weight and bias sums: partial sums per block of rows, added in block order.
    static let rowsPerBlock = 64

    /// y (rows, d) = (x - mean) * rstd * w + b; writes mean and rstd (rows). The statistics are computed as
    /// `Fused.layerNorm` computes them (double sums of shifted values), so both paths give the same rows.
    static func forward(x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                        rstd: UnsafeMutablePointer<Float>, rows: Int, d: Int,
                        weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, eps: Float) {
        Parallel.forChunks(rows, grain: Swift.max(1, Parallel.grain / Swift.max(1, d))) { range in
            for r in range {
                let xr = UnsafeMutablePointer(mutating: x + r * d), orow = out + r * d
                let mu = Norm.sum(xr, d, shift: 0) / Double(d)
                let sq = Norm.sumOfSquares(xr, d, shift: Float(mu))
                let rs = Float(1 / (sq / Double(d) + Double(eps)).squareRoot()), muF = Float(mu)
                mean[r] = muF; rstd[r] = rs
                for j in 0..<d { orow[j] = (xr[j] - muF) * rs * (weight?[j] ?? 1) + (bias?[j] ?? 0) }
            }
        }
    }

    /// For xhat = (x - mean) rstd and dxhat = g * w:
    ///
    ///     dx = rstd * (dxhat - mean_j(dxhat) - xhat * mean_j(dxhat * xhat))     dw = sum_rows g * xhat     db = sum_rows g
    ///
    /// dw and db (d) are written when given; their sums run per block of `rowsPerBlock` rows, blocks added in order.
    static func backward(x: UnsafePointer<Float>, g: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                         weight: UnsafePointer<Float>?, rows: Int, d: Int, dx: UnsafeMutablePointer<Float>?,
                         dw: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?) {
        let blocks = (rows + rowsPerBlock - 1) / rowsPerBlock
        let wantsParams = dw != nil || db != nil
        let partial = wantsParams ? ScratchPool.shared.take(2 * blocks * d) : nil
        defer { partial.map { ScratchPool.shared.give($0) } }
        Parallel.forEach(blocks) { blk in
            let r0 = blk * rowsPerBlock, r1 = Swift.min(rows, r0 + rowsPerBlock)
            let pw = partial.map { $0.pointer + 2 * blk * d }, pb = pw.map { $0 + d }
            if let pw, let pb { pw.initialize(repeating: 0, count: d); pb.initialize(repeating: 0, count: d) }
            for r in r0..<r1 {
                let xr = x + r * d, gr = g + r * d, mu = mean[r], rs = rstd[r]
                if let pw, let pb {
                    for j in 0..<d { let xh = (xr[j] - mu) * rs; pw[j] += gr[j] * xh; pb[j] += gr[j] }
                }
                guard let dx else { continue }
                var sumDxhat: Float = 0, sumDxhatXhat: Float = 0
                for j in 0..<d {
                    let dxh = gr[j] * (weight?[j] ?? 1), xh = (xr[j] - mu) * rs
                    sumDxhat += dxh; sumDxhatXhat += dxh * xh
                }
                let a1 = sumDxhat / Float(d), a2 = sumDxhatXhat / Float(d), dr = dx + r * d
                for j in 0..<d {
                    let xh = (xr[j] - mu) * rs
                    dr[j] = rs * (gr[j] * (weight?[j] ?? 1) - a1 - xh * a2)
                }
            }
        }
        if let partial {
            dw?.initialize(repeating: 0, count: d); db?.initialize(repeating: 0, count: d)
            for blk in 0..<blocks {
                let pw = partial.pointer + 2 * blk * d, pb = pw + d
                if let dw { for j in 0..<d { dw[j] += pw[j] } }
                if let db { for j in 0..<d { db[j] += pb[j] } }
            }
        }
    }
}

extension Tensor {
    /// The recorded layer norm primitive over the last dimension d of x, with optional weight and bias (d).
    static func layerNormRecorded(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let d = x.rank == 0 ? 1 : x.shape[x.rank - 1], rows = x.count / Swift.max(d, 1)
        let out = Tensor.empty(x.shape)
        let rowShape = x.rank == 0 ? [1] : Array(x.shape.dropLast()) + [1]
        let mean = Tensor.empty(rowShape), rstd = Tensor.empty(rowShape)
        x.withF32 { xp in withOptionalF32(weight) { wp in withOptionalF32(bias) { bp in
            LayerNormKernels.forward(x: xp, out: out.storage.pointer, mean: mean.storage.pointer, rstd: rstd.storage.pointer,
                                     rows: rows, d: d, weight: wp, bias: bp, eps: eps)
        } } }
        let inputs = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        return record(out, inputs, .layerNorm(hasWeight: weight != nil, hasBias: bias != nil, mean: mean, rstd: rstd))
    }

    /// The `.layerNorm` rule: [dx, dweight?, dbias?] for the inputs as recorded.
    static func layerNormBackward(inputs: [Tensor], grad g: Tensor, hasWeight: Bool, hasBias: Bool, mean: Tensor, rstd: Tensor,
                                  need: [Bool]) -> [Tensor?] {
        let x = inputs[0], d = x.rank == 0 ? 1 : x.shape[x.rank - 1], rows = x.count / Swift.max(d, 1)
        let weight = hasWeight ? inputs[1] : nil
        let needW = hasWeight && need[1], needB = hasBias && need[hasWeight ? 2 : 1]
        let dx = need[0] ? Tensor.empty(x.shape) : nil
        let dw = needW ? Tensor.empty([d]) : nil, db = needB ? Tensor.empty([d]) : nil
        x.withF32 { xp in g.withF32 { gp in withOptionalF32(weight) { wp in
            LayerNormKernels.backward(x: xp, g: gp, mean: mean.storage.pointer, rstd: rstd.storage.pointer, weight: wp,
                                      rows: rows, d: d, dx: dx?.storage.pointer, dw: dw?.storage.pointer, db: db?.storage.pointer)
        } } }
        return [dx] + (hasWeight ? [dw] : []) + (hasBias ? [db] : [])
    }
}
