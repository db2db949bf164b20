import NN
import XCTest
import Tensor
@testable import Diffusion

/// AutoencoderKL against diffusers 0.42.1 on two tiny random folders (Fixtures/vae, Fixtures/vae_fp16) with the
/// reference outputs in Fixtures/vae_reference.safetensors (Scripts/fixtures/make_diffusion_vae_fixtures.py).
/// Tolerance 1e-4 abs + 1e-4 rel: the same float32 formulas, summed in another order, through ~20 layers.
final class VAEParityTests: XCTestCase {
    private var reference: SafeTensorsFile!
    private let atol: Float = 1e-4, rtol: Float = 1e-4

    override func setUpWithError() throws {
        reference = try SafeTensorsFile(path: DiffusionFixtures.path("vae_reference.safetensors"))
    }

    private func model(_ name: String) throws -> AutoencoderKL {
        try AutoencoderKL.load(folder: DiffusionFixtures.path(name))
    }

    private func ref(_ name: String) throws -> Tensor { try reference.tensor(name) }

    func testParameterNamesAreTheFilesInBothDirections() throws {
        for (folder, file) in [("vae", "diffusion_pytorch_model.safetensors"), ("vae_fp16", "diffusion_pytorch_model.fp16.safetensors")] {
            let config = try ConfigFile.load(AutoencoderKLConfig.self, path: DiffusionFixtures.path("\(folder)/config.json"))
            var rng = RNG(seed: 3)
            let vae = try AutoencoderKL(config: config, rng: &rng)
            let names = Set(try SafeTensorsFile(path: DiffusionFixtures.path("\(folder)/\(file)")).names)
            let ours = vae.namedParameters().map(\.name)
            XCTAssertEqual(ours.count, Set(ours).count, "\(folder): duplicate parameter names")
            XCTAssertEqual(Set(ours).subtracting(names), [], "\(folder): parameters missing from the file")
            XCTAssertEqual(names.subtracting(ours), [], "\(folder): file tensors the model lacks")
        }
    }

    func testConfigIsRead() throws {
        let vae = try model("vae")
        XCTAssertEqual(vae.config.blockOutChannels, [8, 16])
        XCTAssertEqual(vae.config.scalingFactor, 0.13025)
        XCTAssertEqual(vae.config.downsamplingFactor, 2)
        XCTAssertNil(vae.config.shiftFactor)
        XCTAssertNotNil(vae.quantConv)
        let variant = try model("vae_fp16")
        XCTAssertEqual(variant.config.shiftFactor, 0.1)
        XCTAssertEqual(variant.config.latentsStd, [2, 0.5])
        XCTAssertNil(variant.quantConv)
        XCTAssertNil(variant.postQuantConv)
        XCTAssertTrue(variant.decoder.midBlock.attentions.isEmpty)
        XCTAssertEqual(variant.config.downsamplingFactor, 4)
    }

    private func checkEncodeAndDecode(_ name: String) throws {
        let vae = try model(name)
        let posterior = try vae.encode(ref("\(name).encode.x"))
        assertClose(posterior.mean, try ref("\(name).encode.mean"), atol: atol, rtol: rtol, "\(name).encode.mean")
        assertClose(posterior.logvar, try ref("\(name).encode.logvar"), atol: atol, rtol: rtol, "\(name).encode.logvar")
        assertClose(try posterior.sample(noise: ref("\(name).encode.noise")), try ref("\(name).encode.sample"),
                    atol: atol, rtol: rtol, "\(name).encode.sample")
        XCTAssertEqual(posterior.mode().values, posterior.mean.values)
        assertClose(try vae.decode(ref("\(name).decode.z")), try ref("\(name).decode.out"), atol: atol, rtol: rtol,
                    "\(name).decode.out")
    }

    func testEncodeAndDecode() throws { try checkEncodeAndDecode("vae") }

    func testEncodeAndDecodeFromTheFP16VariantWithoutQuantConvsOrAttention() throws {
        try checkEncodeAndDecode("vae_fp16")
    }

    private func checkTiled(_ name: String) throws {
        let vae = try model(name)
        let tiles = try ref("\(name).tiles").values
        let tiling = AutoencoderKL.Tiling(sampleMinSize: Int(tiles[0]), latentMinSize: Int(tiles[1]), overlapFactor: 0.25)
        let x = try ref("\(name).tiled_encode.x"), z = try ref("\(name).tiled_decode.z")
        let untiledDecode = try vae.decode(z), untiledMean = try vae.encode(x).mean
        vae.tiling = tiling
        let posterior = try vae.encode(x)
        assertClose(posterior.mean, try ref("\(name).tiled_encode.mean"), atol: atol, rtol: rtol, "\(name).tiled_encode.mean")
        assertClose(posterior.logvar, try ref("\(name).tiled_encode.logvar"), atol: atol, rtol: rtol, "\(name).tiled_encode.logvar")
        let decoded = try vae.decode(z)
        assertClose(decoded, try ref("\(name).tiled_decode.out"), atol: atol, rtol: rtol, "\(name).tiled_decode.out")
        // The tiled path really was taken: tiles see less context, so the results differ from the whole-image ones.
        XCTAssertGreaterThan(zip(decoded.values, untiledDecode.values).map { abs($0 - $1) }.max() ?? 0, 1e-2)
        XCTAssertGreaterThan(zip(posterior.mean.values, untiledMean.values).map { abs($0 - $1) }.max() ?? 0, 1e-2)
        // Inputs no larger than a tile are not tiled.
        let small = try vae.decode(z.slice(axis: 2, 0, tiling.latentMinSize).slice(axis: 3, 0, tiling.latentMinSize))
        vae.tiling = nil
        let whole = try vae.decode(z.slice(axis: 2, 0, tiling.latentMinSize).slice(axis: 3, 0, tiling.latentMinSize))
        XCTAssertEqual(small.values, whole.values)
    }

