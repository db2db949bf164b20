import Foundation
import Imaging
import XCTest
@testable import Curation

final class SynthTests: XCTestCase {
    func testSameSeedSamePixelsDifferentSeedDifferentPixels() throws {
        var options = SynthOptions(count: 6, width: 40, height: 32, seed: 7)
        options.shadows = true
        options.distractors = 1
        let a = try Synth.make(options), b = try Synth.make(options)
        XCTAssertEqual(a.count, 6)
        for i in 0..<6 {
            XCTAssertEqual(try a[i].loadSource(), try b[i].loadSource())
            XCTAssertEqual(try a[i].loadMask(), try b[i].loadMask())
            XCTAssertEqual(try a[i].loadTarget(), try b[i].loadTarget())
        }
        options.seed = 8
        let c = try Synth.make(options)
        XCTAssertNotEqual(try a[0].loadSource(), try c[0].loadSource())
        // Scene i does not depend on the count: a shorter set is a prefix.
        options.seed = 7
        options.count = 2
        XCTAssertEqual(try Synth.make(options)[1].loadSource(), try a[1].loadSource())
    }

    /// A fixed checksum guards against unnoticed changes to the generator (which would change every experiment).
    func testPixelsArePinned() throws {
        let ds = try Synth.make(count: 2, width: 24, height: 16, seed: 1)
        // Hash the 8-bit samples, not PNG bytes, so that a different zlib cannot move the pin.
        var bytes: [UInt8] = []
        for pair in ds {
            for image in [try pair.loadSource(), try XCTUnwrap(pair.loadTarget()), try pair.loadMask().asImage()] {
                bytes += image.pixels.map { UInt8(($0 * 255).rounded()) }
            }
        }
        let digest = SHA256.hex(bytes)
        XCTAssertEqual(digest, "91078c42d76b5173d0f972e1f5fdf128ec422ac8a7e685a39ba85b4c0dae1b85",
                       "the generator's output changed; if on purpose, update the pin and say so (old datasets differ)")
    }

    func testSourceDiffersFromTargetOnlyInsideMaskWhenMaskCoversShadow() throws {
        var options = SynthOptions(count: 8, width: 48, height: 48, seed: 3)
        options.shadows = true
        options.maskDilation = 0
        for pair in try Synth.make(options) {
            let s = try pair.loadSource(), t = try XCTUnwrap(pair.loadTarget()), m = try pair.loadMask()
            XCTAssertGreaterThan(m.maskedCount, 20, pair.name)
            XCTAssertLessThan(m.area, 0.6, pair.name)
            var changedOutside = 0, changedInside = 0
            for i in 0..<m.pixelCount {
                var differs = false
                for k in 0..<3 where abs(s.pixels[i * 3 + k] - t.pixels[i * 3 + k]) > Float(1.5 / 255) { differs = true }
                if differs { if m.isMasked(i) { changedInside += 1 } else { changedOutside += 1 } }
            }
            // Faint anti-aliasing and the far shadow tail (below the 0.15 cut) may differ by a few levels outside.
            XCTAssertLessThan(changedOutside, m.pixelCount / 20, pair.name)
            XCTAssertGreaterThan(changedInside, m.maskedCount / 3, pair.name)
            // Every sample is k/255, so 8-bit storage is exact.
            let offGrid = s.pixels.filter { (v: Float) -> Bool in
                let scaled: Float = v * 255
                return scaled.rounded() != scaled
            }
            XCTAssertTrue(offGrid.isEmpty, pair.name)
        }
    }

    func testShadowOutsideMaskMakesHarderPairs() throws {
        var options = SynthOptions(count: 6, width: 48, height: 48, seed: 4)
        options.shadows = true
        options.maskCoversShadow = false
        options.maskDilation = 0
        var outside = 0
        for pair in try Synth.make(options) {
            let s = try pair.loadSource(), t = try XCTUnwrap(pair.loadTarget()), m = try pair.loadMask()
            for i in 0..<m.pixelCount where !m.isMasked(i) && abs(s.pixels[i * 3] - t.pixels[i * 3]) > 4 / 255 { outside += 1 }
        }
        XCTAssertGreaterThan(outside, 50, "the shadow is left outside the mask")
    }

    /// Where the shadow left outside the mask lies relative to the mask, per scene: (dx, dy) between the centroids of
    /// the darkened pixels and of the mask.
    private func shadowOffsets(light: SynthLight, count: Int) throws -> [(Double, Double)] {
        var options = SynthOptions(count: count, width: 48, height: 48, seed: 11)
        options.backgrounds = [.gradient]
        options.shadows = true
        options.maskCoversShadow = false
        options.maskDilation = 0
        options.light = light
        return try Synth.make(options).map { pair in
            let s = try pair.loadSource(), t = try XCTUnwrap(pair.loadTarget()), m = try pair.loadMask()
            var shadow = (x: 0.0, y: 0.0, n: 0.0), hole = (x: 0.0, y: 0.0, n: 0.0)
            for y in 0..<m.height {
                for x in 0..<m.width {
                    let i = y * m.width + x
                    if m.isMasked(i) { hole = (hole.x + Double(x), hole.y + Double(y), hole.n + 1) }
                    else if t.pixels[i * 3] - s.pixels[i * 3] > 4 / 255 { shadow = (shadow.x + Double(x), shadow.y + Double(y), shadow.n + 1) }
                }
            }
            guard shadow.n > 0, hole.n > 0 else { return (0, 0) }
            return (shadow.x / shadow.n - hole.x / hole.n, shadow.y / shadow.n - hole.y / hole.n)
        }
    }

