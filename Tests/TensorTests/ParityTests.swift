import XCTest
@testable import Tensor

/// Compares every op's output and input gradients with PyTorch (Fixtures/ops.safetensors, written by
/// Scripts/fixtures/make_fixtures.py). Tolerance: 1e-5 absolute + 1e-4 relative per element.
final class ParityTests: XCTestCase {
    static let cases: [String: ([Tensor]) throws -> Tensor] = [
        "add": { try $0[0] + $0[1] },
        "sub": { try $0[0] - $0[1] },
        "mul": { try $0[0] * $0[1] },
        "div": { try $0[0] / $0[1] },
        "matmul": { try Tensor.matmul($0[0], $0[1]) },
        "conv2d": { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], geometry: ConvGeometry(padding: 1)) },
        "conv2d_strided_grouped": { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], geometry: ConvGeometry(stride: 2, padding: 1, groups: 2)) },
        "conv2d_dilated": { try Tensor.conv2d($0[0], weight: $0[1], geometry: ConvGeometry(padding: 2, dilation: 2)) },
        "conv_transpose2d": { try Tensor.convTranspose2d($0[0], weight: $0[1], bias: $0[2], geometry: ConvGeometry(stride: 2, padding: 1, outputPadding: 1)) },
        "group_norm": { try Tensor.groupNorm($0[0], groups: 3, weight: $0[1], bias: $0[2]) },
        "layer_norm": { try Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2]) },
        "upsample_nearest": { try $0[0].upsampleNearest(scale: 2) },
        "upsample_bilinear": { try $0[0].upsampleBilinear(height: 9, width: 7) },
        "upsample_bilinear_ac": { try $0[0].upsampleBilinear(height: 9, width: 7, alignCorners: true) },
        "avg_pool": { try $0[0].avgPool2d(kernel: 2) },
        "max_pool": { try $0[0].maxPool2d(kernel: 2) },
        "softmax": { try $0[0].softmax(axis: -1) },
        "attention": { try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) },
        "linear": { try Tensor.linear($0[0], weight: $0[1], bias: $0[2]) },
        "relu": { $0[0].relu() },
        "leaky_relu": { $0[0].leakyRelu(0.2) },
        "silu": { $0[0].silu() },
        "gelu": { $0[0].gelu() },
        "sigmoid": { $0[0].sigmoid() },
        "tanh": { $0[0].tanh() },
        "softplus": { $0[0].softplus() },
        "l1_loss": { try Tensor.l1Loss($0[0], $0[1]) },
        "mse_loss": { try Tensor.mseLoss($0[0], $0[1]) },
        "bce_logits": { try Tensor.bceWithLogitsLoss($0[0], $0[1]) },
    ]

    func testOpsMatchPyTorch() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/ops.safetensors").path
        let file = try SafeTensorsFile(path: path)
        let fixtureCases = Set(file.entries.keys.compactMap { $0.hasSuffix(".out") ? String($0.dropLast(4)) : nil })
        XCTAssertEqual(fixtureCases, Set(Self.cases.keys), "fixture cases and Swift cases differ")
        for name in fixtureCases.sorted() {
            guard let f = Self.cases[name] else { continue }
            var inputs: [Tensor] = []
            while let t = try? file.tensor("\(name).in\(inputs.count)") { inputs.append(t.requiringGrad()) }
            let out = try f(inputs)
            let expected = try file.tensor("\(name).out")
            XCTAssertEqual(out.count, expected.count, "\(name) output size")
            assertClose(out.values, expected.values, atol: 1e-5, rtol: 1e-4, "\(name).out")
            try (out * file.tensor("\(name).probe").reshaped(out.shape)).sum().backward()
            for (i, x) in inputs.enumerated() {
                let g = try file.tensor("\(name).grad\(i)")
                assertClose(x.grad?.values ?? [], g.values, atol: 1e-5, rtol: 1e-4, "\(name).grad\(i)")
            }
        }
    }
}
