import XCTest
@testable import Tensor

/// Finite-difference checks of every primitive's backward rule.
final class GradientTests: XCTestCase {
    func testUnaryPrimitives() throws {
        let x = rand([2, 3, 4], seed: 3)
        let positive = rand([2, 3, 4], seed: 4, low: 0.5, high: 2)
        let kinds: [UnaryKind] = [.neg, .abs, .relu, .sigmoid, .tanh, .silu, .gelu, .softplus, .leakyRelu(0.1),
                                  .scale(-1.5), .addScalar(0.3), .pow(2), .exp]
        for kind in kinds {
            try gradCheck([x]) { try XCTUnwrap($0.first).unary(kind) }
        }
        for kind in [UnaryKind.log, .sqrt, .pow(1.5), .pow(-0.5)] {
            try gradCheck([positive]) { try XCTUnwrap($0.first).unary(kind) }
        }
    }

    func testBinaryBroadcasting() throws {
        let a = rand([2, 3, 4], seed: 5), b = rand([3, 1], seed: 6), c = rand([1, 3, 4], seed: 7)
        let d = rand([3, 1], seed: 8, low: 0.5, high: 2)
        try gradCheck([a, b]) { try $0[0] + $0[1] }
        try gradCheck([a, c]) { try $0[0] - $0[1] }
        try gradCheck([a, b]) { try $0[0] * $0[1] }
        try gradCheck([a, d]) { try $0[0] / $0[1] }
        try gradCheck([a, a]) { try $0[0] * $0[1] }
    }

    func testMatmul() throws {
        let a = rand([2, 3, 4], seed: 1), b = rand([2, 4, 5], seed: 2), bt = rand([2, 5, 4], seed: 3), at = rand([2, 4, 3], seed: 4)
        try gradCheck([a, b]) { try Tensor.matmul($0[0], $0[1]) }
        try gradCheck([a, bt]) { try Tensor.matmul($0[0], $0[1], transposeB: true) }
        try gradCheck([at, b]) { try Tensor.matmul($0[0], $0[1], transposeA: true) }
        try gradCheck([at, bt]) { try Tensor.matmul($0[0], $0[1], transposeA: true, transposeB: true) }
        try gradCheck([a, rand([4, 2], seed: 9)]) { try Tensor.matmul($0[0], $0[1]) }
    }

    func testConv2d() throws {
        let x = rand([2, 4, 6, 5], seed: 1), b = rand([4], seed: 3)
        let geos = [ConvGeometry(padding: 1), ConvGeometry(stride: 2, padding: 1), ConvGeometry(padding: 2, dilation: 2),
                    ConvGeometry(stride: 1, padding: 1, groups: 2)]
        for geo in geos {
            let w = rand([4, 4 / geo.groups, 3, 3], seed: 2)
            try gradCheck([x, w, b]) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], geometry: geo) }
        }
        try gradCheck([x, rand([3, 4, 1, 1], seed: 4)]) { try Tensor.conv2d($0[0], weight: $0[1]) }
    }

    func testConvTranspose2d() throws {
        let x = rand([2, 4, 3, 3], seed: 1), b = rand([6], seed: 3)
        for geo in [ConvGeometry(stride: 2, padding: 1, outputPadding: 1), ConvGeometry(stride: 1, padding: 0, groups: 2)] {
            let w = rand([4, 6 / geo.groups, 3, 3], seed: 2)
            try gradCheck([x, w, b]) { try Tensor.convTranspose2d($0[0], weight: $0[1], bias: $0[2], geometry: geo) }
        }
    }

    func testGroupNorm() throws {
        let x = rand([2, 6, 3, 4], seed: 1), w = rand([6], seed: 2), b = rand([6], seed: 3)
        try gradCheck([x, w, b]) { try Tensor.groupNorm($0[0], groups: 3, weight: $0[1], bias: $0[2]) }
    }

    func testResampleAndPool() throws {
        let x = rand([1, 2, 4, 6], seed: 1)
        try gradCheck([x]) { try $0[0].upsampleNearest(scale: 2) }
        try gradCheck([x]) { try $0[0].upsampleBilinear(height: 7, width: 9) }
        try gradCheck([x]) { try $0[0].upsampleBilinear(height: 8, width: 5, alignCorners: true) }
        try gradCheck([x]) { try $0[0].avgPool2d(kernel: 2) }
        try gradCheck([x]) { try $0[0].maxPool2d(kernel: 2) }
    }

    func testShapePrimitives() throws {
        let a = rand([2, 3, 4], seed: 1), b = rand([2, 2, 4], seed: 2)
        try gradCheck([a, b]) { try Tensor.concat([$0[0], $0[1]], axis: 1) }
        try gradCheck([a]) { try $0[0].slice(axis: 2, 1, 3) }
        try gradCheck([a]) { try $0[0].padded(left: 1, right: 2, top: 0, bottom: 1) }
        try gradCheck([a]) { try $0[0].reshaped([4, 6]) }
        try gradCheck([a]) { try $0[0].permuted([2, 0, 1]) }
        try gradCheck([a]) { try $0[0].sum(axes: [0, 2]) }
        try gradCheck([a]) { try $0[0].sum() }
        try gradCheck([a]) { try $0[0].mean(axes: [1], keepDims: true) }
        try gradCheck([a]) { try $0[0].max(axis: 1) }
    }

    func testComposites() throws {
        let x = rand([2, 3, 5], seed: 1), t = rand([2, 3, 5], seed: 2, low: 0, high: 1)
        try gradCheck([x]) { try $0[0].softmax(axis: -1) }
        try gradCheck([x]) { try $0[0].logSoftmax(axis: 1) }
        try gradCheck([x, rand([5], seed: 3), rand([5], seed: 4)]) { try Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        try gradCheck([x, t]) { try Tensor.l1Loss($0[0], $0[1]) }
        try gradCheck([x, t]) { try Tensor.mseLoss($0[0], $0[1]) }
        try gradCheck([x, t]) { try Tensor.bceWithLogitsLoss($0[0], $0[1]) }
        let q = rand([2, 4, 3], seed: 5), k = rand([2, 6, 3], seed: 6), v = rand([2, 6, 2], seed: 7)
        try gradCheck([q, k, v]) { try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) }
        try gradCheck([x, rand([4, 5], seed: 8), rand([4], seed: 9)]) { try Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
    }
}

final class FastMathTests: XCTestCase {
    func testFastExpMatchesFoundation() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let exact = Float(Foundation.exp(Double(x)))
            worst = max(worst, abs(FastMath.exp(x) - exact) / exact)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertEqual(Tensor(repeating: -200, shape: [1]).sigmoid().item, 0, accuracy: 1e-30)
        XCTAssertEqual(Tensor(repeating: 200, shape: [1]).silu().item, 200)
    }
}
