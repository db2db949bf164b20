import XCTest
@testable import Tensor

final class AutodiffTests: XCTestCase {
    func testNoGradRecordsNothing() throws {
        let w = rand([3, 3], seed: 1).requiringGrad()
        let y = try GradMode.noGrad { try (w * w).sum() }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertThrowsError(try y.backward())
        XCTAssertTrue(GradMode.isEnabled)
    }

    func testGradientsAccumulateAcrossBackwardCalls() throws {
        let x = try Tensor([1, 2, 3], shape: [3]).requiringGrad()
        try (x * x).sum().backward()
        XCTAssertEqual(x.grad?.values, [2, 4, 6])
        try (x * 3).sum().backward()
        XCTAssertEqual(x.grad?.values, [5, 7, 9])
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testSharedSubexpressionAndFreezing() throws {
        let a = try Tensor([2], shape: [1]).requiringGrad()
        var frozen = try Tensor([5], shape: [1])
        frozen.requiresGrad = false
        let b = try a * a                    // used twice below
        try (b * b + b * frozen).sum().backward()
        // d/da (a^4 + 5 a^2) = 4 a^3 + 10 a = 32 + 20
        XCTAssertEqual(try XCTUnwrap(a.grad).item, 52, accuracy: 1e-4)
        XCTAssertNil(frozen.grad)
    }

    func testShapeErrorsNameTheOperation() {
        XCTAssertThrowsError(try Tensor(zeros: [2, 3]) + Tensor(zeros: [4])) { XCTAssertTrue("\($0)".hasPrefix("add:")) }
        XCTAssertThrowsError(try Tensor.matmul(Tensor(zeros: [2, 3]), Tensor(zeros: [4, 5]))) { XCTAssertTrue("\($0)".contains("inner")) }
        XCTAssertThrowsError(try Tensor.conv2d(Tensor(zeros: [1, 3, 8, 8]), weight: Tensor(zeros: [4, 2, 3, 3])))
        XCTAssertThrowsError(try Tensor(zeros: [6]).reshaped([4, -1]))
        XCTAssertThrowsError(try Tensor([1, 2], shape: [3]))
    }

    func testResultsDoNotDependOnThreadCount() throws {
        let x = rand([2, 16, 64, 64], seed: 3), w = rand([16, 16, 3, 3], seed: 4)
        func run() throws -> [Float] {
            let xl = x.requiringGrad()
            let y = try Tensor.groupNorm(Tensor.conv2d(xl, weight: w, geometry: ConvGeometry(padding: 1)), groups: 4,
                                         weight: Tensor(repeating: 1, shape: [16]), bias: Tensor(zeros: [16])).silu()
            try y.sum().backward()
            return try y.sum().values + (xl.grad?.values ?? [])
        }
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var results: [[Float]] = []
        for p in [1, 2, 3] {
            Parallel.threads = p
            results.append(try run())
        }
        for (i, r) in results.enumerated() {
            let differing = zip(r, results[0]).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "configuration \(i) differs from serial in \(differing) of \(r.count) values")
        }
    }

    func testReshapeIsAViewAndWritesCopy() throws {
        var a = try Tensor([1, 2, 3, 4], shape: [2, 2])
        let b = try a.reshaped([4])
        XCTAssertTrue(a.storage === b.storage)
        a.withMutableValues { $0[0] = 9 }
        XCTAssertEqual(b.values[0], 1)
        XCTAssertEqual(a.values[0], 9)
    }

    func testSeededRNGIsReproducible() {
        var r1 = RNG(seed: 42), r2 = RNG(seed: 42)
        XCTAssertEqual(Tensor.randn([100], rng: &r1).values, Tensor.randn([100], rng: &r2).values)
        var r3 = RNG(seed: 5)
        let n = Tensor.randn([20000], rng: &r3).values
        let mean = n.reduce(0, +) / Float(n.count), variance = n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(n.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
        XCTAssertEqual(Set(r3.permutation(10)), Set(0..<10))
    }

    func testDropout() throws {
        var rng = RNG(seed: 1)
        let x = Tensor(repeating: 1, shape: [10000])
        let y = try x.dropout(p: 0.25, training: true, rng: &rng).values
        let zeros = y.filter { $0 == 0 }.count
        XCTAssertEqual(Double(zeros) / 10000, 0.25, accuracy: 0.02)
        XCTAssertTrue(y.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3) < 1e-6 })
        XCTAssertEqual(try x.dropout(p: 0.25, training: false, rng: &rng).values, x.values)
    }
}

final class GraphReleaseTests: XCTestCase {
    func testBackwardFreesGraphUnlessRetained() throws {
        let x = try Tensor([1, 2], shape: [2]).requiringGrad()
        let y = try (x * x).sum()
        try y.backward(retainGraph: true)
        try y.backward()
        XCTAssertEqual(x.grad?.values, [4, 8])
        XCTAssertThrowsError(try y.backward()) { XCTAssertTrue("\($0)".contains("retainGraph")) }
    }
}
