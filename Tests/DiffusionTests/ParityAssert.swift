import NN
import XCTest
import Tensor

/// Asserts that `actual` matches `expected` element-wise within `atol + rtol * |expected|`, and that the shapes
/// agree; a failure names the tensor, the worst element and both values. Shared by the Diffusion parity tests.
func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float, _ name: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    guard actual.shape == expected.shape else {
        XCTFail("\(name): shape \(actual.shape) vs expected \(expected.shape)", file: file, line: line)
        return
    }
    let a = actual.values, b = expected.values
    var worst = 0, worstExcess: Float = 0, maxAbs: Float = 0
    for i in 0..<a.count {
        let d = abs(a[i] - b[i])
        maxAbs = max(maxAbs, d.isNaN ? .infinity : d)
        let excess = d - (atol + rtol * abs(b[i]))
        if !(excess <= worstExcess) { worst = i; worstExcess = excess.isNaN ? .infinity : excess }
    }
    if worstExcess > 0 {
        XCTFail("\(name): element \(worst): \(a[worst]) vs expected \(b[worst]) (max abs diff \(maxAbs))", file: file, line: line)
    }
}

/// The tensors of `file` whose names start with `prefix` + ".", with the prefix removed.
func tensors(in file: SafeTensorsFile, prefix: String, excluding: Set<String> = []) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for name in file.names where name.hasPrefix(prefix + ".") {
        let short = String(name.dropFirst(prefix.count + 1))
        if !excluding.contains(short) { out[short] = try file.tensor(name) }
    }
    return out
}
