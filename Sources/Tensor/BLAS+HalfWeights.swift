/// Products with a half-precision weight that OpenBLAS cannot read: widening the weight slab by slab.
extension BLAS {
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
