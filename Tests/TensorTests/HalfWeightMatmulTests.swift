import XCTest
@testable import Tensor

/// Linear products with an f16 or bf16 weight (B^T of (N, K)). Where the CPU has AVX2, FMA and F16C,
/// `BLAS.gemmHalfWeight` widens the weight as it packs it, with a summation order of its own (rebuilt here); elsewhere
/// (and with `halfWeightKernel` off) `BLAS.sgemmHalfWeight` widens each output block's rows just before OpenBLAS's
/// product: the same bits as widening the whole weight first.
final class HalfWeightMatmulTests: XCTestCase {
    /// x (M, K) and a weight (N, K) of values that f16 and bf16 both hold exactly, at `scale`.
    private func operands(m: Int, n: Int, k: Int, seed: UInt64) throws -> (x: Tensor, w: Tensor) {
        var rng = RNG(seed: seed)
        let x = Tensor.randn([m, k], rng: &rng)
        // Multiples of 1/64 in [-2, 2]: exact in bf16's 8-bit and f16's 11-bit significands.
        let w = try Tensor((0..<(n * k)).map { _ in Float(Int(rng.nextNormal() * 40).clamped(-128, 128)) / 64 }, shape: [n, k])
        return (x, w)
    }

    /// Runs `body` with the AVX2 kernel switched off, so that the slab path (what other CPUs run) is the one tested.
    private func withoutTheKernel(_ body: () throws -> Void) rethrows {
        let saved = BLAS.halfWeightKernel
        BLAS.halfWeightKernel = false
        defer { BLAS.halfWeightKernel = saved }
        try body()
    }

