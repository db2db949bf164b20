import XCTest
import Tensor
import NN
@testable import Diffusion

/// UNet2DConditionModel against diffusers 0.42.1 on tiny random configs (fixtures from
/// Scripts/fixtures/make_diffusion_unet_fixtures.py; the reference ran in float64 on the file's float16 weights).
/// Tolerance: 2e-5 of the output's largest magnitude (float32 accumulation over ~30 layers).
final class UNetParityTests: XCTestCase {
    static let tolerance: Float = 2e-5

    func testParameterNamesAndShapesAreDiffusers() throws {
        for name in ["unet", "unet4", "unet_options"] {
            var rng = RNG(seed: 0)
            let unet = try UNet2DConditionModel(config: UNetFixtures.config(name), rng: &rng)
            let file = try UNetFixtures.weights(name)
            let ours = Dictionary(unet.namedParameters().map { ($0.name, $0.parameter.shape) }, uniquingKeysWith: { a, _ in a })
            XCTAssertEqual(ours.count, unet.namedParameters().count, "\(name): duplicate parameter names")
            XCTAssertEqual(Set(ours.keys).subtracting(file.entries.keys).sorted(), [], "\(name): names diffusers does not have")
            XCTAssertEqual(Set(file.entries.keys).subtracting(ours.keys).sorted(), [], "\(name): diffusers names we lack")
            for (key, entry) in file.entries { XCTAssertEqual(ours[key], entry.shape, "\(name): \(key)") }
        }
    }

    func testNamedModulesReachEveryParameterOwnerInBothHalves() throws {
        let unet = try UNetFixtures.model("unet")
        let modules = unet.namedModules()
        let names = Set(modules.map(\.name))
        for (n, _) in unet.namedParameters() {
            let owner = n.split(separator: ".").dropLast().joined(separator: ".")
            XCTAssertTrue(names.contains(owner), "no module named '\(owner)' for parameter '\(n)'")
        }
        let toK = unet.encoder.downBlocks.compactMap { $0.attentions.first }.first?.transformerBlocks.first?.attn2.toK
        let name = try XCTUnwrap(modules.first { $0.module === toK }?.name)
        XCTAssertTrue(name.hasPrefix("down_blocks."), name)
        XCTAssertTrue(unet.module(named: name) === toK)
    }

