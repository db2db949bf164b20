import COneDNN
import Foundation

/// Matrix products through oneDNN's matmul, for bf16 weights on CPUs that compute bf16 natively (AVX512-BF16,
/// AMX-BF16), where oneDNN's bf16 kernels run several times faster than converting the weights to float32 and
/// calling OpenBLAS. Everywhere else products stay on OpenBLAS (`BLAS.sgemm`): on the AVX2 machines measured,
/// oneDNN's float32 matmul was 10-20% slower than OpenBLAS at the UNet's shapes (Docs/BENCHMARKS.md).
///
/// `ROREM_MATMUL` overrides the choice: `onednn` sends every product whose B is rank 2 (or batched) through
/// oneDNN (bf16 compute where the weights are bf16 and the CPU has it, float32 otherwise; for tests and
/// benchmarks), `native` keeps every product on OpenBLAS. Tests may assign `OneDNNMatmul.policy`.
///
/// The thread policy is the convolutions': every oneDNN call is single-threaded on a piece fixed by the shape
/// and the machine's core count (`pieces`), taken by `Parallel.threads` workers, so the bits never depend on the
/// thread count. Wide products are cut into blocks of columns of B (each piece reorders only its slab of the
/// weights into the layout the kernel reads), narrow ones into blocks of rows of A. With bf16 compute, A is
/// rounded to bf16 once per call (round to nearest even, as PyTorch does), as PyTorch's bf16 matmul rounds its
/// activations.
enum OneDNNMatmul {
    /// When products go to oneDNN.
    enum Policy: String, Sendable {
        /// bf16 weights on a CPU with native bf16 only (the default).
        case auto
        /// Every product oneDNN can run (`ROREM_MATMUL=onednn`).
        case onednn
        /// None (`ROREM_MATMUL=native`).
        case native
    }

    /// The policy in effect (from `ROREM_MATMUL` at start-up, `auto` when unset or unknown).
    static var policy: Policy {
        get { policyState.withLock { $0 } }
        set { policyState.withLock { $0 = newValue } }
    }

    /// The policy an `ROREM_MATMUL` value asks for (nil when unset, empty or unknown).
    static func requested(_ value: String?) -> Policy? {
        guard let value, !value.isEmpty else { return nil }
        switch value.lowercased() {
        case "onednn": return .onednn
        case "native", "openblas": return .native
        default: return nil
        }
    }

    private static let policyState = LockedValue<Policy>(
        requested(getenv("ROREM_MATMUL").map { String(cString: $0) }) ?? .auto)

    /// The compute type oneDNN would use for A (`a`) times B (`b`) under the policy, or nil when the product
    /// stays on OpenBLAS.
    static func computeType(a: DType, b: DType) -> DType? {
        guard OneDNN.isAvailable else { return nil }
        let bf16 = b == .bf16 && OneDNN.nativeBF16
        switch policy {
        case .auto: return bf16 ? .bf16 : nil
        case .onednn: return bf16 ? .bf16 : .f32
        case .native: return nil
        }
    }

    /// One line for benchmarks and diagnostics: what runs products with bf16 weights here.
    static var status: String {
        switch policy {
        case .native: return "OpenBLAS (ROREM_MATMUL=native)"
        case .auto where !OneDNN.isAvailable || !OneDNN.nativeBF16:
            return "OpenBLAS, bf16 weights converted to float32 (\(OneDNN.isAvailable ? "no native bf16 on this CPU" : "no oneDNN"))"
        default:
            let impl = implementation(m: 512, n: 512, k: 512, compute: computeType(a: .f32, b: .bf16) ?? .f32) ?? "unavailable"
            return "onednn \(impl)\(policy == .onednn ? " (ROREM_MATMUL=onednn)" : "")"
        }
    }

    /// What a cached handle computes.
    struct Key: Hashable {
        var m, n, k, lda, ldb, ldc: Int
        var bTransposed: Bool
        var compute: DType
    }

    /// One shape's primitives (freed when the last user lets go).
    final class Handle: @unchecked Sendable {
        let pointer: OpaquePointer
        let workspaceBytes: Int
        let implementation: String
        init(_ pointer: OpaquePointer) {
            self.pointer = pointer
            workspaceBytes = odnn_matmul_workspace_size(pointer)
            implementation = String(cString: odnn_matmul_impl(pointer))
        }
        deinit { odnn_matmul_destroy(pointer) }

        /// C = A x B with a workspace from the pool; true on success.
        func execute(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ c: UnsafeMutablePointer<Float>) -> Bool {
            OneDNNConv.withWorkspace(workspaceBytes) { odnn_matmul_execute(pointer, a, b, nil, c, $0) == 0 }
        }
    }

    private static let cache = PrimitiveCache<Key, Handle>(limit: OneDNNConv.cacheLimit)

