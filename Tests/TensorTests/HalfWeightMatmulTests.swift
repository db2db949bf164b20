import XCTest
@testable import Tensor

/// Linear products with an f16 or bf16 weight (B^T of (N, K)), which `BLAS.sgemmHalfWeight` computes by widening
/// each output block's rows of the weight just before its product: the same bits as widening the whole weight first.
final class HalfWeightMatmulTests: XCTestCase {
    /// x (M, K) and a weight (N, K) of values that f16 and bf16 both hold exactly, at `scale`.
    private func operands(m: Int, n: Int, k: Int, seed: UInt64) throws -> (x: Tensor, w: Tensor) {
        var rng = RNG(seed: seed)
        let x = Tensor.randn([m, k], rng: &rng)
        // Multiples of 1/64 in [-2, 2]: exact in bf16's 8-bit and f16's 11-bit significands.
        let w = try Tensor((0..<(n * k)).map { _ in Float(Int(rng.nextNormal() * 40).clamped(-128, 128)) / 64 }, shape: [n, k])
        return (x, w)
    }

    func testTheSameBitsAsWideningTheWholeWeight() throws {
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
        let before = BLAS.halfWeightProductsRun
        let half = w.to(.f16)
        let xs = x.requiringGrad()
        let y = try Tensor.linear(xs, weight: half)                           // (96, 1024)
        XCTAssertEqual(BLAS.halfWeightProductsRun, before + 1)
        try y.sum().backward()
        let reference = x.requiringGrad()
        try Tensor.linear(reference, weight: w).sum().backward()
        XCTAssertEqual(y.values, try Tensor.linear(x, weight: w).values)
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
