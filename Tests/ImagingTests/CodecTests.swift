import XCTest
@testable import Imaging

final class PNGDecodeTests: XCTestCase {
    private func assertPattern(_ name: String, channels: Int, file: StaticString = #filePath, line: UInt = #line,
                               expected: (Int, Int, Int) -> Float) throws {
        let img = try ImageIO.load(Fixtures.path(name))
        XCTAssertEqual(img.width, 13, file: file, line: line)
        XCTAssertEqual(img.height, 9, file: file, line: line)
        XCTAssertEqual(img.channels, channels, "\(name) channels", file: file, line: line)
        var worst: Float = 0
        for y in 0..<9 { for x in 0..<13 { for c in 0..<channels { worst = max(worst, abs(img[x, y, c] - expected(x, y, c))) } } }
        XCTAssertLessThan(worst, 1e-6, "\(name): largest sample error", file: file, line: line)
    }

    func testGray8() throws { try assertPattern("gray8.png", channels: 1, expected: Fixtures.v8) }
    func testGray16() throws { try assertPattern("gray16.png", channels: 1, expected: Fixtures.v16) }
    func testGray1() throws { try assertPattern("gray1.png", channels: 1) { x, y, _ in Float((x + y) % 2) } }
    func testRGB8() throws { try assertPattern("rgb8.png", channels: 3, expected: Fixtures.v8) }
    func testRGB16() throws { try assertPattern("rgb16.png", channels: 3, expected: Fixtures.v16) }
    func testRGBA8() throws { try assertPattern("rgba8.png", channels: 4, expected: Fixtures.v8) }
    func testRGBA16() throws { try assertPattern("rgba16.png", channels: 4, expected: Fixtures.v16) }
    func testInterlacedRGB8() throws { try assertPattern("rgb8_interlaced.png", channels: 3, expected: Fixtures.v8) }
    func testInterlacedGray16() throws { try assertPattern("gray16_interlaced.png", channels: 1, expected: Fixtures.v16) }

    func testGrayAlphaBecomesRGBA() throws {
        // Gray+alpha expands to RGBA: the gray sample is repeated, alpha is the second sample.
        try assertPattern("gray_alpha8.png", channels: 4) { x, y, c in Fixtures.v8(x, y, c == 3 ? 1 : 0) }
        try assertPattern("gray_alpha16.png", channels: 4) { x, y, c in Fixtures.v16(x, y, c == 3 ? 1 : 0) }
    }

    func testPaletteExpandsToRGB() throws {
        for name in ["palette8.png", "palette4.png"] {
            try assertPattern(name, channels: 3) { x, y, c in Fixtures.v8((x + y) % 16, 0, c) }
        }
    }

    func testPaletteTransparencyBecomesAlpha() throws {
        try assertPattern("palette_trns.png", channels: 4) { x, y, c in
            c == 3 ? Fixtures.v8((x + y) % 16, 1, 3) : Fixtures.v8((x + y) % 16, 0, c)
        }
    }
}

final class JPEGDecodeTests: XCTestCase {
    private func meanError(_ img: Image, _ expected: (Int, Int, Int) -> Float) -> Float {
        var total: Float = 0
        for y in 0..<img.height { for x in 0..<img.width { for c in 0..<img.channels { total += abs(img[x, y, c] - expected(x, y, c)) } } }
        return total / Float(img.pixels.count)
    }

    func testBaselineAndProgressive() throws {
        for name in ["baseline.jpg", "progressive.jpg"] {
            let img = try ImageIO.load(Fixtures.path(name))
            XCTAssertEqual([img.width, img.height, img.channels], [39, 27, 3], name)
            XCTAssertLessThan(meanError(img, Fixtures.smooth), 2.5 / 255, name)
        }
    }

    func testGrayJPEG() throws {
        let img = try ImageIO.load(Fixtures.path("gray.jpg"))
        XCTAssertEqual(img.channels, 1)
        let luma: (Int, Int, Int) -> Float = { x, y, _ in
            0.299 * Fixtures.smooth(x, y, 0) + 0.587 * Fixtures.smooth(x, y, 1) + 0.114 * Fixtures.smooth(x, y, 2)
        }
        XCTAssertLessThan(meanError(img, luma), 2.5 / 255)
    }

    func testCMYKConvertsToRGB() throws {
        let img = try ImageIO.load(Fixtures.path("cmyk.jpg"))
        XCTAssertEqual(img.channels, 3)
        XCTAssertLessThan(meanError(img, Fixtures.smooth), 4 / 255)
    }

