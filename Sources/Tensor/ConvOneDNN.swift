import COneDNN
import Foundation

/// conv2d and its gradients through oneDNN (`ConvBackend.onednn`). Each function returns false / nil when oneDNN
/// has no implementation for the case, and the caller runs the native path instead.
///
/// The thread policy is the engine's own (`Parallel`): every oneDNN call is single-threaded, on a piece of the
/// work fixed by the shape, and `Parallel.threads` workers take pieces as they finish one, as for the native
/// kernels. Forward: (sample, band of output rows) pieces (`ConvTilePlan`), each band a convolution of its own
/// over the input rows it reads, with the image's padding where it has edges; or, where the weights outweigh the
/// input, (sample, block of output channels) pieces (`forwardSplit`). Input gradient: (sample, band of
/// input rows) pieces for stride 1, whole samples otherwise. Weight gradient: one piece per sample (summed in
/// sample order), or for one sample one per block of output channels. So the bits never depend on the thread
/// count (no sum is split by it), and a worker that another process delays holds up one piece, not the call
/// (oneDNN's own OpenMP split waits for its slowest thread, which on a shared machine was measured to double the
/// time). Bands share the weights reordered once per call into oneDNN's blocked layout; channel blocks reorder
/// their own slabs.
///
/// Primitives are created once per (shape, band geometry, pass, dtypes) and cached: creation JIT-compiles
/// kernels (milliseconds), execution is thread-safe. Operands stay in the engine's plain NCHW / OIHW layouts;
/// each piece reorders its rows into oneDNN's blocked layouts in a workspace from `ScratchPool`. Half-precision
/// weights are read as stored where the CPU computes bf16, and converted per call otherwise (`withWeights`);
/// no float32 copy of them is kept.
enum OneDNNConv {
    /// What a cached handle computes: everything its primitives depend on.
    struct Key: Hashable {
        var n, c, h, w, o, kh, kw, oh, ow: Int
        /// Strides, dilation, groups and the column padding (rows are padded by `padTop` / `padBottom`).
        var geometry: ConvGeometry
        var padTop, padBottom: Int
        /// Channel strides of the caller's input and output (H * W and OH * OW of the whole image).
        var srcPlane, dstPlane: Int
        var kind: Int32
        var hasBias: Bool
        var compute: DType
        var weights: DType
    }

    /// One shape's primitives (freed when the last user lets go, even after the cache dropped it).
    final class Handle: @unchecked Sendable {
        let pointer: OpaquePointer
        let workspaceBytes: Int
        let blockedWeightsBytes: Int
        let implementation: String
        init(_ pointer: OpaquePointer) {
            self.pointer = pointer
            workspaceBytes = odnn_conv_workspace_size(pointer)
            blockedWeightsBytes = odnn_conv_blocked_weights_size(pointer)
            implementation = String(cString: odnn_conv_impl(pointer))
        }
        deinit { odnn_conv_destroy(pointer) }

        /// Runs the primitives with a workspace from the pool; `blocked` says `b` is already in the handle's weight
        /// layout. True on success.
        func execute(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, bias: UnsafePointer<Float>?,
                     _ out: UnsafeMutableRawPointer, blocked: Bool = false) -> Bool {
            withWorkspace(workspaceBytes) { ws in
                blocked ? odnn_conv_execute_blocked(pointer, a, b, bias, out, ws) == 0
                        : odnn_conv_execute(pointer, a, b, bias, out, ws) == 0
            }
        }
    }

    /// A 64-byte aligned buffer of at least `bytes` from the pool for the duration of `body`.
    static func withWorkspace<R>(_ bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        let scratch = ScratchPool.shared.take(bytes / 4 + 16)
        defer { ScratchPool.shared.give(scratch) }
        let raw = UnsafeMutableRawPointer(scratch.pointer)
        return body(raw + (64 - Int(bitPattern: raw) % 64) % 64)
    }

    /// Distinct cases kept at most (a model has tens, each with up to four band geometries).
    static let cacheLimit = 1024
    private static let cache = PrimitiveCache<Key, Handle>(limit: cacheLimit)

    /// The handle for `key`, created on first use; nil when oneDNN has no implementation.
    static func handle(_ key: Key) -> Handle? {
        cache.value(for: key) { make(key) }
    }

