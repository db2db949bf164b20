import Imaging
@testable import Removal
import XCTest

/// A remover that is deliberately not equivariant: it fills every masked pixel with its column's position,
/// x / (width - 1), in all channels. Views of the same hole therefore give different fills.
private struct ColumnRamp: Remover {
    var name: String { "ramp" }
    var workingSize: Int? { nil }
    func inpaint(_ image: Image, mask: Mask) throws -> Image {
        var out = image
        for y in 0..<image.height {
            for x in 0..<image.width where mask.isMasked(x: x, y: y) {
                for c in 0..<image.channels { out[x, y, c] = Float(x) / Float(image.width - 1) }
            }
        }
        return out
    }
}

final class OrientedRemoverTests: XCTestCase {
    /// A 7 x 5 image (not square, so quarter turns swap the sides) with a distinct value in every sample.
    private func numbered() throws -> Image {
        var img = try Image(width: 7, height: 5, channels: 3)
        for y in 0..<5 { for x in 0..<7 { for c in 0..<3 { img[x, y, c] = Float((y * 7 + x) * 3 + c) / 105 } } }
        return img
    }

    func testEveryOrientationIsUndoneByItsInverse() throws {
        let img = try numbered()
        for k in 1...8 {
            let there = img.oriented(exif: k)
            XCTAssertEqual(there.width, k >= 5 ? 5 : 7, "orientation \(k)")
            XCTAssertEqual(there.oriented(exif: OrientedRemover.inverse(of: k)), img, "orientation \(k)")
        }
        // The eight views are eight different images.
        XCTAssertEqual(Set((1...8).map { img.oriented(exif: $0).pixels }).count, 8)
    }

    func testAViewFillsTheSameHoleAndTurnsTheFillBack() throws {
        let img = try numbered()
        var mask = try Mask(width: 7, height: 5)
        for y in 1...3 { for x in 1...2 { mask.values[y * 7 + x] = 1 } }
        let base = ColumnRamp()
        XCTAssertEqual(try OrientedRemover(base, orientation: 1).remove(img, mask: mask), try base.remove(img, mask: mask))
        var fills: Set<[Float]> = []
        for k in 1...8 {
            let out = try OrientedRemover(base, orientation: k).remove(img, mask: mask)
            XCTAssertEqual(out.width, 7); XCTAssertEqual(out.height, 5)
            for y in 0..<5 {
                for x in 0..<7 where !mask.isMasked(x: x, y: y) {
                    for c in 0..<3 { XCTAssertEqual(out[x, y, c], img[x, y, c], "orientation \(k) changed an unmasked pixel") }
                }
            }
            fills.insert(out.pixels)
        }
        XCTAssertGreaterThan(fills.count, 1, "a remover that depends on orientation gives different fills in different views")
        // On the whole image (inpaint, no crop), mirroring left-right (2) reverses the ramp within the hole: the hole spans columns 1...2, so in the
        // mirrored 7-wide view it spans columns 4...5 and the ramp there reads 4/6 and 5/6, back at x = 2 and 1.
        let mirrored = try OrientedRemover(base, orientation: 2).inpaint(img, mask: mask)
        XCTAssertEqual(mirrored[1, 2, 0], 5.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(mirrored[2, 2, 0], 4.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(try OrientedRemover(base, orientation: 6).name, "ramp@6")
    }

    func testOrientationOutsideOneToEightIsRefused() {
        for bad in [0, 9, -1] {
            XCTAssertThrowsError(try OrientedRemover(ColumnRamp(), orientation: bad)) { error in
                XCTAssertTrue("\(error)".contains("must be in 1...8"), "\(error)")
            }
        }
    }
}
