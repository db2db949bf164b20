import XCTest
@testable import Tensor

/// Matmul, convolution and attention on bf16 and f16 operands (Fixtures/kernels.safetensors, cases
/// `*_bf16` and `*_f16`). The engine converts half-precision operands to float32 per call and computes in
/// float32, so it must match float64 math on the same values to 1e-5 absolute + 1e-4 relative (`C.out`).
/// Against PyTorch running the op in the dtype itself (`C.torch`: its output, and in attention its
/// probabilities, rounded to the dtype) the tolerance is about two roundings of the dtype: bf16 (8-bit
/// mantissa, steps of 2^-7 relative) 1e-2 absolute + 1.6e-2 relative; f16 (11-bit, 2^-10) 2e-3 + 2e-3.
final class HalfPrecisionKernelTests: XCTestCase {
    private static let file: SafeTensorsFile? = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/kernels.safetensors").path
        return try? SafeTensorsFile(path: path)
    }()

    /// The case's inputs converted to `dtype` (exactly: the fixture holds representable values), its float64
    /// reference and PyTorch's in-dtype result.
    private func fixture(_ name: String, _ dtype: DType) throws -> (inputs: [Tensor], exact: Tensor, torch: Tensor) {
        let file = try XCTUnwrap(Self.file, "Fixtures/kernels.safetensors should load")
        var inputs: [Tensor] = []
        while let t = try? file.tensor("\(name).in\(inputs.count)") {
            let half = t.to(dtype)
            XCTAssertEqual(half.dtype, dtype)
            XCTAssertEqual(half.values, t.values, "\(name).in\(inputs.count) should be representable in \(dtype)")
            inputs.append(half)
        }
        XCTAssertFalse(inputs.isEmpty, "\(name): no inputs")
        return (inputs, try file.tensor("\(name).out"), try file.tensor("\(name).torch"))
    }

    private func tolerance(_ dtype: DType) -> (atol: Float, rtol: Float) {
        dtype == .bf16 ? (1e-2, 1.6e-2) : (2e-3, 2e-3)
    }

    private func check(_ name: String, _ dtype: DType, _ op: ([Tensor]) throws -> Tensor) throws {
        let (inputs, exact, torch) = try fixture(name, dtype)
        let y = try GradMode.noGrad { try op(inputs) }
        XCTAssertEqual(y.dtype, .f32, "\(name): results are float32")
        XCTAssertEqual(y.shape, exact.shape, name)
        assertClose(y.values, exact.values, atol: 1e-5, rtol: 1e-4, "\(name) vs float64 math on the same values")
        let (atol, rtol) = tolerance(dtype)
        assertClose(y.values, torch.values, atol: atol, rtol: rtol, "\(name) vs PyTorch in \(dtype)")
        for x in inputs { XCTAssertEqual(x.dtype, dtype, "\(name): operands keep their dtype") }
    }

    func testMatmulOnHalfPrecisionOperands() throws {
        for (dtype, tag) in [(DType.bf16, "bf16"), (.f16, "f16")] {
            try check("matmul_\(tag)", dtype) { try Tensor.matmul($0[0], $0[1]) }
        }
    }

    func testConvolutionWithHalfPrecisionWeights() throws {
        for (dtype, tag) in [(DType.bf16, "bf16"), (.f16, "f16")] {
            try check("conv_\(tag)", dtype) { try Tensor.conv2d($0[0], weight: $0[1], bias: $0[2], geometry: ConvGeometry(padding: 1)) }
            // Float32 activations with half-precision weights (how checkpoints load) give the same result.
            let (inputs, exact, _) = try fixture("conv_\(tag)", dtype)
            let y = try GradMode.noGrad {
                try Tensor.conv2d(inputs[0].to(.f32), weight: inputs[1], bias: inputs[2], geometry: ConvGeometry(padding: 1))
            }
            assertClose(y.values, exact.values, atol: 1e-5, rtol: 1e-4, "conv_\(tag) with f32 input")
        }
    }

    func testAttentionOnHalfPrecisionOperands() throws {
        for (dtype, tag) in [(DType.bf16, "bf16"), (.f16, "f16")] {
            try check("attention_\(tag)", dtype) { try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) }
        }
    }
}
