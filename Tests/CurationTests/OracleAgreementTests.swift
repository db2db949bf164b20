import Foundation
import Imaging
import XCTest
@testable import Curation

final class OracleAgreementTests: XCTestCase {
    /// The target brightened by exactly `delta` inside the mask: masked MSE = delta^2, so PSNR = -20 log10(delta).
    func shifted(_ target: Image, _ mask: Mask, by delta: Float) throws -> Image {
        var out = target
        for i in 0..<mask.pixelCount where mask.isMasked(i) { for k in 0..<3 { out.pixels[i * 3 + k] += delta } }
        return out
    }

    func testJudgeAppliesBothThresholdsOnTheMaskedRegion() throws {
        let target = try Image(width: 10, height: 10, channels: 3, value: 0.4)
        let mask = try Mask.box(width: 10, height: 10, rect: PixelRect(x: 2, y: 2, width: 4, height: 4))
        let perfect = try Oracle.judge(result: target, target: target, mask: mask)
        XCTAssertTrue(perfect.accept)
        XCTAssertEqual(perfect.psnr, .infinity)
        let off = try shifted(target, mask, by: 0.1)
        let verdict = try Oracle.judge(result: off, target: target, mask: mask)
        XCTAssertEqual(verdict.psnr, 20, accuracy: 1e-4)
        XCTAssertEqual(verdict.l1, 0.1, accuracy: 1e-6)
        XCTAssertFalse(verdict.accept, "20 dB is below the default 25 dB")
        XCTAssertTrue(try Oracle.judge(result: off, target: target, mask: mask, rule: OracleRule(minPSNR: 19.9, maxL1: 0.11)).accept)
        XCTAssertFalse(try Oracle.judge(result: off, target: target, mask: mask, rule: OracleRule(minPSNR: 19.9, maxL1: 0.09)).accept, "L1 rule alone rejects")
        // Growing the mask dilutes the error over more pixels: 16 changed of 36 measured.
        let grown = try Oracle.judge(result: off, target: target, mask: mask, rule: OracleRule(maskDilation: 1))
        XCTAssertEqual(grown.l1, 0.1 * 16 / 32, accuracy: 1e-6, "an elliptical radius-1 dilation of a 4x4 box covers 32 pixels")
    }

    /// The default rule on synthetic scenes: the untouched source (object left in place) is rejected, the ground
    /// truth accepted. Prints the range of masked PSNRs the docs quote.
    func testDefaultRuleSeparatesLeftInPlaceFromGroundTruthOnSynth() throws {
        var options = SynthOptions(count: 40, width: 64, height: 64, seed: 21)
        options.shadows = true
        var psnrs: [Double] = []
        for pair in try Synth.make(options) {
            let target = try XCTUnwrap(pair.loadTarget()), mask = try pair.loadMask()
            let left = try Oracle.judge(result: pair.loadSource(), target: target, mask: mask)
            XCTAssertFalse(left.accept, pair.name)
            psnrs.append(left.psnr)
            XCTAssertTrue(try Oracle.judge(result: target, target: target, mask: mask).accept)
        }
        print(String(format: "oracle: untouched source masked PSNR %.1f ... %.1f dB (median %.1f)", psnrs.min() ?? 0, psnrs.max() ?? 0, psnrs.sorted()[psnrs.count / 2]))
    }