    func testTiledEncodeAndDecode() throws { try checkTiled("vae") }

    func testTiledEncodeAndDecodeWithThreeLevels() throws { try checkTiled("vae_fp16") }

    func testLatentScalingAsThePipelinesDoIt() throws {
        let vae = try model("vae")
        let z = try Tensor([1, -2, 0.5, 4], shape: [1, 4, 1, 1])
        XCTAssertEqual(vae.scaledLatents(z).values, z.values.map { $0 * 0.13025 })
        assertClose(try vae.unscaledLatents(vae.scaledLatents(z)), z, atol: 1e-6, rtol: 1e-6, "round trip")
        // Shift factor on the way in; latents_mean / latents_std on the way out when the config has them.
        let variant = try model("vae_fp16")
        let z2 = try Tensor([1, -2], shape: [1, 2, 1, 1])
        assertClose(variant.scaledLatents(z2), try Tensor([0.45, -1.05], shape: [1, 2, 1, 1]), atol: 1e-6, rtol: 1e-6, "shifted")
        assertClose(try variant.unscaledLatents(z2), try Tensor([1 * 2 / 0.5 + 0.25, -2 * 0.5 / 0.5 - 0.5], shape: [1, 2, 1, 1]),
                    atol: 1e-6, rtol: 1e-6, "un-normalised")
    }

    /// The tiny SDXL-inpainting folder's VAE turns each pipeline case's final latents into diffusers' image
    /// (Fixtures/pipeline_reference.safetensors: `NAME.latents` and `NAME.image`, output_type "np"):
    /// image = clamp(decode(latents / scaling_factor) / 2 + 0.5, 0, 1).
    func testDecodesThePipelineFixturesFinalLatentsIntoItsImages() throws {
        let vae = try AutoencoderKL.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint/vae"))
        let pipeline = try SafeTensorsFile(path: DiffusionFixtures.path("pipeline_reference.safetensors"))
        let cases = pipeline.names.filter { $0.hasSuffix(".latents") }.map { String($0.dropLast(".latents".count)) }
        XCTAssertGreaterThanOrEqual(cases.count, 5)
        for name in cases {
            let decoded = try vae.decode(vae.unscaledLatents(pipeline.tensor("\(name).latents")))
            let image = try Tensor(decoded.values.map { Swift.min(Swift.max($0 / 2 + 0.5, 0), 1) }, shape: decoded.shape)
            assertClose(image, try pipeline.tensor("\(name).image"), atol: atol, rtol: rtol, "\(name).image")
        }
    }

    func testResultsDoNotDependOnTheThreadCount() throws {
        let vae = try model("vae")
        let x = try ref("vae.tiled_encode.x"), z = try ref("vae.tiled_decode.z")
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        func run() throws -> [[Float]] {
            vae.tiling = nil
            let whole = try [vae.encode(x).mean.values, vae.decode(z).values]
            vae.tiling = AutoencoderKL.Tiling(sampleMinSize: 16, latentMinSize: 8)
            return try whole + [vae.encode(x).mean.values, vae.decode(z).values]
        }
        Parallel.threads = 1
        let serial = try run()
        Parallel.threads = 4
        XCTAssertEqual(try run(), serial)
    }

    func testBadInputsThrow() throws {
        let vae = try model("vae")
        XCTAssertThrowsError(try vae.encode(Tensor(zeros: [1, 4, 8, 8])))
        XCTAssertThrowsError(try vae.encode(Tensor(zeros: [1, 3, 1, 8])))
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [1, 3, 4, 4])))
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [4, 4, 4])))
        XCTAssertThrowsError(try DiagonalGaussianDistribution(moments: Tensor(zeros: [1, 3, 2, 2])))
        let posterior = try vae.encode(Tensor(zeros: [1, 3, 4, 4]))
        XCTAssertThrowsError(try posterior.sample(noise: Tensor(zeros: [1, 4, 3, 2])))
        vae.tiling = AutoencoderKL.Tiling(sampleMinSize: 2, latentMinSize: 0)
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [1, 4, 4, 4])))
    }
}
