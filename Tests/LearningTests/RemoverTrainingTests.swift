import XCTest
import Imaging
import Learning
import NN
import Removal
import Tensor

final class RemoverTrainingTests: XCTestCase {
    let net = UNetRemoverConfig(widths: [8, 16, 32], groups: 4, workingSize: 16)

    /// Mean masked L1 of the remover's fill against the known backgrounds of `samples`.
    private func fillError(_ remover: UNetRemover, _ samples: [RemovalSample]) throws -> Double {
        try samples.map { SyntheticData.maskedL1(try remover.inpaint($0.source, mask: $0.mask), $0.target, mask: $0.mask) }
            .reduce(0, +) / Double(samples.count)
    }

    func testLearnsToFillFlatBackgrounds() throws {
        let data = InMemoryRemovalData(try SyntheticData.flatSet(count: 32, size: 16, seed: 1))
        let heldOut = try SyntheticData.flatSet(count: 8, size: 16, seed: 99)
        let remover = try UNetRemover(config: net, seed: 0)
        let before = try fillError(remover, heldOut)
        // Filling with zeros (black) instead: the error is the background's mean value.
        let zeroFill = try heldOut.map { s in
            SyntheticData.maskedL1(try s.target.blanked(s.mask), s.target, mask: s.mask)
        }.reduce(0, +) / Double(heldOut.count)

        let config = TrainingConfig(steps: 150, batchSize: 8, learningRate: 5e-3, warmupSteps: 10, cropSize: 16)
        let report = try Trainer(config: config).train(remover, on: data)
        XCTAssertEqual(report.losses.count, 150)
        XCTAssertFalse(report.stopped)
        let first = report.losses.prefix(10).reduce(0, +) / 10, last = report.losses.suffix(10).reduce(0, +) / 10
        XCTAssertLessThan(last, 0.5 * first, "loss should fall: first 10 steps \(first), last 10 \(last)")

        let after = try fillError(remover, heldOut)
        XCTAssertLessThan(after, 0.12, "fill error on held-out flat backgrounds")
        XCTAssertLessThan(after, 0.5 * before, "before training \(before), after \(after)")
        XCTAssertLessThan(after, 0.3 * zeroFill, "zero fill \(zeroFill), after \(after)")

        // A 48 px image goes through the high-resolution strategy: its crop is downscaled to the working size
        // (16 px), filled, and the fill pasted back at full size.
        let background: [Float] = [0.2, 0.6, 0.4]
        var target = try Image(width: 48, height: 48, channels: 3)
        for i in 0..<(48 * 48) { for c in 0..<3 { target.pixels[i * 3 + c] = background[c] } }
        let mask = try Mask.box(width: 48, height: 48, rect: PixelRect(x: 18, y: 14, width: 12, height: 14))
        var source = target
        for i in 0..<mask.pixelCount where mask.isMasked(i) { for c in 0..<3 { source.pixels[i * 3 + c] = 1 - background[c] } }
        let large = try remover.remove(source, mask: mask)
        let largeError = SyntheticData.maskedL1(large, target, mask: mask)
        XCTAssertLessThan(largeError, 0.15, "fill error at 48 px via the high-resolution strategy (object left in: 0.33)")
        XCTAssertEqual(large.pixels[0], background[0])   // outside the mask: untouched
    }

