import XCTest
@testable import Imaging

/// Reads a float32 fixture written by Scripts/make_image_fixtures.py.
func loadRaw(_ name: String) throws -> [Float] {
    let bytes = try ImageIO.readFile(Fixtures.path(name))
    return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

final class ResizeTests: XCTestCase {
    private func source() throws -> Image {
        try Image(width: 23, height: 17, channels: 1, pixels: loadRaw("resize_src_23x17.f32"))
    }

    private func assertMatches(_ filter: ResizeFilter, _ ref: String, _ w: Int, _ h: Int, tolerance: Float,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try source().resized(width: w, height: h, filter: filter)
        let expected = try loadRaw(ref)
        let worst = zip(out.pixels, expected).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThan(worst, tolerance, "\(filter) to \(w)x\(h) vs \(ref)", file: file, line: line)
    }

    func testMatchesPillowFilters() throws {
        for name in ["bilinear", "bicubic", "lanczos"] {
            let filter = ResizeFilter(rawValue: name) ?? .auto
            try assertMatches(filter, "resize_\(name)_41x30.f32", 41, 30, tolerance: 1e-4)
            try assertMatches(filter, "resize_\(name)_9x7.f32", 9, 7, tolerance: 1e-4)
        }
    }

    func testAreaMatchesOpenCV() throws {
        try assertMatches(.area, "resize_area_9x7.f32", 9, 7, tolerance: 1e-5)
        try assertMatches(.area, "resize_area_11x8.f32", 11, 8, tolerance: 1e-5)
    }

    func testConstantImageStaysConstantAndSizesAreChecked() throws {
        let img = try Image(width: 10, height: 6, channels: 3, value: 0.3)
        for filter in ResizeFilter.allCases {
            let out = try img.resized(width: 17, height: 4, filter: filter)
            XCTAssertEqual(out.pixels.map { ($0 * 1000).rounded() }, [Float](repeating: 300, count: 17 * 4 * 3), "\(filter)")
        }
        XCTAssertThrowsError(try img.resized(width: 0, height: 4))
        let long = try img.resized(longSide: 5)
        XCTAssertEqual([long.width, long.height], [5, 3])
    }
}

final class MorphologyTests: XCTestCase {
    private func source() throws -> Mask {
        try Mask(width: 40, height: 30, values: loadRaw("morph_src_40x30.f32"))
    }

    func testDilateAndErodeMatchOpenCVEllipse() throws {
        for r in [1, 2, 4] {
            XCTAssertEqual(try source().dilated(radius: r).values, try loadRaw("morph_dilate_r\(r).f32"), "dilate r=\(r)")
            XCTAssertEqual(try source().eroded(radius: r).values, try loadRaw("morph_erode_r\(r).f32"), "erode r=\(r)")
        }
    }

    func testRadiusIsValidated() throws {
        XCTAssertThrowsError(try source().dilated(radius: -1))
        XCTAssertThrowsError(try source().eroded(radius: 1000))
    }

    func testFeatherKeepsInteriorAndSoftensEdge() throws {
        let m = try Mask.box(width: 40, height: 40, rect: PixelRect(x: 10, y: 10, width: 20, height: 20))
        let f = try m.feathered(radius: 4)
        XCTAssertEqual(f.values[20 * 40 + 20], 1, accuracy: 1e-5)
        XCTAssertEqual(f.values[2 * 40 + 2], 0, accuracy: 1e-5)
        let edge = f.values[20 * 40 + 10]
        XCTAssertTrue(edge > 0.3 && edge < 0.8, "edge value \(edge)")
    }

    func testBoundingBoxAreaAndShapes() throws {
        let m = try Mask.ellipse(width: 50, height: 40, cx: 25, cy: 20, rx: 10, ry: 5)
        XCTAssertEqual(m.boundingBox(), PixelRect(x: 15, y: 15, width: 20, height: 10))
        XCTAssertEqual(m.area, Double.pi * 50 / 2000, accuracy: 0.004)
        XCTAssertNil(try Mask(width: 5, height: 5).boundingBox())
        let b = try Mask.box(width: 8, height: 8, rect: PixelRect(x: 6, y: 6, width: 5, height: 5))
        XCTAssertEqual(b.maskedCount, 4, "clipped to the mask")
        XCTAssertEqual(b.summary, "<mask 8x8 area 6.3%>")
    }

    func testMaskResizeStaysBinary() throws {
        let m = try Mask.box(width: 20, height: 20, rect: PixelRect(x: 5, y: 5, width: 10, height: 10))
        let up = try m.resized(width: 40, height: 40)
        XCTAssertTrue(up.values.allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertEqual(up.maskedCount, 400)
    }
}

final class CompositingTests: XCTestCase {
    func testOutsideMaskIsExactlyOriginal() throws {
        var rng = SplitMix(seed: 1)
        let orig = try Image(width: 16, height: 12, channels: 3, pixels: (0..<(16 * 12 * 3)).map { _ in rng.unit() })
        let res = try Image(width: 16, height: 12, channels: 3, value: 0.123)
        let mask = try Mask.ellipse(width: 16, height: 12, cx: 8, cy: 6, rx: 4, ry: 3).feathered(radius: 2)
        let out = try Compositing.composite(result: res, original: orig, mask: mask)
        for i in 0..<orig.pixelCount {
            for c in 0..<3 {
                let j = i * 3 + c
                if mask.values[i] == 0 { XCTAssertEqual(out.pixels[j], orig.pixels[j]) }
                if mask.values[i] == 1 { XCTAssertEqual(out.pixels[j], 0.123) }
            }
        }
        XCTAssertThrowsError(try Compositing.composite(result: res, original: orig, mask: try Mask(width: 3, height: 3)))
    }

    func testCropPasteAndPad() throws {
        var rng = SplitMix(seed: 2)
        let img = try Image(width: 9, height: 7, channels: 3, pixels: (0..<(9 * 7 * 3)).map { _ in rng.unit() })
        let rect = PixelRect(x: 2, y: 1, width: 4, height: 3)
        let crop = try img.cropped(to: rect)
        XCTAssertEqual(crop[0, 0, 1], img[2, 1, 1])
        XCTAssertEqual(try img.pasting(crop, at: 2, 1), img)
        XCTAssertThrowsError(try img.cropped(to: PixelRect(x: 7, y: 0, width: 4, height: 2)))
        let padded = try img.padded(top: 2, left: 3, bottom: 1, right: 0, mode: .reflect)
        XCTAssertEqual([padded.width, padded.height], [12, 10])
        XCTAssertEqual(padded[0, 0, 0], img[3, 2, 0], "reflect mirrors without repeating the edge")
        let grid = try Image.grid([img, crop], columns: 2, gap: 2)
        XCTAssertEqual([grid.width, grid.height, grid.channels], [20, 7, 3])
    }
}

final class QualityTests: XCTestCase {
    func testKnownValues() throws {
        let a = try Image(width: 8, height: 8, channels: 1, value: 0.5)
        var b = a
        for i in 0..<32 { b.pixels[i] = 0.6 }
        let top = try Mask.box(width: 8, height: 8, rect: PixelRect(x: 0, y: 0, width: 8, height: 4))
        let bottom = top.inverted()
        XCTAssertEqual(try Quality.l1(a, b, mask: top), 0.1, accuracy: 1e-6)
        XCTAssertEqual(try Quality.psnr(a, b, mask: top), 20, accuracy: 1e-4)
        XCTAssertEqual(try Quality.psnr(a, b, mask: bottom), .infinity)
        XCTAssertEqual(try Quality.psnr(a, b), 10 * log10(1 / 0.005), accuracy: 1e-4)
        XCTAssertEqual(try Quality.ssim(a, a), 1, accuracy: 1e-6)
        XCTAssertLessThan(try Quality.ssim(a, b, mask: top), 1)
        XCTAssertThrowsError(try Quality.psnr(a, b, mask: try Mask(width: 8, height: 8)), "empty mask")
    }

    func testSSIMPenalisesLostTexture() throws {
        var rng = SplitMix(seed: 3)
        let tex = try Image(width: 32, height: 32, channels: 1, pixels: (0..<1024).map { _ in rng.unit() })
        let flat = try Image(width: 32, height: 32, channels: 1, value: 0.5)
        var noisy = tex
        for i in 0..<1024 { noisy.pixels[i] = min(1, max(0, tex.pixels[i] + (rng.unit() - 0.5) * 0.1)) }
        XCTAssertGreaterThan(try Quality.ssim(noisy, tex), try Quality.ssim(flat, tex) + 0.5)
    }
}
