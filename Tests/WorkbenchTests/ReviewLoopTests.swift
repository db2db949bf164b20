import Curation
import Foundation
import Imaging
import XCTest
@testable import Workbench

/// The review loop with scripted keys (no terminal), key decoding and the drawn frame.
final class ReviewLoopTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "rorem-review-loop-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A store with `n` candidates whose result is the source (enough for the loop; pixels do not matter here).
    private func store(candidates n: Int) throws -> (Store, [Int64]) {
        let store = try Store.open(dir)
        let ds = try Synth.make(count: n, width: 16, height: 16, seed: 9)
        try store.saveDataset(ds)
        let ids = try store.generate(dataset: ds.name, model: "copy", round: 1) { image, _ in image }
        return (store, ids)
    }

    func testKeysDecodeLettersControlsAndEscapeSequences() {
        let bytes = Array("aYrNs u\u{1b}[A\u{1b}OBq\u{03}\u{04}x\u{1b}[1;5C\u{1b}".utf8)
        XCTAssertEqual(ReviewKey.parse(bytes), [.accept, .accept, .reject, .reject, .skip, .skip, .undo, .ignored, .ignored,
                                                .quit, .quit, .quit, .ignored, .ignored, .ignored])
    }

    func testDecisionsUndoAndResumeThroughTheLoop() throws {
        let (store, ids) = try store(candidates: 5)
        let session = try store.openReview(name: "t", annotator: "tess", candidates: ids)
        var keys: [ReviewKey] = [.accept, .ignored, .reject, .undo, .accept, .skip, .quit, .accept]
        var shown: [(Int64, Int)] = []
        let outcome = try ReviewLoop.run(session, nextKey: { keys.isEmpty ? nil : keys.removeFirst() }) { c, p in shown.append((c.id, p.done)) }
        XCTAssertEqual(outcome, .quit)
        XCTAssertEqual(keys, [.accept], "the loop stops reading at q")
        // Shown: #1 (0 done), #2 (1), #3 after reject (2), #2 again after undo (1), #3 (2), #4 after skip (3).
        XCTAssertEqual(shown.map(\.0), [ids[0], ids[1], ids[2], ids[1], ids[2], ids[3]])
        XCTAssertEqual(shown.map(\.1), [0, 1, 2, 1, 2, 3])
        let labels = try store.labels(by: .person("tess"))
        XCTAssertEqual(labels.map(\.candidateID), [ids[0], ids[1]])
        XCTAssertEqual(labels.map(\.accept), [true, true], "the reject was undone and replaced by an accept")
        // A later session of the same name resumes at the fourth candidate; finishing it ends the loop.
        let resumed = try store.openReview(name: "t", annotator: "tess", candidates: [])
        XCTAssertEqual(resumed.current, ids[3])
        var more: [ReviewKey] = [.undo, .undo, .reject, .skip, .accept, .accept]
        XCTAssertEqual(try ReviewLoop.run(resumed, nextKey: { more.isEmpty ? nil : more.removeFirst() }) { _, _ in }, .finished)
        XCTAssertTrue(more.isEmpty)
        XCTAssertEqual(resumed.progress.description, "5/5 (3 accepted, 1 rejected, 1 skipped) accept rate 75%")
        XCTAssertEqual(try store.labels(by: .person("tess")).map(\.accept), [true, false, true, true], "the second undo removed #2's accept")
    }

    func testUndoAtTheStartWaitsForAnotherKey() throws {
        let (store, ids) = try store(candidates: 2)
        let session = try store.openReview(name: "u", annotator: "ulla", candidates: ids)
        var keys: [ReviewKey] = [.undo, .reject]
        var draws = 0
        _ = try ReviewLoop.run(session, nextKey: { keys.isEmpty ? nil : keys.removeFirst() }) { _, _ in draws += 1 }
        XCTAssertEqual(draws, 2, "undo with nothing to undo does not redraw; reject moves on; end of input quits")
        XCTAssertEqual(try store.labels(by: .person("ulla")).map(\.accept), [false])
    }

    func testFrameShowsTitleImagesAndStatusLine() throws {
        let (store, ids) = try store(candidates: 4)
        let session = try store.openReview(name: "f", annotator: "fay", candidates: ids)
        for decision in [ReviewDecision.accept, .reject, .accept] { try session.decide(decision) }
        let candidate = try store.candidate(ids[3])
        let progress = session.progress
        let plain = try ReviewLoop.frame(candidate, progress: progress, method: .none, columns: 80)
        XCTAssertEqual(plain, "\u{1b}[H\u{1b}[2Jcandidate #\(ids[3])  synth-000003  copy round 1   source | mask | result\n"
                       + "3/4  accepted 2 (67%)  [a]ccept [r]eject [s]kip [u]ndo [q]uit\n")
        // Half blocks: three 16 px panels and two 4 px gaps make 56 columns and 8 text rows.
        let blocks = try ReviewLoop.frame(candidate, progress: progress, method: .blocks, columns: 80)
        let rows = blocks.split(separator: "\n").filter { $0.contains("\u{2580}") }
        XCTAssertEqual(rows.count, 8)
        XCTAssertEqual(rows.first.map { $0.filter { $0 == "\u{2580}" }.count }, 56)
    }

    func testOrdersByDiscriminatorScoresPutTheMostUncertainFirst() throws {
        let (store, ids) = try store(candidates: 5)
        // Scores 0.95, 0.5, 0.1, 0.8, (none). least_confident sorts by max(p, 1 - p): 0.95, 0.5, 0.9, 0.8; margin by
        // |p - 0.9|: 0.05, 0.4, 0.8, 0.1. Unscored candidates go last.
        for (id, score) in zip(ids, [0.95, 0.5, 0.1, 0.8]) { try store.label(id, by: .discriminator("d0", threshold: 0.9), score: score) }
        let least = try CurationPrimitives.reviewOrder("least_confident", seed: 0, discriminator: "d0", threshold: 0.9)
        XCTAssertEqual(least, .leastConfident(discriminator: "d0"))
        let margin = try CurationPrimitives.reviewOrder("margin", seed: 0, discriminator: "d0", threshold: 0.9)
        XCTAssertEqual(try store.openReview(name: "l", annotator: "x", candidates: ids, order: least).items, [ids[1], ids[3], ids[2], ids[0], ids[4]])
        XCTAssertEqual(try store.openReview(name: "m", annotator: "x", candidates: ids, order: margin).items, [ids[0], ids[3], ids[1], ids[2], ids[4]])
        XCTAssertEqual(try CurationPrimitives.reviewOrder("random", seed: 4, discriminator: nil, threshold: 0.9), .random(seed: 4))
        XCTAssertThrowsError(try CurationPrimitives.reviewOrder("random", seed: -4, discriminator: nil, threshold: 0.9))
    }

    func testDefaultSessionNameIsStableAndDependsOnTheCandidates() {
        let a = CurationPrimitives.defaultSessionName(reviewer: "al", order: .given, ids: [1, 2, 3])
        XCTAssertEqual(a, CurationPrimitives.defaultSessionName(reviewer: "al", order: .given, ids: [1, 2, 3]))
        XCTAssertTrue(a.hasPrefix("al-given-3-"), a)
        XCTAssertNotEqual(a, CurationPrimitives.defaultSessionName(reviewer: "al", order: .given, ids: [1, 2, 4]))
        XCTAssertNotEqual(a, CurationPrimitives.defaultSessionName(reviewer: "al", order: .random(seed: 1), ids: [1, 2, 3]))
    }
}