    private static func make(_ key: Key) -> Handle? {
        let g = key.geometry
        var shape = odnn_conv_shape(
            n: key.n, c: key.c, h: key.h, w: key.w, o: key.o, kh: key.kh, kw: key.kw, oh: key.oh, ow: key.ow,
            stride_h: g.strideH, stride_w: g.strideW, pad_top: key.padTop, pad_bottom: key.padBottom, pad_w: g.padW,
            dilation_h: g.dilationH, dilation_w: g.dilationW, groups: g.groups, src_plane: key.srcPlane,
            dst_plane: key.dstPlane, kind: key.kind, has_bias: key.hasBias ? 1 : 0, compute_dtype: code(key.compute),
            weights_dtype: code(key.weights), threads: 1)
        var error = [CChar](repeating: 0, count: 256)
        return odnn_conv_create(&shape, &error, error.count).map(Handle.init)
    }

    static func code(_ dtype: DType) -> Int32 {
        switch dtype {
        case .f32: return Int32(ODNN_F32)
        case .bf16: return Int32(ODNN_BF16)
        case .f16: return Int32(ODNN_F16)
        }
    }

    /// The compute types to try, best first: bf16 for bf16 weights on a CPU with native bf16, then float32.
    static func computeTypes(weights: DType) -> [DType] {
        weights == .bf16 && OneDNN.nativeBF16 ? [.bf16, .f32] : [.f32]
    }

    /// Runs `body` on the weights as the pass reads them: as stored for bf16 compute (no float32 copy); in
    /// float32 for float32 compute, converting a half-precision weight into scratch for the call (in parallel,
    /// not kept), because oneDNN 2.6 reorders bf16 to blocked float32 with its reference loop (`simple:any`),
    /// which took longer than the convolution itself (282 vs 150 ms at 320 channels, 64x64).
    static func withWeights(_ weight: Tensor, compute: DType, _ body: (UnsafeRawPointer) -> Bool) -> Bool {
        if compute == .f32 && weight.dtype != .f32 { return weight.withF32 { body(UnsafeRawPointer($0)) } }
        return weight.withRawBytes { wb in wb.baseAddress.map(body) ?? false }
    }

    /// The dtype of the weights a pass with this compute type is handed (see `withWeights`).
    static func weightsRead(_ stored: DType, compute: DType) -> DType { compute == .f32 ? .f32 : stored }

    /// A band of rows: output rows `out` computed from input rows `input`, with `padTop` / `padBottom` rows of
    /// zero padding where the band touches the image's edges.
    struct Band: Equatable {
        let out: Range<Int>
        let input: Range<Int>
        let padTop, padBottom: Int
    }

    /// Forward bands of `rowsPerBand` output rows (the last may be shorter); nil when a band would read no input
    /// row (padding wider than the kernel), which the native path handles.
    static func forwardBands(h: Int, oh: Int, kh: Int, stride s: Int, pad: Int, dilation d: Int, rowsPerBand: Int) -> [Band]? {
        var bands: [Band] = []
        for y0 in stride(from: 0, to: oh, by: Swift.max(1, rowsPerBand)) {
            let y1 = Swift.min(oh, y0 + rowsPerBand)
            // Rows [first, last) of the padded image feed output rows [y0, y1).
            let first = y0 * s - pad, last = (y1 - 1) * s - pad + (kh - 1) * d + 1
            let start = Swift.max(0, first), end = Swift.min(h, last)
            guard end > start else { return nil }
            bands.append(Band(out: y0..<y1, input: start..<end, padTop: start - first, padBottom: last - end))
        }
        return bands
    }

    /// Input-gradient bands for stride 1: input rows `input` of `rowsPerBand` (the last may be shorter) receive
    /// from output-gradient rows `out`; as a convolution of their own from the band to those rows, with the
    /// padding that aligns them. nil when some band receives nothing.
    static func dataBands(h: Int, oh: Int, kh: Int, pad: Int, dilation d: Int, rowsPerBand: Int) -> [Band]? {
        var bands: [Band] = []
        let reach = (kh - 1) * d
        for y0 in stride(from: 0, to: h, by: Swift.max(1, rowsPerBand)) {
            let y1 = Swift.min(h, y0 + rowsPerBand)
            // Input row y receives from output rows y + pad - k d, k in 0..<kh.
            let o0 = Swift.max(0, y0 + pad - reach), o1 = Swift.min(oh, y1 + pad)
            guard o1 > o0 else { return nil }
            let top = y0 + pad - o0, bottom = (o1 - o0) - (y1 - y0) - top + reach
            guard top >= 0, bottom >= 0 else { return nil }
            bands.append(Band(out: o0..<o1, input: y0..<y1, padTop: top, padBottom: bottom))
        }
        return bands
    }

