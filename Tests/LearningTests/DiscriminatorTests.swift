import XCTest
import Imaging
import Learning
import Tensor

final class DiscriminatorTests: XCTestCase {
    let net = DiscriminatorConfig(widths: [8, 16], groups: 4, resolution: 16, contextMargin: 0.5, minimumContext: 4)

    func testSeparatesCleanRemovalsFromObjectsLeftIn() throws {
        try separates(with: net)
    }

    func testMaskedMeanHeadSeparatesCleanRemovalsFromObjectsLeftIn() throws {
        var config = net
        config.head = .maskedMean
        try separates(with: config)
    }

    func separates(with config: DiscriminatorConfig) throws {
        let data = InMemoryJudgedData(try SyntheticData.judgedSet(count: 256, size: 16, seed: 1))
        let heldOut = try SyntheticData.judgedSet(count: 16, size: 16, seed: 77)
        let judge = try Discriminator(config: config, seed: 0)
        let config = TrainingConfig(steps: 300, batchSize: 8, learningRate: 3e-3, warmupSteps: 10)
        let report = try Trainer(config: config).train(judge, on: data)
        let first = report.losses.prefix(10).reduce(0, +) / 10, last = report.losses.suffix(10).reduce(0, +) / 10
        XCTAssertLessThan(last, 0.3 * first, "loss should fall: first 10 steps \(first), last 10 \(last)")

        let scores = try judge.scores(heldOut.map { ($0.source, $0.mask, $0.result) })
        let good = zip(heldOut, scores).filter { $0.0.label == 1 }.map(\.1)
        let bad = zip(heldOut, scores).filter { $0.0.label == 0 }.map(\.1)
        XCTAssertGreaterThan(good.min() ?? 0, 0.7, "clean removals: \(good)")
        XCTAssertLessThan(bad.max() ?? 1, 0.3, "objects left in: \(bad)")
        for s in scores { XCTAssertTrue((0...1).contains(s)) }
        XCTAssertEqual(try judge.score(source: heldOut[0].source, mask: heldOut[0].mask, result: heldOut[0].result), scores[0], accuracy: 1e-6)
    }

    func testMaskedMeanHeadAveragesItsQualityMapOverTheMask() throws {
        var config = net
        config.head = .maskedMean
        let judge = try Discriminator(config: config, seed: 3)
        XCTAssertEqual(judge.network.namedParameters().map(\.name).filter { $0.hasSuffix("weight") },
                       ["map.0.conv.weight", "map.0.norm.weight", "map.1.conv.weight", "map.1.norm.weight", "out.weight"])
        let examples = try SyntheticData.judgedSet(count: 3, size: 16, seed: 5)
        let input = try Tensor.concat(examples.map { try judge.prepare(source: $0.source, mask: $0.mask, result: $0.result) }, axis: 0)
        let (scores, map) = try GradMode.noGrad { (try judge.forward(input), try judge.network.qualityMap(input)) }
        XCTAssertEqual(map.shape, [3, 1, 16, 16])
        let plane = 16 * 16
        for n in 0..<3 {
            var weighted = 0.0, area = 0.0
            for j in 0..<plane {
                let m = Double(input.values[(n * 10 + 3) * plane + j])
                weighted += Double(map.values[n * plane + j]) * m
                area += m
            }
            let mean = weighted / area
            XCTAssertEqual(Double(scores.values[n]), log1p(exp(mean)), accuracy: 1e-4, "example \(n)")
        }
        // The head and its weights survive a checkpoint.
        let path = try SyntheticData.scratchDirectory() + "/masked-mean.safetensors"
        try judge.save(path: path)
        let loaded = try Discriminator.load(path: path)
        XCTAssertEqual(loaded.config.head, .maskedMean)
        let again = try GradMode.noGrad { try loaded.forward(input) }
        XCTAssertEqual(again.values.map(\.bitPattern), scores.values.map(\.bitPattern))
    }

    func testCheckpointRoundTripIsBitExact() throws {
        let path = try SyntheticData.scratchDirectory() + "/judge.safetensors"
        let judge = try Discriminator(config: net, seed: 0)
        try judge.save(path: path)
        let loaded = try Discriminator.load(path: path)
        XCTAssertEqual(loaded.config, net)
        let s = try SyntheticData.judgedSet(count: 1, size: 16, seed: 3)[0]
        let input = try judge.prepare(source: s.source, mask: s.mask, result: s.result)
        let a = try GradMode.noGrad { try judge.forward(input) }, b = try GradMode.noGrad { try loaded.forward(input) }
        XCTAssertEqual(a.values.map(\.bitPattern), b.values.map(\.bitPattern))
    }

    func testContextBoxKeepsSmallObjectsLarge() throws {
        let judge = try Discriminator(config: DiscriminatorConfig(resolution: 64, contextMargin: 0.5, minimumContext: 8))
        let mask = try Mask.box(width: 400, height: 300, rect: PixelRect(x: 100, y: 200, width: 20, height: 10))
        // Box 20x10, context max(8, 10) on each side: a 40x40 square around the centre (110, 205).
        XCTAssertEqual(judge.contextBox(for: mask), PixelRect(x: 90, y: 185, width: 40, height: 40))
        // Near the border the square slides inside the image.
        let corner = try Mask.box(width: 400, height: 300, rect: PixelRect(x: 0, y: 0, width: 4, height: 4))
        XCTAssertEqual(judge.contextBox(for: corner), PixelRect(x: 0, y: 0, width: 20, height: 20))
        let empty = try Mask(width: 50, height: 30)
        XCTAssertEqual(judge.contextBox(for: empty), PixelRect(x: 0, y: 0, width: 50, height: 30))

        let image = try Image(width: 400, height: 300, channels: 3, value: 0.5)
        let input = try judge.prepare(source: image, mask: mask, result: image)
        XCTAssertEqual(input.shape, [1, 10, 64, 64])
        // The mask channel (index 3) covers the middle half of the crop's width: 20 of 40 px.
        let maskPlane = Array(input.values[(3 * 64 * 64)..<(4 * 64 * 64)])
        XCTAssertEqual(Double(maskPlane.reduce(0, +)) / Double(64 * 64), 20.0 * 10.0 / 1600.0, accuracy: 0.01)
    }

    func testBadInputsAndConfigsThrow() throws {
        let judge = try Discriminator(config: net)
        let a = try Image(width: 16, height: 16), m = try Mask(width: 8, height: 8)
        XCTAssertThrowsError(try judge.score(source: a, mask: m, result: a))
        XCTAssertThrowsError(try Discriminator(config: DiscriminatorConfig(resolution: 48))) { error in
            XCTAssertTrue("\(error)".contains("resolution 48"), "\(error)")
        }
        var s = try SyntheticData.judgedSet(count: 1, size: 16, seed: 3)[0]
        s.label = 2
        XCTAssertThrowsError(try Trainer(config: TrainingConfig(steps: 1, batchSize: 1)).train(judge, on: InMemoryJudgedData([s]))) { error in
            XCTAssertTrue("\(error)".contains("label 2"), "\(error)")
        }
    }
}
