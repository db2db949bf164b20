import Curation
import Foundation
import Imaging
import Lang
import Learning
import XCTest
@testable import Workbench
import Rounds

/// One RORem round on tiny data through the language, checked record by record against the store: oracle labels on
/// a small batch, a discriminator trained on them, automatic labels on a larger batch, the accepted results turned
/// into training pairs, the remover retrained with its checkpoint recorded, and a test-set evaluation.
final class RoundsTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "rorem-rounds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testOneRoundLeavesTheRightRecordsInTheStore() throws {
        let out = CapturedOutput()
        let s = Session(output: out, baseDirectory: dir)
        try s.interpreter.run("""
        let st = open_store("st")
        let paired = synth(16, width: 16, height: 16, seed: 1, backgrounds: ["gradient"], textured: false, name: "paired")
        let pool = synth(20, width: 16, height: 16, seed: 2, name: "pool")
        let test = synth(6, width: 16, height: 16, seed: 3, name: "test")
        let m = unet(widths: [8, 16], groups: 4, seed: 1)
        train(m, paired, steps: 30, batch: 4, store: st, name: "unet-r0")
        let parts = split(pool, 0.4, seed: 0)
        let small = generate(st, m, parts.train, round: 1, model: "unet-r0")
        let o = oracle(small, min_psnr: 20, max_l1: 0.08)
        let d = discriminator(widths: [8, 16], groups: 4, resolution: 16, name: "disc-r1")
        train(d, small, by: "oracle", steps: 20, batch: 4, store: st)
        let big = generate(st, m, parts.test, round: 1, model: "unet-r0")
        let auto = annotate(d, big, threshold: 0.5)
        let again = annotate(d, big, threshold: 0.5)
        let kept = accepted(st, "discriminator:disc-r1", round: 1)
        let more = as_pairs(kept, name: "r1-accepted")
        train(m, [paired, more], steps: 10, batch: 4, store: st, name: "unet-r1")
        let ev = evaluate_model(st, m, test, "unet-r1", round: 1, disc: d, threshold: 0.5)
        """)
        let store = try Store.open(dir + "/st")
        let d = try XCTUnwrap({ if case .object(let o as DiscriminatorValue)? = s.interpreter.global("d") { return o }; return nil }())

        // Oracle labels on the small batch (8 pairs); automatic labels on the larger one (the other 12), each with its
        // score and the threshold, accept exactly when score >= 0.5.
        let small = try store.candidates(round: 1, model: "unet-r0", dataset: "pool:train")
        let big = try store.candidates(round: 1, model: "unet-r0", dataset: "pool:test")
        XCTAssertEqual([small.count, big.count], [8, 12])
        let smallIDs = Set(small.map(\.id)), bigIDs = Set(big.map(\.id))
        let oracleLabels = try store.labels(by: .oracle(), round: 1).filter { !$0.note.isEmpty && smallIDs.contains($0.candidateID) }
        XCTAssertEqual(oracleLabels.count, 8)
        let auto = try store.labels(by: .discriminator("disc-r1", threshold: 0.5), round: 1).filter { bigIDs.contains($0.candidateID) }
        XCTAssertEqual(auto.count, 12)
        let expected = try Rounds.scores(d.scorer, big)
        let byID = Dictionary(uniqueKeysWithValues: auto.map { ($0.candidateID, $0) })
        for (c, score) in zip(big, expected) {
            let label = try XCTUnwrap(byID[c.id])
            XCTAssertEqual(label.score ?? -1, score, accuracy: 1e-12)
            XCTAssertEqual(label.accept, score >= 0.5)
            XCTAssertEqual(label.annotator.threshold, 0.5)
        }
        // The second annotate skipped everything.
        guard case .record(let again)? = s.interpreter.global("again") else { return XCTFail("annotate returned no record") }
        XCTAssertEqual(again["labelled"], .number(0))
        XCTAssertEqual(again["skipped"], .number(12))

        // The accepted candidates became training pairs with the result as target.
        let accepted = try store.accepted(by: .discriminator("disc-r1"), round: 1)
        let more = try XCTUnwrap({ if case .object(let o as DatasetValue)? = s.interpreter.global("more") { return o }; return nil }())
        XCTAssertEqual(more.dataset.count, accepted.count)
        for (pair, c) in zip(more.dataset.pairs, accepted) {
            XCTAssertEqual(try pair.loadTarget(), try c.result.loadImage())
            XCTAssertEqual(try pair.loadMask(), try c.mask.loadMask())
        }

        // Checkpoints of both removers and the discriminator are files recorded in the store.
        for (name, kind) in [("unet-r0", "remover"), ("unet-r1", "remover"), ("disc-r1", "discriminator")] {
            let model = try XCTUnwrap(try store.models().first { $0.name == name }, name)
            XCTAssertEqual(model.kind, kind)
            let checkpoints = try store.checkpoints(model: try XCTUnwrap(model.id))
            XCTAssertEqual(checkpoints.count, 1, name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoints[0].path), checkpoints[0].path)
        }

        // The evaluation: 6 test candidates, each labelled by the oracle and the discriminator; the reported rates are
        // the fractions of accepting labels.
        guard case .record(let ev)? = s.interpreter.global("ev") else { return XCTFail("evaluate_model returned no record") }
        let testCands = try store.candidates(round: 1, model: "unet-r1")
        XCTAssertEqual(testCands.count, 6)
        let ids = Set(testCands.map(\.id))
        func rate(_ a: Annotator) throws -> Double {
            let ls = try store.labels(by: a).filter { ids.contains($0.candidateID) }
            XCTAssertEqual(ls.count, 6)
            return Double(ls.filter { $0.accept == true }.count) / Double(ls.count)
        }
        XCTAssertEqual(ev["sr_oracle"]?.number, try rate(.oracle()))
        XCTAssertEqual(ev["sr_discriminator"]?.number, try rate(.discriminator("disc-r1")))
        // The expected success rate is the mean of the discriminator's scores of those candidates.
        let testScores = try Rounds.scores(d.scorer, testCands)
        XCTAssertEqual(ev["sr_expected"]?.number ?? -1, testScores.reduce(0, +) / 6, accuracy: 1e-12)
        // disc_auc ranks those scores against the oracle's decisions (nil when the oracle decided all one way).
        let verdicts = try store.labels(by: .oracle()).filter { ids.contains($0.candidateID) }
        let byCandidate = Dictionary(uniqueKeysWithValues: verdicts.map { ($0.candidateID, $0.accept == true) })
        let expectedAUC = try Agreement.auc(scores: testScores, accepts: testCands.map { byCandidate[$0.id] ?? false })
        XCTAssertEqual(ev["disc_auc"]?.number, expectedAUC)
        let psnr = try testCands.map { c in try Quality.psnr(c.result.loadImage(), XCTUnwrap(c.target).loadImage(), mask: c.mask.loadMask()) }
        XCTAssertEqual(ev["psnr"]?.number ?? 0, psnr.map { min(100, $0) }.reduce(0, +) / 6, accuracy: 1e-9)
        XCTAssertEqual(ev["count"], .number(6))
        XCTAssertTrue(out.text.contains("trained disc-r1: 20/20 steps"), out.text)
    }
}
