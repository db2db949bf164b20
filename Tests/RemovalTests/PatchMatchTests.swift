import Imaging
@testable import Removal
import XCTest

final class PatchMatchTests: XCTestCase {
    /// Masked MSE of PatchMatch, Telea and the mean-colour fill on one case.
    private func errors(_ image: Image, _ mask: Mask, patchMatch: PatchMatchRemover = PatchMatchRemover())
        throws -> (patchMatch: Double, telea: Double, mean: Double) {
        let filled = try patchMatch.inpaint(image, mask: mask)
        Fixtures.assertUnmaskedExact(filled, image, mask)
        let telea = try TeleaRemover().inpaint(image, mask: mask)
        return (Fixtures.maskedMSE(filled, image, mask), Fixtures.maskedMSE(telea, image, mask),
                Fixtures.maskedMSE(try Fixtures.meanFill(image, mask), image, mask))
    }

    func testKeepsStripes() throws {
        let image = try Fixtures.stripes()
        let mask = try Fixtures.rect(width: 64, height: 64, x: 22, y: 20, w: 18, h: 16)
        let e = try errors(image, mask)
        XCTAssertLessThan(e.patchMatch, e.mean * 0.1, "\(e)")
        XCTAssertLessThan(e.patchMatch, e.telea * 0.2, "\(e)")
    }

    func testKeepsCheckerboard() throws {
        let image = try Fixtures.checkerboard()
        let mask = try Fixtures.rect(width: 64, height: 64, x: 25, y: 19, w: 15, h: 17)
        let e = try errors(image, mask)
        XCTAssertLessThan(e.patchMatch, e.mean * 0.1, "\(e)")
        XCTAssertLessThan(e.patchMatch, e.telea * 0.2, "\(e)")
    }

    func testKeepsTiledNoise() throws {
        let image = try Fixtures.tiledNoise()
        let mask = try Fixtures.rect(width: 64, height: 64, x: 20, y: 26, w: 14, h: 12)
        let e = try errors(image, mask)
        XCTAssertLessThan(e.patchMatch, e.mean * 0.2, "\(e)")
        XCTAssertLessThan(e.patchMatch, e.telea * 0.3, "\(e)")
    }

    func testSmoothGradient() throws {
        let image = try Fixtures.gradient()
        let mask = try Fixtures.rect(width: 64, height: 48, x: 20, y: 14, w: 16, h: 12)
        let e = try errors(image, mask)
        XCTAssertLessThan(e.patchMatch, e.mean * 0.25, "\(e)")
    }
}

final class PatchMatchBehaviourTests: XCTestCase {
    private let image = try? Fixtures.tiledNoise(width: 48, height: 40)
    private let mask = try? Fixtures.rect(width: 48, height: 40, x: 14, y: 12, w: 15, h: 11)

    func testSameSeedSameOutput() throws {
        let image = try XCTUnwrap(image), mask = try XCTUnwrap(mask)
        let noisy = try Fixtures.gradient(width: 48, height: 40)
        var mixed = image
        for i in 0..<mixed.pixels.count { mixed.pixels[i] = 0.5 * (image.pixels[i] + noisy.pixels[i]) }
        let a = try PatchMatchRemover(seed: 1).inpaint(mixed, mask: mask)
        let b = try PatchMatchRemover(seed: 1).inpaint(mixed, mask: mask)
        XCTAssertEqual(a, b)
        Fixtures.assertUnmaskedExact(a, mixed, mask)
    }