    func testOracleLabelsCandidatesWithGroundTruthAndSkipsOthers() throws {
        let store = try Store(path: try temporaryFolder(self))
        let mask = try Mask.box(width: 8, height: 6, rect: PixelRect(x: 1, y: 1, width: 4, height: 3))
        let target = try patternImage(seed: 50), source = try patternImage(seed: 60)
        let ds = Dataset(name: "d", pairs: [
            Pair(name: "good", source: .image(source), mask: .mask(mask), target: .image(target)),
            Pair(name: "bad", source: .image(source), mask: .mask(mask), target: .image(target)),
            Pair(name: "wild", source: .image(source), mask: .mask(mask)),
        ])
        try store.saveDataset(ds)
        let ids = try store.generate(dataset: "d", model: "m", round: 1) { s, _ in s }
        // Make the first candidate perfect by giving model "m2" the target as its answer.
        let good = try store.addCandidate(pair: try XCTUnwrap(store.dataset(named: "d")[0].storeID), model: "m2", round: 1, result: target)
        let report = try Oracle.label(try store.candidates(round: 1), in: store)
        XCTAssertEqual(report.labelled, 3)
        XCTAssertEqual(report.accepted, 1)
        XCTAssertEqual(report.withoutGroundTruth, [ids[2]])
        XCTAssertEqual(try store.accepted(by: .oracle()).map(\.id), [good])
        let note = try XCTUnwrap(store.labels(by: .oracle()).first { $0.candidateID == good }?.note)
        XCTAssertTrue(note.hasPrefix("psnr=inf l1=0.0000"), note)
        // Again: nothing to do (resume); with relabel and a lenient rule everything with ground truth passes.
        let again = try Oracle.label(try store.candidates(round: 1), in: store)
        XCTAssertEqual(again.labelled, 0)
        XCTAssertEqual(again.alreadyLabelled, 3)
        let lenient = try Oracle.label(try store.candidates(round: 1), in: store, rule: OracleRule(minPSNR: 0, maxL1: 1), relabel: true)
        XCTAssertEqual(lenient.accepted, 3)
        XCTAssertEqual(try store.accepted(by: .oracle()).count, 3)
    }

    /// Wikipedia's worked example: 50 items, 20 yes-yes, 5 yes-no, 10 no-yes, 15 no-no: po = 0.7, pe = 0.5, kappa = 0.4.
    func testKappaMatchesHandComputedValues() throws {
        let a = [Bool](repeating: true, count: 25) + [Bool](repeating: false, count: 25)
        let b = [Bool](repeating: true, count: 20) + [Bool](repeating: false, count: 5) + [Bool](repeating: true, count: 10) + [Bool](repeating: false, count: 15)
        let r = try Agreement.compare(decisions: a, b)
        XCTAssertEqual(r.count, 50)
        XCTAssertEqual(r.percentAgreement, 70, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(r.kappa), 0.4, accuracy: 1e-12)
        XCTAssertEqual(r.firstRate, 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.secondRate, 0.6, accuracy: 1e-12)
        XCTAssertEqual(r.rateGap, -0.1, accuracy: 1e-12)

        // A skewed one: a = 9 Y + 1 N, b = 8 Y (same first 8) + 2 N: agree 8 Y + 1 N = 0.9; pe = 0.9*0.8 + 0.1*0.2 = 0.74;
        // kappa = 0.16 / 0.26 = 0.615384...
        let skew = try Agreement.compare(decisions: Array(repeating: true, count: 9) + [false],
                                         Array(repeating: true, count: 8) + [false, false])
        XCTAssertEqual(try XCTUnwrap(skew.kappa), 0.16 / 0.26, accuracy: 1e-12)
        let perfect = try Agreement.compare(decisions: [true, false, true], [true, false, true])
        XCTAssertEqual(perfect.kappa, 1)
        let opposite = try Agreement.compare(decisions: [true, false], [false, true])
        XCTAssertEqual(opposite.kappa, -1)
        XCTAssertNil(try Agreement.compare(decisions: [true, true], [true, true]).kappa, "undefined when pe = 1")
        XCTAssertThrowsError(try Agreement.compare(decisions: [true], []))
    }

    func testAUCCountsPairsRankedRightWithTiesAsHalf() throws {
        // Accepted scores 0.9, 0.6, 0.4; rejected 0.5, 0.4, 0.1. Of the 9 (accepted, rejected) pairs 7 are ranked
        // right, one is tied (0.4, 0.4) and one wrong (0.4 < 0.5): (7 + 0.5) / 9.
        let auc = try Agreement.auc(scores: [0.9, 0.5, 0.6, 0.4, 0.4, 0.1], accepts: [true, false, true, true, false, false])
        XCTAssertEqual(try XCTUnwrap(auc), 7.5 / 9, accuracy: 1e-12)
        XCTAssertEqual(try Agreement.auc(scores: [0.1, 0.2, 0.3], accepts: [false, false, true]), 1)
        XCTAssertEqual(try Agreement.auc(scores: [0.3, 0.2, 0.1], accepts: [false, false, true]), 0)
        XCTAssertEqual(try Agreement.auc(scores: [0.5, 0.5, 0.5, 0.5], accepts: [true, false, true, false]), 0.5)
        XCTAssertNil(try Agreement.auc(scores: [0.2, 0.8], accepts: [true, true]), "no rejected item")
        XCTAssertNil(try Agreement.auc(scores: [], accepts: []))
        XCTAssertNil(try Agreement.auc(scores: [.nan, 0.8], accepts: [true, false]))
        XCTAssertThrowsError(try Agreement.auc(scores: [0.1], accepts: [true, false])) { error in
            XCTAssertTrue("\(error)".contains("1 and 2"), "\(error)")
        }
    }

