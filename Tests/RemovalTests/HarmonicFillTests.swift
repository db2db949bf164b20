import Imaging
@testable import Removal
import XCTest

final class HarmonicFillTests: XCTestCase {
    /// A plane is harmonic (zero discrete Laplacian), so the membrane fill must reproduce it.
    func testReproducesALinearRamp() throws {
        let w = 70, h = 50
        var data = [Float](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { data[(y * w + x) * 3 + c] = 0.1 + 0.01 * Float(x) + 0.004 * Float(y) * Float(c) } } }
        let hole = try Fixtures.rect(width: w, height: h, x: 20, y: 10, w: 30, h: 25).values.map { $0 >= 0.5 }
        var plane = Plane(width: w, height: h, channels: 3, data: data)
        for p in 0..<hole.count where hole[p] { for c in 0..<3 { plane.data[p * 3 + c] = 1 } }
        HarmonicFill.fill(&plane, hole: hole)
        var worst: Float = 0
        for i in 0..<data.count { worst = max(worst, abs(plane.data[i] - data[i])) }
        XCTAssertLessThan(worst, 2e-3)
    }

    func testSmoothingOneGivesTheMembraneFill() throws {
        let image = try Fixtures.stripes(width: 48, height: 40)
        let mask = try Fixtures.rect(width: 48, height: 40, x: 15, y: 12, w: 14, h: 12)
        let full = try PatchMatchRemover(smoothing: 1).inpaint(image, mask: mask)
        var plane = Plane(image)
        HarmonicFill.fill(&plane, hole: mask.values.map { $0 >= 0.5 })
        XCTAssertEqual(full.pixels.count, plane.data.count)
        for i in 0..<min(full.pixels.count, plane.data.count) { XCTAssertEqual(full.pixels[i], plane.data[i], accuracy: 1e-6) }
        let half = try PatchMatchRemover(smoothing: 0.5, adaptive: false).inpaint(image, mask: mask)
        let sharp = try PatchMatchRemover(adaptive: false).inpaint(image, mask: mask)
        Fixtures.assertUnmaskedExact(half, image, mask)
        for i in stride(from: 0, to: half.pixels.count, by: 97) {
            XCTAssertEqual(half.pixels[i], 0.5 * (sharp.pixels[i] + full.pixels[i]), accuracy: 1e-5)
        }
    }
}

final class MaskOpsTests: XCTestCase {
    func testSquareDilationClipsAtTheBorder() {
        var mask = [Bool](repeating: false, count: 10 * 8)
        mask[4 * 10 + 5] = true   // (5, 4)
        mask[0] = true            // (0, 0)
        let grown = MaskOps.dilated(mask, width: 10, height: 8, radius: 2)
        XCTAssertEqual(grown.filter { $0 }.count, 25 + 9)
        XCTAssertTrue(grown[6 * 10 + 7] && grown[2 * 10 + 3] && !grown[4 * 10 + 8] && !grown[1 * 10 + 5])
    }
}