    func testEXIFOrientationMatchesPillow() throws {
        for o in [3, 6, 8] {
            let img = try ImageIO.load(Fixtures.path("orient\(o).jpg"))
            let upright = try ImageIO.load(Fixtures.path("orient\(o)_upright.png"))
            XCTAssertEqual([img.width, img.height], [upright.width, upright.height], "orientation \(o)")
            XCTAssertLessThan(meanError(img) { x, y, c in upright[x, y, c] }, 3 / 255, "orientation \(o)")
        }
    }
}

final class CodecRoundTripTests: XCTestCase {
    func testPNGRoundTripIsExactForEveryLayout() throws {
        let dir = Fixtures.tempFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["gray8.png", "rgb8.png", "rgba8.png", "gray16.png", "rgb16.png", "rgba16.png"] {
            let img = try ImageIO.load(Fixtures.path(name))
            let depth = name.contains("16") ? 16 : 8
            let out = dir + "/" + name
            try ImageIO.save(img, to: out, bitDepth: depth)
            XCTAssertEqual(try ImageIO.load(out), img, name)
        }
    }

    func testJPEGRoundTripStaysClose() throws {
        let img = try ImageIO.load(Fixtures.path("baseline.jpg"))
        let bytes = try ImageIO.encodeJPEG(img, quality: 95)
        let back = try ImageIO.decode(bytes)
        XCTAssertLessThan(try Quality.l1(back, img), 2 / 255)
        let small = try ImageIO.encodeJPEG(img, quality: 20)
        XCTAssertLessThan(small.count, bytes.count, "lower quality gives a smaller file")
    }

    func testSaveIsAtomicAndChecksFolder() throws {
        let img = try Image(width: 4, height: 4, channels: 3, value: 0.5)
        XCTAssertThrowsError(try ImageIO.save(img, to: "/nonexistent-folder-xyz/out.png")) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertThrowsError(try ImageIO.save(img, to: NSTemporaryDirectory() + "x.bmp")) { error in
            XCTAssertTrue("\(error)".contains("extension"), "\(error)")
        }
        let dir = Fixtures.tempFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ImageIO.save(img, to: dir + "/a.png")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["a.png"], "no temporary file left behind")
    }
}

final class BadInputTests: XCTestCase {
    private func assertFails(_ name: String, contains text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ImageIO.load(Fixtures.path(name)), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(name), "message names the file: \(message)", file: file, line: line)
            XCTAssertTrue(message.lowercased().contains(text), "'\(message)' should mention '\(text)'", file: file, line: line)
        }
    }

    func testTruncatedPNG() { assertFails("bad_truncated.png", contains: "truncated") }
    func testCorruptPNG() { assertFails("bad_corrupt.png", contains: "not a valid image") }
    func testEmptyFile() { assertFails("bad_empty.png", contains: "empty") }
    func testNotAnImage() { assertFails("bad_text.png", contains: "not a png or jpeg") }
    func testHugePNGHeaderFailsFast() { assertFails("bad_huge.png", contains: "100000x100000") }
    func testTruncatedJPEG() { assertFails("bad_truncated.jpg", contains: "truncated") }
    func testHugeJPEGHeaderFailsFast() { assertFails("bad_huge.jpg", contains: "60000x60000") }
    func testMissingFile() { assertFails("no_such_file.png", contains: "no such file") }
    func testFolderIsNotAFile() {
        XCTAssertThrowsError(try ImageIO.load(Fixtures.folder)) { XCTAssertTrue("\($0)".contains("folder")) }
    }

    func testEveryPrefixOfAValidFileFailsCleanly() throws {
        // Truncation at any byte must give an error, never a crash or a wrong image.
        for name in ["rgb8_interlaced.png", "progressive.jpg"] {
            let bytes = try ImageIO.readFile(Fixtures.path(name))
            for n in stride(from: 0, to: bytes.count - 2, by: 7) {
                XCTAssertThrowsError(try ImageIO.decode(Array(bytes[0..<n])), "\(name) cut at \(n)")
            }
        }
    }

    func testRandomByteFlipsNeverCrash() throws {
        var rng = SplitMix(seed: 7)
        for name in ["rgb8.png", "palette_trns.png", "baseline.jpg", "progressive.jpg"] {
            let bytes = try ImageIO.readFile(Fixtures.path(name))
            for _ in 0..<300 {
                var b = bytes
                for _ in 0..<3 { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
                _ = try? ImageIO.decode(b) // either decodes or throws; must not trap
            }
        }
    }
}

/// A tiny deterministic generator for tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