    func testInpaintingUNetMatchesDiffusers() throws {
        let unet = try UNetFixtures.model("unet")
        let ref = try UNetFixtures.reference("unet")
        // a: batch 2, one timestep; b: fractional per-sample timesteps, 6x10; c: t = 0 at an odd 7x5 latent.
        for c in ["a", "b", "c"] {
            let x = try UNetFixtures.Case(ref, c)
            let out = try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added)
            assertUNetClose(out, try ref.tensor("\(c).out"), tolerance: Self.tolerance, "unet case \(c)")
        }
    }

    func testFourChannelVariantMatchesDiffusers() throws {
        // CrossAttnDownBlock2D first, layers_per_block 2, 1x1 conv projections, timestep_cond, flip_sin_to_cos false,
        // freq_shift 1, mid_block_scale_factor 2.
        let unet = try UNetFixtures.model("unet4")
        let ref = try UNetFixtures.reference("unet4")
        for c in ["a", "b"] {
            let x = try UNetFixtures.Case(ref, c)
            let out = try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added, timestepCond: x.cond)
            assertUNetClose(out, try ref.tensor("\(c).out"), tolerance: Self.tolerance, "unet4 case \(c)")
        }
    }

    func testEveryOtherOptionMatchesDiffusers() throws {
        // gelu (but silu in add_embedding, as diffusers builds it), scale_shift resnets, no mid block, nested
        // transformer depths with a zero, asymmetric downsampling pad, 1x1 conv_in, 5x5 conv_out, centred input,
        // time_embedding_dim with time_embedding_act_fn and timestep_post_act.
        let unet = try UNetFixtures.model("unet_options")
        XCTAssertNil(unet.encoder.midBlock)
        let ref = try UNetFixtures.reference("unet_options")
        let x = try UNetFixtures.Case(ref, "a")
        let out = try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added)
        assertUNetClose(out, try ref.tensor("a.out"), tolerance: Self.tolerance, "unet_options case a")
    }

    func testEncoderHalfLoadsFromTheFullCheckpointAndMatchesDiffusers() throws {
        for name in ["unet", "unet4", "unet_options"] {
            var rng = RNG(seed: 2)
            let encoder = try UNetEncoder(config: UNetFixtures.config(name), rng: &rng)
            let file = try UNetFixtures.weights(name)
            let names = Set(encoder.namedParameters().map(\.name))
            let expected = Set(file.entries.keys.filter {
                !$0.hasPrefix("up_blocks.") && !$0.hasPrefix("conv_norm_out.") && !$0.hasPrefix("conv_out.")
            })
            XCTAssertEqual(names, expected, "\(name): the encoder's names are the checkpoint's minus the up path")
            let all = try file.allTensors()
            XCTAssertEqual(Set(UNetEncoder.encoderPart(of: all).keys), expected)
            try encoder.load(from: DictionarySource(UNetEncoder.encoderPart(of: all)))     // strict

            let ref = try UNetFixtures.reference(name)
            let x = try UNetFixtures.Case(ref, "a")
            let out = try encoder(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added, timestepCond: x.cond)
            assertUNetClose(out.sample, try ref.tensor("a.mid"), tolerance: Self.tolerance, "\(name) mid block")
            let skipCount = ref.entries.keys.filter { $0.hasPrefix("a.res") }.count
            XCTAssertEqual(out.skips.count, skipCount, "\(name): skip tensors")
            for (i, skip) in out.skips.enumerated() where i < skipCount {
                assertUNetClose(skip, try ref.tensor("a.res\(i)"), tolerance: Self.tolerance, "\(name) skip \(i)")
            }
        }
    }

    func testPipelineFixtureUNetLoadsStrictly() throws {
        // The tiny SDXL-inpainting folder of the pipeline's fixtures (float32 weights, saved by save_pretrained).
        let folder = "tiny-sdxl-inpaint/unet"
        let config = try ConfigFile.load(UNetConfig.self, path: DiffusionFixtures.path("\(folder)/config.json"))
        var rng = RNG(seed: 0)
        let unet = try Initializer.deferred { try UNet2DConditionModel(config: config, rng: &rng) }
        let file = try SafeTensorsFile(path: DiffusionFixtures.path("\(folder)/diffusion_pytorch_model.safetensors"))
        try unet.load(from: DictionarySource(file.allTensors()))
        let width = try XCTUnwrap(config.textEmbedsDim)
        var noise = RNG(seed: 5)
        let out = try unet(Tensor.randn([1, 9, 8, 8], rng: &noise), timestep: 999,
                           encoderHiddenStates: Tensor.randn([1, 77, config.crossAttentionDim[0]], rng: &noise),
                           added: AddedConditions(textEmbeds: Tensor.randn([1, width], rng: &noise),
                                                  timeIds: try Tensor([32, 32, 0, 0, 32, 32], shape: [1, 6])))
        XCTAssertEqual(out.shape, [1, 4, 8, 8])
        XCTAssertTrue(out.values.allSatisfy(\.isFinite))
    }

    func testDeferredBuildThenLoadMatchesDiffusers() throws {
        // As a loader builds a full-size UNet: no initialisation, then every tensor from the file.
        var rng = RNG(seed: 0)
        let config = try UNetFixtures.config("unet")
        let unet = try Initializer.deferred { try UNet2DConditionModel(config: config, rng: &rng) }
        try unet.load(from: DictionarySource(UNetFixtures.weights("unet").allTensors()))
        let ref = try UNetFixtures.reference("unet")
        let x = try UNetFixtures.Case(ref, "a")
        let out = try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added)
        assertUNetClose(out, try ref.tensor("a.out"), tolerance: Self.tolerance, "deferred unet case a")
    }

    func testHalfPrecisionWeightsStayCloseToDiffusers() throws {
        // Weights stored in bf16 or f16, compute in float32. The fixture's weights are float16 values, so f16
        // storage is exact (float32's tolerance); bf16 rounds them (worst 6e-3 of the largest output here).
        let ref = try UNetFixtures.reference("unet")
        let x = try UNetFixtures.Case(ref, "b")
        let expected = try ref.tensor("b.out")
        for (dtype, tolerance) in [(DType.bf16, Float(2e-2)), (DType.f16, Self.tolerance)] {
            let unet = try UNetFixtures.model("unet")
            for p in unet.parameters { p.convert(to: dtype) }
            XCTAssertTrue(unet.parameters.allSatisfy { $0.dtype == dtype })
            let out = try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added)
            assertUNetClose(out, expected, tolerance: tolerance, "unet with \(dtype) weights")
        }
    }

    func testInferenceRecordsNoGraphAndTrainingDoes() throws {
        let unet = try UNetFixtures.model("unet")
        let x = try UNetFixtures.Case(UNetFixtures.reference("unet"), "c")
        let inferred = try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added)
        XCTAssertFalse(inferred.requiresGrad, "inference must not record a graph")
        XCTAssertTrue(GradMode.isEnabled, "inference restores the caller's grad mode")
        let trained = try unet.forward(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added)
        XCTAssertTrue(trained.requiresGrad)
        // Inference takes the fused kernels (flash attention, in-place norms); the recorded path the composite ones,
        // so the two agree to rounding, not bit for bit.
        for (a, b) in zip(trained.values, inferred.values) { XCTAssertEqual(a, b, accuracy: 2e-5) }
    }

    func testGradientCheckpointingGivesTheSameGradients() throws {
        let x = try UNetFixtures.Case(UNetFixtures.reference("unet"), "a")
        var results: [[String: [Float]]] = []
        for checkpointing in [false, true] {
            var rng = RNG(seed: 3)
            let encoder = try UNetEncoder(config: UNetFixtures.config("unet"), rng: &rng)
            try encoder.load(from: DictionarySource(UNetEncoder.encoderPart(of: UNetFixtures.weights("unet").allTensors())))
            encoder.gradientCheckpointing = checkpointing
            let out = try encoder.forward(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added)
            var rngProbe = RNG(seed: 4)
            let probe = Tensor.randn(out.sample.shape, rng: &rngProbe)
            try (out.sample * probe).sum().backward()
            var grads: [String: [Float]] = [:]
            for (name, p) in encoder.namedParameters() {
                grads[name] = try XCTUnwrap(p.grad, "\(name) has no gradient (checkpointing \(checkpointing))").values
            }
            results.append(grads)
        }
        XCTAssertEqual(Set(results[0].keys), Set(results[1].keys))
        for (name, g) in results[0] {
            let h = results[1][name] ?? []
            let scale = max(1e-6, g.map(abs).max() ?? 0)
            let worst = zip(g, h).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 1e-5 * scale, "gradient of \(name)")
        }
    }

    func testSameResultWhateverTheThreadCount() throws {
        let unet = try UNetFixtures.model("unet")
        let x = try UNetFixtures.Case(UNetFixtures.reference("unet"), "b")
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        var outputs: [[Float]] = []
        for threads in [1, 2, 4] {
            Parallel.threads = threads
            outputs.append(try unet(x.sample, timesteps: x.timesteps, encoderHiddenStates: x.context, added: x.added).values)
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(outputs[0], outputs[2])
    }
}