    /// The handles for `bands` of one pass (band rows in the key), or nil when oneDNN lacks one.
    static func handles(for bands: [Band], base: Key) -> [Handle]? {
        var made: [Handle] = []
        for band in bands {
            var key = base
            key.h = band.input.count
            key.oh = band.out.count
            key.padTop = band.padTop
            key.padBottom = band.padBottom
            guard let handle = handle(key) else { return nil }
            made.append(handle)
        }
        return made
    }

    /// Runs `body(blockedWeights?)` with the weights reordered once into the handles' layout when they share one
    /// (nil: each piece reorders them itself, or the layout is the plain one). False when the reorder fails.
    static func withBlockedWeights(_ weights: UnsafeRawPointer, _ handles: [Handle], _ body: (UnsafeRawPointer?) -> Bool) -> Bool {
        guard let first = handles.first, first.blockedWeightsBytes > 0,
              handles.allSatisfy({ $0 === first || odnn_conv_same_weights_layout(first.pointer, $0.pointer) != 0 }) else {
            return body(nil)
        }
        let blocked = ScratchPool.shared.take(first.blockedWeightsBytes / 4 + 16)
        defer { ScratchPool.shared.give(blocked) }
        let raw = UnsafeMutableRawPointer(blocked.pointer)
        let aligned = raw + (64 - Int(bitPattern: raw) % 64) % 64
        let done = withWorkspace(first.workspaceBytes) { odnn_conv_block_weights(first.pointer, weights, aligned, $0) == 0 }
        return done && body(UnsafeRawPointer(aligned))
    }

    /// Runs `count` pieces on the engine's workers; true when every one succeeded.
    static func runPieces(_ count: Int, _ piece: (Int) -> Bool) -> Bool {
        let failed = LockedValue(false)
        Parallel.forEach(count) { i in
            if !piece(i) { failed.withLock { $0 = true } }
        }
        return !failed.withLock { $0 }
    }

    /// How a forward pass is cut into pieces: `rowsPerBand` output rows by `channelBlock` output channels.
    struct ForwardSplit: Equatable {
        let rowsPerBand: Int
        let channelBlock: Int
    }

    /// The forward pieces for a shape (a function of the shape and the machine's cores, never of the thread count).
    /// Bands of output rows (`ConvTilePlan`) share one reordered copy of the weights, which every band reads again;
    /// that suits a large image and small weights (the VAE: 0.6 MB of weights, 134 MB of input at 512 px). When the
    /// weights outweigh a sample's input (the UNet's 1280-channel convolutions at 16 x 16: 58 MB of weights, 1.3
    /// MB of input, which made one band and so ran on one core), the pass is cut into blocks of output channels over
    /// the whole image instead: each piece reorders and reads only its own slab of the weights, and the pieces
    /// run in parallel. Output channels never share a sum, so either cut gives every output the same sum as the
    /// whole convolution computes it.
    static func forwardSplit(n: Int, c: Int, h: Int, w: Int, o: Int, kh: Int, kw: Int, groups: Int,
                             oh: Int, ow: Int) -> ForwardSplit {
        let plan = ConvTilePlan.make(batch: n, oh: oh, ow: ow, colRows: 0)
        let weights = o * (c / Swift.max(1, groups)) * kh * kw, input = c * h * w
        let pieces = Parallel.machinePieces / Swift.max(1, n)
        guard groups == 1, weights > input, o >= 64, pieces >= 2 else {
            return ForwardSplit(rowsPerBand: plan.rowsPerBand, channelBlock: o)
        }
        return ForwardSplit(rowsPerBand: oh, channelBlock: Parallel.blockSize(o, pieces: pieces, multiple: 16, minimum: 32))
    }

