import CKernels

/// Products with a half-precision weight that OpenBLAS cannot read: widening the weight slab by slab.
extension BLAS {
    /// C (M x N) = A (M x K) x W^T for a weight W (N x K, row-major, rows `ldw` elements apart) stored in f16 or
    /// bf16: what `sgemm` computes on W widened to float32 (the same blocks, the same bits), but each block of output
    /// columns widens only its own rows of W into scratch just before its product. The float32 copy of the weight
    /// then never exists whole: each slab is written and read while it is in cache, instead of the whole weight
    /// going out to memory and back (the UNet's fp16 weights are 2.6 billion elements per evaluation).
    ///
    /// Runs only where `sgemm` would split the product along N; returns false, doing nothing, for the other shapes
    /// (small products, or M >= N, where every block needs the whole weight), which the caller widens whole.
    static func sgemmHalfWeight(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                weight w: UnsafeRawPointer, type: ElementType, ldw: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
        guard halfWeightSlabs, type == .f16 || type == .bf16, Int(bitPattern: w) % 2 == 0, k > 0,
              m * n * k >= splitThreshold, max(m, n) >= 64 else { return false }
        let (alongM, block, blocks) = splitBlock(m: m, n: n, k: k)
        guard !alongM else { return false }
        let bits = w.assumingMemoryBound(to: UInt16.self)
        Parallel.forEach(blocks) { i in
            let start = i * block, size = Swift.min(block, n - start)
            let scratch = ScratchPool.shared.take(size * k)                    // (size, K) float32
            defer { ScratchPool.shared.give(scratch) }
            for r in 0..<size {
                widen(bits + (start + r) * ldw, type, into: scratch.pointer + r * k, count: k)
            }
            single(transA: false, transB: true, m: m, n: size, k: k, alpha: 1, a: a, lda: lda,
                   b: scratch.pointer, ldb: k, beta: 0, c: c + start, ldc: ldc)
        }
        halfWeightRuns.withLock { $0 += 1 }
        return true
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

    /// `count` f16 or bf16 values as float32, on this thread (the conversions of `BulkConvert`, element by element).
    @inline(__always)
    private static func widen(_ src: UnsafePointer<UInt16>, _ type: ElementType, into dst: UnsafeMutablePointer<Float>,
                              count: Int) {
        if type == .bf16 {
            for i in 0..<count { dst[i] = HalfConversion.float(bf16: src[i]) }
        } else if BulkConvert.hardwareHalf {
            ck_f16_to_f32(src, dst, count)
        } else {
            for i in 0..<count { dst[i] = HalfConversion.float(f16: src[i]) }
        }
    }
}