    /// The handle for `key`, created on first use; nil when oneDNN has none.
    static func handle(_ key: Key) -> Handle? {
        cache.value(for: key) {
            var shape = odnn_matmul_shape(m: key.m, n: key.n, k: key.k, lda: key.lda, ldb: key.ldb, ldc: key.ldc,
                                          b_transposed: key.bTransposed ? 1 : 0, has_bias: 0,
                                          compute_dtype: OneDNNConv.code(key.compute), threads: 1)
            var error = [CChar](repeating: 0, count: 256)
            return odnn_matmul_create(&shape, &error, error.count).map(Handle.init)
        }
    }

    /// The implementation oneDNN picks for an (m x k) x (k x n) product with B transposed (a Linear weight), or
    /// nil when it has none.
    static func implementation(m: Int, n: Int, k: Int, compute: DType) -> String? {
        handle(Key(m: m, n: n, k: k, lda: k, ldb: k, ldc: n, bTransposed: true, compute: compute))?.implementation
    }

    /// How a product is cut: along N (blocks of columns of B and C) or along M (blocks of rows of A and C), the
    /// block size and the number of pieces. A function of the shape and the machine's cores only. Along N unless
    /// N is narrow and M is longer: each N block reorders only its own slab of the weights, while every M block
    /// reorders all of them.
    static func pieces(m: Int, n: Int, k: Int) -> (alongN: Bool, block: Int, count: Int) {
        let alongN = n >= 128 || n >= m
        let extent = alongN ? n : m
        let work = m * n * k
        guard work >= BLAS.splitThreshold, extent >= 128 else { return (alongN, extent, 1) }
        let target = Swift.min(Parallel.machinePieces, Swift.max(2, work / BLAS.workPerBlock))
        let block = Parallel.blockSize(extent, pieces: target, multiple: alongN ? 64 : 32, minimum: 64)
        return (alongN, block, (extent + block - 1) / block)
    }

    /// C (batch x M x N, float32, dense) = A (batch x M x K, dense) x B (batch x K x N, or its transpose
    /// batch x N x K when `transposeB`) through oneDNN in `compute`. False when oneDNN lacks a piece or a call
    /// fails; the caller then computes the whole product itself.
    static func run(a: Tensor, b: Tensor, transposeB: Bool, batch: Int, m: Int, n: Int, k: Int,
                    compute: DType, into c: UnsafeMutablePointer<Float>) -> Bool {
        guard m > 0, n > 0, k > 0, batch > 0 else { return false }
        let ldb = transposeB ? k : n
        let plan = pieces(m: m, n: n, k: k)
        // One handle per distinct piece size (all blocks but the last share one).
        var handles: [Int: Handle] = [:]
        let extent = plan.alongN ? n : m
        for start in stride(from: 0, to: extent, by: plan.block) {
            let size = Swift.min(plan.block, extent - start)
            if handles[size] != nil { continue }
            let key = Key(m: plan.alongN ? m : size, n: plan.alongN ? size : n, k: k, lda: k, ldb: ldb, ldc: n,
                          bTransposed: transposeB, compute: compute)
            guard let h = handle(key) else { return false }
            handles[size] = h
        }
        let done = withOperand(a, as: compute) { pa in withOperand(b, as: compute) { pb in
            let es = compute.size
            return OneDNNConv.runPieces(batch * plan.count) { index in
                let i = index / plan.count, start = (index % plan.count) * plan.block
                let size = Swift.min(plan.block, extent - start)
                guard let h = handles[size] else { return false }
                let a0 = pa + i * m * k * es, b0 = pb + i * k * n * es, c0 = c + i * m * n
                if plan.alongN {
                    let bOffset = transposeB ? start * ldb : start
                    return h.execute(a0, b0 + bOffset * es, c0 + start)
                }
                return h.execute(a0 + start * k * es, b0, c0 + start * n)
            }
        } }
        if done { completed.withLock { $0 += 1 } }
        return done
    }

    /// Products oneDNN has computed in this process (a diagnostic: tests check that a product took this path).
    static var productsRun: Int { completed.withLock { $0 } }
    private static let completed = LockedValue(0)

    /// `body` with the tensor's elements in `dtype`: as stored when they already are, else converted into
    /// scratch for the call (in parallel; float32 through the tensor's own conversion).
    static func withOperand(_ t: Tensor, as dtype: DType, _ body: (UnsafeRawPointer) -> Bool) -> Bool {
        if t.dtype == dtype { return t.withRawBytes { $0.baseAddress.map(body) ?? false } }
        if dtype == .f32 { return t.withF32 { body(UnsafeRawPointer($0)) } }
        let scratch = ScratchPool.shared.take((t.count * dtype.size + 3) / 4)
        defer { ScratchPool.shared.give(scratch) }
        let raw = UnsafeMutableRawPointer(scratch.pointer)
        t.withRawBytes { src in
            if let base = src.baseAddress { BulkConvert.run(base, from: ElementType(t.dtype), raw, to: dtype, count: t.count) }
        }
        return body(UnsafeRawPointer(raw))
    }
}

extension OneDNN {
    /// What computes matrix products with bf16 weights here, e.g. `onednn brg:avx512_core_amx` or
    /// `OpenBLAS, bf16 weights converted to float32 (no native bf16 on this CPU)` (see `OneDNNMatmul`).
    public static var bf16MatmulStatus: String { OneDNNMatmul.status }
}
