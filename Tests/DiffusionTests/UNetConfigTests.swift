import XCTest
import Foundation
import Tensor
import NN
@testable import Diffusion

/// Reading UNet2DConditionModel's config.json: diffusers' defaults and quirks, refusals that name the key and the
/// file, the full SDXL-inpainting architecture, and bad inputs that throw instead of trapping.
final class UNetConfigTests: XCTestCase {
    /// The fixture config with `changes` applied (nil removes a key), decoded from memory as "test/config.json".
    private func decode(_ changes: [String: Any?], base: String = "unet") throws -> UNetConfig {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: DiffusionFixtures.path("\(base)/config.json")))
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        for (key, value) in changes {
            if let value { object[key] = value } else { object.removeValue(forKey: key) }
        }
        let bytes = try JSONSerialization.data(withJSONObject: object)
        return try ConfigFile.decode(UNetConfig.self, from: bytes, file: "test/config.json")
    }

    private func assertRefused(_ changes: [String: Any?], key: String, _ fragment: String = "",
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decode(changes), file: file, line: line) { error in
            guard let e = error as? ConfigError else { return XCTFail("not a ConfigError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.file, "test/config.json", file: file, line: line)
            XCTAssertEqual(e.key, key, "\(e)", file: file, line: line)
            XCTAssertTrue(fragment.isEmpty || e.description.contains(fragment), "\(e)", file: file, line: line)
        }
    }

    func testFixtureConfigReadsAsDiffusersExpandsIt() throws {
        let c = try UNetFixtures.config("unet")
        XCTAssertEqual(c.inChannels, 9)
        XCTAssertEqual(c.downBlockTypes, [.plain, .crossAttention])
        XCTAssertEqual(c.upBlockTypes, [.crossAttention, .plain])
        XCTAssertEqual(c.layersPerBlock, [1, 1])
        XCTAssertEqual(c.transformerLayersPerBlock, [[1], [2]])
        XCTAssertEqual(c.reverseTransformerLayersPerBlock, [[2, 2], [1, 1]])
        XCTAssertEqual(c.attentionHeads, [2, 4])
        XCTAssertEqual(c.headDim(block: 1), 4)
        XCTAssertEqual(c.crossAttentionDim, [16, 16])
        XCTAssertEqual(c.timeEmbedDim, 32)
        XCTAssertEqual(c.textEmbedsDim, 8)
        XCTAssertEqual(c.additionEmbedType, .textTime)
        XCTAssertTrue(c.useLinearProjection)
    }

    func testFullSDXLInpaintingUNetBuildsDeferredWithDiffusersParameterCount() throws {
        let config = try UNetFixtures.config("sdxl_inpainting_unet")
        XCTAssertEqual(config.textEmbedsDim, 1280)
        XCTAssertEqual(config.transformerLayersPerBlock, [[1, 1], [2, 2], [10, 10]])
        let data = try XCTUnwrap(FileManager.default.contents(atPath: DiffusionFixtures.path("sdxl_inpainting_unet/parameters.json")))
        let counts = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let expectedParameters = try XCTUnwrap(counts["parameters"] as? Int)
        let expectedTensors = try XCTUnwrap(counts["tensors"] as? Int)
        var rng = RNG(seed: 0)
        let unet = try Initializer.deferred { try UNet2DConditionModel(config: config, rng: &rng) }
        XCTAssertEqual(unet.parameterCount, expectedParameters)                    // 2,567,478,084
        XCTAssertEqual(unet.namedParameters().count, expectedTensors)
        XCTAssertEqual(Set(unet.namedParameters().map(\.name)).count, expectedTensors, "names are unique")
    }

    func testUnsupportedValuesAreRefusedByKeyAndFile() {
        assertRefused(["down_block_types": ["DownBlock2D", "AttnDownBlock2D"]], key: "down_block_types", "AttnDownBlock2D")
        assertRefused(["up_block_types": ["CrossAttnUpBlock2D", "SimpleCrossAttnUpBlock2D"]], key: "up_block_types")
        assertRefused(["mid_block_type": "UNetMidBlock2DSimpleCrossAttn"], key: "mid_block_type")
        assertRefused(["act_fn": "mish"], key: "act_fn", "mish")
        assertRefused(["addition_embed_type": "text_image"], key: "addition_embed_type")
        assertRefused(["num_attention_heads": [2, 4]], key: "num_attention_heads")
        assertRefused(["class_embed_type": "timestep"], key: "class_embed_type")
        assertRefused(["encoder_hid_dim": 32], key: "encoder_hid_dim")
        assertRefused(["time_embedding_type": "fourier"], key: "time_embedding_type")
        assertRefused(["attention_type": "gated"], key: "attention_type")
        assertRefused(["only_cross_attention": [false, true]], key: "only_cross_attention")
        assertRefused(["dual_cross_attention": true], key: "dual_cross_attention")
        assertRefused(["dropout": 0.1], key: "dropout")
        assertRefused(["resnet_time_scale_shift": "spatial"], key: "resnet_time_scale_shift")
        assertRefused(["norm_num_groups": NSNull()], key: "norm_num_groups")
        assertRefused(["use_fancy_attention": true], key: "use_fancy_attention", "unknown key")
    }

    func testInconsistentSizesAreRefused() {
        assertRefused(["attention_head_dim": [2, 4, 8]], key: "attention_head_dim", "3 entries")
        assertRefused(["attention_head_dim": [3, 4]], key: "attention_head_dim", "do not divide")
        assertRefused(["layers_per_block": [1]], key: "layers_per_block")
        assertRefused(["transformer_layers_per_block": [[1], [2, 2]]], key: "transformer_layers_per_block")
        assertRefused(["transformer_layers_per_block": [[1], [2]]], key: "reverse_transformer_layers_per_block")
        assertRefused(["up_block_types": ["UpBlock2D"]], key: "up_block_types")
        assertRefused(["norm_num_groups": 3], key: "norm_num_groups")
        assertRefused(["projection_class_embeddings_input_dim": 24], key: "projection_class_embeddings_input_dim")
        assertRefused(["conv_in_kernel": 2], key: "conv_in_kernel")
        assertRefused(["block_out_channels": "wide"], key: "block_out_channels")
    }

    func testInconsistentSwiftBuiltConfigThrowsInsteadOfTrapping() throws {
        var c = try UNetFixtures.config("unet")
        c.layersPerBlock = [1]
        var rng = RNG(seed: 0)
        XCTAssertThrowsError(try UNet2DConditionModel(config: c, rng: &rng)) { error in
            XCTAssertEqual((error as? ConfigValueError)?.key, "layers_per_block", "\(error)")
        }
        c = try UNetFixtures.config("unet")
        c.attentionHeads = [2, 0]
        XCTAssertThrowsError(try UNetEncoder(config: c, rng: &rng))
        c = try UNetFixtures.config("unet")
        c.reverseTransformerLayersPerBlock = [[1], [1]]
        XCTAssertThrowsError(try UNet2DConditionModel(config: c, rng: &rng))
        XCTAssertNoThrow(try UNetConfig().validate(), "diffusers' defaults are consistent")
    }

    func testDefaultsAndHarmlessKeys() throws {
        // Absent keys take diffusers' defaults; null per-block values too; harmless keys are ignored.
        let c = try decode(["flip_sin_to_cos": nil, "upcast_attention": true, "sample_size": 128, "_name_or_path": "x",
                            "transformer_layers_per_block": 3, "cross_attention_dim": [16, 24]])
        XCTAssertTrue(c.flipSinToCos)
        XCTAssertEqual(c.transformerLayersPerBlock, [[3], [3]])
        XCTAssertEqual(c.crossAttentionDim, [16, 24])
        let nested = try decode(["transformer_layers_per_block": [[1], [2]],
                                 "reverse_transformer_layers_per_block": [[3, 4], [5, 6]]])
        XCTAssertEqual(nested.reverseTransformerLayersPerBlock, [[3, 4], [5, 6]])
        XCTAssertNil(try decode(["mid_block_type": NSNull()]).midBlockType)
    }

    func testMissingAndMalformedFilesAreNamed() {
        XCTAssertThrowsError(try ConfigFile.load(UNetConfig.self, path: "/nonexistent/unet/config.json")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/unet/config.json"), "\(error)")
        }
        XCTAssertThrowsError(try ConfigFile.decode(UNetConfig.self, from: Data("{\"in_channels\": 9,".utf8), file: "bad.json")) { error in
            XCTAssertTrue("\(error)".contains("bad.json"), "\(error)")
        }
    }

    func testBadInputsThrowInsteadOfTrapping() throws {
        let unet = try UNetFixtures.model("unet4")
        let ref = try UNetFixtures.reference("unet4")
        let x = try UNetFixtures.Case(ref, "b")   // batch 2
        func fails(_ label: String, _ body: () throws -> Tensor) {
            XCTAssertThrowsError(try body(), label)
        }
        fails("wrong channels") { try unet(Tensor(zeros: [2, 9, 4, 6]), timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added, timestepCond: x.cond) }
        fails("wrong rank") { try unet(Tensor(zeros: [4, 4, 6]), timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added, timestepCond: x.cond) }
        fails("empty batch") { try unet(Tensor(zeros: [0, 4, 4, 6]), timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added, timestepCond: x.cond) }
        fails("empty sample") { try unet(Tensor(zeros: [2, 4, 0, 6]), timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added, timestepCond: x.cond) }
        fails("three timesteps") { try unet(x.sample, timesteps: [1, 2, 3], encoderHiddenStates: x.context, added: x.added, timestepCond: x.cond) }
        fails("nan timestep") { try unet(x.sample, timesteps: [.nan], encoderHiddenStates: x.context, added: x.added, timestepCond: x.cond) }
        fails("context batch") { try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: Tensor(zeros: [1, 2, 8]), added: x.added, timestepCond: x.cond) }
        fails("context width") { try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: Tensor(zeros: [2, 2, 7]), added: x.added, timestepCond: x.cond) }
        fails("no added conditions") { try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, timestepCond: x.cond) }
        fails("short time ids") {
            try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context,
                     added: AddedConditions(textEmbeds: x.added.textEmbeds, timeIds: Tensor(zeros: [2, 5])), timestepCond: x.cond)
        }
        fails("cond width") { try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added, timestepCond: Tensor(zeros: [2, 3])) }
        let plain = try UNetFixtures.model("unet")
        fails("cond without time_cond_proj_dim") {
            let y = try UNetFixtures.Case(UNetFixtures.reference("unet"), "a")
            return try plain(y.sample, timesteps: y.timesteps, encoderHiddenStates: y.context, added: y.added, timestepCond: Tensor(zeros: [2, 4]))
        }
    }

    func testEveryLatentSizeRuns() throws {
        // Down by ceil(h / 2), up to the skip's size: 1x1, odd and mixed sizes come back at their own size.
        let unet = try UNetFixtures.model("unet")
        let x = try UNetFixtures.Case(UNetFixtures.reference("unet"), "c")   // batch 1
        for (h, w) in [(1, 1), (1, 3), (3, 3), (5, 2), (9, 11)] {
            var rng = RNG(seed: UInt64(h * 100 + w))
            let out = try unet(Tensor.randn([1, 9, h, w], rng: &rng), timesteps: [10], encoderHiddenStates: x.context, added: x.added)
            XCTAssertEqual(out.shape, [1, 4, h, w])
            XCTAssertTrue(out.values.allSatisfy(\.isFinite), "\(h)x\(w)")
        }
    }

    func testWrongShapedCheckpointTensorIsNamed() throws {
        var rng = RNG(seed: 0)
        let unet = try UNet2DConditionModel(config: UNetFixtures.config("unet"), rng: &rng)
        var tensors = try UNetFixtures.weights("unet").allTensors()
        tensors["conv_in.weight"] = Tensor(zeros: [8, 4, 3, 3])
        XCTAssertThrowsError(try unet.load(from: DictionarySource(tensors))) { error in
            XCTAssertTrue("\(error)".contains("conv_in.weight"), "\(error)")
            XCTAssertTrue("\(error)".contains("[8, 4, 3, 3]") || "\(error)".contains("(8, 4, 3, 3)"), "\(error)")
        }
    }
}
