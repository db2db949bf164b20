import XCTest
import Imaging
@testable import Learning
import Tensor

/// The judge's shift residual: what a translated copy of the surroundings predicts inside a hole.
final class ShiftPredictionTests: XCTestCase {
    /// A `size` px image of two-colour bands `period` px wide whose direction is `degrees` from horizontal, and a
    /// centred square hole of side `side`.
    private func bands(size: Int = 32, period: Double = 6, degrees: Double, side: Int = 10) throws -> (Image, Mask) {
        var image = try Image(width: size, height: size, channels: 3)
        let a = degrees * .pi / 180, (nx, ny) = (-sin(a), cos(a))   // across the bands
        let dark: [Float] = [0.1, 0.2, 0.5], light: [Float] = [0.9, 0.8, 0.3]
        for y in 0..<size {
            for x in 0..<size {
                let t = (Double(x) * nx + Double(y) * ny) / period
                let colour = Int(floor(t)) % 2 == 0 ? dark : light
                for c in 0..<3 { image[x, y, c] = colour[c] }
            }
        }
        let mask = try Mask.box(width: size, height: size, rect: PixelRect(x: (size - side) / 2, y: (size - side) / 2, width: side, height: side))
        return (image, mask)
    }

    /// Mean absolute difference between `a` and `b` over the masked pixels.
    private func holeError(_ a: Image, _ b: Image, _ mask: Mask) -> Float {
        var sum: Float = 0, n = 0
        for i in 0..<mask.pixelCount where mask.isMasked(i) {
            for c in 0..<3 { sum += abs(a.pixels[i * 3 + c] - b.pixels[i * 3 + c]) }
            n += 3
        }
        return sum / Float(n)
    }

    func testShiftContinuesBandsAtAnyAngleWhereTheSmoothPredictionBlursThem() throws {
        for degrees in [0.0, 90, 45, -30, 63] {
            let (clean, mask) = try bands(degrees: degrees)
            let (predicted, shift) = try ShiftPrediction.prediction(source: clean, mask: mask)
            XCTAssertNotNil(shift, "\(degrees) degrees: a shift along the bands covers the hole")
            let shifted = holeError(predicted, clean, mask), smooth = holeError(try ContextResidual.prediction(source: clean, mask: mask), clean, mask)
            XCTAssertLessThan(shifted, 0.05, "\(degrees) degrees: the shifted copy continues the bands (smooth: \(smooth))")
            XCTAssertGreaterThan(smooth, 0.15, "\(degrees) degrees: a smooth prediction blurs the bands")
            for i in 0..<mask.pixelCount where !mask.isMasked(i) {
                for c in 0..<3 { XCTAssertEqual(predicted.pixels[i * 3 + c], clean.pixels[i * 3 + c]) }
            }
        }
    }

    func testResidualIsSmallForAFillThatContinuesTheBandsAndLargeForASmear() throws {
        let (clean, mask) = try bands(degrees: 30)
        var smear = clean
        for i in 0..<mask.pixelCount where mask.isMasked(i) { for c in 0..<3 { smear.pixels[i * 3 + c] = 0.5 } }
        func magnitude(_ result: Image) throws -> (inside: Float, outside: Float) {
            let r = try ShiftPrediction.compute(source: clean, mask: mask, result: result)   // (1, 3, H, W)
            XCTAssertEqual(r.shape, [1, 3, 32, 32])
            let plane = 32 * 32
            var inside: Float = 0, outside: Float = 0
            for c in 0..<3 { for i in 0..<plane { if mask.isMasked(i) { inside += abs(r.values[c * plane + i]) } else { outside += abs(r.values[c * plane + i]) } } }
            return (inside / Float(3 * mask.values.filter { $0 >= 0.5 }.count), outside)
        }
        let good = try magnitude(clean), bad = try magnitude(smear)
        XCTAssertLessThan(good.inside, 0.2)
        XCTAssertGreaterThan(bad.inside, 1)
        XCTAssertEqual(good.outside + bad.outside, 0)
    }

    func testFlatBackgroundsAndDegenerateMasks() throws {
        var flat = try Image(width: 16, height: 16, channels: 3)
        for i in 0..<(16 * 16) { flat.pixels[i * 3] = 0.3; flat.pixels[i * 3 + 1] = 0.6; flat.pixels[i * 3 + 2] = 0.9 }
        let hole = try Mask.box(width: 16, height: 16, rect: PixelRect(x: 5, y: 6, width: 5, height: 4))
        let p = try ShiftPrediction.prediction(source: flat, mask: hole).image
        for (a, b) in zip(p.pixels, flat.pixels) { XCTAssertEqual(a, b, accuracy: 1e-6) }

        // No context, or nothing to predict: the smooth prediction and no shift.
        let full = try Mask(width: 16, height: 16, value: 1)
        let none = try ShiftPrediction.prediction(source: flat, mask: full)
        XCTAssertNil(none.shift)
        XCTAssertTrue(none.image.pixels.allSatisfy { $0 == 0.5 })
        XCTAssertNil(try ShiftPrediction.prediction(source: flat, mask: try Mask(width: 16, height: 16)).shift)
        // A hole too large for any shift to cover: the smooth prediction.
        let big = try Mask.box(width: 16, height: 16, rect: PixelRect(x: 1, y: 1, width: 14, height: 14))
        XCTAssertNil(try ShiftPrediction.prediction(source: flat, mask: big).shift)
        // A one-pixel image with its one pixel masked.
        XCTAssertNil(try ShiftPrediction.prediction(source: try Image(width: 1, height: 1, channels: 3), mask: try Mask(width: 1, height: 1, value: 1)).shift)

        XCTAssertThrowsError(try ShiftPrediction.prediction(source: flat, mask: try Mask(width: 8, height: 8)))
        XCTAssertThrowsError(try ShiftPrediction.compute(source: flat, mask: hole, result: try Image(width: 8, height: 8)))
    }

    func testConfigFlagAddsThreeChannelsAndRoundTrips() throws {
        let old = #"{"widths":[8,16],"groups":4,"resolution":16,"contextMargin":0.5,"minimumContext":4,"contextResidual":true}"#
        let decoded = try JSONDecoder().decode(DiscriminatorConfig.self, from: Data(old.utf8))
        XCTAssertFalse(decoded.shiftResidual, "checkpoints from before the shift residual load without it")
        XCTAssertEqual(decoded.inputChannels, 10)
        let both = DiscriminatorConfig(widths: [8, 16], groups: 4, resolution: 16, shiftResidual: true, head: .maskedMean)
        XCTAssertEqual(both.inputChannels, 13)
        XCTAssertEqual(try JSONDecoder().decode(DiscriminatorConfig.self, from: JSONEncoder().encode(both)), both)

        let (image, mask) = try bands(size: 16, degrees: 20, side: 4)
        let judge = try Discriminator(config: both, seed: 1)
        XCTAssertEqual(try judge.prepare(source: image, mask: mask, result: image).shape, [1, 13, 16, 16])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shift-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try judge.save(path: path)
        let loaded = try Discriminator.load(path: path)
        XCTAssertEqual(loaded.config, both)
        XCTAssertEqual(try loaded.score(source: image, mask: mask, result: image), try judge.score(source: image, mask: mask, result: image))
    }
}
