import XCTest
import Imaging
@testable import Learning
import Tensor

/// The discriminator's context residual, its configuration flag, and the label-preserving augmentations.
final class ContextResidualTests: XCTestCase {
    /// A `size` px image filled with `background`, with a square hole of side `side` at the centre.
    private func scene(size: Int = 24, side: Int = 8, background: [Float]) throws -> (Image, Mask) {
        var image = try Image(width: size, height: size, channels: 3)
        for y in 0..<size { for x in 0..<size { for c in 0..<3 { image[x, y, c] = background[c] } } }
        let mask = try Mask.box(width: size, height: size, rect: PixelRect(x: (size - side) / 2, y: (size - side) / 2, width: side, height: side))
        return (image, mask)
    }

    func testPredictionContinuesAFlatBackgroundAndAGradient() throws {
        let (flat, mask) = try scene(background: [0.2, 0.6, 0.9])
        let predicted = try ContextResidual.prediction(source: flat, mask: mask)
        for (a, b) in zip(predicted.pixels, flat.pixels) { XCTAssertEqual(a, b, accuracy: 1e-5) }

        // A horizontal ramp: the weighted average of the ring is close to the ramp inside the hole.
        var ramp = try Image(width: 24, height: 24, channels: 3)
        for y in 0..<24 { for x in 0..<24 { for c in 0..<3 { ramp[x, y, c] = Float(x) / 23 } } }
        let p = try ContextResidual.prediction(source: ramp, mask: mask)
        XCTAssertEqual(p[12, 12, 0], ramp[12, 12, 0], accuracy: 0.03)
        XCTAssertLessThan(p[9, 12, 0], p[14, 12, 0], "the prediction keeps the ramp's direction")
    }

    func testResidualIsZeroOutsideTheMaskAndMeasuresTheFillsDistanceFromItsSurroundings() throws {
        let (clean, mask) = try scene(background: [0.5, 0.3, 0.1])
        var blob = clean, faint = clean
        for i in 0..<mask.pixelCount where mask.isMasked(i) {
            for c in 0..<3 { blob.pixels[i * 3 + c] = 0.9; faint.pixels[i * 3 + c] += 0.02 }
        }
        func magnitude(_ result: Image) throws -> (inside: Float, outside: Float) {
            let r = try ContextResidual.compute(source: clean, mask: mask, result: result)   // (1, 3, H, W)
            XCTAssertEqual(r.shape, [1, 3, 24, 24])
            var inside: Float = 0, outside: Float = 0
            let plane = 24 * 24
            for c in 0..<3 { for i in 0..<plane { if mask.isMasked(i) { inside += abs(r.values[c * plane + i]) } else { outside += abs(r.values[c * plane + i]) } } }
            return (inside / Float(3 * mask.values.filter { $0 >= 0.5 }.count), outside)
        }
        let good = try magnitude(clean), weak = try magnitude(faint), bad = try magnitude(blob)
        XCTAssertEqual(good.inside, 0, accuracy: 1e-5)
        XCTAssertEqual(weak.inside, ContextResidual.gain * 0.02, accuracy: 1e-4)
        XCTAssertGreaterThan(bad.inside, 1)
        XCTAssertEqual(good.outside + weak.outside + bad.outside, 0)
    }

    func testPredictionHandlesAFullMaskAndRejectsMismatchedSizes() throws {
        let (image, _) = try scene(background: [0.1, 0.2, 0.3])
        let full = try Mask(width: 24, height: 24, value: 1)
        let p = try ContextResidual.prediction(source: image, mask: full)
        XCTAssertTrue(p.pixels.allSatisfy { $0 == 0.5 }, "no context at all: mid-gray")
        XCTAssertThrowsError(try ContextResidual.prediction(source: image, mask: try Mask(width: 8, height: 8)))
        XCTAssertThrowsError(try ContextResidual.compute(source: image, mask: full, result: try Image(width: 8, height: 8)))
    }

    func testConfigDecodesOldCheckpointsWithoutTheResidual() throws {
        let old = #"{"widths":[8,16],"groups":4,"resolution":16,"contextMargin":0.5,"minimumContext":4}"#
        let decoded = try JSONDecoder().decode(DiscriminatorConfig.self, from: Data(old.utf8))
        XCTAssertFalse(decoded.contextResidual)
        XCTAssertEqual(decoded.head, .strided, "checkpoints from before the masked-mean head have RORem's")
        XCTAssertEqual(decoded.inputChannels, 7)
        let current = DiscriminatorConfig(widths: [8, 16], groups: 4, resolution: 16)
        XCTAssertTrue(current.contextResidual)
        XCTAssertEqual(try JSONDecoder().decode(DiscriminatorConfig.self, from: JSONEncoder().encode(current)), current)

        // A 7-channel judge still prepares 7-channel inputs; the default one 10.
        let (image, mask) = try scene(background: [0.4, 0.4, 0.4])
        XCTAssertEqual(try Discriminator(config: decoded).prepare(source: image, mask: mask, result: image).shape, [1, 7, 16, 16])
        XCTAssertEqual(try Discriminator(config: current).prepare(source: image, mask: mask, result: image).shape, [1, 10, 16, 16])
    }

