import Imaging
@testable import Removal
import XCTest

/// A remover that fills its hole with a constant and refuses crops larger than its working size.
private struct ConstantRemover: Remover {
    var name: String { "constant" }
    var workingSize: Int? { 40 }
    func inpaint(_ image: Image, mask: Mask) throws -> Image {
        guard max(image.width, image.height) <= 40 else {
            throw RemovalError.invalidOption(remover: name, option: "size", reason: "got \(image.width)x\(image.height)")
        }
        var out = image
        for i in 0..<mask.pixelCount where mask.isMasked(i) {
            for c in 0..<image.channels { out.pixels[i * image.channels + c] = 0.75 }
        }
        return out
    }
}

final class HighResolutionTests: XCTestCase {
    func testDownscalesToTheWorkingSizeAndPastesBackExactly() throws {
        let image = try Fixtures.gradient(width: 300, height: 200)
        let mask = try Fixtures.rect(width: 300, height: 200, x: 100, y: 60, w: 90, h: 70)
        let result = try ConstantRemover().remove(image, mask: mask)
        Fixtures.assertUnmaskedExact(result, image, mask)
        // The downscaled mask was grown, so every original masked pixel takes the fill (bilinear of 0.75s).
        var worst: Float = 0
        for i in 0..<mask.pixelCount where mask.isMasked(i) {
            for c in 0..<3 { worst = max(worst, abs(result.pixels[i * 3 + c] - 0.75)) }
        }
        XCTAssertLessThan(worst, 1e-5)
    }

    func testCropBoxAddsMarginAndClamps() {
        let strategy = HighResolution(margin: 0.5, minimumMargin: 10)
        XCTAssertEqual(strategy.cropBox(around: PixelRect(x: 50, y: 40, width: 40, height: 10), width: 200, height: 100),
                       PixelRect(x: 30, y: 20, width: 80, height: 50))
        XCTAssertEqual(strategy.cropBox(around: PixelRect(x: 2, y: 90, width: 6, height: 10), width: 200, height: 100),
                       PixelRect(x: 0, y: 80, width: 18, height: 20))
    }

    func testEmptyMaskReturnsTheInput() throws {
        let image = try Fixtures.gradient(width: 20, height: 10)
        let mask = try Mask(width: 20, height: 10, value: 0.3)   // below 0.5: nothing masked
        for remover in [TeleaRemover() as any Remover, PatchMatchRemover()] {
            XCTAssertEqual(try remover.remove(image, mask: mask), image)
            XCTAssertEqual(try remover.inpaint(image, mask: mask), image)
        }
    }

    func testFullMaskIsAnError() throws {
        let image = try Fixtures.gradient(width: 20, height: 10)
        let mask = try Mask(width: 20, height: 10, value: 1)
        for remover in [TeleaRemover() as any Remover, PatchMatchRemover()] {
            XCTAssertThrowsError(try remover.remove(image, mask: mask)) { error in
                XCTAssertEqual(error as? RemovalError, .fullMask(remover: remover.name, size: "20x10"))
                XCTAssertTrue("\(error)".contains("whole 20x10 image"), "\(error)")
            }
        }
    }

    func testSizeMismatchNamesBothSizes() throws {
        let image = try Fixtures.gradient(width: 20, height: 10)
        let mask = try Fixtures.rect(width: 21, height: 10, x: 3, y: 3, w: 2, h: 2)
        XCTAssertThrowsError(try PatchMatchRemover().remove(image, mask: mask)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("21x10") && text.contains("20x10"), text)
        }
        XCTAssertThrowsError(try TeleaRemover().inpaint(image, mask: mask))
    }

    func testOnlyMaskedPixelsChangeOnAFeatheredMask() throws {
        let image = try Fixtures.checkerboard(width: 90, height: 70, cell: 3)
        var mask = try Fixtures.rect(width: 90, height: 70, x: 30, y: 20, w: 20, h: 25)
        for i in 0..<mask.pixelCount where !mask.isMasked(i) && i % 7 == 0 { mask.values[i] = 0.49 }
        for remover in [TeleaRemover() as any Remover, PatchMatchRemover(workingSize: 48)] {
            let result = try remover.remove(image, mask: mask)
            Fixtures.assertUnmaskedExact(result, image, mask)
            XCTAssertNotEqual(result, image)
        }
    }

    func testBothRemoversThroughTheStrategyBeatTheMeanFill() throws {
        let image = try Fixtures.stripes(width: 160, height: 120, period: 5)
        let mask = try Fixtures.rect(width: 160, height: 120, x: 60, y: 40, w: 30, h: 30)
        let baseline = Fixtures.maskedMSE(try Fixtures.meanFill(image, mask), image, mask)
        let pm = Fixtures.maskedMSE(try PatchMatchRemover().remove(image, mask: mask), image, mask)
        XCTAssertLessThan(pm, baseline * 0.1, "patchmatch \(pm) vs mean \(baseline)")
    }
}

/// A remover that breaks the contract by returning a smaller image.
private struct ShrinkingRemover: Remover {
    var name: String { "shrinking" }
    var workingSize: Int? { nil }
    func inpaint(_ image: Image, mask: Mask) throws -> Image {
        try Image(width: image.width - 1, height: image.height, channels: image.channels)
    }
}

final class HighResolutionContractTests: XCTestCase {
    func testAResultOfTheWrongSizeIsReported() throws {
        let image = try Fixtures.gradient(width: 30, height: 20)
        let mask = try Fixtures.rect(width: 30, height: 20, x: 10, y: 5, w: 4, h: 4)
        XCTAssertThrowsError(try ShrinkingRemover().remove(image, mask: mask)) { error in
            XCTAssertEqual("\(error)", "shrinking: returned a 29x20x3 image for a 30x20x3 input (width x height x channels)")
        }
    }
}
