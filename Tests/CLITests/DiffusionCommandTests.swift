import Foundation
import Imaging
import XCTest

/// `rorem remove --method diffusion` on the tiny random SDXL-inpainting folder the Diffusion tests use.
final class DiffusionCommandTests: XCTestCase {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DiffusionTests/Fixtures/tiny-sdxl-inpaint").standardized.path

    func testRemovesWithTheTinyFolderAndKeepsPixelsOutsideTheMask() throws {
        let ws = try Workspace()
        let img = try ws.image("in.png"), mask = try ws.mask("m.png")
        let out = ws.file("out.png")
        let r = try CLI.run(["remove", img, "--mask", mask, "-o", out, "--method", "diffusion", "--model", Self.tiny,
                             "--scheduler", "lcm", "--steps", "4", "--resolution", "32", "--seed", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let input = try ImageIO.load(img), output = try ImageIO.load(out), m = try ImageIO.loadMask(mask)
        var changedOutside = 0
        for i in 0..<m.pixelCount where !m.isMasked(i) && output.pixels[i * 3..<i * 3 + 3] != input.pixels[i * 3..<i * 3 + 3] {
            changedOutside += 1
        }
        XCTAssertEqual(changedOutside, 0)
        XCTAssertGreaterThan(try Quality.l1(output, input, mask: m), 0, "the masked region was filled")
        // The same seed gives the same file.
        let again = ws.file("again.png")
        XCTAssertEqual(try CLI.run(["remove", img, "--mask", mask, "-o", again, "--method", "diffusion", "--model", Self.tiny,
                                    "--scheduler", "lcm", "--steps", "4", "--resolution", "32", "--seed", "3"]).status, 0)
        XCTAssertEqual(try ImageIO.readFile(out), try ImageIO.readFile(again))
    }

    func testBadFolderAndOptionsAreNamedAndWriteNothing() throws {
        let ws = try Workspace()
        let img = try ws.image("in.png"), mask = try ws.mask("m.png")
        let out = ws.file("out.png")
        let missing = try CLI.run(["remove", img, "--mask", mask, "-o", out, "--method", "diffusion", "--model", ws.path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("model_index.json"), missing.stderr)
        let noModel = try CLI.run(["remove", img, "--mask", mask, "-o", out, "--method", "diffusion"])
        XCTAssertEqual(noModel.status, 64)
        XCTAssertTrue(noModel.stderr.contains("--model"), noModel.stderr)
        let badStrategy = try CLI.run(["remove", img, "--mask", mask, "-o", out, "--method", "diffusion", "--model", Self.tiny, "--strategy", "zoom"])
        XCTAssertEqual(badStrategy.status, 64, badStrategy.stderr)
        XCTAssertTrue(badStrategy.stderr.contains("crop, resize or whole"), badStrategy.stderr)
        let badScheduler = try CLI.run(["remove", img, "--mask", mask, "-o", out, "--method", "diffusion", "--model", Self.tiny,
                                        "--scheduler", "heun", "--resolution", "32"])
        XCTAssertNotEqual(badScheduler.status, 0)
        XCTAssertTrue(badScheduler.stderr.contains("heun"), badScheduler.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
