import XCTest
import Imaging

final class RemoveCommandTests: XCTestCase {
    func testRemovesAndKeepsPixelsOutsideTheMask() throws {
        let ws = try Workspace()
        let img = try ws.image("in.png"), mask = try ws.mask("m.png")
        for method in ["telea", "patchmatch"] {
            let r = try CLI.run(["remove", img, "--mask", mask, "-o", ws.file("out-\(method).png"), "--method", method])
            XCTAssertEqual(r.status, 0, r.stderr)
            let input = try ImageIO.load(img), output = try ImageIO.load(ws.file("out-\(method).png"))
            let m = try ImageIO.loadMask(mask)
            XCTAssertEqual([output.width, output.height], [input.width, input.height])
            for i in 0..<m.pixelCount where !m.isMasked(i) {
                XCTAssertEqual(output.pixels[i * 3..<i * 3 + 3], input.pixels[i * 3..<i * 3 + 3], "\(method): pixel \(i) outside the mask changed")
            }
            XCTAssertGreaterThan(try Quality.l1(output, input, mask: m), 0, "\(method): the masked region was filled")
        }
    }

    /// A 16-bit PNG comes back as a 16-bit PNG, every sample outside the mask bit-identical, for every method.
    func testSixteenBitInputStaysSixteenBit() throws {
        let ws = try Workspace()
        var img = try Image(width: 40, height: 32, channels: 3)
        for i in 0..<img.pixels.count { img.pixels[i] = Float((i * 7919) % 65536) / 65535 }
        let path = ws.file("deep.png")
        try ImageIO.save(img, to: path, bitDepth: 16)
        let mask = try ws.mask("m.png", width: 40, height: 32)
        for method in ["telea", "patchmatch"] {
            let out = ws.file("deep-\(method).png")
            let r = try CLI.run(["remove", path, "--mask", mask, "-o", out, "--method", method])
            XCTAssertEqual(r.status, 0, r.stderr)
            let bytes = try ImageIO.readFile(out)
            XCTAssertEqual(ImageIO.sampleBitDepth(bytes), 16, "\(method): the result is a 16-bit PNG")
            let output = try ImageIO.decode(bytes), m = try ImageIO.loadMask(mask)
            var changedOutside = 0
            for i in 0..<m.pixelCount where !m.isMasked(i) {
                for c in 0..<3 where output.pixels[i * 3 + c] != img.pixels[i * 3 + c] { changedOutside += 1 }
            }
            XCTAssertEqual(changedOutside, 0, "\(method): samples outside the mask changed")
        }
        XCTAssertEqual(ImageIO.sampleBitDepth(try ImageIO.readFile(try ws.image("eight.png"))), 8)
    }

