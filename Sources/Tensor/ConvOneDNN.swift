import COneDNN
import Foundation

/// conv2d and its gradients through oneDNN (`ConvBackend.onednn`). Each function returns false / nil when oneDNN
/// has no implementation for the case, and the caller runs the native path instead.
///
/// Primitives are created once per (shape, geometry, pass, dtypes, thread count) and cached: creation
/// JIT-compiles kernels (milliseconds), execution is thread-safe. Operands stay in the engine's plain NCHW /
/// OIHW layouts; each call reorders them into oneDNN's blocked layouts in a workspace from `ScratchPool`
/// (converting bf16 / f16 weights on the way, so no float32 copy of a half-precision weight is kept).
///
/// Determinism: forward and backward data run multi-threaded only on oneDNN's direct kernels, which split only
/// their outputs between OpenMP threads (no sum is divided between threads), so their bits do not depend on the
/// thread count (tested for 1-4 threads); other implementations are refused (`splitsOnlyOutputs`). Backward
/// weights' implementations sum partial results per thread, so here it runs single-threaded inside pieces fixed
/// by the shape: one per sample (summed in sample order, as the native path), or for one sample one per block
/// of output channels (each output channel's sum is then computed whole by one call).
enum OneDNNConv {
    /// What a cached handle computes: everything its primitives depend on.
    struct Key: Hashable {
        var n, c, h, w, o, kh, kw, oh, ow: Int
        var geometry: ConvGeometry
        var kind: Int32
        var hasBias: Bool
        var compute: DType
        var weights: DType
        var threads: Int
    }

    /// One shape's primitives (freed when the last user lets go, even after the cache dropped it).
    final class Handle: @unchecked Sendable {
        let pointer: OpaquePointer
        let workspaceBytes: Int
        let implementation: String
        init(_ pointer: OpaquePointer) {
            self.pointer = pointer
            workspaceBytes = odnn_conv_workspace_size(pointer)
            implementation = String(cString: odnn_conv_impl(pointer))
        }
        deinit { odnn_conv_destroy(pointer) }

        /// Runs the primitives with a workspace from the pool; true on success.
        func execute(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, bias: UnsafePointer<Float>?,
                     _ out: UnsafeMutableRawPointer) -> Bool {
            // Floats enough for the workspace plus 64 bytes of alignment slack.
            let scratch = ScratchPool.shared.take(workspaceBytes / 4 + 16)
            defer { ScratchPool.shared.give(scratch) }
            let raw = UnsafeMutableRawPointer(scratch.pointer)
            let aligned = raw + (64 - Int(bitPattern: raw) % 64) % 64
            return odnn_conv_execute(pointer, a, b, bias, out, aligned) == 0
        }
    }

    /// Cached handles; nil records a case oneDNN cannot do (so it is not retried).
    private static let cache = LockedValue<[Key: Handle?]>([:])
    /// Distinct cases kept at most (a model has tens); past it the cache starts afresh.
    static let cacheLimit = 512

    /// The handle for `key`, created on first use; nil when oneDNN has no implementation.
    static func handle(_ key: Key) -> Handle? {
        if let cached = cache.withLock({ $0[key] }) { return cached }
        var shape = odnn_conv_shape(
            n: key.n, c: key.c, h: key.h, w: key.w, o: key.o, kh: key.kh, kw: key.kw, oh: key.oh, ow: key.ow,
            stride_h: key.geometry.strideH, stride_w: key.geometry.strideW, pad_h: key.geometry.padH,
            pad_w: key.geometry.padW, dilation_h: key.geometry.dilationH, dilation_w: key.geometry.dilationW,
            groups: key.geometry.groups, kind: key.kind, has_bias: key.hasBias ? 1 : 0,
            compute_dtype: code(key.compute), weights_dtype: code(key.weights), threads: Int32(key.threads))
        var error = [CChar](repeating: 0, count: 256)
        var made = odnn_conv_create(&shape, &error, error.count).map(Handle.init)
        // A multi-threaded pass must be one whose bits do not depend on the thread count (see the type's comment).
        if let handle = made, key.kind != Int32(ODNN_CONV_BACKWARD_WEIGHTS), !splitsOnlyOutputs(handle.implementation) {
            made = nil
        }
        cache.withLock { table in
            if table.count >= cacheLimit { table.removeAll() }
            table[key] = .some(made)
        }
        return made
    }

