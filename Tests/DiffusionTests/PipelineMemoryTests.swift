import Foundation
import XCTest
import NN
import Tensor
@testable import Diffusion

/// What the pipeline keeps in memory: half-precision weights stay half (no float32 copy kept beside them after a
/// run), the text encoders are released once the prompt is encoded, and a converted load does not keep the
/// checkpoint's pages resident.
final class PipelineMemoryTests: XCTestCase {
    private func shadowed(_ module: Module) -> [String] {
        module.namedParameters().filter { $0.parameter.value.storage.hasFloat32Shadow }.map(\.name)
    }

    func testHalfWeightsKeepNoFloat32CopyAndTextEncodersAreReleased() throws {
        let folder = DiffusionFixtures.path("tiny-sdxl-inpaint")
        let dir = NSTemporaryDirectory() + "rorem-unet16-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: folder + "/unet/config.json", toPath: dir + "/config.json")
        let base = try SDXLInpaintPipeline.load(folder: folder)
        try Checkpoint.save(base.unet, to: dir + "/diffusion_pytorch_model.fp16.safetensors", dtype: .f16)
        let lora = DiffusionFixtures.path("tiny-sdxl-lora/pytorch_lora_weights.safetensors")

        // An fp16 UNet kept as stored (mapped views, a fused LoRA), the VAE and text encoders converted to bf16.
        let half = try SDXLInpaintPipeline.load(folder: folder, unet: dir, variant: "fp16", loras: [(lora, 0.5)])
        half.vae.namedParameters().forEach { $0.parameter.convert(to: .bf16) }
        half.promptEncoder.convertEncoders(to: .bf16)
        XCTAssertEqual(half.unet.encoder.convIn.weight.dtype, .f16)
        let image = Tensor(repeating: 0.5, shape: [1, 3, 32, 32]), mask = Tensor(repeating: 1, shape: [1, 1, 32, 32])
        for scheduler in ["lcm", "euler"] {
            var s = InpaintSettings(prompt: "remove", negativePrompt: "object", steps: 2, strength: 0.99, guidance: 2,
                                    scheduler: scheduler)
            s.vaeTiling = .on
            _ = try half.run(image: image, mask: mask, settings: s)
        }
        XCTAssertEqual(shadowed(half.unet), [], "UNet weights with a kept float32 copy")
        XCTAssertEqual(shadowed(half.vae), [], "VAE weights with a kept float32 copy")
        XCTAssertFalse(half.promptEncoder.encodersAreLoaded, "the text encoders are released after encoding")

        // The benchmark's path too.
        _ = try DiffusionBenchmark.run(half, resolution: 32, runs: 1)
        XCTAssertEqual(shadowed(half.unet) + shadowed(half.vae), [])
    }

    /// Kept encoders (bf16) keep no float32 copy either after encoding, with and without guidance.
    func testTextEncodersCanBeKeptAndStayHalf() throws {
        let pipeline = try SDXLInpaintPipeline.load(folder: DiffusionFixtures.path("tiny-sdxl-inpaint"), dtype: .bf16,
                                                    releaseTextEncoders: false)
        _ = try pipeline.promptEncoder.encode(prompt: "a", guidance: false)
        _ = try pipeline.promptEncoder.encode(prompt: "b", negativePrompt: "c", guidance: true)
        XCTAssertTrue(pipeline.promptEncoder.encodersAreLoaded)
        let text = try pipeline.promptEncoder.textEncoder, text2 = try pipeline.promptEncoder.textEncoder2
        XCTAssertTrue((text.parameters + text2.parameters).allSatisfy { $0.dtype == .bf16 })
        XCTAssertEqual(shadowed(text) + shadowed(text2), [])
    }
}
