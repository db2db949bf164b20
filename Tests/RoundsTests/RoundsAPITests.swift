import Curation
import Diffusion
import Foundation
import Imaging
import Removal
import Rounds
import XCTest

/// Scores each example by its position in a fixed list (cycling), so labels are known in advance.
private struct FixedScorer: CandidateScorer {
    let values: [Double]
    func scores(_ examples: [(source: Image, mask: Mask, result: Image)], batchSize: Int) throws -> [Double] {
        examples.indices.map { values[$0 % values.count] }
    }
}

/// Returns the source unchanged and counts calls.
private final class CopyRemover: Remover, @unchecked Sendable {
    var calls = 0
    var name: String { "copy" }
    var workingSize: Int? { nil }
    func inpaint(_ image: Image, mask: Mask) throws -> Image { calls += 1; return image }
}

final class RoundsAPITests: XCTestCase {
    private func store() throws -> Store {
        let path = NSTemporaryDirectory() + "rorem-rounds-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return try Store.open(path)
    }

    func testGenerateStopsBetweenPairsAndResumesWithoutRedoingWork() throws {
        let store = try store()
        let ds = try Synth.make(count: 5, width: 16, height: 16, seed: 2)
        let remover = CopyRemover()
        var seen: [(Int, Int)] = []
        XCTAssertThrowsError(try Rounds.generate(store: store, remover: remover, model: "copy", dataset: ds, round: 1,
                                                 progress: { seen.append(($0, $1)) }, shouldStop: { remover.calls == 3 })) { error in
            XCTAssertEqual((error as? Rounds.GenerationStopped)?.made, 3)
        }
        XCTAssertEqual(seen.map(\.0), [1, 2, 3])
        XCTAssertEqual(seen.map(\.1), [5, 5, 5])
        XCTAssertEqual(try store.candidates(round: 1).count, 3, "made before the stop and committed")
        let all = try Rounds.generate(store: store, remover: remover, model: "copy", dataset: ds, round: 1)
        XCTAssertEqual(all.count, 5)
        XCTAssertEqual(remover.calls, 5, "the first three are not made again")
    }

    func testAnnotateLabelsOnlyUndecidedCandidatesAtTheThreshold() throws {
        let store = try store()
        let ds = try Synth.make(count: 4, width: 16, height: 16, seed: 3)
        let cands = try Rounds.generate(store: store, remover: CopyRemover(), model: "copy", dataset: ds, round: 1)
        let judge = Annotator.discriminator("d", threshold: 0.9)
        let first = try Rounds.annotate(FixedScorer(values: [0.95, 0.2]), Array(cands.prefix(2)), store: store, annotator: judge)
        XCTAssertEqual(first.labelled, 2)
        XCTAssertEqual(first.accepted, 1)
        XCTAssertEqual(first.meanScore!, 0.575, accuracy: 1e-12)
        let second = try Rounds.annotate(FixedScorer(values: [0.9]), cands, store: store, annotator: judge)
        XCTAssertEqual(second.skipped, 2, "the two decided before are left alone")
        XCTAssertEqual(second.labelled, 2)
        XCTAssertEqual(second.accepted, 2, "0.9 itself is accepted")
        let labels = try store.labels(by: judge)
        XCTAssertEqual(labels.count, 4)
        XCTAssertEqual(labels.filter { $0.accept == true }.count, 3)
    }

    /// RORem's discriminator annotates a round through `CandidateScorer` with its raw (softplus) scores.
    func testRORemDiscriminatorAnnotatesThroughCandidateScorer() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("DiffusionTests/Fixtures/tiny-rorem-discriminator").path
        let d = try RORemDiscriminator.load(folder: fixtures + "/lora", base: fixtures + "/base", variant: "fp16",
                                            settings: .init(resolution: 64))
        let store = try store()
        let ds = try Synth.make(count: 3, width: 32, height: 32, seed: 4)
        let cands = try Rounds.generate(store: store, remover: CopyRemover(), model: "copy", dataset: ds, round: 1)
        let direct = try Rounds.scores(d, cands)      // the batch size annotate uses
        let judge = Annotator.discriminator("rorem-disc", threshold: 0.5)
        let summary = try Rounds.annotate(d, cands, store: store, annotator: judge)
        XCTAssertEqual(summary.labelled, 3)
        XCTAssertEqual(summary.accepted, direct.filter { $0 >= 0.5 }.count)
        XCTAssertEqual(try store.labels(by: judge).compactMap(\.score).sorted(), direct.sorted())
    }

    func testEvaluateJudgesByOracleAndDiscriminatorWithOneScoringPass() throws {
        let store = try store()
        let ds = try Synth.make(count: 4, width: 16, height: 16, seed: 4)
        let cands = try Rounds.generate(store: store, remover: CopyRemover(), model: "copy-r0", dataset: ds, round: 0)
        let e = try Rounds.evaluate(cands, store: store, name: "copy-r0", round: 0,
                                    judge: (FixedScorer(values: [1, 0, 1, 0]), .discriminator("d", threshold: 0.5)))
        XCTAssertEqual(e.count, 4)
        XCTAssertEqual(e.scores, [1, 0, 1, 0])
        XCTAssertEqual(e.successRateExpected, 0.5)
        XCTAssertEqual(e.successRateDiscriminator, 0.5)
        XCTAssertEqual(e.successRateOracle, 0, "copying the source leaves the object: the oracle rejects every result")
        XCTAssertNotNil(e.psnr)
        let plain = try Rounds.evaluate(cands, store: store, name: "copy-r0b", round: 0)
        XCTAssertNil(plain.successRateDiscriminator)
        XCTAssertTrue(plain.scores.isEmpty)
    }
}
