import XCTest
import Imaging
import Learning

/// `rorem remove --method unet --checkpoint PATH`: an (untrained) checkpoint made here, and the failures around it.
final class LearnedRemoverCommandTests: XCTestCase {
    func testUNetCheckpointRemovesAndKeepsOutsidePixels() throws {
        let ws = try Workspace()
        let checkpoint = ws.file("tiny.safetensors")
        try UNetRemover(config: UNetRemoverConfig(widths: [8, 16], groups: 4, workingSize: 32), seed: 1).save(path: checkpoint)
        let img = try ws.image("in.png"), mask = try ws.mask("m.png")
        let r = try CLI.run(["remove", img, "--mask", mask, "-o", ws.file("out.png"), "--method", "unet", "--checkpoint", checkpoint])
        XCTAssertEqual(r.status, 0, r.stderr)
        let input = try ImageIO.load(img), output = try ImageIO.load(ws.file("out.png")), m = try ImageIO.loadMask(mask)
        for i in 0..<m.pixelCount where !m.isMasked(i) {
            XCTAssertEqual(output.pixels[i * 3..<i * 3 + 3], input.pixels[i * 3..<i * 3 + 3])
        }
    }

    func testCheckpointProblemsAreNamed() throws {
        let ws = try Workspace()
        let img = try ws.image("in.png"), mask = try ws.mask("m.png")
        let missingFlag = try CLI.run(["remove", img, "--mask", mask, "-o", ws.file("o.png"), "--method", "unet"])
        XCTAssertNotEqual(missingFlag.status, 0)
        XCTAssertTrue(missingFlag.stderr.contains("--checkpoint"), missingFlag.stderr)
        let junk = try ws.write("junk.safetensors", bytes: Array("not a checkpoint".utf8))
        let bad = try CLI.run(["remove", img, "--mask", mask, "-o", ws.file("o.png"), "--method", "unet", "--checkpoint", junk])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("junk.safetensors"), bad.stderr)
        XCTAssertFalse(ws.exists("o.png"))
        let stray = try CLI.run(["remove", img, "--mask", mask, "-o", ws.file("o.png"), "--method", "telea", "--checkpoint", junk])
        XCTAssertNotEqual(stray.status, 0)
        XCTAssertTrue(stray.stderr.contains("only to learned"), stray.stderr)
    }
}
