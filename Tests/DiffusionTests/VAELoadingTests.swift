import NN
import XCTest
import Tensor
@testable import Diffusion

/// A VAE folder that is wrong in some way gets an error naming the file (and the key or tensor), never a crash.
final class VAELoadingTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("vae-loading-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: DiffusionFixtures.path("vae")), to: folder)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    private var configURL: URL { folder.appendingPathComponent("config.json") }
    private var weightsURL: URL { folder.appendingPathComponent("diffusion_pytorch_model.safetensors") }

    /// Rewrites config.json with `edit` applied to its object.
    private func editConfig(_ edit: (inout [String: Any]) -> Void) throws {
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: configURL)
    }

    /// The message `AutoencoderKL.load` fails with.
    private func loadError(file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try AutoencoderKL.load(folder: folder.path)
            XCTFail("loaded", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testTheCopiedFolderLoads() throws {
        XCTAssertNoThrow(try AutoencoderKL.load(folder: folder.path))
    }

    func testUnsupportedBlockTypeNamesTheKey() throws {
        try editConfig { $0["down_block_types"] = ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"] }
        let message = loadError()
        XCTAssertTrue(message.contains("config.json") && message.contains("down_block_types") && message.contains("AttnDownEncoderBlock2D"), message)
    }

    func testUnsupportedActivationNamesTheKey() throws {
        try editConfig { $0["act_fn"] = "mish" }
        let message = loadError()
        XCTAssertTrue(message.contains("act_fn") && message.contains("mish"), message)
    }

    func testUnknownKeyIsRefusedAndBookkeepingIgnored() throws {
        try editConfig { $0["norm_type"] = "spatial"; $0["_name_or_path"] = "somewhere"; $0["force_upcast"] = false }
        let message = loadError()
        XCTAssertTrue(message.contains("norm_type") && message.contains("config.json"), message)
        try editConfig { $0.removeValue(forKey: "norm_type") }
        XCTAssertNoThrow(try AutoencoderKL.load(folder: folder.path))
    }

    func testInconsistentConfigValuesNameTheKey() throws {
        try editConfig { $0["norm_num_groups"] = 3 }
        XCTAssertTrue(loadError().contains("block_out_channels"))
        try editConfig { $0["norm_num_groups"] = 4; $0["up_block_types"] = ["UpDecoderBlock2D"] }
        XCTAssertTrue(loadError().contains("up_block_types"))
        try editConfig { $0["up_block_types"] = ["UpDecoderBlock2D", "UpDecoderBlock2D"]; $0["latents_mean"] = [0.1, 0.2] }
        XCTAssertTrue(loadError().contains("latents_mean"))
        try editConfig { $0["latents_mean"] = NSNull(); $0["layers_per_block"] = "two" }
        XCTAssertTrue(loadError().contains("layers_per_block"))
    }

    func testMalformedConfigNamesTheFile() throws {
        try Data("{\"in_channels\": 3,".utf8).write(to: configURL)
        XCTAssertTrue(loadError().contains(configURL.path))
        try FileManager.default.removeItem(at: configURL)
        XCTAssertTrue(loadError().contains("config.json"))
    }

    func testAConfigOfAnotherShapeNamesTheTensorAndBothShapes() throws {
        try editConfig { $0["latent_channels"] = 8 }
        let message = loadError()
        XCTAssertTrue(message.contains("diffusion_pytorch_model.safetensors") && message.contains("encoder.conv_out.weight"), message)
        XCTAssertTrue(message.contains("[8, 16, 3, 3]") && message.contains("[16, 16, 3, 3]"), message)
    }

    func testMissingAndUnexpectedTensorsAreNamed() throws {
        try editConfig { $0["use_post_quant_conv"] = false }
        let unexpected = loadError()
        XCTAssertTrue(unexpected.contains("post_quant_conv.") && unexpected.contains("unexpected"), unexpected)
        try editConfig { $0["use_post_quant_conv"] = true; $0["layers_per_block"] = 2 }
        let missing = loadError()
        XCTAssertTrue(missing.contains("missing") && missing.contains("resnets.1"), missing)
    }

    func testMissingOrTruncatedWeightsNameTheFile() throws {
        let bytes = try Data(contentsOf: weightsURL)
        try bytes.prefix(bytes.count / 2).write(to: weightsURL)
        XCTAssertTrue(loadError().contains("diffusion_pytorch_model.safetensors"))
        try FileManager.default.removeItem(at: weightsURL)
        let message = loadError()
        XCTAssertTrue(message.contains("no weights") && message.contains(folder.path), message)
    }

    func testTheFP16VariantIsPreferredWhenAsked() throws {
        // Put the fp16 folder's weights beside a full-precision file of another config: only variant "fp16" reads them.
        let fp16 = URL(fileURLWithPath: DiffusionFixtures.path("vae_fp16"))
        try FileManager.default.removeItem(at: configURL)
        try FileManager.default.copyItem(at: fp16.appendingPathComponent("config.json"), to: configURL)
        try FileManager.default.copyItem(at: fp16.appendingPathComponent("diffusion_pytorch_model.fp16.safetensors"),
                                         to: folder.appendingPathComponent("diffusion_pytorch_model.fp16.safetensors"))
        XCTAssertTrue(loadError().contains("diffusion_pytorch_model.safetensors"))
        XCTAssertNoThrow(try AutoencoderKL.load(folder: folder.path, variant: "fp16"))
    }
}
