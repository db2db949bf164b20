import CKernels
import Foundation

/// Products with a half-precision weight that OpenBLAS cannot read: the AVX2 kernel that widens W while packing it
/// (`gemmHalfWeight`), or, on other CPUs, widening the weight slab by slab (`sgemmHalfWeight`).
extension BLAS {
    /// Whether `gemmHalfWeight` computes A (M x K) x W^T for a weight W (N x K) of `type` at `w`: W is f16 or bf16
    /// (2-byte aligned), no size is 0, the switch `halfWeightKernel` is on and this CPU has AVX2, FMA and F16C.
    static func halfWeightKernelApplies(m: Int, n: Int, k: Int, weight w: UnsafeRawPointer, type: ElementType) -> Bool {
        (type == .f16 || type == .bf16) && Int(bitPattern: w) % 2 == 0 && m > 0 && n > 0 && k > 0 && halfWeightKernel &&
            halfWeightKernelAvailable
    }

    /// Whether this CPU runs `ck_gemm_half_weight` (AVX2, FMA and F16C).
    static let halfWeightKernelAvailable = ck_has_avx2_fma() != 0 && ck_has_f16c() != 0

    /// C (M x N, rows `ldc` apart) = A (M x K, rows `lda` apart) x W^T for a weight W (N x K, rows `ldw` apart) in
    /// f16 or bf16, through `ck_gemm_half_weight`: W is widened as it is packed, so it is read once as 2 bytes an
    /// element and never exists whole (or in slabs) as float32. Each element of C is the sum over K in blocks of
    /// `halfWeightKernelBlock` indices, each an FMA chain in index order, the blocks added in order; that fixes
    /// the bits whatever the thread count and wherever C is cut.
    ///
    /// The product is cut along N into one piece per thread (more for wide weights, pieces of about 512 columns, a
    /// multiple of 16), since every piece packs all of A again; along M when N is too narrow to share.
    static func gemmHalfWeight(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                               weight w: UnsafeRawPointer, type: ElementType, ldw: Int,
                               c: UnsafeMutablePointer<Float>, ldc: Int) {
        let bits = w.assumingMemoryBound(to: UInt16.self), bf16: Int32 = type == .bf16 ? 1 : 0
        let threads = m * n * k < splitThreshold ? 1 : Swift.max(1, Parallel.threads)
        let alongN = n >= 32 * threads || m < 12 * threads
        let extent = alongN ? n : m
        let pieces = alongN ? threads * Swift.max(1, n / (threads * 512)) : threads
        let block = Parallel.blockSize(extent, pieces: pieces, multiple: alongN ? 16 : 6, minimum: alongN ? 16 : 6)
        let scratchCount = ck_gemm_half_weight_scratch()
        Parallel.forEach((extent + block - 1) / block) { i in
            let start = i * block, size = Swift.min(block, extent - start)
            let scratch = ScratchPool.shared.take(scratchCount)
            defer { ScratchPool.shared.give(scratch) }
            let done: Int32
            if alongN {
                done = ck_gemm_half_weight(m, size, k, a, lda, bits + start * ldw, ldw, bf16, c + start, ldc,
                                           scratch.pointer)
            } else {
                done = ck_gemm_half_weight(size, n, k, a + start * lda, lda, bits, ldw, bf16, c + start * ldc, ldc,
                                           scratch.pointer)
            }
            precondition(done == 1, "ck_gemm_half_weight refused a product halfWeightKernelApplies accepted")
        }
        halfWeightKernelRuns.withLock { $0 += 1 }
    }

    /// The inner indices per block of `gemmHalfWeight`'s sums (its summation order, which tests rebuild).
    static var halfWeightKernelBlock: Int { ck_gemm_half_weight_kc() }