    /// The criterion of the paper-loop's oracle in miniature: a flat fill is accepted when its colour is within 0.06
    /// of the background's. The contrast varies from sample to sample, so only the fill's distance from its
    /// surroundings tells the classes apart; with the residual a small judge learns it from 256 labels.
    func testJudgeLearnsHowFarAFillIsFromItsSurroundings() throws {
        func samples(_ n: Int, seed: UInt64) throws -> [JudgedSample] {
            var rng = RNG(seed: seed)
            return try (0..<n).map { i in
                let bg = (0..<3).map { _ in 0.15 + 0.7 * rng.nextFloat() }
                let (clean, mask) = try scene(size: 16, side: 4 + rng.nextInt(5), background: bg)
                let accept = i % 2 == 0
                let offset: Float = accept ? 0.03 * rng.nextFloat() : 0.1 + 0.15 * rng.nextFloat()
                let sign: Float = rng.nextFloat() < 0.5 ? -1 : 1
                var object = clean, result = clean
                for p in 0..<mask.pixelCount where mask.isMasked(p) {
                    for c in 0..<3 { object.pixels[p * 3 + c] = 1 - bg[c]; result.pixels[p * 3 + c] = min(max(bg[c] + sign * offset, 0), 1) }
                }
                return JudgedSample(source: object, mask: mask, result: result, label: accept ? 1 : 0)
            }
        }
        let judge = try Discriminator(config: DiscriminatorConfig(widths: [8, 16], groups: 4, resolution: 16, minimumContext: 4), seed: 0)
        let config = TrainingConfig(steps: 300, batchSize: 8, learningRate: 3e-3, warmupSteps: 10, quarterTurns: true, colorAugmentation: true)
        _ = try Trainer(config: config).train(judge, on: InMemoryJudgedData(try samples(256, seed: 1)))
        let heldOut = try samples(40, seed: 9)
        let scores = try judge.scores(heldOut.map { ($0.source, $0.mask, $0.result) })
        let good = zip(heldOut, scores).filter { $0.0.label == 1 }.map(\.1), bad = zip(heldOut, scores).filter { $0.0.label == 0 }.map(\.1)
        let correct = good.filter { $0 >= 0.5 }.count + bad.filter { $0 < 0.5 }.count
        XCTAssertGreaterThanOrEqual(correct, 36, "held-out accuracy \(correct)/40; good \(good), bad \(bad)")
    }
}

final class AugmentationTests: XCTestCase {
    func testColorTransformPermutesAndInvertsColourChannelsOnly() throws {
        let image = try Image(width: 1, height: 2, channels: 4, pixels: [0.1, 0.2, 0.3, 0.9, 0.4, 0.5, 0.6, 1])
        let t = ColorTransform(permutation: [2, 0, 1], inverted: true)
        let out = t.apply(image).pixels
        let expected: [Float] = [0.7, 0.9, 0.8, 0.9, 0.4, 0.6, 0.5, 1]
        for (a, b) in zip(out, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let gray = try Image(width: 2, height: 1, channels: 1, pixels: [0.25, 1])
        XCTAssertEqual(ColorTransform(permutation: [1, 2, 0], inverted: true).apply(gray).pixels, [0.75, 0])
    }

    func testJudgedAugmentationKeepsTheLabelAndTheOraclesMeasures() throws {
        var rng = RNG(seed: 5)
        let base = try SyntheticData.flatSet(count: 1, size: 12, seed: 2)[0]
        var result = base.target
        result[3, 4, 1] = 0.9
        let sample = JudgedSample(source: base.source, mask: base.mask, result: result, label: 1)
        // Masked PSNR and L1 between result and source stand in for the oracle's (result against the hidden target).
        let psnr = try Quality.psnr(result, base.source, mask: base.mask), l1 = try Quality.l1(result, base.source, mask: base.mask)
        var config = TrainingConfig(quarterTurns: true, colorAugmentation: true)
        var orientations = Set<Int>()
        for _ in 0..<64 {
            let before = rng
            let out = Augmentation.judged(sample, config: config, rng: &rng)
            XCTAssertEqual(out.label, 1)
            var again = before
            orientations.insert(Augmentation.orientation(config: config, rng: &again))
            XCTAssertEqual(try Quality.psnr(out.result, out.source, mask: out.mask), psnr, accuracy: 1e-6)
            XCTAssertEqual(try Quality.l1(out.result, out.source, mask: out.mask), l1, accuracy: 1e-7)
        }
        XCTAssertEqual(orientations, Set(1...8), "turns draw all eight orientations")
        config.quarterTurns = false
        config.horizontalFlips = false
        XCTAssertEqual(Augmentation.orientation(config: config, rng: &rng), 1, "no flips, no turns: upright")
    }
}