    /// out (N, O, oh, ow) = conv(x, w) + bias through oneDNN; false when it has no implementation for the case.
    /// `x` and `bias` are float32; `w` is read in its stored dtype.
    static func forward(x: UnsafePointer<Float>, n: Int, c: Int, h: Int, wd: Int, weight: Tensor, bias: UnsafePointer<Float>?,
                        geo: ConvGeometry, oh: Int, ow: Int, out: UnsafeMutablePointer<Float>) -> Bool {
        let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let split = forwardSplit(n: n, c: c, h: h, w: wd, o: o, kh: kh, kw: kw, groups: geo.groups, oh: oh, ow: ow)
        guard let bands = forwardBands(h: h, oh: oh, kh: kh, stride: geo.strideH, pad: geo.padH,
                                       dilation: geo.dilationH, rowsPerBand: split.rowsPerBand) else { return false }
        for compute in computeTypes(weights: weight.dtype) {
            let read = weightsRead(weight.dtype, compute: compute)
            let base = Key(n: 1, c: c, h: h, w: wd, o: o, kh: kh, kw: kw, oh: oh, ow: ow, geometry: geo, padTop: 0,
                           padBottom: 0, srcPlane: h * wd, dstPlane: oh * ow, kind: Int32(ODNN_CONV_FORWARD),
                           hasBias: bias != nil, compute: compute, weights: read)
            if split.channelBlock < o {
                // Blocks of output channels over the one whole-image band, each with its own slab of the weights
                // (OIHW: contiguous), bias and output channels; every piece reorders its slab itself.
                let blocks = stride(from: 0, to: o, by: split.channelBlock).map { $0..<Swift.min(o, $0 + split.channelBlock) }
                let sizes = Set(blocks.map(\.count))
                var made: [Int: Handle] = [:]
                for size in sizes {
                    var key = base
                    key.o = size
                    made[size] = handles(for: bands, base: key)?.first
                }
                guard made.count == sizes.count else { continue }
                let slab = c * kh * kw * read.size, plane = oh * ow
                return withWeights(weight, compute: compute) { plain in
                    runPieces(n * blocks.count) { t in
                        let b = t / blocks.count, ch = blocks[t % blocks.count]
                        return made[ch.count]!.execute(x + b * c * h * wd, plain + ch.lowerBound * slab,
                                                       bias: bias.map { $0 + ch.lowerBound },
                                                       out + (b * o + ch.lowerBound) * plane)
                    }
                }
            }
            guard let handles = handles(for: bands, base: base) else { continue }
            return withWeights(weight, compute: compute) { plain in
                withBlockedWeights(plain, handles) { blocked in
                    let wp = blocked ?? plain
                    return runPieces(n * bands.count) { t in
                        let b = t / bands.count, i = t % bands.count, band = bands[i]
                        return handles[i].execute(x + b * c * h * wd + band.input.lowerBound * wd, wp, bias: bias,
                                                  out + b * o * oh * ow + band.out.lowerBound * ow, blocked: blocked != nil)
                    }
                }
            }
        }
        return false
    }

