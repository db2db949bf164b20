import XCTest
import Tensor
@testable import NN

/// Merging LoRA files by module name into a built model, in PEFT and kohya naming, for Linear and Conv2d.
final class LoRAMergeTests: XCTestCase {
    func testMergeByNameMatchesTheFormula() throws {
        var rng = RNG(seed: 9)
        let attn = AttentionBlock(channels: 8, heads: 2, groups: 2, rng: &rng)
        let a = Tensor.randn([2, 8], rng: &rng), b = Tensor.randn([8, 2], rng: &rng)          // (r, in), (out, r)
        let down = Tensor.randn([4, 8], rng: &rng), up = Tensor.randn([8, 4], rng: &rng)
        let q0 = attn.toQ.weight.value.values, o0 = attn.toOut.weight.value.values
        let source = DictionarySource([
            "unet.to_q.lora_A.weight": a, "unet.to_q.lora_B.weight": b,                      // PEFT, no alpha: factor 1
            "lora_unet_to_out_0.lora_down.weight": down, "lora_unet_to_out_0.lora_up.weight": up,
            "lora_unet_to_out_0.alpha": Tensor(scalar: 2),                                    // kohya: alpha / rank = 0.5
        ], label: "lora.safetensors")
        let merged = try LoRAMerge.merge(source, into: attn, prefix: "unet.", scale: 0.8)
        XCTAssertEqual(Set(merged), ["to_q", "to_out.0"])
        let dq = try Tensor.matmul(b, a).values, dOut = try Tensor.matmul(up, down).values
        for i in 0..<q0.count {
            XCTAssertEqual(attn.toQ.weight.value.values[i], q0[i] + 0.8 * dq[i], accuracy: 1e-5)
            XCTAssertEqual(attn.toOut.weight.value.values[i], o0[i] + 0.8 * 0.5 * dOut[i], accuracy: 1e-5)
        }
    }

    func testConvMergeKeepsHalfPrecisionAndBadShapesChangeNothing() throws {
        var rng = RNG(seed: 10)
        let block = ResnetBlock2D(4, 4, groups: 2, rng: &rng)
        block.conv1.weight.convert(to: .f16)
        let w0 = block.conv1.weight.value.values
        let down = Tensor.randn([2, 4, 3, 3], rng: &rng), up = Tensor.randn([4, 2, 1, 1], rng: &rng)
        try LoRAMerge.merge(DictionarySource(["conv1.lora.down.weight": down, "conv1.lora.up.weight": up]), into: block)
        XCTAssertEqual(block.conv1.weight.dtype, .f16)
        let delta = try Tensor.matmul(up.reshaped([4, 2]), down.reshaped([2, 36])).values
        for i in 0..<w0.count { XCTAssertEqual(block.conv1.weight.value.values[i], w0[i] + delta[i], accuracy: 2e-2) }

        let before = block.conv2.weight.value.values
        let bad = DictionarySource(["conv2.lora.down.weight": Tensor.randn([2, 4, 1, 1], rng: &rng), "conv2.lora.up.weight": up,
                                    "norm1.lora.down.weight": down, "norm1.lora.up.weight": up], label: "bad.safetensors")
        XCTAssertThrowsError(try LoRAMerge.merge(bad, into: block)) { error in
            XCTAssertTrue("\(error)".contains("bad.safetensors") && "\(error)".contains("conv2") && "\(error)".contains("[4, 4, 3, 3]"), "\(error)")
        }
        XCTAssertEqual(block.conv2.weight.value.values, before)
        XCTAssertThrowsError(try LoRAMerge.merge(DictionarySource(["nope.lora.down.weight": down, "nope.lora.up.weight": up]), into: block)) {
            XCTAssertTrue("\($0)".contains("'nope' is not in the model"), "\($0)")
        }
    }
}

/// Adapters attached by name: canonical parameter names, identity at start, gradients only in the adapters, a
/// LoRA file loading into them by name, and folding.
final class LoRAWrapTests: XCTestCase {
    func testWrapByNameLoadAndFold() throws {
        var rng = RNG(seed: 11)
        let attn = AttentionBlock(channels: 8, heads: 2, groups: 2, rng: &rng)
        let x = Tensor.randn([1, 8, 3, 3], rng: &rng)
        let before = try attn(x).values
        let wrapped = try LoRA.wrap(attn, rank: 2, alpha: 4, rng: &rng) { ["to_q", "to_k", "to_v", "to_out.0"].contains($0) }
        XCTAssertEqual(wrapped, ["to_q", "to_k", "to_v", "to_out.0"])
        XCTAssertTrue(attn.namedParameters().map(\.name).contains("to_q.lora.down.weight"))
        XCTAssertTrue(attn.namedModules().map(\.name).contains("to_out.0.lora"))
        XCTAssertEqual(try attn(x).values, before, "a fresh adapter changes nothing")
        try attn(x).sum().backward()
        XCTAssertNil(attn.toQ.weight.grad)
        XCTAssertNotNil(attn.toQ.lora?.down.grad ?? attn.toQ.lora?.up.grad)

        // A kohya file loads straight into the adapters by canonical name.
        let down = Tensor.randn([2, 8], rng: &rng), up = Tensor.randn([8, 2], rng: &rng)
        let file = DictionarySource(["lora_unet_to_q.lora_down.weight": down, "lora_unet_to_q.lora_up.weight": up])
        let modules = NameMap.KohyaModules(unet: attn.namedModules().map(\.name))
        let view = try RemappedSource(file, mappings: file.names.compactMap { n in
            NameMap.loraName(n, modules: modules).map { NameMap.Mapping(target: String($0.dropFirst("unet.".count)), source: n, transform: .none) }
        })
        let report = try attn.load(from: view, strict: false)
        XCTAssertEqual(Set(report.loaded), ["to_q.lora.down.weight", "to_q.lora.up.weight"])
        let adapted = try attn(x).values
        let w0 = attn.toQ.weight.value.values
        XCTAssertEqual(try LoRA.fold(attn), ["to_q", "to_k", "to_v", "to_out.0"])
        XCTAssertNil(attn.toQ.lora)
        let delta = try Tensor.matmul(up, down).values
        for i in 0..<w0.count { XCTAssertEqual(attn.toQ.weight.value.values[i], w0[i] + 2 * delta[i], accuracy: 1e-5) }
        for (a, b) in zip(try attn(x).values, adapted) { XCTAssertEqual(a, b, accuracy: 1e-4) }
    }
}
