/// Stride, padding, dilation and groups of a 2-D convolution.
public struct ConvGeometry: Hashable {
    public var strideH = 1, strideW = 1, padH = 0, padW = 0, dilationH = 1, dilationW = 1, groups = 1
    /// Extra rows/columns at the bottom/right of a transposed convolution's output (PyTorch `output_padding`).
    public var outputPadding = 0

    /// Square geometry, as in `nn.Conv2d(stride:padding:dilation:groups:)`.
    public init(stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1, outputPadding: Int = 0) {
        strideH = stride; strideW = stride; padH = padding; padW = padding
        dilationH = dilation; dilationW = dilation; self.groups = groups; self.outputPadding = outputPadding
    }

    /// Output size of a convolution along one axis.
    func convOut(_ size: Int, _ k: Int, _ s: Int, _ p: Int, _ d: Int) -> Int { (size + 2 * p - d * (k - 1) - 1) / s + 1 }
}

/// im2col / col2im and the convolution backward kernels.
enum Conv {
    /// Unfolds one image (C, H, W) into columns (C*kh*kw, oh*ow); with `rows`, only output rows `rows` into
    /// columns (C*kh*kw, rows.count*ow) (one band of a tiled convolution).
    static func im2col(_ img: UnsafePointer<Float>, c: Int, h: Int, w: Int, kh: Int, kw: Int, oh: Int, ow: Int,
                       geo: ConvGeometry, col: UnsafeMutablePointer<Float>, parallel: Bool = true, rows band: Range<Int>? = nil) {
        let rows = c * kh * kw
        let outRows = band ?? 0..<oh
        let cols = outRows.count * ow
        Parallel.forChunks(rows, grain: parallel ? Swift.max(1, rows / 8) : rows) { range in
            for r in range {
                let ci = r / (kh * kw), ki = (r / kw) % kh, kj = r % kw
                let dst = col + r * cols
                let plane = img + ci * h * w
                let dy = ki * geo.dilationH - geo.padH, dx = kj * geo.dilationW - geo.padW
                for oy in outRows {
                    let y = oy * geo.strideH + dy
                    let drow = dst + (oy - outRows.lowerBound) * ow
                    if y < 0 || y >= h { drow.initialize(repeating: 0, count: ow); continue }
                    let srow = plane + y * w
                    if geo.strideW == 1 {
                        // x = ox + dx; valid for ox in [lo, hi).
                        let lo = Swift.min(ow, Swift.max(0, -dx)), hi = Swift.max(lo, Swift.min(ow, w - dx))
                        if lo > 0 { drow.initialize(repeating: 0, count: lo) }
                        if hi > lo { (drow + lo).update(from: srow + lo + dx, count: hi - lo) }
                        if hi < ow { (drow + hi).initialize(repeating: 0, count: ow - hi) }
                    } else {
                        for ox in 0..<ow {
                            let x = ox * geo.strideW + dx
                            drow[ox] = (x >= 0 && x < w) ? srow[x] : 0
                        }
                    }
                }
            }
        }
    }

