extension Tensor {
    /// Matrix product of the last two dimensions: (..., M, K) x (..., K, N) -> (..., M, N), batch dimensions
    /// equal, or `b` of rank 2 shared by every batch. `transposeA` / `transposeB` use the transposed last two
    /// dimensions without copying. Throws on mismatched shapes.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else {
            throw TensorError("matmul", "needs rank >= 2, got \(shapeText(a.shape)) and \(shapeText(b.shape))")
        }
        if b.rank == 2 && a.rank > 2 && !transposeA {
            // Fold the batch into M: (B..., M, K) -> (B*M, K).
            let k = a.shape[a.rank - 1]
            let flat = try a.reshaped([a.count / Swift.max(k, 1), k])
            let out = try matmul(flat, b, transposeB: transposeB)
            return try out.reshaped(Array(a.shape.dropLast()) + [out.shape[1]])
        }
        guard a.rank == b.rank, a.shape.dropLast(2) == b.shape.dropLast(2) else {
            throw TensorError("matmul", "batch dimensions of \(shapeText(a.shape)) and \(shapeText(b.shape)) differ")
        }
        let r = a.rank
        let m = transposeA ? a.shape[r - 1] : a.shape[r - 2]
        let ka = transposeA ? a.shape[r - 2] : a.shape[r - 1]
        let kb = transposeB ? b.shape[r - 1] : b.shape[r - 2]
        let n = transposeB ? b.shape[r - 2] : b.shape[r - 1]
        guard ka == kb else {
            throw TensorError("matmul", "inner dimensions differ: \(shapeText(a.shape))\(transposeA ? "^T" : "") x \(shapeText(b.shape))\(transposeB ? "^T" : "") (\(ka) vs \(kb))")
        }
        let batch = a.shape.dropLast(2).reduce(1, *)
        let out = Tensor.empty(Array(a.shape.dropLast(2)) + [m, n])
        let pc = out.storage.pointer
        let lda = a.shape[r - 1], ldb = b.shape[r - 1]
        // bf16 weights on a CPU with native bf16 run on oneDNN's bf16 kernels (`OneDNNMatmul`); otherwise f16/bf16
        // operands (weights kept in the dtype of their file) are converted into scratch float32 per call.
        if !transposeA, let compute = OneDNNMatmul.computeType(a: a.dtype, b: b.dtype),
           OneDNNMatmul.run(a: a, b: b, transposeB: transposeB, batch: batch, m: m, n: n, k: ka, compute: compute, into: pc) {
            return Tensor.record(out, [a, b], .matmul(transA: transposeA, transB: transposeB))
        }
        // A half-precision Linear weight (B^T of (N, K)): widened as the kernel packs it, or (on CPUs without AVX2)
        // slab by slab inside the product's blocks.
        let weight = UnsafeRawPointer(b.storage.raw), weightType = ElementType(b.dtype)
        if batch == 1, transposeB, !transposeA {
            if BLAS.halfWeightKernelApplies(m: m, n: n, k: ka, weight: weight, type: weightType) {
                a.withF32 { pa in
                    BLAS.gemmHalfWeight(m: m, n: n, k: ka, a: pa, lda: lda, weight: weight, type: weightType, ldw: ldb,
                                        c: pc, ldc: n)
                }
                return Tensor.record(out, [a, b], .matmul(transA: transposeA, transB: transposeB))
            }
            if let blocks = BLAS.halfWeightBlocks(m: m, n: n, k: ka, weight: weight, type: weightType) {
                a.withF32 { pa in
                    BLAS.sgemmHalfWeight(m: m, n: n, k: ka, a: pa, lda: lda, weight: weight, type: weightType,
                                         ldw: ldb, c: pc, ldc: n, blocks: blocks)
                }
                return Tensor.record(out, [a, b], .matmul(transA: transposeA, transB: transposeB))
            }
        }
        a.withF32 { pa in b.withF32 { pb in
            for i in 0..<batch {
                BLAS.sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: ka,
                           a: pa + i * m * ka, lda: lda, b: pb + i * ka * n, ldb: ldb, c: pc + i * m * n, ldc: n)
            }
        } }
        if ka == 0 { out.storage.pointer.initialize(repeating: 0, count: out.count) }
        return Tensor.record(out, [a, b], .matmul(transA: transposeA, transB: transposeB))
    }

    /// Matrix product `self x other` (see `Tensor.matmul`).
    public func matmul(_ other: Tensor) throws -> Tensor { try Tensor.matmul(self, other) }
}