    /// Whether `gemmHalfWeight` runs where the CPU has it: on unless `ROREM_HALF_GEMM` says `slabs` (or `off`);
    /// tests and measurements assign it to compare.
    static var halfWeightKernel: Bool {
        get { kernelOn.withLock { $0 } }
        set { kernelOn.withLock { $0 = newValue } }
    }
    private static let kernelOn = LockedValue(kernelRequested(getenv("ROREM_HALF_GEMM").map { String(cString: $0) }))

    /// Whether an `ROREM_HALF_GEMM` value asks for the kernel: unset or unknown does.
    static func kernelRequested(_ value: String?) -> Bool {
        !["slabs", "off", "0", "no", "false", "openblas"].contains((value ?? "").lowercased())
    }

    /// One line for benchmarks: how products with an f16/bf16 Linear weight run here.
    public static var halfWeightStatus: String {
        if halfWeightKernelAvailable && halfWeightKernel { return "AVX2 kernel widening while packing" }
        return "OpenBLAS on slabs widened per block" + (halfWeightKernelAvailable ? " (kernel off)" : "")
    }

    /// Products `gemmHalfWeight` has computed in this process (a diagnostic: tests check that a product took it).
    static var halfWeightKernelProductsRun: Int { halfWeightKernelRuns.withLock { $0 } }
    private static let halfWeightKernelRuns = LockedValue(0)

    /// The column blocks `sgemmHalfWeight` would cut A (M x K) x W^T into for a weight W (N x K) of `type` at `w`:
    /// nil unless W is f16 or bf16 (2-byte aligned) and `sgemm` would split the product along N. The other shapes
    /// (small products, or M >= N, where every block needs the whole weight) widen W whole.
    static func halfWeightBlocks(m: Int, n: Int, k: Int, weight w: UnsafeRawPointer, type: ElementType) -> (block: Int, blocks: Int)? {
        guard type == .f16 || type == .bf16, Int(bitPattern: w) % 2 == 0, k > 0,
              let (alongM, block, blocks) = splitting(m: m, n: n, k: k), !alongM, halfWeightSlabs else { return nil }
        return (block, blocks)
    }

    /// C (M x N) = A (M x K) x W^T for a weight W (N x K, row-major, rows `ldw` elements apart) stored in f16 or
    /// bf16, in the `blocks` of `halfWeightBlocks`: what `sgemm` computes on W widened to float32 (the same blocks,
    /// the same bits), but each block of output columns widens only its own rows of W into scratch just before its
    /// product. The float32 copy of the weight then never exists whole: each slab is written and read while it is in
    /// cache, instead of the whole weight going out to memory and back (the UNet's fp16 weights are 2.6 billion
    /// elements per evaluation).
    static func sgemmHalfWeight(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                weight w: UnsafeRawPointer, type: ElementType, ldw: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, blocks: (block: Int, blocks: Int)) {
        let bits = w.assumingMemoryBound(to: UInt16.self)
        Parallel.forEach(blocks.blocks) { i in
            let start = i * blocks.block, size = Swift.min(blocks.block, n - start)
            let scratch = ScratchPool.shared.take(size * k)                    // (size, K) float32
            defer { ScratchPool.shared.give(scratch) }
            for r in 0..<size {
                BulkConvert.widen(bits + (start + r) * ldw, type, into: scratch.pointer + r * k, count: k)
            }
            single(transA: false, transB: true, m: m, n: size, k: k, alpha: 1, a: a, lda: lda,
                   b: scratch.pointer, ldb: k, beta: 0, c: c + start, ldc: ldc)
        }
        halfWeightRuns.withLock { $0 += 1 }
    }

    /// Whether `sgemmHalfWeight` runs (tests and measurements turn it off to compare with widening whole).
    static var halfWeightSlabs: Bool {
        get { slabsOn.withLock { $0 } }
        set { slabsOn.withLock { $0 = newValue } }
    }
    private static let slabsOn = LockedValue(true)

    /// Products `sgemmHalfWeight` has computed in this process (a diagnostic: tests check that a product took it).
    static var halfWeightProductsRun: Int { halfWeightRuns.withLock { $0 } }
    private static let halfWeightRuns = LockedValue(0)
}