    func testThreadCountDoesNotChangeTheResult() throws {
        let image = try Fixtures.stripes(width: 80, height: 72, period: 5)
        let mask = try Fixtures.rect(width: 80, height: 72, x: 30, y: 20, w: 20, h: 30)
        var noisy = image
        var state: UInt64 = 3
        for i in 0..<noisy.pixels.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            noisy.pixels[i] = min(1, max(0, noisy.pixels[i] + 0.1 * (Float(state >> 40) / Float(1 << 24) - 0.5)))
        }
        let saved = PatchMatchThreads.concurrent
        defer { PatchMatchThreads.concurrent = saved }
        PatchMatchThreads.concurrent = true
        let parallel = try PatchMatchRemover(seed: 5).inpaint(noisy, mask: mask)
        PatchMatchThreads.concurrent = false
        let serial = try PatchMatchRemover(seed: 5).inpaint(noisy, mask: mask)
        XCTAssertEqual(parallel, serial)
    }

    func testMaskTouchingTheBorder() throws {
        let image = try Fixtures.stripes(width: 60, height: 50)
        let mask = try Fixtures.rect(width: 60, height: 50, x: 40, y: 0, w: 20, h: 14)
        let result = try PatchMatchRemover().inpaint(image, mask: mask)
        Fixtures.assertUnmaskedExact(result, image, mask)
        let err = Fixtures.maskedMSE(result, image, mask)
        let baseline = Fixtures.maskedMSE(try Fixtures.meanFill(image, mask), image, mask)
        XCTAssertLessThan(err, baseline * 0.1, "patchmatch \(err) vs mean fill \(baseline)")
    }

    func testOnePixelMask() throws {
        let image = try Fixtures.checkerboard(width: 32, height: 32, cell: 4)
        let mask = try Fixtures.rect(width: 32, height: 32, x: 13, y: 9, w: 1, h: 1)
        var marked = image
        for c in 0..<3 { marked[13, 9, c] = 0.5 }
        let result = try PatchMatchRemover().inpaint(marked, mask: mask)
        Fixtures.assertUnmaskedExact(result, marked, mask)
        for c in 0..<3 { XCTAssertEqual(result[13, 9, c], image[13, 9, c], accuracy: 1e-5) }
    }

    func testImageSmallerThanAPatchFallsBackToTelea() throws {
        let image = try Image(width: 3, height: 2, channels: 3, value: 0.25)
        let mask = try Fixtures.rect(width: 3, height: 2, x: 1, y: 0, w: 1, h: 1)
        var marked = image
        marked[1, 0, 0] = 1
        let result = try PatchMatchRemover().inpaint(marked, mask: mask)
        XCTAssertEqual(result, image)
    }

    func testGrayAndRGBA() throws {
        let rgb = try Fixtures.checkerboard(width: 40, height: 40, cell: 5)
        let mask = try Fixtures.rect(width: 40, height: 40, x: 12, y: 14, w: 9, h: 8)
        for channels in [1, 4] {
            let image = try rgb.converted(toChannels: channels)
            let result = try PatchMatchRemover().inpaint(image, mask: mask)
            XCTAssertEqual(result.channels, channels)
            Fixtures.assertUnmaskedExact(result, image, mask)
            let err = Fixtures.maskedMSE(result, image, mask)
            let baseline = Fixtures.maskedMSE(try Fixtures.meanFill(image, mask), image, mask)
            XCTAssertLessThan(err, baseline * 0.1, "\(channels) channels: patchmatch \(err) vs mean fill \(baseline)")
        }
    }

    func testPyramidHalvesUntilTheHoleIsAboutOneAndAHalfPatchesThick() throws {
        let hole = try Fixtures.rect(width: 512, height: 256, x: 150, y: 50, w: 200, h: 150).values.map { $0 >= 0.5 }
        XCTAssertEqual(PatchPyramid.thickness(hole, width: 512, height: 256), 75)
        let plane = Plane(width: 512, height: 256, channels: 1, data: [Float](repeating: 0, count: 512 * 256))
        let floors = PatchPyramid.build(image: plane, hole: hole, patchSize: 7)
        // Thickness 75 -> 38 -> 19 -> 10 px; 10 <= 1.5 * 7: stop. Sizes 512x256 down to 64x32.
        XCTAssertEqual(floors.map { $0.plane.width }, [512, 256, 128, 64])
        XCTAssertEqual(floors.map { $0.plane.height }, [256, 128, 64, 32])
        XCTAssertEqual(floors[1].hole.filter { $0 }.count, 100 * 75)
        // Columns 150...349 -> 18...43 (26), rows 50...199 -> 6...24 (19) at 1/8 scale.
        XCTAssertEqual(floors[3].hole.filter { $0 }.count, 26 * 19)
        XCTAssertEqual(PatchPyramid.thickness(floors[3].hole, width: 64, height: 32), 10)
    }

    func testPyramidStopsWhereTooFewPatchesRemain() throws {
        // A 50x50 hole in 80x80: 25 px thick, then 13 at 40x40 (still over 1.5 patches), but halving again
        // would leave a 20 px side, under 3 patches of 7.
        let hole = try Fixtures.rect(width: 80, height: 80, x: 15, y: 15, w: 50, h: 50).values.map { $0 >= 0.5 }
        let plane = Plane(width: 80, height: 80, channels: 1, data: [Float](repeating: 0, count: 80 * 80))
        let floors = PatchPyramid.build(image: plane, hole: hole, patchSize: 7)
        XCTAssertEqual(floors.map { $0.plane.width }, [80, 40])
        XCTAssertEqual(PatchPyramid.thickness(floors[1].hole, width: 40, height: 40), 13)
    }

    func testLargeHoleRunsThePyramid() throws {
        // A 180x170 hole in 400x360 stripes is 85 px thick: several levels.
        let image = try Fixtures.stripes(width: 400, height: 360, period: 6)
        let mask = try Fixtures.rect(width: 400, height: 360, x: 110, y: 95, w: 180, h: 170)
        let result = try PatchMatchRemover().inpaint(image, mask: mask)
        Fixtures.assertUnmaskedExact(result, image, mask)
        let err = Fixtures.maskedMSE(result, image, mask)
        let telea = Fixtures.maskedMSE(try TeleaRemover().inpaint(image, mask: mask), image, mask)
        XCTAssertLessThan(err, telea * 0.5, "patchmatch \(err) vs telea \(telea)")
        // The field upsampled between levels must not depend on scheduling either.
        let saved = PatchMatchThreads.concurrent
        defer { PatchMatchThreads.concurrent = saved }
        PatchMatchThreads.concurrent = false
        XCTAssertEqual(try PatchMatchRemover().inpaint(image, mask: mask), result)
    }
}

