/// The fast convolution forward: im2col one band of output rows at a time, so the workspace is bounded
/// (about `ConvTilePlan.workspaceTarget` floats per running task) whatever the image size, and every
/// (sample, band) pair is an independent task, so a batch of 1 or 2 still uses every core.
///
/// `Conv.referenceForward` (whole-image im2col, one product per sample) is the readable reference it is tested
/// against; both compute each output element as the same K-long dot product.

/// How a convolution's output is cut into bands of rows: a function of the shape only, never of the thread count.
struct ConvTilePlan: Equatable {
    /// Output rows per band (the last band may be shorter).
    let rowsPerBand: Int
    /// Number of bands per sample.
    let bands: Int
    /// Whether (sample, band) tasks run in parallel with single-threaded products (true), or one after another
    /// with each product split across the cores (false: too few tasks, e.g. one small image).
    let parallelTasks: Bool

    /// Floats of column workspace one band aims to stay under (4 MB: it stays in the last-level cache).
    static let workspaceTarget = 1 << 20
    /// Fewest output columns a band gets when it is cut for parallelism rather than for memory (smaller products
    /// lose GEMM efficiency).
    static let minimumColumns = 256

    /// The plan for `batch` samples with an output of oh x ow and `colRows` = C * kh * kw rows of columns
    /// (0 for a pointwise convolution, which needs no workspace).
    static func make(batch n: Int, oh: Int, ow: Int, colRows: Int, workspace: Int = workspaceTarget) -> ConvTilePlan {
        let l = oh * ow
        let forMemory = (colRows * l + workspace - 1) / Swift.max(1, workspace)
        let forCores = Swift.min((Parallel.targetTasks + n - 1) / Swift.max(1, n), Swift.max(1, l / minimumColumns))
        let wanted = Swift.min(oh, Swift.max(1, forMemory, forCores))
        let rows = (oh + wanted - 1) / wanted
        let bands = (oh + rows - 1) / rows
        return ConvTilePlan(rowsPerBand: rows, bands: bands, parallelTasks: n * bands >= 4)
    }
}

extension Conv {
    /// out (N, O, oh, ow) = conv(x (N, C, H, W), w (O, C/g, kh, kw)) + bias (O), band by band.
    /// `w` points at f32 weights; `workspace` overrides the band budget (tests force many bands with it).
    static func tiledForward(x: UnsafePointer<Float>, n: Int, c: Int, h: Int, wd: Int,
                             w: UnsafePointer<Float>, o: Int, kh: Int, kw: Int, bias: UnsafePointer<Float>?,
                             geo: ConvGeometry, oh: Int, ow: Int, out: UnsafeMutablePointer<Float>,
                             workspace: Int = ConvTilePlan.workspaceTarget) {
        let groups = geo.groups, og = o / groups, cg = c / groups, kk = cg * kh * kw, l = oh * ow
        let pointwise = isPointwise(kh: kh, kw: kw, geo)
        let plan = ConvTilePlan.make(batch: n, oh: oh, ow: ow, colRows: pointwise ? 0 : kk * groups, workspace: workspace)
        let tasks = n * plan.bands
        let task = { (t: Int) in
            let b = t / plan.bands, band = t % plan.bands
            let y0 = band * plan.rowsPerBand, y1 = Swift.min(oh, y0 + plan.rowsPerBand)
            let cols = (y1 - y0) * ow, offset = y0 * ow
            let xb = x + b * c * h * wd, ob = out + b * o * l
            let scratch = pointwise ? nil : ScratchPool.shared.take(kk * groups * cols)
            defer { if let scratch { ScratchPool.shared.give(scratch) } }
            // B: the band's columns (kk*groups, cols), or the input itself for a pointwise convolution.
            let bp: UnsafePointer<Float>, ldb: Int
            if let col = scratch?.pointer {
                im2col(xb, c: c, h: h, w: wd, kh: kh, kw: kw, oh: oh, ow: ow, geo: geo, col: col,
                       parallel: !plan.parallelTasks, rows: y0..<y1)
                bp = UnsafePointer(col); ldb = cols
            } else {
                bp = xb + offset; ldb = l
            }
            if let bias {
                for oi in 0..<o { (ob + oi * l + offset).initialize(repeating: bias[oi], count: cols) }
            }
            for gi in 0..<groups {
                // out_g[:, band] (og, cols) = W_g (og, kk) @ B_g (kk, cols), written with the output's row stride.
                BLAS.sgemm(transA: false, transB: false, m: og, n: cols, k: kk, a: w + gi * og * kk, lda: kk,
                           b: bp + gi * kk * ldb, ldb: ldb, beta: bias == nil ? 0 : 1,
                           c: ob + gi * og * l + offset, ldc: l, split: !plan.parallelTasks)
            }
        }
        if plan.parallelTasks {
            Parallel.forEach(tasks, task)
        } else {
            for t in 0..<tasks { task(t) }
        }
    }

    /// The reference forward: each sample unfolded whole (C*kh*kw, oh*ow) and multiplied in one product per
    /// group. Workspace grows with the image (C*kh*kw*oh*ow floats per running sample).
    static func referenceForward(x: UnsafePointer<Float>, n: Int, c: Int, h: Int, wd: Int,
                                 w: UnsafePointer<Float>, o: Int, kh: Int, kw: Int, bias: UnsafePointer<Float>?,
                                 geo: ConvGeometry, oh: Int, ow: Int, out: UnsafeMutablePointer<Float>) {
        let groups = geo.groups, og = o / groups, cg = c / groups, kk = cg * kh * kw, l = oh * ow
        let pointwise = isPointwise(kh: kh, kw: kw, geo)
        let single = n == 1
        forEachSample(n, workspace: pointwise ? 0 : kk * groups * l) { b, col in
            let xb = x + b * c * h * wd, ob = out + b * o * l
            if !pointwise { im2col(xb, c: c, h: h, w: wd, kh: kh, kw: kw, oh: oh, ow: ow, geo: geo, col: col, parallel: single) }
            let cp: UnsafePointer<Float> = pointwise ? xb : UnsafePointer(col)
            if let bias {
                for oi in 0..<o { (ob + oi * l).initialize(repeating: bias[oi], count: l) }
            }
            for gi in 0..<groups {
                // out_g (og, l) = W_g (og, kk) @ col_g (kk, l)
                BLAS.sgemm(transA: false, transB: false, m: og, n: l, k: kk, a: w + gi * og * kk, lda: kk,
                           b: cp + gi * kk * l, ldb: l, beta: bias == nil ? 0 : 1, c: ob + gi * og * l, ldc: l, split: single)
            }
        }
    }
}
