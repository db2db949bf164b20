import Foundation

/// Group normalisation kernels (a fused primitive with its own backward).
enum Norm {
    /// Sum of p[0..<n] - shift: 8-lane float partial sums over blocks of 4096, blocks added in double.
    static func sum(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Double {
        reduce(n) { i in p.loadV(i) - shift } scalar: { i in p[i] - shift }
    }

    /// Sum of (p[i] - shift)^2.
    static func sumOfSquares(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Double {
        reduce(n) { i in let d = p.loadV(i) - shift; return d * d } scalar: { i in let d = p[i] - shift; return d * d }
    }

    /// Sum of a[i] * (b[i] - shift).
    static func dot(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Double {
        reduce(n) { i in a.loadV(i) * (b.loadV(i) - shift) } scalar: { i in a[i] * (b[i] - shift) }
    }

    @inline(__always)
    private static func reduce(_ n: Int, _ lanes: (Int) -> SIMD8<Float>, scalar: (Int) -> Float) -> Double {
        var total: Double = 0
        var start = 0
        while start < n {
            let end = Swift.min(n, start + 4096)
            var acc = SIMD8<Float>()
            var i = start
            while i + 8 <= end { acc += lanes(i); i += 8 }
            var tail: Float = 0
            while i < end { tail += scalar(i); i += 1 }
            total += Double(acc.sum() + tail)
            start = end
        }
        return total
    }

    /// Gradients of group norm with respect to x, weight and bias.
    static func groupNormBackward(x: Tensor, w: Tensor, grad g: Tensor, groups: Int, mean: Tensor, rstd: Tensor) -> [Tensor?] {
        let n = x.shape[0], c = x.shape[1], s = x.count / Swift.max(n * c, 1), cg = c / groups
        let dx = Tensor.empty(x.shape)
        // Per (n, c) partial sums of dy * xhat and dy, reduced over n afterwards in order (deterministic).
        let dwPart = TensorStorage(count: n * c), dbPart = TensorStorage(count: n * c)
        let xp = x.storage.pointer, gp = g.storage.pointer, dxp = dx.storage.pointer
        let mp = mean.storage.pointer, rp = rstd.storage.pointer
        // A half-precision weight is read through per-call scratch, never kept as a float32 shadow.
        w.withF32 { wp in
        Parallel.forEach(n * groups) { ng in
            let b = ng / groups, gi = ng % groups
            let mu = mp[ng], rs = rp[ng]
            var sumDxhat: Double = 0, sumDxhatXhat: Double = 0
            for ci in (gi * cg)..<((gi + 1) * cg) {
                let base = (b * c + ci) * s, wc = wp[ci]
                let sdy = Float(Norm.sum(gp + base, s, shift: 0))
                let sdyx = Float(Norm.dot(gp + base, xp + base, s, shift: mu)) * rs   // sum dy * (x - mu) * rstd
                dwPart.pointer[b * c + ci] = sdyx
                dbPart.pointer[b * c + ci] = sdy
                sumDxhat += Double(sdy * wc); sumDxhatXhat += Double(sdyx * wc)
            }
            let m = Float(cg * s)
            let a1 = Float(sumDxhat) / m, a2 = Float(sumDxhatXhat) / m
            for ci in (gi * cg)..<((gi + 1) * cg) {
                let base = (b * c + ci) * s, wc = wp[ci]
                // dx = rs * (dy * w - a1 - (x - mu) * rs * a2) = dy * (rs * w) + x * k + c0
                let gw = rs * wc, k = -rs * rs * a2, c0 = -rs * a1 + mu * rs * rs * a2
                let xb = xp + base, gb = gp + base, db = dxp + base
                for i in 0..<s { db[i] = gb[i] * gw + xb[i] * k + c0 }
            }
        }
        }
        let dw = Tensor(zeros: [c]), db = Tensor(zeros: [c])
        for b in 0..<n {
            for ci in 0..<c {
                dw.storage.pointer[ci] += dwPart.pointer[b * c + ci]
                db.storage.pointer[ci] += dbPart.pointer[b * c + ci]
            }
        }
        return [dx, dw, db]
    }
}

extension Tensor {
    /// Group normalisation of x (N, C, *) over `groups` channel groups, with per-channel weight and bias (C),
    /// as `torch.nn.functional.group_norm`, followed by `activation`.
    ///
    /// Recording a graph: the fused primitive (with its own backward), then the activation's primitive. Not
    /// recording (inference): one kernel for statistics, affine and activation, written into x's buffer when the
    /// caller hands over its last reference (e.g. `groupNorm(conv(x), ...)`), else into a new one.
    public static func groupNorm(_ input: consuming Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float = 1e-5,
                                 activation: Activation = .identity) throws -> Tensor {
        var x = input   // an ordinary (copyable) binding that holds the caller's reference
        guard x.rank >= 2, groups > 0, x.shape[1] % groups == 0 else {
            throw TensorError("groupNorm", "\(groups) groups do not divide the channels of \(shapeText(x.shape))")
        }
        let n = x.shape[0], c = x.shape[1], s = x.count / Swift.max(n * c, 1)
        guard weight.shape == [c], bias.shape == [c] else {
            throw TensorError("groupNorm", "weight \(shapeText(weight.shape)) and bias \(shapeText(bias.shape)) should be [\(c)]")
        }
        if !recording(x, weight, bias) {
            let out = x.inferenceOutput()
            x.withF32 { xp in weight.withF32 { wp in bias.withF32 { bp in
                Fused.groupNorm(x: UnsafeMutablePointer(mutating: xp), out: out.storage.pointer, n: n, c: c, spatial: s,
                                groups: groups, weight: wp, bias: bp, eps: eps, activation)
            } } }
            return out
        }
        let normed = groupNormRecorded(x, groups: groups, weight: weight, bias: bias, eps: eps)
        return try normed.activated(activation)
    }

    /// The recorded group norm primitive (saves mean and rstd for backward).
    static func groupNormRecorded(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
        let n = x.shape[0], c = x.shape[1], s = x.count / Swift.max(n * c, 1), cg = c / groups
        let out = Tensor.empty(x.shape)
        let mean = Tensor.empty([n, groups]), rstd = Tensor.empty([n, groups])
        let xp = x.storage.pointer, op = out.storage.pointer
        let mp = mean.storage.pointer, rp = rstd.storage.pointer
        // Half-precision weight and bias are read through per-call scratch, never kept as float32 shadows.
        weight.withF32 { wp in bias.withF32 { bp in
        Parallel.forEach(n * groups) { ng in
            let b = ng / groups, gi = ng % groups
            let base = (b * c + gi * cg) * s, m = cg * s
            let mu = Norm.sum(xp + base, m, shift: 0) / Double(m)
            let sq = Norm.sumOfSquares(xp + base, m, shift: Float(mu))
            let rs = Float(1 / (sq / Double(m) + Double(eps)).squareRoot())
            let muF = Float(mu)
            mp[ng] = muF; rp[ng] = rs
            for ci in (gi * cg)..<((gi + 1) * cg) {
                let scale = rs * wp[ci], shift = bp[ci] - muF * scale
                let cb = (b * c + ci) * s
                for i in 0..<s { op[cb + i] = xp[cb + i] * scale + shift }
            }
        }
        } }
        return record(out, [x, weight, bias], .groupNorm(groups: groups, mean: mean, rstd: rstd))
    }

    /// Layer normalisation over the last dimension with weight and bias of that size. Recording a graph: the
    /// `.layerNorm` primitive (one pass per row, saving mean and 1/std; a fused backward, Ops+LayerNorm.swift). Not
    /// recording: one fused pass per row, in x's buffer when the caller hands over its last reference.
    public static func layerNorm(_ input: consuming Tensor, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        var x = input   // an ordinary (copyable) binding that holds the caller's reference
        let d = x.rank == 0 ? 1 : x.shape[x.rank - 1]
        if let weight, weight.shape != [d] {
            throw TensorError("layerNorm", "weight \(shapeText(weight.shape)) should be [\(d)] for input \(shapeText(x.shape))")
        }
        if let bias, bias.shape != [d] {
            throw TensorError("layerNorm", "bias \(shapeText(bias.shape)) should be [\(d)] for input \(shapeText(x.shape))")
        }
        let recorded = recording(x) || (weight.map { recording($0) } ?? false) || (bias.map { recording($0) } ?? false)
        if !recorded && x.count > 0 && d > 0 {
            let out = x.inferenceOutput()
            x.withF32 { xp in withOptionalF32(weight) { wp in withOptionalF32(bias) { bp in
                Fused.layerNorm(x: UnsafeMutablePointer(mutating: xp), out: out.storage.pointer, rows: x.count / d, d: d,
                                weight: wp, bias: bp, eps: eps)
            } } }
            return out
        }
        if x.count > 0 && d > 0 { return layerNormRecorded(x, weight: weight, bias: bias, eps: eps) }
        return try layerNormComposite(x, weight: weight, bias: bias, eps: eps)
    }

    /// Layer normalisation from primitives (the reference of the fused kernel and of the `.layerNorm` primitive).
    static func layerNormComposite(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor {
        let mu = try x.mean(axes: [-1], keepDims: true)
        let centered = try x - mu
        let variance = try (centered * centered).mean(axes: [-1], keepDims: true)
        var y = try centered * (variance + eps).pow(-0.5)
        if let weight { y = try y * weight }
        if let bias { y = try y + bias }
        return y
    }
}
