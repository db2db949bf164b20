import Foundation
import XCTest
import NN
import Tensor
@testable import Diffusion

/// The pipeline's options against diffusers on the tiny folder (pipeline_options_reference.safetensors, written by
/// Scripts/fixtures/make_diffusion_pipeline_fixtures.py --options-only): `denoising_start` (refiner-style runs
/// from the image's latents, for Euler, LCM and DPM-Solver++ with guidance) and the tiled VAE on an image larger
/// than the tiny VAE's 32 px tile, tiled (`enable_tiling()`) and whole.
final class PipelineOptionsTests: XCTestCase {
    private func reference() throws -> SafeTensorsFile {
        try SafeTensorsFile(path: DiffusionFixtures.path("pipeline_options_reference.safetensors"))
    }

    private func cases() throws -> [String: [String: Any]] {
        let text = try reference().metadata["cases"] ?? "{}"
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: Any]] ?? [:]
    }

    private func settings(_ c: [String: Any]) throws -> InpaintSettings {
        var s = InpaintSettings(prompt: c["prompt"] as? String ?? "", negativePrompt: c["negative_prompt"] as? String,
                                steps: c["num_inference_steps"] as? Int ?? 1, strength: c["strength"] as? Double ?? 1,
                                guidance: c["guidance_scale"] as? Double ?? 1, seed: UInt64(c["seed"] as? Int ?? 0),
                                scheduler: c["scheduler"] as? String)
        s.denoisingStart = c["denoising_start"] as? Double
        s.vaeTiling = try XCTUnwrap(InpaintSettings.VAETiling(rawValue: c["vae_tiling"] as? String ?? ""))
        return s
    }

    private func largest(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.values, b.values).map { abs($0 - $1) }.max() ?? .infinity
    }

    private func run(_ pipeline: SDXLInpaintPipeline, _ name: String, _ s: InpaintSettings) throws -> SDXLInpaintPipeline.Output {
        let ref = try reference()
        let wide = name.hasPrefix("wide")
        return try pipeline.run(image: ref.tensor(wide ? "wide_image" : "input_image"),
                                mask: ref.tensor(wide ? "wide_mask" : "input_mask"), settings: s)
    }

    func testDenoisingStartMatchesDiffusers() throws {
        let ref = try reference()
        let pipeline = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"))
        let all = try cases().filter { $0.key.hasPrefix("start_") }
        XCTAssertEqual(all.count, 3)
        for (name, c) in all.sorted(by: { $0.key < $1.key }) {
            let s = try settings(c)
            let out = try run(pipeline, name, s)
            let schedule = try ref.tensor("\(name).timesteps").values
            // Only the timesteps below round(1000 (1 - denoising_start)) run, whatever the strength.
            let cutoff = Float((1000 * (1 - (s.denoisingStart ?? 0))).rounded())
            XCTAssertEqual(out.timesteps, schedule.filter { $0 < cutoff }, name)
            XCTAssertLessThan(out.timesteps.count, s.steps, name)
            let latents = try ref.tensor("\(name).latents"), image = try ref.tensor("\(name).image")
            XCTAssertLessThan(largest(out.latents, latents), 2e-4, "\(name) latents")
            XCTAssertLessThan(largest(out.image, image), 2e-3, "\(name) image")
            // Without denoising_start the same settings give another result: the option did something.
            var plain = s
            plain.denoisingStart = nil
            XCTAssertGreaterThan(largest(try run(pipeline, name, plain).latents, latents), 1e-2, name)
        }
    }

    func testDenoisingStartOutsideTheOpenIntervalIsRefused() throws {
        let pipeline = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"))
        let image = Tensor(zeros: [1, 3, 32, 32]), mask = Tensor(zeros: [1, 1, 32, 32])
        for bad in [0.0, 1.0, -0.5, 2, .nan] {
            var s = InpaintSettings(steps: 4, strength: 0.99, guidance: 1, scheduler: "euler")
            s.denoisingStart = bad
            XCTAssertThrowsError(try pipeline.run(image: image, mask: mask, settings: s)) {
                XCTAssertTrue("\($0)".contains("denoising_start"), "\($0)")
            }
        }
        // A start so late that no timestep is left is an error naming it, as in diffusers.
        var late = InpaintSettings(steps: 2, strength: 0.99, guidance: 1, scheduler: "euler")
        late.denoisingStart = 0.9999
        XCTAssertThrowsError(try pipeline.run(image: image, mask: mask, settings: late)) {
            XCTAssertTrue("\($0)".contains("denoising_start"), "\($0)")
        }
    }

    /// Tiled and whole VAE runs each match diffusers' (with and without `enable_tiling()`), and differ from each
    /// other near the seams, so the tiled path was really taken; `auto` keeps a 64 px image whole.
    func testTiledVAEMatchesDiffusersEnableTiling() throws {
        let ref = try reference()
        let pipeline = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"))
        let all = try cases()
        var images: [String: Tensor] = [:]
        for name in ["wide_tiled", "wide_whole"] {
            let s = try settings(try XCTUnwrap(all[name], name))
            let out = try run(pipeline, name, s)
            XCTAssertEqual(out.image.shape, [1, 3, 48, 64])
            XCTAssertLessThan(largest(out.latents, try ref.tensor("\(name).latents")), 2e-4, "\(name) latents")
            XCTAssertLessThan(largest(out.image, try ref.tensor("\(name).image")), 2e-3, "\(name) image")
            images[name] = out.image
        }
        XCTAssertGreaterThan(largest(try XCTUnwrap(images["wide_tiled"]), try XCTUnwrap(images["wide_whole"])), 1e-2)
        var auto = try settings(try XCTUnwrap(all["wide_whole"]))
        auto.vaeTiling = .auto
        XCTAssertEqual(try run(pipeline, "wide_whole", auto).image.values, images["wide_whole"]?.values)
    }

    func testAutoTilingStartsAboveTheNativeSize() {
        XCTAssertFalse(InpaintSettings.VAETiling.auto.tiles(width: 1024, height: 1024))
        XCTAssertTrue(InpaintSettings.VAETiling.auto.tiles(width: 1536, height: 1024))
        XCTAssertTrue(InpaintSettings.VAETiling.auto.tiles(width: 512, height: 1032))
        XCTAssertTrue(InpaintSettings.VAETiling.on.tiles(width: 64, height: 64))
        XCTAssertFalse(InpaintSettings.VAETiling.off.tiles(width: 4096, height: 4096))
    }

    func testOptionsByName() throws {
        var o = DiffusionOptions(folder: "x")
        try o.set("denoising_start", "0.8")
        try o.set("vae_tiling", "off")
        XCTAssertEqual(o.settings.denoisingStart, 0.8)
        XCTAssertEqual(o.settings.vaeTiling, .off)
        XCTAssertThrowsError(try o.set("vae_tiling", "sometimes")) { XCTAssertTrue("\($0)".contains("auto, on or off")) }
        XCTAssertThrowsError(try o.set("denoising_start", "soon")) { XCTAssertTrue("\($0)".contains("number")) }
        o.denoisingStart = 1.5
        XCTAssertThrowsError(try o.settings.validate()) { XCTAssertTrue("\($0)".contains("denoising_start")) }
    }
}