    private func assertFailsWithoutOutput(_ args: [String], mentions: [String], status: Int32? = nil, ws: Workspace, output: String,
                                          file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args, file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "should fail: \(args)", file: file, line: line)
        if let status { XCTAssertEqual(r.status, status, file: file, line: line) }
        for text in mentions {
            XCTAssertTrue(r.stderr.contains(text), "stderr should mention '\(text)': \(r.stderr)", file: file, line: line)
        }
        XCTAssertFalse(ws.exists(output), "no output file on failure", file: file, line: line)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: ws.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "no temporary files left", file: file, line: line)
    }

    func testBadImagesAreNamedAndWriteNothing() throws {
        let ws = try Workspace()
        let mask = try ws.mask("m.png")
        let good = try ImageIO.readFile(try ws.image("good.png"))
        let cases: [(String, [UInt8], String)] = [
            ("empty.png", [], "empty"),
            ("truncated.png", Array(good.prefix(good.count / 2)), "truncated"),
            ("text.png", Array("hello".utf8), "not a PNG or JPEG"),
            ("corrupt.png", Array(good.prefix(60)) + [UInt8](repeating: 0xAB, count: good.count - 60), "not a valid image"),
        ]
        for (name, bytes, text) in cases {
            let path = try ws.write(name, bytes: bytes)
            try assertFailsWithoutOutput(["remove", path, "--mask", mask, "-o", ws.file("out.png")], mentions: [name, text], ws: ws, output: "out.png")
        }
        try assertFailsWithoutOutput(["remove", ws.file("missing.png"), "--mask", mask, "-o", ws.file("out.png")],
                                     mentions: ["missing.png", "no such file"], ws: ws, output: "out.png")
    }

    func testAbsurdHeaderFailsFast() throws {
        let ws = try Workspace()
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ImagingTests/Fixtures/bad_huge.png").standardized.path
        try assertFailsWithoutOutput(["remove", fixture, "--mask", try ws.mask("m.png"), "-o", ws.file("out.png")],
                                     mentions: ["100000x100000", "limit"], ws: ws, output: "out.png")
    }

    func testMaskOfAnotherSize() throws {
        let ws = try Workspace()
        let img = try ws.image("in.png"), small = try ws.mask("small.png", width: 32, height: 24)
        try assertFailsWithoutOutput(["remove", img, "--mask", small, "-o", ws.file("out.png")],
                                     mentions: ["32x24", "64x48", "--resize-mask"], ws: ws, output: "out.png")
        let r = try CLI.run(["remove", img, "--mask", small, "-o", ws.file("out.png"), "--resize-mask", "--method", "telea"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(ws.exists("out.png"))
    }

    func testFullMaskIsRefused() throws {
        let ws = try Workspace()
        try assertFailsWithoutOutput(["remove", try ws.image("in.png"), "--mask", try ws.mask("full.png", fill: "full"), "-o", ws.file("out.png")],
                                     mentions: ["whole"], ws: ws, output: "out.png")
    }

    func testMissingOutputFolder() throws {
        let ws = try Workspace()
        let r = try CLI.run(["remove", try ws.image("in.png"), "--mask", try ws.mask("m.png"), "-o", ws.file("nope/out.png")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("does not exist"), r.stderr)
    }

    func testEmptyMaskCopiesInputWithWarning() throws {
        let ws = try Workspace()
        let img = try ws.image("in.png")
        let r = try CLI.run(["remove", img, "--mask", try ws.mask("e.png", fill: "empty"), "-o", ws.file("out.png")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning"), r.stderr)
        XCTAssertEqual(try ImageIO.readFile(ws.file("out.png")), try ImageIO.readFile(img))
    }

    func testUnknownMethodListsValidOnes() throws {
        let ws = try Workspace()
        let r = try CLI.run(["remove", try ws.image("in.png"), "--mask", try ws.mask("m.png"), "-o", ws.file("o.png"), "--method", "magic"])
        XCTAssertEqual(r.status, 64)
        XCTAssertTrue(r.stderr.contains("patchmatch") && r.stderr.contains("telea"), r.stderr)
    }

    func testBatchSkipsBadFilesAndReports() throws {
        let ws = try Workspace()
        try FileManager.default.createDirectory(atPath: ws.file("imgs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: ws.file("masks"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: ws.file("out"), withIntermediateDirectories: true)
        for name in ["a", "b"] {
            _ = try ws.image("imgs/\(name).png")
            _ = try ws.mask("masks/\(name).png")
        }
        _ = try ws.write("imgs/c.png", bytes: Array("broken".utf8))
        _ = try ws.mask("masks/c.png")
        _ = try ws.image("imgs/d.png") // no mask for d
        let r = try CLI.run(["remove", ws.file("imgs"), "--mask", ws.file("masks"), "-o", ws.file("out"), "--method", "telea"])
        XCTAssertEqual(r.status, 1, "bad files make the batch exit 1")
        XCTAssertTrue(ws.exists("out/a.png") && ws.exists("out/b.png"))
        XCTAssertFalse(ws.exists("out/c.png") || ws.exists("out/d.png"))
        XCTAssertTrue(r.stderr.contains("c.png") && r.stderr.contains("d.png") && r.stderr.contains("2 failed"), r.stderr)

        // One mask for all, into a folder that does not exist.
        let bad = try CLI.run(["remove", ws.file("imgs"), "--mask", ws.file("masks/a.png"), "-o", ws.file("nowhere")])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("does not exist"), bad.stderr)
    }

    func testBenchPrintsMedian() throws {
        let ws = try Workspace()
        let r = try CLI.run(["bench", "remove", try ws.image("in.png"), "--mask", try ws.mask("m.png"), "--method", "telea", "--runs", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("median_ms=") }
        XCTAssertNotNil(line.flatMap { Double($0.dropFirst("median_ms=".count)) }, r.stdout)
    }
}