final class CopyReliabilityTests: XCTestCase {
    private func meanShare(_ image: Image, _ mask: Mask) throws -> Float {
        let hole = mask.values.map { $0 >= 0.5 }
        let share = try XCTUnwrap(CopyReliability.smoothShare(image: Plane(image), hole: hole, radius: 3, seed: 0))
        var total: Float = 0
        for p in 0..<hole.count where hole[p] { total += share[p] }
        return total / Float(hole.filter { $0 }.count)
    }

    func testRepeatingTextureKeepsCopies() throws {
        let mask = try Fixtures.rect(width: 64, height: 64, x: 22, y: 20, w: 18, h: 16)
        XCTAssertLessThan(try meanShare(try Fixtures.stripes(), mask), 0.01)
        XCTAssertLessThan(try meanShare(try Fixtures.checkerboard(), mask), 0.01)
    }

    func testNonRepeatingContextCallsForTheSmoothFill() throws {
        // A gradient: any copy from elsewhere is offset, while a patch's own variance is tiny.
        let mask = try Fixtures.rect(width: 64, height: 48, x: 20, y: 14, w: 16, h: 12)
        XCTAssertGreaterThan(try meanShare(try Fixtures.gradient(), mask), 0.9)
        // White noise: the best copy differs by about twice the patch variance, so the share nears 2/3.
        var noise = try Image(width: 96, height: 96, channels: 3)
        var state: UInt64 = 11
        for i in 0..<noise.pixels.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            noise.pixels[i] = Float(state >> 40) / Float(1 << 24)
        }
        let share = try meanShare(noise, try Fixtures.rect(width: 96, height: 96, x: 36, y: 36, w: 20, h: 20))
        XCTAssertGreaterThan(share, 0.5)
        XCTAssertLessThan(share, 0.75)
    }

    func testAdaptiveDefaultFillsAGradientSmoothly() throws {
        let image = try Fixtures.gradient()
        let mask = try Fixtures.rect(width: 64, height: 48, x: 20, y: 14, w: 16, h: 12)
        let result = try PatchMatchRemover().inpaint(image, mask: mask)
        Fixtures.assertUnmaskedExact(result, image, mask)
        let sharp = try PatchMatchRemover(adaptive: false).inpaint(image, mask: mask)
        // A linear ramp is harmonic, so the membrane fill nearly reproduces it; copies cannot.
        XCTAssertLessThan(Fixtures.maskedMSE(result, image, mask), 1e-5)
        XCTAssertLessThan(Fixtures.maskedMSE(result, image, mask), Fixtures.maskedMSE(sharp, image, mask) * 0.1)
    }

    func testRegistryOption() throws {
        let plain = try XCTUnwrap(try Removers.make("patchmatch") as? PatchMatchRemover)
        XCTAssertTrue(plain.adaptive)
        let off = try XCTUnwrap(try Removers.make("patchmatch", options: ["adaptive": 0]) as? PatchMatchRemover)
        XCTAssertFalse(off.adaptive)
        XCTAssertThrowsError(try Removers.make("patchmatch", options: ["adaptive": 2])) { error in
            XCTAssertTrue("\(error)".contains("adaptive"), "\(error)")
        }
    }
}