    /// Whether a forward or backward-data implementation divides only output elements between threads, so that
    /// its bits do not depend on the thread count: oneDNN's direct JIT kernels (`jit:avx2`, `jit_1x1:...`,
    /// `jit_dw:...`, `brgconv...`). Its GEMM-based convolutions (`gemm:jit`, chosen for dilation and some groups)
    /// switch between threading over the batch and threading inside the product, whose sums are then split
    /// between threads (their bits were measured to differ between 1 and 4 threads); those cases run natively.
    static func splitsOnlyOutputs(_ implementation: String) -> Bool {
        ["jit:", "jit_1x1:", "jit_dw:", "brg"].contains { implementation.hasPrefix($0) }
    }

    /// The implementation oneDNN chose for a forward convolution of this shape (e.g. `jit:avx2`), or nil.
    static func forwardImplementation(input: [Int], weight: [Int], geometry geo: ConvGeometry, weights: DType = .f32) -> String? {
        guard input.count == 4, weight.count == 4 else { return nil }
        let oh = geo.convOut(input[2], weight[2], geo.strideH, geo.padH, geo.dilationH)
        let ow = geo.convOut(input[3], weight[3], geo.strideW, geo.padW, geo.dilationW)
        let key = forwardKeys(n: input[0], c: input[1], h: input[2], w: input[3], o: weight[0], kh: weight[2],
                              kw: weight[3], oh: oh, ow: ow, geo: geo, hasBias: false, weights: weights)
        return key.lazy.compactMap { handle($0)?.implementation }.first
    }

    static func code(_ dtype: DType) -> Int32 {
        switch dtype {
        case .f32: return Int32(ODNN_F32)
        case .bf16: return Int32(ODNN_BF16)
        case .f16: return Int32(ODNN_F16)
        }
    }

    /// The forward cases to try, best first: bf16 compute for bf16 weights on a CPU with native bf16, then
    /// float32 compute reading the weights in their dtype.
    static func forwardKeys(n: Int, c: Int, h: Int, w: Int, o: Int, kh: Int, kw: Int, oh: Int, ow: Int,
                            geo: ConvGeometry, hasBias: Bool, weights: DType) -> [Key] {
        let f32 = Key(n: n, c: c, h: h, w: w, o: o, kh: kh, kw: kw, oh: oh, ow: ow, geometry: geo,
                      kind: Int32(ODNN_CONV_FORWARD), hasBias: hasBias, compute: .f32, weights: weights,
                      threads: Parallel.threads)
        guard weights == .bf16, OneDNN.nativeBF16 else { return [f32] }
        var bf16 = f32
        bf16.compute = .bf16
        return [bf16, f32]
    }

