import XCTest
@testable import Tensor

/// The recorded (training) kernels that replace chains of primitives: the `.layerNorm` primitive against its
/// composite reference, the vectorised GELU forward and derivative against libm's erf, and the broadcast rows of the
/// element-wise kernels against the general path; all bit for bit across thread counts where they reduce.
/// (PyTorch parity for layer norm and GELU, outputs and gradients: ParityTests; finite differences: GradientTests.)
final class FusedTrainingKernelTests: XCTestCase {
    /// [out, d input 0, d input 1, ...] of sum(f(inputs) * probe) through the recorded graph.
    private func run(_ inputs: [Tensor], probe seed: UInt64 = 77, _ f: ([Tensor]) throws -> Tensor) throws -> [[Float]] {
        let leaves = inputs.map { $0.requiringGrad() }
        let out = try f(leaves)
        try (out * rand(out.shape, seed: seed)).sum().backward()
        return [out.values] + leaves.map { $0.grad?.values ?? [] }
    }

    func testLayerNormPrimitiveMatchesTheComposite() throws {
        // 150 rows: three blocks of the weight and bias sums, the last one short.
        let x = rand([3, 50, 40], seed: 1, low: -3, high: 2), w = rand([40], seed: 2), b = rand([40], seed: 3)
        for (hasWeight, hasBias) in [(true, true), (true, false), (false, true), (false, false)] {
            let inputs = [x] + (hasWeight ? [w] : []) + (hasBias ? [b] : [])
            func split(_ t: [Tensor]) -> (Tensor?, Tensor?) {
                (hasWeight ? t[1] : nil, hasBias ? t[hasWeight ? 2 : 1] : nil)
            }
            let fused = try run(inputs) { t in
                let (wt, bt) = split(t)
                let y = try Tensor.layerNorm(t[0], weight: wt, bias: bt)
                XCTAssertEqual(y.node?.op.name, "layerNorm")
                return y
            }
            let reference = try run(inputs) { t in
                let (wt, bt) = split(t)
                return try Tensor.layerNormComposite(t[0], weight: wt, bias: bt, eps: 1e-5)
            }
            for (i, (a, e)) in zip(fused, reference).enumerated() {
                assertClose(a, e, atol: 1e-5, rtol: 1e-4, "weight \(hasWeight) bias \(hasBias): tensor \(i)")
            }
        }
    }

    func testLayerNormGradientsOnlyWhereNeededAndTheSameForAnyThreadCount() throws {
        let x = rand([2, 130, 24], seed: 4), w = rand([24], seed: 5), b = rand([24], seed: 6)
        let frozen = x.requiringGrad()
        try (Tensor.layerNorm(frozen, weight: w, bias: b) * rand([2, 130, 24], seed: 77)).sum().backward()
        let all = try run([x, w, b]) { try Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        XCTAssertEqual(frozen.grad?.values, all[1], "dx does not depend on whether the weights want gradients")
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        let serial = try run([x, w, b]) { try Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        for p in [2, 3] {
            Parallel.threads = p
            XCTAssertEqual(try run([x, w, b]) { try Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2]) }, serial, "\(p) threads")
        }
    }

    func testRecordedGeluAndItsDerivativeMatchTheErfForm() throws {
        // 1003 values in [-9, 9]: both tails, zero, and a tail that is not a multiple of 8.
        var values = (0..<1000).map { -9 + 18 * Float($0) / 999 }
        values += [0, -0.0, 1e-6]
        let x = try Tensor(values, shape: [values.count]).requiringGrad()
        let y = x.gelu()
        try y.sum().backward()
        let exact = values.map { 0.5 * Double($0) * (1 + erf(Double($0) / 2.0.squareRoot())) }
        let slope = values.map { v -> Double in
            let d = Double(v)
            return 0.5 * (1 + erf(d / 2.0.squareRoot())) + d * Foundation.exp(-0.5 * d * d) / (2 * Double.pi).squareRoot()
        }
        assertClose(y.values, exact.map { Float($0) }, atol: 2e-6, rtol: 2e-5, "gelu")
        assertClose(x.grad?.values ?? [], slope.map { Float($0) }, atol: 2e-6, rtol: 2e-5, "gelu'")
    }

    func testBroadcastRowsMatchTheGeneralPath() throws {
        // A bias over the last dimension and a row statistic (..., 1), against the same values fully materialised.
        let a = rand([4, 7, 33], seed: 7), bias = rand([33], seed: 8, low: 0.5, high: 2), stat = rand([4, 7, 1], seed: 9, low: 0.5, high: 2)
        let biasFull = try Tensor.concat(Array(repeating: bias.reshaped([1, 33]), count: 28), axis: 0).reshaped([4, 7, 33])
        let statFull = try Tensor.concat(Array(repeating: stat, count: 33), axis: 2)
        for (name, op) in [("add", { try $0 + $1 }), ("sub", { try $0 - $1 }), ("mul", { try $0 * $1 }), ("div", { try $0 / $1 })]
            as [(String, (Tensor, Tensor) throws -> Tensor)] {
            XCTAssertEqual(try op(a, bias).values, try op(a, biasFull).values, "\(name) with a bias row")
            XCTAssertEqual(try op(a, stat).values, try op(a, statFull).values, "\(name) with a row statistic")
        }
    }
}