    /// Folds columns (C*kh*kw, oh*ow) back into an image (C, H, W), adding overlaps (the image is overwritten).
    static func col2im(_ col: UnsafePointer<Float>, c: Int, h: Int, w: Int, kh: Int, kw: Int, oh: Int, ow: Int,
                       geo: ConvGeometry, img: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        Parallel.forChunks(c, grain: parallel ? Swift.max(1, c / 8) : c) { range in
            for ci in range {
                let plane = img + ci * h * w
                plane.initialize(repeating: 0, count: h * w)
                for ki in 0..<kh {
                    for kj in 0..<kw {
                        let src = col + ((ci * kh + ki) * kw + kj) * oh * ow
                        let dy = ki * geo.dilationH - geo.padH, dx = kj * geo.dilationW - geo.padW
                        for oy in 0..<oh {
                            let y = oy * geo.strideH + dy
                            if y < 0 || y >= h { continue }
                            let prow = plane + y * w, srow = src + oy * ow
                            if geo.strideW == 1 {
                                // x = ox + dx; valid for ox in [lo, hi): a branch-free, vectorisable loop.
                                let lo = Swift.min(ow, Swift.max(0, -dx)), hi = Swift.max(lo, Swift.min(ow, w - dx))
                                let shifted = prow + dx
                                for ox in lo..<hi { shifted[ox] += srow[ox] }
                            } else {
                                for ox in 0..<ow {
                                    let x = ox * geo.strideW + dx
                                    if x >= 0 && x < w { prow[x] += srow[ox] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether the convolution is a plain 1x1 product (no unfolding needed).
    static func isPointwise(kh: Int, kw: Int, _ g: ConvGeometry) -> Bool {
        kh == 1 && kw == 1 && g.strideH == 1 && g.strideW == 1 && g.padH == 0 && g.padW == 0
    }

    /// Runs `body(sample, workspace)` for every sample: in parallel, one sample per task, for batches of 2 or
    /// more (each sample's products then run single-threaded); directly for one sample (its products are split
    /// instead). Tasks are handed out dynamically, which balances load when other processes compete for cores;
    /// each sample's arithmetic is the same whichever thread runs it.
    static func forEachSample(_ n: Int, workspace: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
        Parallel.forEach(n) { b in
            let scratch = ScratchPool.shared.take(workspace)
            defer { ScratchPool.shared.give(scratch) }
            body(b, scratch.pointer)
        }
    }

    /// Gradients of conv2d with respect to x, w and the bias.
    static func backward(x: Tensor, w: Tensor, hasBias: Bool, grad g: Tensor, geo: ConvGeometry, need: [Bool]) -> [Tensor?] {
        if ConvBackend.current == .onednn,
           let grads = OneDNNConv.backward(x: x, w: w, hasBias: hasBias, grad: g, geo: geo, need: need) {
            return grads
        }
        return nativeBackward(x: x, w: w, hasBias: hasBias, grad: g, geo: geo, need: need)
    }

    /// `backward` on the native path: im2col + SGEMM per sample.
    static func nativeBackward(x: Tensor, w: Tensor, hasBias: Bool, grad g: Tensor, geo: ConvGeometry, need: [Bool]) -> [Tensor?] {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let (oh, ow) = (g.shape[2], g.shape[3])
        let groups = geo.groups, og = o / groups, kk = cg * kh * kw, l = oh * ow
        let dx = need[0] ? Tensor.empty(x.shape) : nil
        let dw = need[1] ? Tensor(zeros: w.shape) : nil
        let pointwise = isPointwise(kh: kh, kw: kw, geo)
        let single = n == 1
        // Per-sample weight gradients (N, O, kk), summed in sample order afterwards: deterministic.
        let dwSamples = dw == nil || single ? nil : TensorStorage(count: n * o * kk, zeroed: false)
        x.withF32 { xp in w.withF32 { wp in
            Conv.forEachSample(n, workspace: pointwise ? 0 : kk * groups * l) { b, col in
                let xb = UnsafeMutablePointer(mutating: xp) + b * c * h * wd, gb = g.storage.pointer + b * o * l
                if let dw {
                    if !pointwise { im2col(xb, c: c, h: h, w: wd, kh: kh, kw: kw, oh: oh, ow: ow, geo: geo, col: col, parallel: single) }
                    let cp: UnsafePointer<Float> = pointwise ? UnsafePointer(xb) : UnsafePointer(col)
                    let target = dwSamples.map { $0.pointer + b * o * kk } ?? dw.storage.pointer
                    for gi in 0..<groups {
                        // dW_g (og, kk) = dOut_g (og, l) @ col_g^T (l, kk)
                        BLAS.sgemm(transA: false, transB: true, m: og, n: kk, k: l, a: gb + gi * og * l, lda: l,
                                   b: cp + gi * kk * l, ldb: l, c: target + gi * og * kk, ldc: kk, split: single)
                    }
                }
                if let dx {
                    let dxb = dx.storage.pointer + b * c * h * wd
                    let target = pointwise ? dxb : col
                    for gi in 0..<groups {
                        // dcol_g (kk, l) = W_g^T (kk, og) @ dOut_g (og, l)
                        BLAS.sgemm(transA: true, transB: false, m: kk, n: l, k: og, a: wp + gi * og * kk, lda: kk,
                                   b: gb + gi * og * l, ldb: l, c: target + gi * kk * l, ldc: l, split: single)
                    }
                    if !pointwise { col2im(col, c: c, h: h, w: wd, kh: kh, kw: kw, oh: oh, ow: ow, geo: geo, img: dxb, parallel: single) }
                }
            }
        } }
        if let dw, let dwSamples {
            let total = o * kk, dst = dw.storage.pointer, src = dwSamples.pointer
            Parallel.forChunks(total) { range in
                for b in 0..<n {
                    let part = src + b * total
                    for i in range { dst[i] += part[i] }
                }
            }
        }
        var result: [Tensor?] = [dx, dw]
        if hasBias { result.append(need[2] ? try? g.sum(axes: [0, 2, 3]) : nil) }
        return result
    }

    /// Gradients of convTranspose2d with respect to x, w and the bias.
    static func transposeBackward(x: Tensor, w: Tensor, hasBias: Bool, grad g: Tensor, geo: ConvGeometry, need: [Bool]) -> [Tensor?] {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (og, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
        let groups = geo.groups, cg = c / groups, o = og * groups, kk = og * kh * kw, l = h * wd
        let (oh, ow) = (g.shape[2], g.shape[3])
        let dx = need[0] ? Tensor.empty(x.shape) : nil
        let dw = need[1] ? Tensor(zeros: w.shape) : nil
        let scratch = ScratchPool.shared.take(kk * groups * l)
        defer { ScratchPool.shared.give(scratch) }
        let col = scratch.pointer
        for b in 0..<n {
            let gb = g.storage.pointer + b * o * oh * ow, xb = x.storage.pointer + b * c * l
            // The output gradient unfolded on the input grid: (o*kh*kw, h*w).
            im2col(gb, c: o, h: oh, w: ow, kh: kh, kw: kw, oh: h, ow: wd, geo: geo, col: col)
            for gi in 0..<groups {
                let colg = UnsafePointer(col) + gi * kk * l, wg = w.storage.pointer + gi * cg * kk
                if let dx {
                    // dx_g (cg, l) = W_g (cg, kk) @ col_g (kk, l)
                    BLAS.sgemm(transA: false, transB: false, m: cg, n: l, k: kk, a: wg, lda: kk, b: colg, ldb: l,
                               c: dx.storage.pointer + b * c * l + gi * cg * l, ldc: l)
                }
                if let dw {
                    // dW_g (cg, kk) += x_g (cg, l) @ col_g^T (l, kk)
                    BLAS.sgemm(transA: false, transB: true, m: cg, n: kk, k: l, a: xb + gi * cg * l, lda: l, b: colg, ldb: l,
                               beta: 1, c: dw.storage.pointer + gi * cg * kk, ldc: kk)
                }
            }
        }
        var result: [Tensor?] = [dx, dw]
        if hasBias { result.append(need[2] ? try? g.sum(axes: [0, 2, 3]) : nil) }
        return result
    }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as PyTorch): x (N, C, H, W), weight (O, C/groups, kh, kw),
    /// bias (O) -> (N, O, H', W'), through oneDNN (`ConvBackend.onednn`) or im2col of bands of output rows and
    /// SGEMM (`Conv.tiledForward`); in inference, 3x3 stride-1 shapes with enough tiles by Winograd F(2x2, 3x3)
    /// (`Winograd.forward`).
    public static func conv2d(_ x: Tensor, weight w: Tensor, bias: Tensor? = nil, geometry geo: ConvGeometry = ConvGeometry()) throws -> Tensor {
        guard x.rank == 4, w.rank == 4 else {
            throw TensorError("conv2d", "input \(shapeText(x.shape)) and weight \(shapeText(w.shape)) must both be rank 4")
        }
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let groups = geo.groups
        guard groups >= 1, c % groups == 0, o % groups == 0, cg * groups == c else {
            throw TensorError("conv2d", "weight \(shapeText(w.shape)) with groups \(groups) does not fit input channels \(c)")
        }
        if let bias, bias.shape != [o] {
            throw TensorError("conv2d", "bias shape \(shapeText(bias.shape)) should be [\(o)]")
        }
        guard geo.strideH > 0, geo.strideW > 0, geo.dilationH > 0, geo.dilationW > 0 else {
            throw TensorError("conv2d", "stride and dilation must be positive")
        }
        let oh = geo.convOut(h, kh, geo.strideH, geo.padH, geo.dilationH)
        let ow = geo.convOut(wd, kw, geo.strideW, geo.padW, geo.dilationW)
        guard oh > 0, ow > 0 else {
            throw TensorError("conv2d", "kernel \(kh)x\(kw) does not fit input \(h)x\(wd) with this padding/dilation")
        }
        let out = Tensor.empty([n, o, oh, ow])
        // Inference on a 3x3 stride-1 shape with enough tiles: Winograd F(2x2, 3x3) (ConvWinograd.swift).
        if Winograd.applies(c: c, o: o, kh: kh, kw: kw, geo: geo, oh: oh, ow: ow, weights: w.dtype), !recording(x, w, bias ?? x) {
            x.withF32 { xp in w.withF32 { wp in withOptionalF32(bias) { bp in
                Winograd.forward(x: xp, n: n, c: c, h: h, wd: wd, w: wp, o: o, bias: bp, pad: geo.padH, oh: oh, ow: ow,
                                 out: out.storage.pointer)
            } } }
            return out
        }
        // oneDNN when it is the backend and has the case (it reads f16/bf16 weights as stored); otherwise the
        // banded path, for which f16/bf16 operands are converted into scratch float32 per call.
        let done = ConvBackend.current == .onednn && x.withF32 { xp in withOptionalF32(bias) { bp in
            OneDNNConv.forward(x: xp, n: n, c: c, h: h, wd: wd, weight: w, bias: bp, geo: geo, oh: oh, ow: ow,
                               out: out.storage.pointer)
        } }
        if !done {
            x.withF32 { xp in w.withF32 { wp in withOptionalF32(bias) { bp in
                Conv.tiledForward(x: xp, n: n, c: c, h: h, wd: wd, w: wp, o: o, kh: kh, kw: kw, bias: bp, geo: geo,
                                  oh: oh, ow: ow, out: out.storage.pointer)
            } } }
        }
        return record(out, bias.map { [x, w, $0] } ?? [x, w], .conv2d(geo))
    }

    /// Transposed 2-D convolution (PyTorch `conv_transpose2d`): x (N, C, H, W), weight (C, O/groups, kh, kw),
    /// bias (O) -> (N, O, (H-1)*s - 2p + d*(k-1) + output_padding + 1, ...).
    public static func convTranspose2d(_ x: Tensor, weight w: Tensor, bias: Tensor? = nil, geometry geo: ConvGeometry = ConvGeometry()) throws -> Tensor {
        guard x.rank == 4, w.rank == 4, x.shape[1] == w.shape[0], geo.groups >= 1, x.shape[1] % geo.groups == 0 else {
            throw TensorError("convTranspose2d", "input \(shapeText(x.shape)) and weight \(shapeText(w.shape)) (groups \(geo.groups)) do not fit")
        }
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (og, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
        let groups = geo.groups, cg = c / groups, o = og * groups, kk = og * kh * kw, l = h * wd
        if let bias, bias.shape != [o] {
            throw TensorError("convTranspose2d", "bias shape \(shapeText(bias.shape)) should be [\(o)]")
        }
        let oh = (h - 1) * geo.strideH - 2 * geo.padH + geo.dilationH * (kh - 1) + geo.outputPadding + 1
        let ow = (wd - 1) * geo.strideW - 2 * geo.padW + geo.dilationW * (kw - 1) + geo.outputPadding + 1
        guard oh > 0, ow > 0, geo.strideH > 0, geo.strideW > 0 else {
            throw TensorError("convTranspose2d", "output size \(oh)x\(ow) is not positive")
        }
        let out = Tensor.empty([n, o, oh, ow])
        let scratch = ScratchPool.shared.take(kk * groups * l)
        defer { ScratchPool.shared.give(scratch) }
        let col = scratch.pointer
        for b in 0..<n {
            let xb = x.storage.pointer + b * c * l, ob = out.storage.pointer + b * o * oh * ow
            for gi in 0..<groups {
                // col_g (kk, l) = W_g^T (kk, cg) @ x_g (cg, l)
                BLAS.sgemm(transA: true, transB: false, m: kk, n: l, k: cg, a: w.storage.pointer + gi * cg * kk, lda: kk,
                           b: xb + gi * cg * l, ldb: l, c: col + gi * kk * l, ldc: l)
            }
            Conv.col2im(col, c: o, h: oh, w: ow, kh: kh, kw: kw, oh: h, ow: wd, geo: geo, img: ob)
            if let bias {
                for oi in 0..<o {
                    let p = ob + oi * oh * ow, v = bias.storage.pointer[oi]
                    for i in 0..<(oh * ow) { p[i] += v }
                }
            }
        }
        return record(out, bias.map { [x, w, $0] } ?? [x, w], .convTranspose2d(geo))
    }
}