    /// out (N, O, oh, ow) = conv(x, w) + bias through oneDNN; false when it has no implementation for the case.
    /// `x` and `bias` are float32; `w` is read in its stored dtype.
    static func forward(x: UnsafePointer<Float>, n: Int, c: Int, h: Int, wd: Int, weight: Tensor, bias: UnsafePointer<Float>?,
                        geo: ConvGeometry, oh: Int, ow: Int, out: UnsafeMutablePointer<Float>) -> Bool {
        let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        for key in forwardKeys(n: n, c: c, h: h, w: wd, o: o, kh: kh, kw: kw, oh: oh, ow: ow, geo: geo,
                               hasBias: bias != nil, weights: weight.dtype) {
            guard let handle = handle(key) else { continue }
            return weight.withRawBytes { wb in
                guard let wp = wb.baseAddress else { return false }
                return handle.execute(x, wp, bias: bias, out)
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
        let base = Key(n: n, c: c, h: h, w: wd, o: o, kh: kh, kw: kw, oh: oh, ow: ow, geometry: geo,
                       kind: Int32(ODNN_CONV_BACKWARD_DATA), hasBias: false, compute: .f32, weights: w.dtype,
                       threads: Parallel.threads)
        // Backward data: one call on every thread (its bits do not depend on the thread count).
        var dataHandle: Handle? = nil
        if need[0] {
            dataHandle = handle(base)
            if dataHandle == nil { return nil }
        }
        // Backward weights: single-threaded calls on pieces fixed by the shape (see the type's comment).
        let pieces = need[1] ? weightPieces(n: n, o: o, groups: geo.groups) : []
        var weightHandles: [Handle] = []
        for piece in pieces {
            var key = base
            key.kind = Int32(ODNN_CONV_BACKWARD_WEIGHTS)
            key.weights = .f32
            key.threads = 1
            key.n = piece.samples
            key.o = piece.channels.count
            guard let handle = handle(key) else { return nil }
            weightHandles.append(handle)
        }
        let dx = need[0] ? Tensor.empty(x.shape) : nil
        let dw = need[1] ? Tensor.empty(w.shape) : nil
        var ok = true
        x.withF32 { xp in g.withF32 { gp in
            if let dx, let dataHandle {
                ok = w.withRawBytes { wb in
                    guard let wp = wb.baseAddress else { return false }
                    return dataHandle.execute(gp, wp, bias: nil, dx.storage.pointer)
                }
            }
            guard ok, let dw else { return }
            let sampleIn = c * h * wd, sampleOut = o * oh * ow
            if n == 1 {
                // One call per block of output channels: dW[o0..<o1] from dOut[:, o0..<o1] (contiguous for N = 1).
                let results = LockedValue(true)
                Parallel.forEach(pieces.count) { i in
                    let ch = pieces[i].channels
                    let done = weightHandles[i].execute(xp, gp + ch.lowerBound * oh * ow, bias: nil,
                                                        dw.storage.pointer + ch.lowerBound * kk)
                    if !done { results.withLock { $0 = false } }
                }
                ok = results.withLock { $0 }
            } else {
                // One call per sample into its own buffer, then the sum in sample order.
                let parts = TensorStorage(count: n * o * kk, zeroed: false)
                let results = LockedValue(true)
                Parallel.forEach(n) { b in
                    let done = weightHandles[0].execute(xp + b * sampleIn, gp + b * sampleOut, bias: nil,
                                                        parts.pointer + b * o * kk)
                    if !done { results.withLock { $0 = false } }
                }
                ok = results.withLock { $0 }
                let total = o * kk, dst = dw.storage.pointer, src = parts.pointer
                Parallel.forChunks(total) { range in
                    for i in range { dst[i] = src[i] }
                    for b in 1..<n {
                        let part = src + b * total
                        for i in range { dst[i] += part[i] }
                    }
                }
            }
        } }
        guard ok else { return nil }
        var result: [Tensor?] = [dx, dw]
        if hasBias { result.append(need[2] ? try? g.sum(axes: [0, 2, 3]) : nil) }
        return result
    }

    /// The single-threaded backward-weights calls: for a batch, one per sample (all of one shape); for one
    /// sample without groups, blocks of output channels (multiples of 8, at least 16) so that the cores share
    /// the work. A function of the shape only.
    static func weightPieces(n: Int, o: Int, groups: Int) -> [(samples: Int, channels: Range<Int>)] {
        if n > 1 || groups > 1 || o < 32 { return [(samples: 1, channels: 0..<o)] }
        let block = Parallel.blockSize(o, pieces: Swift.min(8, o / 16), multiple: 8, minimum: 16)
        return stride(from: 0, to: o, by: block).map { (samples: 1, channels: $0..<Swift.min(o, $0 + block)) }
    }
}