    func testStoreAgreementBetweenPersonOracleAndDiscriminator() throws {
        let (store, ids) = try tinyStore(self, count: 4)
        // Person: A A R R; discriminator scores 0.95 0.5 0.92 0.1 at 0.9 -> A R A R; oracle: only two items, A R.
        for (id, ok) in zip(ids, [true, true, false, false]) { try store.label(id, by: .person("ann"), accept: ok) }
        try store.addLabels(zip(ids, [0.95, 0.5, 0.92, 0.1]).map { LabelInput(candidateID: $0, score: $1) }, by: .discriminator("d", threshold: 0.9))
        try store.label(ids[0], by: .oracle(), accept: true)
        try store.label(ids[1], by: .oracle(), accept: false)
        let pd = try store.agreement(.person("ann"), .discriminator("d"))
        XCTAssertEqual(pd.count, 4)
        XCTAssertEqual(pd.percentAgreement, 50, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(pd.kappa), 0, accuracy: 1e-12)
        XCTAssertEqual(pd.rateGap, 0, accuracy: 1e-12)
        let po = try store.agreement(.person("ann"), .oracle(), round: 1)
        XCTAssertEqual(po.count, 2)
        XCTAssertEqual(po.percentAgreement, 50, accuracy: 1e-9)
        XCTAssertThrowsError(try store.agreement(.person("ann"), .person("bob"))) { XCTAssertTrue("\($0)".contains("person:bob"), "\($0)") }
    }
}

final class EvaluateTests: XCTestCase {
    func testEvaluateMeasuresAgainstGroundTruthAndRecordsSuccessRates() throws {
        let store = try Store(path: try temporaryFolder(self))
        let target = try Image(width: 10, height: 10, channels: 3, value: 0.5)
        var off = target
        let mask = try Mask.box(width: 10, height: 10, rect: PixelRect(x: 0, y: 0, width: 5, height: 10))
        for i in 0..<100 where mask.isMasked(i) { for k in 0..<3 { off.pixels[i * 3 + k] = 0.6 } }
        try store.saveDataset(Dataset(name: "e", pairs: [
            Pair(name: "a", source: .image(off), mask: .mask(mask), target: .image(target)),
            Pair(name: "b", source: .image(off), mask: .mask(mask)),
        ]))
        let ids = try store.generate(dataset: "e", model: "m", round: 1) { s, _ in s }
        try store.label(ids[0], by: .person("ann"), accept: true)
        try store.label(ids[1], by: .person("ann"), accept: false)
        let summary = try store.evaluate(try store.candidates(round: 1), name: "r1", round: 1)
        XCTAssertEqual(summary.count, 2)
        XCTAssertEqual(summary.withGroundTruth, 1)
        // The stored result is 8-bit: 0.6 -> 153/255 and 0.5 -> 128/255 (rounded from 127.5), a difference of 25/255.
        XCTAssertEqual(try XCTUnwrap(summary.metrics["l1_masked"]), 25.0 / 255, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(summary.metrics["psnr_masked"]), -20 * log10(25.0 / 255), accuracy: 1e-3)
        XCTAssertEqual(summary.metrics["success_rate:person:ann"], 0.5)
        XCTAssertEqual(try store.metrics(evaluation: summary.id), summary.metrics)
        XCTAssertEqual(try store.count("metric"), summary.metrics.count + 3)
    }
}