    func testSameSeedGivesSameWeightsAndAnotherSeedDoesNot() throws {
        let data = InMemoryRemovalData(try SyntheticData.flatSet(count: 10, size: 16, seed: 2))
        func weights(seed: UInt64) throws -> [UInt32] {
            let remover = try UNetRemover(config: net, seed: 11)
            let config = TrainingConfig(steps: 4, batchSize: 4, learningRate: 1e-2, warmupSteps: 1, cropSize: 16, verticalFlips: true, seed: seed)
            _ = try Trainer(config: config).train(remover, on: data)
            return remover.network.namedParameters().flatMap { $0.parameter.value.values.map(\.bitPattern) }
        }
        let a = try weights(seed: 5), b = try weights(seed: 5), c = try weights(seed: 6)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testStopsAfterTheCurrentStepReportsProgressAndSavesACheckpoint() throws {
        let dir = try SyntheticData.scratchDirectory()
        let path = dir + "/run.safetensors"
        let data = InMemoryRemovalData(try SyntheticData.flatSet(count: 6, size: 16, seed: 3))
        let remover = try UNetRemover(config: net, seed: 4)
        var seen: [(Int, Int, Float)] = []
        var config = TrainingConfig(steps: 10, batchSize: 2, cropSize: 16)
        config.checkpointPath = path
        let trainer = Trainer(config: config, progress: { seen.append(($0.step, $0.total, $0.loss)) },
                              shouldStop: { seen.count >= 3 })
        let report = try trainer.train(remover, on: data)
        XCTAssertTrue(report.stopped)
        XCTAssertEqual(report.stepsCompleted, 3)
        XCTAssertEqual(seen.map(\.0), [1, 2, 3])
        XCTAssertEqual(seen.map(\.1), [10, 10, 10])
        XCTAssertEqual(seen.map(\.2), report.losses)
        XCTAssertEqual(report.checkpointPath, path)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata["rorem.step"], "3")
        // The checkpoint holds the weights as they were when the run stopped.
        let loaded = try UNetRemover.load(path: path)
        let sample = try data.sample(0)
        XCTAssertEqual(try loaded.inpaint(sample.source, mask: sample.mask), try remover.inpaint(sample.source, mask: sample.mask))
    }

    func testEpochsSetTheLengthAndBadInputsThrow() throws {
        let data = InMemoryRemovalData(try SyntheticData.flatSet(count: 5, size: 16, seed: 4))
        let remover = try UNetRemover(config: net, seed: 0)
        let report = try Trainer(config: TrainingConfig(epochs: 2, batchSize: 2, cropSize: 16)).train(remover, on: data)
        XCTAssertEqual(report.totalSteps, 6)   // 2 epochs of ceil(5 / 2) batches
        XCTAssertEqual(report.stepsCompleted, 6)

        XCTAssertThrowsError(try Trainer(config: TrainingConfig(steps: 1, cropSize: 18)).train(remover, on: data)) { error in
            XCTAssertTrue("\(error)".contains("cropSize 18"), "\(error)")
        }
        XCTAssertThrowsError(try Trainer(config: TrainingConfig(steps: 1, cropSize: 16)).train(remover, on: InMemoryRemovalData([])))
        XCTAssertThrowsError(try Trainer(config: TrainingConfig(steps: 0)).train(remover, on: data)) { error in
            XCTAssertTrue("\(error)".contains("steps"), "\(error)")
        }
        var odd = try data.sample(0)
        odd.target = try Image(width: 8, height: 16)
        XCTAssertThrowsError(try Trainer(config: TrainingConfig(steps: 1, batchSize: 1, cropSize: 16)).train(remover, on: InMemoryRemovalData([odd]))) { error in
            XCTAssertTrue("\(error)".contains("removal sample 0"), "\(error)")
        }
    }

    func testSmallImagesAreEnlargedToTheCropSize() throws {
        // 12 px images with a 16 px crop: enlarged first, then trained without error.
        let data = InMemoryRemovalData(try SyntheticData.flatSet(count: 4, size: 12, seed: 8))
        let remover = try UNetRemover(config: net, seed: 0)
        let report = try Trainer(config: TrainingConfig(steps: 2, batchSize: 2, cropSize: 16)).train(remover, on: data)
        XCTAssertEqual(report.losses.count, 2)
    }

    func testLearningRateWarmsUpThenDecays() {
        let config = TrainingConfig(learningRate: 1, warmupSteps: 4, finalLearningRateFraction: 0.1)
        XCTAssertEqual(config.learningRate(step: 0, total: 104), 0.25, accuracy: 1e-6)
        XCTAssertEqual(config.learningRate(step: 3, total: 104), 1, accuracy: 1e-6)
        XCTAssertEqual(config.learningRate(step: 54, total: 104), 0.55, accuracy: 1e-6)   // half way down the cosine
        XCTAssertEqual(config.learningRate(step: 104, total: 104), 0.1, accuracy: 1e-6)
    }

    func testProgressBarShowsStepAndLoss() {
        let p = TrainingProgress(step: 5, total: 10, loss: 0.125, learningRate: 1e-3, elapsed: 2)
        XCTAssertEqual(p.bar(width: 10), "[#####-----] 5/10 2.5 step/s eta 2.0s loss 0.1250")
    }
}
