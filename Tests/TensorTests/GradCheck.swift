import XCTest
@testable import Tensor

/// Finite-difference gradient check: compares the autodiff gradient of sum(f(inputs) * probe) with central
/// differences for every element of every input.
func gradCheck(_ inputs: [Tensor], eps: Float = 1e-2, tolerance: Float = 2e-2,
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) throws -> Tensor) throws {
    var rng = RNG(seed: 99)
    let leaves = inputs.map { $0.requiringGrad() }
    let out = try f(leaves)
    let probe = Tensor.uniform(out.shape, low: -1, high: 1, rng: &rng)
    let loss = try (out * probe).sum()
    try loss.backward()
    func objective(_ xs: [Tensor]) throws -> Double {
        try GradMode.noGrad {
            let y = try f(xs)
            var s = 0.0
            for (a, b) in zip(y.values, probe.values) { s += Double(a) * Double(b) }
            return s
        }
    }
    for (index, leaf) in leaves.enumerated() {
        let analytic = leaf.grad?.values ?? [Float](repeating: 0, count: leaf.count)
        for i in 0..<leaf.count {
            var plus = inputs.map { $0.copy() }, minus = inputs.map { $0.copy() }
            plus[index].withMutableValues { $0[i] += eps }
            minus[index].withMutableValues { $0[i] -= eps }
            let numeric = Float((try objective(plus) - objective(minus)) / Double(2 * eps))
            let scale = max(1, abs(numeric), abs(analytic[i]))
            if abs(numeric - analytic[i]) > tolerance * scale {
                XCTFail("input \(index) element \(i): analytic \(analytic[i]) vs numeric \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

/// Asserts two float arrays agree within an absolute + relative tolerance, naming the worst element.
func assertClose(_ a: [Float], _ b: [Float], atol: Float = 1e-5, rtol: Float = 1e-4, _ name: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    guard a.count == b.count else {
        XCTFail("\(name): count \(a.count) vs \(b.count)", file: file, line: line)
        return
    }
    for i in 0..<a.count where !(abs(a[i] - b[i]) <= atol + rtol * abs(b[i])) {
        XCTFail("\(name): element \(i): \(a[i]) vs expected \(b[i])", file: file, line: line)
        return
    }
}

/// A tensor of uniform values in [-1, 1) from a fixed seed.
func rand(_ shape: [Int], seed: UInt64 = 1, low: Float = -1, high: Float = 1) -> Tensor {
    var rng = RNG(seed: seed)
    return Tensor.uniform(shape, low: low, high: high, rng: &rng)
}