    func testLightFromAboveCastsShadowsDownAndFromAnySideEverywhere() throws {
        let above = try shadowOffsets(light: .above, count: 16)
        XCTAssertTrue(above.allSatisfy { $0.1 >= 0 }, "from above every shadow falls below its object: \(above)")
        XCTAssertGreaterThan(above.filter { $0.1 > 0.5 }.count, 12)
        let any = try shadowOffsets(light: .any, count: 24)
        XCTAssertGreaterThan(any.filter { $0.1 < -0.5 }.count, 3, "from any side some shadows fall upwards: \(any)")
        XCTAssertGreaterThan(any.filter { $0.1 > 0.5 }.count, 3)
        XCTAssertGreaterThan(any.filter { $0.0 < -0.5 }.count, 3)
        XCTAssertGreaterThan(any.filter { $0.0 > 0.5 }.count, 3)
    }

    func testStripeAnglesSetTheDirectionOfTheBands() throws {
        /// Summed absolute change between neighbours along x and along y of the backgrounds (the targets).
        func changes(_ angles: ClosedRange<Double>) throws -> (alongX: Double, alongY: Double) {
            var options = SynthOptions(count: 6, width: 32, height: 32, seed: 5)
            options.backgrounds = [.stripes]
            options.stripeAngles = angles
            var dx = 0.0, dy = 0.0
            for pair in try Synth.make(options) {
                let t = try XCTUnwrap(pair.loadTarget())
                for y in 0..<31 {
                    for x in 0..<31 {
                        let i = (y * 32 + x) * 3
                        dx += Double(abs(t.pixels[i + 3] - t.pixels[i])); dy += Double(abs(t.pixels[i + 32 * 3] - t.pixels[i]))
                    }
                }
            }
            return (dx, dy)
        }
        // Horizontal bands change only from row to row; vertical ones only from column to column.
        let horizontal = try changes(0...0), vertical = try changes(90...90)
        XCTAssertLessThan(horizontal.alongX, 0.01 * horizontal.alongY, "\(horizontal)")
        XCTAssertLessThan(vertical.alongY, 0.01 * vertical.alongX, "\(vertical)")
        var options = SynthOptions(count: 1)
        options.stripeAngles = -400...0
        XCTAssertThrowsError(try Synth.make(options)) { XCTAssertTrue("\($0)".contains("stripeAngles"), "\($0)") }
    }

    func testBadOptionsAreNamedAndPhotosAreUsed() throws {
        var options = SynthOptions(count: 2)
        options.width = 2
        XCTAssertThrowsError(try Synth.make(options)) { XCTAssertTrue("\($0)".contains("width"), "\($0)") }
        options = SynthOptions(count: 2)
        options.backgrounds = [.photo]
        XCTAssertThrowsError(try Synth.make(options)) { XCTAssertTrue("\($0)".contains("photoFolder"), "\($0)") }

        let folder = try temporaryFolder(self, "photos")
        try ImageIO.save(try patternImage(width: 50, height: 40, seed: 9), to: folder + "/a.png")
        options.photoFolder = folder
        let ds = try Synth.make(options)
        let t = try XCTUnwrap(ds[0].loadTarget())
        XCTAssertEqual(t.width, 64)
        // The photo background is not one of the two-colour procedural kinds: many distinct values.
        XCTAssertGreaterThan(Set(t.pixels).count, 30)
    }

    func testPreviewGrid() throws {
        guard let out = ProcessInfo.processInfo.environment["ROREM_SYNTH_PREVIEW"] else { return }
        var options = SynthOptions(count: 8, width: 96, height: 96, seed: 11)
        options.shadows = true
        options.distractors = 1
        var cells: [Image] = []
        for p in try Synth.make(options) {
            cells += [try p.loadSource(), try p.loadSource().overlay(p.loadMask()), try XCTUnwrap(p.loadTarget())]
        }
        try ImageIO.save(try Image.grid(cells, columns: 6), to: out)
        // And the contact sheet a reviewer would see for these scenes (results: the sources, i.e. nothing removed).
        let store = try Store(path: try temporaryFolder(self, "preview"))
        try store.saveDataset(try Synth.make(options))
        let ids = try store.generate(dataset: "synth-s11", model: "truth") { s, _ in s }
        try ImageIO.save(try OfflineReview.contactSheet(try store.candidates(ids: Array(ids.prefix(4))), thumbnail: 96),
                         to: (out as NSString).deletingPathExtension + "-sheet.png")
    }
}
