import Foundation
import Imaging
import Lang
import XCTest
@testable import Workbench

/// `remover("diffusion", FOLDER, ...)` in the language, on the tiny random SDXL-inpainting folder; the same settings
/// give the CLI's file.
final class DiffusionPrimitiveTests: SessionTestCase {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DiffusionTests/Fixtures/tiny-sdxl-inpaint").standardized.path

    func testDiffusionRemoverWorksLikeAnyRemoverAndMatchesTheCLI() throws {
        let (s, _) = session()
        try s.interpreter.run("""
            let img = load("\(try writeImage())")
            let m = mask_box(img, 20, 14, 16, 12)
            let r = remover("diffusion", "\(Self.tiny)", scheduler: "lcm", steps: 4, resolution: 32, seed: 3)
            let out = remove(img, m, with: r)
            save(out, "lang.png")
            save(m, "m.png")
            """)
        let input = try ImageIO.load(dir + "/in.png"), output = try ImageIO.load(dir + "/lang.png"), m = try ImageIO.loadMask(dir + "/m.png")
        for i in 0..<m.pixelCount where !m.isMasked(i) {
            XCTAssertEqual(output.pixels[i * 3..<i * 3 + 3], input.pixels[i * 3..<i * 3 + 3])
        }
        XCTAssertGreaterThan(try Quality.l1(output, input, mask: m), 0)
        guard let binary = PseudoTerminal.roremBinary else { throw XCTSkip("rorem binary not built") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["remove", dir + "/in.png", "--mask", dir + "/m.png", "-o", dir + "/cli.png", "--method", "diffusion",
                       "--model", Self.tiny, "--scheduler", "lcm", "--steps", "4", "--resolution", "32", "--seed", "3"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try ImageIO.load(dir + "/cli.png").pixels, output.pixels, "the CLI and the language give the same result")
    }

    func testBadDiffusionArgumentsAreNamed() throws {
        let (s, _) = session()
        for (source, text) in [("remover(\"diffusion\")", "diffusers folder"),
                               ("remover(\"diffusion\", \"\(Self.tiny)\", strategy: \"zoom\")", "crop, resize or whole"),
                               ("remover(\"diffusion\", \"\(Self.tiny)\", stepz: 3)", "stepz"),
                               ("remover(\"diffusion\", \"\(dir)\")", "model_index.json"),
                               ("remover(\"telea\", \"\(Self.tiny)\")", "takes no checkpoint path")] {
            let (status, report) = s.interpreter.runReporting(source)
            XCTAssertNotEqual(status, 0, source)
            XCTAssertTrue(report?.contains(text) ?? false, "\(source): \(report ?? "")")
        }
    }

    private func writeImage() throws -> String {
        var img = try Image(width: 48, height: 40, channels: 3)
        for y in 0..<40 { for x in 0..<48 { img[x, y, 0] = Float(x) / 48; img[x, y, 1] = (x / 4) % 2 == 0 ? 0.8 : 0.2; img[x, y, 2] = Float(y) / 40 } }
        let path = dir + "/in.png"
        try ImageIO.save(img, to: path)
        return path
    }
}
