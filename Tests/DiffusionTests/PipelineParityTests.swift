import Foundation
import XCTest
import NN
import Tensor
@testable import Diffusion

/// The whole inpainting pipeline against diffusers' StableDiffusionXLInpaintPipeline on a tiny random SDXL-inpainting
/// folder (Fixtures/tiny-sdxl-inpaint, pipeline_reference.safetensors; Scripts/fixtures/make_diffusion_pipeline_fixtures.py):
/// every scheduler, with and without guidance, strength 1 and below, and with a fused LoRA. Same seed, same numbers:
/// final latents within 2e-4 and images within 2e-3 (float32 on both sides; the difference is summation order).
final class PipelineParityTests: XCTestCase {
    static var pipeline: SDXLInpaintPipeline?

    private func reference() throws -> SafeTensorsFile {
        try SafeTensorsFile(path: DiffusionFixtures.path("pipeline_reference.safetensors"))
    }

    private func cases() throws -> [String: [String: Any]] {
        let text = try reference().metadata["cases"] ?? "{}"
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [String: Any]] ?? [:]
    }

    private func settings(_ c: [String: Any]) -> InpaintSettings {
        InpaintSettings(prompt: c["prompt"] as? String ?? "", negativePrompt: c["negative_prompt"] as? String,
                        steps: c["num_inference_steps"] as? Int ?? 1, strength: c["strength"] as? Double ?? 1,
                        guidance: c["guidance_scale"] as? Double ?? 1, seed: UInt64(c["seed"] as? Int ?? 0),
                        scheduler: (c["scheduler"] as? String).map { ["euler_trailing": "euler", "dpmpp2m_karras": "dpmpp2m-karras"][$0] ?? $0 })
    }

    private func assertClose(_ got: Tensor, _ want: Tensor, _ tolerance: Float, _ what: String) {
        XCTAssertEqual(got.shape, want.shape, what)
        var worst: Float = 0
        for (a, b) in zip(got.values, want.values) { worst = max(worst, abs(a - b)) }
        XCTAssertLessThan(worst, tolerance, "\(what): largest difference \(worst)")
    }

    func testEverySchedulerMatchesDiffusers() throws {
        let ref = try reference()
        let image = try ref.tensor("input_image"), mask = try ref.tensor("input_mask")
        let pipeline = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"))
        let all = try cases()
        XCTAssertGreaterThanOrEqual(all.count, 9)
        for (name, c) in all.sorted(by: { $0.key < $1.key }) where name != "lora_lcm" {
            // Trailing spacing is a config change rather than a scheduler choice; the scheduler tests cover it.
            if name == "euler_trailing" { continue }
            let s = settings(c)
            let out = try pipeline.run(image: image, mask: mask, settings: s)
            // diffusers' scheduler keeps the whole schedule; strength runs its last steps.
            let schedule = try ref.tensor("\(name).timesteps").values
            XCTAssertEqual(out.timesteps, Array(schedule.suffix(out.timesteps.count)), name)
            XCTAssertEqual(out.timesteps.count, min(Int(Double(s.steps) * s.strength), s.steps), name)
            assertClose(out.latents, try ref.tensor("\(name).latents"), 2e-4, "\(name) latents")
            assertClose(out.image, try ref.tensor("\(name).image"), 2e-3, "\(name) image")
        }
    }

    func testFusedLoRAMatchesDiffusers() throws {
        let ref = try reference()
        let lora = DiffusionFixtures.path("tiny-sdxl-lora/pytorch_lora_weights.safetensors")
        let pipeline = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"), loras: [(lora, 0.8)])
        let c = try cases()["lora_lcm"] ?? [:]
        let out = try pipeline.run(image: try ref.tensor("input_image"), mask: try ref.tensor("input_mask"), settings: settings(c))
        assertClose(out.image, try ref.tensor("lora_lcm.image"), 2e-3, "lora image")
        // Without the LoRA the result differs: the fusion did something.
        let plain = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"))
        let other = try plain.run(image: try ref.tensor("input_image"), mask: try ref.tensor("input_mask"), settings: settings(c))
        XCTAssertGreaterThan(zip(other.image.values, out.image.values).map { abs($0 - $1) }.max() ?? 0, 1e-3)
    }

    func testSameSeedSameResultAndStopBetweenSteps() throws {
        let ref = try reference()
        let image = try ref.tensor("input_image"), mask = try ref.tensor("input_mask")
        let pipeline = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"))
        let s = InpaintSettings(steps: 4, strength: 1, guidance: 1, seed: 5, scheduler: "euler")
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        let a = try pipeline.run(image: image, mask: mask, settings: s)
        Parallel.threads = 2
        let b = try pipeline.run(image: image, mask: mask, settings: s)
        XCTAssertEqual(a.latents.values, b.latents.values, "the same seed gives the same latents on any thread count")
        var steps: [Int] = []
        XCTAssertThrowsError(try pipeline.run(image: image, mask: mask, settings: s, progress: { done, _ in steps.append(done) },
                                              shouldStop: { steps.count == 2 })) { error in
            XCTAssertTrue(error is SDXLInpaintPipeline.Stopped)
        }
        XCTAssertEqual(steps, [1, 2])
    }

    /// The UNet read from a `.bin` pickle (through the restricted reader) or an fp16 variant file gives the same
    /// run as from the folder's safetensors (exactly, and within fp16 rounding).
    func testUNetFromPickleAndFP16Variant() throws {
        let ref = try reference()
        let image = try ref.tensor("input_image"), mask = try ref.tensor("input_mask")
        let s = InpaintSettings(steps: 2, strength: 0.99, guidance: 1, seed: 3, scheduler: "euler")
        let base = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"))
        let expected = try base.run(image: image, mask: mask, settings: s, decode: false).latents
        let dir = NSTemporaryDirectory() + "rorem-unet-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: DiffusionFixtures.path("tiny-sdxl-inpaint/unet/config.json"), toPath: dir + "/config.json")
        try Checkpoint.save(base.unet, to: dir + "/diffusion_pytorch_model.bin")
        let fromPickle = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"), unet: dir)
        XCTAssertEqual(try fromPickle.run(image: image, mask: mask, settings: s, decode: false).latents.values, expected.values)
        try Checkpoint.save(base.unet, to: dir + "/diffusion_pytorch_model.fp16.safetensors", dtype: .f16)
        let half = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"), unet: dir, variant: "fp16")
        XCTAssertEqual(half.unet.encoder.convIn.weight.dtype, .f16, "the fp16 variant is preferred and kept in fp16")
        let got = try half.run(image: image, mask: mask, settings: s, decode: false).latents
        XCTAssertLessThan(zip(got.values, expected.values).map { abs($0 - $1) }.max() ?? 1, 0.05)
    }

    func testBadFoldersAndSettingsAreNamed() throws {
        let dir = NSTemporaryDirectory() + "rorem-pipeline-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try SDXLInpaintPipeline.load(folder: dir)) { XCTAssertTrue("\($0)".contains("model_index.json"), "\($0)") }
        // A copy of the tiny folder without its vae/ folder.
        let copy = dir + "/copy"
        try FileManager.default.copyItem(atPath: DiffusionFixtures.path("tiny-sdxl-inpaint"), toPath: copy)
        try FileManager.default.removeItem(atPath: copy + "/vae")
        XCTAssertThrowsError(try SDXLInpaintPipeline.load(folder: copy)) { XCTAssertTrue("\($0)".contains("vae"), "\($0)") }
        let pipeline = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"))
        let image = Tensor(zeros: [1, 3, 32, 32]), mask = Tensor(zeros: [1, 1, 32, 32])
        XCTAssertThrowsError(try pipeline.run(image: image, mask: mask, settings: InpaintSettings(steps: 0))) { XCTAssertTrue("\($0)".contains("steps")) }
        XCTAssertThrowsError(try pipeline.run(image: Tensor(zeros: [1, 3, 31, 32]), mask: Tensor(zeros: [1, 1, 31, 32]),
                                              settings: InpaintSettings(steps: 1))) { XCTAssertTrue("\($0)".contains("multiples")) }
        XCTAssertThrowsError(try pipeline.run(image: image, mask: mask, settings: InpaintSettings(steps: 2, scheduler: "nope"))) {
            XCTAssertTrue("\($0)".contains("nope"), "\($0)")
        }
    }
}
