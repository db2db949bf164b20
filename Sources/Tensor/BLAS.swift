import Foundation

/// OpenBLAS, loaded at run time with `dlopen` so that `OPENBLAS_CORETYPE` can be chosen before the library
/// reads it: on CPUs with AVX-512 the SkylakeX kernels are about twice as fast as the Haswell kernels Debian's
/// build picks. A user-set `OPENBLAS_CORETYPE` is respected. Without OpenBLAS a plain Swift GEMM is used.
///
/// OpenBLAS itself runs single-threaded; large products are split into row or column blocks chosen from the
/// shape and the machine's core count (`splitBlock`) that run in parallel on every core, so results do not depend
/// on the thread count.
public enum BLAS {
    typealias SgemmFunction = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float,
                                              UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
                                              Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreadsFunction = @convention(c) (Int32) -> Void
    typealias CoreNameFunction = @convention(c) () -> UnsafeMutablePointer<CChar>?

    struct Library {
        let sgemm: SgemmFunction?
        let setThreads: SetThreadsFunction?
        let coreName: CoreNameFunction?
    }

    static let library: Library = load()

    private static func load() -> Library {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if let core = coreTypeToForce(cpuinfo: cpuinfo, userSetting: getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }) {
            setenv("OPENBLAS_CORETYPE", core, 0)
        }
        for name in ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"] {
            if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
                func symbol<T>(_ s: String, _ type: T.Type) -> T? {
                    dlsym(handle, s).map { unsafeBitCast($0, to: type) }
                }
                let setThreads = symbol("openblas_set_num_threads", SetThreadsFunction.self)
                setThreads?(1)
                return Library(sgemm: symbol("cblas_sgemm", SgemmFunction.self), setThreads: setThreads,
                               coreName: symbol("openblas_get_corename", CoreNameFunction.self))
            }
        }
        return Library(sgemm: nil, setThreads: nil, coreName: nil)
    }

    /// The `OPENBLAS_CORETYPE` to set before loading OpenBLAS: `SkylakeX` when the CPU flags include avx512f
    /// and the user has not chosen a core type; nil otherwise.
    static func coreTypeToForce(cpuinfo: String, userSetting: String?) -> String? {
        guard userSetting == nil else { return nil }
        let hasAVX512 = cpuinfo.split(separator: "\n").contains { line in
            line.hasPrefix("flags") && line.split(separator: " ").contains("avx512f")
        }
        return hasAVX512 ? "SkylakeX" : nil
    }

    /// The OpenBLAS kernel family in use (e.g. `SkylakeX`, `Haswell`), or `swift-fallback` without OpenBLAS.
    public static var coreName: String {
        guard let f = library.coreName, let p = f() else { return library.sgemm == nil ? "swift-fallback" : "unknown" }
        return String(cString: p)
    }

    /// Products with fewer multiply-adds than this run as one call.
    static let splitThreshold = 1 << 21

    /// Multiply-adds per block that a split aims for at least: smaller blocks spend more of their time packing.
    static let workPerBlock = 1 << 23

    /// Most blocks a product is split into: `Parallel.machinePieces` (four per core, at most `targetTasks`). Every
    /// block packs the operand it shares with the others again, so on a 2-core machine 16 blocks were measured
    /// 5-15% slower than 8 on the UNet's linear layers (1024 x 640 x 640 to 256 x 10240 x 1280). It depends on the
    /// machine's cores, never on `Parallel.threads`, so results stay the same for every thread count (OpenBLAS's
    /// bits do depend on where a product is cut).
    static let maximumBlocks = Parallel.machinePieces

    /// The blocks a split product is cut into along its larger output dimension: a function of the shape and
    /// the machine's core count only (so the result never depends on the thread count), up to `maximumBlocks`
    /// blocks of at least 32 rows or columns (multiples of 16).
    static func splitBlock(m: Int, n: Int, k: Int) -> (alongM: Bool, block: Int, blocks: Int) {
        let alongM = m >= n
        let extent = alongM ? m : n
        let pieces = Swift.min(maximumBlocks, Swift.max(2, m * n * k / workPerBlock))
        let block = Parallel.blockSize(extent, pieces: pieces, multiple: 16, minimum: 32)
        return (alongM, block, (extent + block - 1) / block)
    }

    /// How `sgemm` cuts an M x N x K product: nil when it runs as one call (too small to split), else
    /// `splitBlock`'s blocks.
    static func splitting(m: Int, n: Int, k: Int) -> (alongM: Bool, block: Int, blocks: Int)? {
        m * n * k >= splitThreshold && max(m, n) >= 64 ? splitBlock(m: m, n: n, k: k) : nil
    }

    /// C (M x N) = alpha * op(A) * op(B) + beta * C, row-major; op(A) is M x K, op(B) is K x N.
    /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored. `split: false` runs one single-threaded call
    /// (for callers that already run products in parallel).
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, split: Bool = true) {
        if m == 0 || n == 0 { return }
        if split, let (alongM, block, blocks) = splitting(m: m, n: n, k: k) {
            let extent = alongM ? m : n
            Parallel.forEach(blocks) { i in
                let start = i * block, size = min(block, extent - start)
                if alongM {
                    single(transA: transA, transB: transB, m: size, n: n, k: k, alpha: alpha,
                           a: transA ? a + start : a + start * lda, lda: lda, b: b, ldb: ldb,
                           beta: beta, c: c + start * ldc, ldc: ldc)
                } else {
                    single(transA: transA, transB: transB, m: m, n: size, k: k, alpha: alpha, a: a, lda: lda,
                           b: transB ? b + start * ldb : b + start, ldb: ldb, beta: beta, c: c + start, ldc: ldc)
                }
            }
            return
        }
        single(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
               beta: beta, c: c, ldc: ldc)
    }

    /// One single-threaded GEMM call.
    static func single(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                               a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                               beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if let f = library.sgemm {
            f(101, transA ? 112 : 111, transB ? 112 : 111, Int32(m), Int32(n), Int32(k), alpha,
              a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        // Reference loops: C[i, j] = beta * C[i, j] + alpha * sum_p A[i, p] * B[p, j].
        for i in 0..<m {
            let row = c + i * ldc
            for j in 0..<n { row[j] = beta == 0 ? 0 : row[j] * beta }
            for p in 0..<k {
                let av = alpha * (transA ? a[p * lda + i] : a[i * lda + p])
                if av == 0 { continue }
                if transB {
                    for j in 0..<n { row[j] += av * b[j * ldb + p] }
                } else {
                    let brow = b + p * ldb
                    for j in 0..<n { row[j] += av * brow[j] }
                }
            }
        }
    }
}