    /// C = x w^T in `gemmHalfWeight`'s order: per element, FMA chains over blocks of `kc` inner indices in index
    /// order from 0, the blocks added in order.
    private func blockedReference(_ x: Tensor, _ w: Tensor, kc: Int) -> [Float] {
        let m = x.shape[0], k = x.shape[1], n = w.shape[0]
        let xs = x.values, ws = w.values
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total: Float = 0
                for p in stride(from: 0, to: k, by: kc) {
                    var chain: Float = 0
                    for q in p..<Swift.min(p + kc, k) { chain = chain.addingProduct(xs[i * k + q], ws[j * k + q]) }
                    total = p == 0 ? chain : total + chain
                }
                out[i * n + j] = total
            }
        }
        return out
    }

    func testTheKernelSumsInItsStatedOrder() throws {
        try XCTSkipUnless(BLAS.halfWeightKernelAvailable, "this CPU lacks AVX2, FMA or F16C")
        let kc = BLAS.halfWeightKernelBlock
        XCTAssertGreaterThan(kc, 0)
        // (M, N, K): one tile; edge rows and columns; K below, at and past one block and odd; more than one column
        // block (512); along M (N narrow); the context projection's 77 rows; a product too small to split.
        let shapes = [(6, 16, 8), (7, 17, 9), (77, 1280, 256), (100, 333, kc + 7), (13, 1030, 2 * kc + 1),
                      (500, 20, 300), (1, 640, 320), (64, 48, 3), (5, 4, 1)]
        let saved = OneDNNMatmul.policy
        defer { OneDNNMatmul.policy = saved }
        OneDNNMatmul.policy = .native
        for (m, n, k) in shapes {
            let (x, w) = try operands(m: m, n: n, k: k, seed: UInt64(m * 31 + n + k))
            let expected = blockedReference(x, w, kc: kc)
            for dtype in [DType.f16, .bf16] {
                let before = BLAS.halfWeightKernelProductsRun
                let y = try GradMode.noGrad { try Tensor.matmul(x, w.to(dtype), transposeB: true) }
                XCTAssertEqual(BLAS.halfWeightKernelProductsRun, before + 1, "\(m)x\(n)x\(k) \(dtype): path")
                XCTAssertEqual(y.shape, [m, n])
                XCTAssertEqual(y.values, expected, "\(m)x\(n)x\(k) \(dtype): not the stated order")
            }
        }
    }

    func testTheKernelAgreesWithTheFloat32ProductOnGeneralValues() throws {
        try XCTSkipUnless(BLAS.halfWeightKernelAvailable, "this CPU lacks AVX2, FMA or F16C")
        // Values f16 rounds: the product of the rounded weight, against OpenBLAS on the same rounded weight widened.
        var rng = RNG(seed: 11)
        let x = Tensor.randn([45, 700], rng: &rng), w = Tensor.randn([300, 700], rng: &rng)
        for dtype in [DType.f16, .bf16] {
            let half = w.to(dtype)
            let y = try GradMode.noGrad { try Tensor.matmul(x, half, transposeB: true) }
            let reference = try Tensor.matmul(x, half.to(.f32), transposeB: true)
            let scale = reference.values.map(abs).max() ?? 1
            let worst = zip(y.values, reference.values).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst / scale, 1e-6, "\(dtype): \(worst) against outputs up to \(scale)")
        }
    }

    func testTheKernelGivesTheSameBitsWhereverTheProductIsCut() throws {
        try XCTSkipUnless(BLAS.halfWeightKernelAvailable, "this CPU lacks AVX2, FMA or F16C")
        // The whole product against every column range computed on its own (as threads cut it).
        let (x, w) = try operands(m: 50, n: 200, k: 600, seed: 21)
        let half = w.to(.f16)
        let whole = try GradMode.noGrad { try Tensor.matmul(x, half, transposeB: true) }.values
        for (start, width) in [(0, 16), (16, 48), (64, 7), (71, 129)] {
            let part = try GradMode.noGrad {
                try Tensor.matmul(x, w.slice(axis: 0, start, start + width).to(.f16), transposeB: true)
            }.values
            for i in 0..<50 {
                XCTAssertEqual(Array(part[(i * width)..<((i + 1) * width)]),
                               Array(whole[(i * 200 + start)..<(i * 200 + start + width)]), "columns \(start)+\(width)")
            }
        }
    }

    func testTheSameBitsAsWideningTheWholeWeight() throws {
        try withoutTheKernel { try theSameBitsAsWideningTheWholeWeight() }
    }

    private func theSameBitsAsWideningTheWholeWeight() throws {
        // (M, N, K): split along N in several blocks; N not a multiple of the block; one block's worth; K odd.
        let shapes = [(77, 1280, 256), (256, 1000, 96), (64, 640, 320), (100, 333, 7)]
        let saved = OneDNNMatmul.policy
        defer { OneDNNMatmul.policy = saved }
        OneDNNMatmul.policy = .native                                          // OpenBLAS on every CPU
        for (m, n, k) in shapes {
            let (x, w) = try operands(m: m, n: n, k: k, seed: UInt64(m * 7 + n))
            let expected = try Tensor.matmul(x, w, transposeB: true)          // float32 weight: the plain sgemm
            for dtype in [DType.f16, .bf16] {
                let half = w.to(dtype)
                XCTAssertEqual(half.values, w.values, "the weight is exact in \(dtype)")
                BLAS.halfWeightSlabs = false                                   // widened whole, as before
                let whole = try GradMode.noGrad { try Tensor.matmul(x, half, transposeB: true) }
                BLAS.halfWeightSlabs = true
                XCTAssertEqual(whole.values, expected.values, "\(m)x\(n)x\(k) \(dtype) widened whole")
                let before = BLAS.halfWeightProductsRun
                let y = try GradMode.noGrad { try Tensor.matmul(x, half, transposeB: true) }
                let split = m * n * k >= BLAS.splitThreshold && !BLAS.splitBlock(m: m, n: n, k: k).alongM
                XCTAssertEqual(BLAS.halfWeightProductsRun, before + (split ? 1 : 0), "\(m)x\(n)x\(k) \(dtype): path")
                XCTAssertEqual(y.values, expected.values, "\(m)x\(n)x\(k) \(dtype): not the same bits")
            }
        }
        XCTAssertGreaterThan(BLAS.halfWeightProductsRun, 0, "no shape took the slab path")
    }

    func testLinearAndItsGradientsThroughAFrozenHalfWeight() throws {
        let (x, w) = try operands(m: 96, n: 1024, k: 128, seed: 3)
        let kernel = BLAS.halfWeightKernelAvailable
        let before = kernel ? BLAS.halfWeightKernelProductsRun : BLAS.halfWeightProductsRun
        let half = w.to(.f16)
        let xs = x.requiringGrad()
        let y = try Tensor.linear(xs, weight: half)                           // (96, 1024)
        XCTAssertEqual(kernel ? BLAS.halfWeightKernelProductsRun : BLAS.halfWeightProductsRun, before + 1)
        try y.sum().backward()
        let reference = x.requiringGrad()
        try Tensor.linear(reference, weight: w).sum().backward()
        XCTAssertEqual(y.values, kernel ? blockedReference(x, w, kc: BLAS.halfWeightKernelBlock)
                                        : try Tensor.linear(x, weight: w).values)
        XCTAssertEqual(try XCTUnwrap(xs.grad).values, try XCTUnwrap(reference.grad).values, "dx through the f16 weight")
    }

    func testTheSameBitsForAnyThreadCount() throws {
        let (x, w) = try operands(m: 128, n: 2048, k: 160, seed: 5)
        let half = w.to(.bf16)
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var results: [[Float]] = []
        for threads in 1...3 {
            Parallel.threads = threads
            results.append(try GradMode.noGrad { try Tensor.matmul(x, half, transposeB: true) }.values)
        }
        XCTAssertEqual(results[0], results[1])
        XCTAssertEqual(results[0], results[2])
    }

    func testShapesThatDoNotSplitAlongNWidenTheWholeWeight() throws {
        try withoutTheKernel { try shapesThatDoNotSplitAlongNWidenTheWholeWeight() }
    }

    private func shapesThatDoNotSplitAlongNWidenTheWholeWeight() throws {
        // M >= N splits along M (each block needs the whole weight), and a small product runs as one call.
        for (m, n, k) in [(1024, 640, 64), (8, 16, 4)] {
            let (x, w) = try operands(m: m, n: n, k: k, seed: 9)
            let before = BLAS.halfWeightProductsRun
            let y = try GradMode.noGrad { try Tensor.matmul(x, w.to(.f16), transposeB: true) }
            XCTAssertEqual(BLAS.halfWeightProductsRun, before, "\(m)x\(n)x\(k)")
            XCTAssertEqual(y.values, try Tensor.matmul(x, w, transposeB: true).values)
        }
    }
}

private extension Int {
    func clamped(_ lo: Int, _ hi: Int) -> Int { Swift.min(Swift.max(self, lo), hi) }
}
