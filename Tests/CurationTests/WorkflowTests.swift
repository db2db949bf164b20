import Foundation
import Imaging
import XCTest
@testable import Curation

/// The path Docs/curation.md describes, end to end: photos in a folder -> store -> candidates -> review
/// (in Swift and offline) -> accepted; and synthetic pairs -> oracle -> agreement -> evaluation.
final class WorkflowTests: XCTestCase {
    /// A stand-in remover: fills masked pixels with the mean of the unmasked ones.
    static func meanFill(_ image: Image, _ mask: Mask) throws -> Image {
        var sums = [Float](repeating: 0, count: image.channels), n: Float = 0
        for i in 0..<mask.pixelCount where !mask.isMasked(i) {
            n += 1
            for k in 0..<image.channels { sums[k] += image.pixels[i * image.channels + k] }
        }
        var out = image
        for i in 0..<mask.pixelCount where mask.isMasked(i) {
            for k in 0..<image.channels { out.pixels[i * image.channels + k] = sums[k] / max(n, 1) }
        }
        return out
    }

    func testFolderOfPhotosToLabelledCandidates() throws {
        let root = try temporaryFolder(self, "workflow")
        // Photos and masks as a researcher would have them (synthetic here), masks in their own folder.
        for sub in ["photos", "masks"] { try FileManager.default.createDirectory(atPath: "\(root)/\(sub)", withIntermediateDirectories: true) }
        for (i, pair) in try Synth.make(count: 6, width: 32, height: 32, seed: 4).enumerated() {
            try ImageIO.save(try pair.loadSource(), to: "\(root)/photos/img\(i).jpg", quality: 90)
            try ImageIO.save(try pair.loadMask(), to: "\(root)/masks/img\(i).png")
        }
        let store = try Store.open(root + "/store")
        let (photos, skipped) = try FolderImport.load(images: root + "/photos", masks: root + "/masks", name: "photos")
        XCTAssertEqual(skipped, [])
        try store.saveDataset(photos, kind: "folder")
        let run = try store.beginRun(script: "workflow-test")
        let ids = try store.generate(dataset: "photos", model: "mean-fill", round: 1, run: run.id, remover: WorkflowTests.meanFill)
        if let runID = run.id { try store.finishRun(runID) }
        XCTAssertEqual(ids.count, 6)
        XCTAssertEqual(try store.runs().map(\.status), ["done"])

        // Half reviewed in Swift, the rest offline.
        let session = try store.openReview(name: "r1-alice", annotator: "alice", candidates: Array(ids.prefix(3)))
        while let c = try session.currentCandidate() {
            XCTAssertEqual(try c.result.loadImage().width, 32)
            try session.decide(c.id == ids[1] ? .reject : .accept)
        }
        let batch = try OfflineReview.export(try store.candidates(ids: Array(ids.suffix(3))), to: root + "/review")
        var rows = try String(contentsOfFile: batch.csv, encoding: .utf8).split(separator: "\n").map(String.init)
        for r in 1..<rows.count { rows[r] = rows[r].replacingOccurrences(of: ",,", with: ",accept,") }
        try rows.joined(separator: "\n").write(toFile: batch.csv, atomically: true, encoding: .utf8)
        XCTAssertEqual(try OfflineReview.importCSV(batch.csv, into: store, annotator: "alice"), CSVImportReport(accepted: 3, rejected: 0, blank: 0))

        XCTAssertEqual(try store.accepted(by: .person("alice"), round: 1).map(\.id), ids.filter { $0 != ids[1] })
        let more = try store.acceptedDataset(by: .person("alice"), round: 1, name: "r1-accepted")
        XCTAssertEqual(more.count, 5)
        try store.saveDataset(more, kind: "accepted")
        XCTAssertEqual(try store.datasetNames(), ["photos", "r1-accepted"])
    }

    func testSyntheticPairsOracleAgreementAndEvaluation() throws {
        let store = try Store.open(try temporaryFolder(self, "synthflow"))
        var options = SynthOptions(count: 12, width: 32, height: 32, seed: 1)
        options.shadows = true
        let (_, test) = try Synth.make(options).split(0.5, seed: 0)
        try store.saveDataset(test)
        // Two "models": the ground truth itself (perfect) and the mean fill.
        let perfect = try store.candidates(ids: test.pairs.indices.map { i in
            try store.addCandidate(pair: try XCTUnwrap(store.dataset(named: test.name)[i].storeID), model: "truth", round: 1,
                                   result: try XCTUnwrap(test[i].loadTarget()))
        })
        try store.generate(dataset: test.name, model: "mean-fill", round: 1, remover: WorkflowTests.meanFill)
        let report = try Oracle.label(try store.candidates(round: 1), in: store)
        XCTAssertEqual(report.labelled, 12)
        XCTAssertGreaterThanOrEqual(report.accepted, 6, "every perfect result is accepted")
        XCTAssertEqual(Set(try store.accepted(by: .oracle()).map(\.id)).intersection(perfect.map(\.id)).count, 6)
        // A "discriminator" that accepts everything agrees with the oracle only on the accepted ones.
        try store.addLabels(try store.candidates(round: 1).map { LabelInput(candidateID: $0.id, score: 0.95) }, by: .discriminator("lenient"))
        let agreement = try store.agreement(.oracle(), .discriminator("lenient"), round: 1)
        XCTAssertEqual(agreement.count, 12)
        XCTAssertEqual(agreement.percentAgreement, 100 * Double(report.accepted) / 12, accuracy: 1e-9)
        XCTAssertEqual(agreement.rateGap, Double(report.accepted) / 12 - 1, accuracy: 1e-12)
        let evaluation = try store.evaluate(try store.candidates(round: 1, model: "truth"), name: "truth-r1", round: 1)
        XCTAssertEqual(evaluation.metrics["psnr_masked"], 100, "identical fills are capped at 100 dB")
        XCTAssertEqual(evaluation.metrics["success_rate:oracle:oracle"], 1)
    }
}
