import Foundation
import XCTest

/// `rorem bench diffusion` on the committed tiny SDXL-inpainting folder: every part, the VAE alone, bad parts.
final class BenchDiffusionCommandTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DiffusionTests/Fixtures/tiny-sdxl-inpaint").path

    private func values(_ stdout: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let v = Double(parts[1]) { values[String(parts[0])] = v }
        }
        return values
    }

    func testPrintsEveryPart() throws {
        let r = try CLI.run(["bench", "diffusion", "--model", Self.folder, "--resolution", "32"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let v = values(r.stdout)
        for name in ["unet_step_ms", "unet_loop_step_ms", "vae_encode_ms", "vae_decode_ms", "remove_4step_ms", "peak_rss_mb", "load_ms"] {
            XCTAssertGreaterThan(v[name] ?? 0, 0, "\(name) in \(r.stdout)")
        }
    }

    func testTheVAEPartsAloneLoadOnlyTheVAE() throws {
        let r = try CLI.run(["bench", "diffusion", "--model", Self.folder, "--resolution", "32", "--parts", "decode, encode"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let v = values(r.stdout)
        XCTAssertGreaterThan(v["vae_encode_ms"] ?? 0, 0, r.stdout)
        XCTAssertGreaterThan(v["vae_decode_ms"] ?? 0, 0, r.stdout)
        XCTAssertNil(v["unet_step_ms"], "no UNet line: \(r.stdout)")
        XCTAssertNil(v["unet_loop_step_ms"], r.stdout)
        XCTAssertNil(v["remove_4step_ms"], r.stdout)
        XCTAssertNil(v["rss_after_load_mb"], "the pipeline was not loaded: \(r.stdout)")
        XCTAssertFalse(r.stderr.contains("encoding the prompt"), r.stderr)
    }

    func testAnUnknownPartIsNamed() throws {
        let r = try CLI.run(["bench", "diffusion", "--model", Self.folder, "--parts", "encode,vae"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("'vae'") && r.stderr.contains("unet, encode, decode, remove"), r.stderr)
        let none = try CLI.run(["bench", "diffusion", "--model", Self.folder, "--parts", ","])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("names no part"), none.stderr)
    }
}