    /// Gradients of conv2d with respect to x, w and the bias (as `Conv.backward`), or nil when oneDNN has no
    /// implementation for one of the passes needed (the caller then runs the native path).
    static func backward(x: Tensor, w: Tensor, hasBias: Bool, grad g: Tensor, geo: ConvGeometry, need: [Bool]) -> [Tensor?]? {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let (oh, ow) = (g.shape[2], g.shape[3])
        let kk = cg * kh * kw
        guard let whole = forwardBands(h: h, oh: oh, kh: kh, stride: geo.strideH, pad: geo.padH,
                                       dilation: geo.dilationH, rowsPerBand: oh)?.first else { return nil }
        let base = Key(n: 1, c: c, h: h, w: wd, o: o, kh: kh, kw: kw, oh: oh, ow: ow, geometry: geo,
                       padTop: whole.padTop, padBottom: whole.padBottom, srcPlane: h * wd, dstPlane: oh * ow,
                       kind: Int32(ODNN_CONV_BACKWARD_DATA), hasBias: false, compute: .f32, weights: .f32)
        // Input gradient: bands of input rows for stride 1 (as the forward's bands of output rows), whole
        // samples otherwise.
        var dataBands: [Band] = [whole]
        var dataHandles: [Handle] = []
        if need[0] {
            let plan = ConvTilePlan.make(batch: n, oh: h, ow: wd, colRows: 0)
            if geo.strideH == 1, plan.bands > 1,
               let banded = Self.dataBands(h: h, oh: oh, kh: kh, pad: geo.padH, dilation: geo.dilationH, rowsPerBand: plan.rowsPerBand),
               let made = handles(for: banded, base: base) {
                dataBands = banded
                dataHandles = made
            } else {
                guard let made = handle(base) else { return nil }
                dataHandles = [made]
            }
        }
        // Weight gradient: pieces fixed by the shape (see the type's comment).
        let pieces = need[1] ? weightPieces(n: n, o: o, groups: geo.groups) : []
        var weightHandles: [Handle] = []
        for piece in pieces {
            var key = base
            key.kind = Int32(ODNN_CONV_BACKWARD_WEIGHTS)
            key.weights = .f32
            key.o = piece.channels.count
            guard let handle = handle(key) else { return nil }
            weightHandles.append(handle)
        }
        let dx = need[0] ? Tensor.empty(x.shape) : nil
        let dw = need[1] ? Tensor.empty(w.shape) : nil
        var ok = true
        x.withF32 { xp in g.withF32 { gp in
            let sampleIn = c * h * wd, sampleOut = o * oh * ow
            if let dx {
                let dxp = dx.storage.pointer
                ok = withWeights(w, compute: .f32) { plain in
                    withBlockedWeights(plain, dataHandles) { blocked in
                        let wp = blocked ?? plain
                        return runPieces(n * dataBands.count) { t in
                            let b = t / dataBands.count, i = t % dataBands.count, band = dataBands[i]
                            return dataHandles[i].execute(gp + b * sampleOut + band.out.lowerBound * ow, wp, bias: nil,
                                                          dxp + b * sampleIn + band.input.lowerBound * wd,
                                                          blocked: blocked != nil)
                        }
                    }
                }
            }
            guard ok, let dw else { return }
            let dwp = dw.storage.pointer
            if n == 1 {
                // One call per block of output channels: dW[o0..<o1] from dOut[:, o0..<o1] (contiguous for N = 1).
                ok = runPieces(pieces.count) { i in
                    let ch = pieces[i].channels
                    return weightHandles[i].execute(xp, gp + ch.lowerBound * oh * ow, bias: nil, dwp + ch.lowerBound * kk)
                }
            } else {
                // One call per sample into its own buffer, then the sum in sample order.
                let parts = TensorStorage(count: n * o * kk, zeroed: false)
                let pp = parts.pointer
                ok = runPieces(n) { b in
                    weightHandles[0].execute(xp + b * sampleIn, gp + b * sampleOut, bias: nil, pp + b * o * kk)
                }
                let total = o * kk
                Parallel.forChunks(total) { range in
                    for i in range { dwp[i] = pp[i] }
                    for b in 1..<n {
                        let part = pp + b * total
                        for i in range { dwp[i] += part[i] }
                    }
                }
            }
        } }
        guard ok else { return nil }
        var result: [Tensor?] = [dx, dw]
        if hasBias { result.append(need[2] ? try? g.sum(axes: [0, 2, 3]) : nil) }
        return result
    }

    /// The backward-weights pieces: for a batch, one per sample (all of one shape); for one sample without
    /// groups, blocks of output channels (multiples of 8, at least 16) so that the cores share the work. A
    /// function of the shape only.
    static func weightPieces(n: Int, o: Int, groups: Int) -> [(samples: Int, channels: Range<Int>)] {
        if n > 1 || groups > 1 || o < 32 { return [(samples: 1, channels: 0..<o)] }
        let block = Parallel.blockSize(o, pieces: Swift.min(8, o / 16), multiple: 8, minimum: 16)
        return stride(from: 0, to: o, by: block).map { (samples: 1, channels: $0..<Swift.min(o, $0 + block)) }
    }

    /// The implementation oneDNN chose for a forward convolution of this shape on one whole sample (e.g.
    /// `jit:avx2`), or nil.
    static func forwardImplementation(input: [Int], weight: [Int], geometry geo: ConvGeometry, weights: DType = .f32) -> String? {
        guard input.count == 4, weight.count == 4 else { return nil }
        let oh = geo.convOut(input[2], weight[2], geo.strideH, geo.padH, geo.dilationH)
        let ow = geo.convOut(input[3], weight[3], geo.strideW, geo.padW, geo.dilationW)
        guard let whole = forwardBands(h: input[2], oh: oh, kh: weight[2], stride: geo.strideH, pad: geo.padH,
                                       dilation: geo.dilationH, rowsPerBand: oh)?.first else { return nil }
        for compute in computeTypes(weights: weights) {
            let key = Key(n: 1, c: input[1], h: input[2], w: input[3], o: weight[0], kh: weight[2], kw: weight[3],
                          oh: oh, ow: ow, geometry: geo, padTop: whole.padTop, padBottom: whole.padBottom,
                          srcPlane: 0, dstPlane: 0, kind: Int32(ODNN_CONV_FORWARD), hasBias: false, compute: compute,
                          weights: weightsRead(weights, compute: compute))
            if let handle = handle(key) { return handle.implementation }
        }
        return nil
    }
}
