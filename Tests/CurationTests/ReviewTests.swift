import Foundation
import Imaging
import XCTest
@testable import Curation

final class ReviewTests: XCTestCase {
    func testDecideUndoProgressAndLabels() throws {
        let (store, ids) = try tinyStore(self, count: 5)
        let s = try store.openReview(name: "r1", annotator: "ann", candidates: ids)
        XCTAssertEqual(s.current, ids[0])
        XCTAssertEqual(try s.currentCandidate()?.pairName, "p0")
        try s.decide(.accept)
        try s.decide(.reject, note: "blurry")
        try s.decide(.skip)
        XCTAssertEqual(s.progress, ReviewProgress(done: 3, total: 5, accepted: 1, rejected: 1, skipped: 1))
        XCTAssertEqual(s.progress.acceptRate, 0.5)
        XCTAssertEqual(try s.undo(), ids[2], "undo of the skip makes the third current again")
        XCTAssertEqual(try s.undo(), ids[1])
        XCTAssertEqual(s.progress, ReviewProgress(done: 1, total: 5, accepted: 1, rejected: 0, skipped: 0))
        XCTAssertEqual(try store.labels(by: .person("ann")).map(\.candidateID), [ids[0]], "the undone reject's label is gone")
        try s.decide(.accept)
        try s.decide(.reject)
        try s.decide(.accept)
        try s.decide(.accept)
        XCTAssertTrue(s.isFinished)
        XCTAssertNil(s.current)
        XCTAssertThrowsError(try s.decide(.accept)) { XCTAssertTrue("\($0)".contains("finished"), "\($0)") }
        XCTAssertEqual(s.progress.acceptRate, 0.8)
        XCTAssertEqual(try s.decisions().map(\.decision), [.accept, .accept, .reject, .accept, .accept])
        XCTAssertEqual(try store.accepted(by: .person("ann")).map(\.id), [ids[0], ids[1], ids[3], ids[4]])
        XCTAssertEqual(s.progress.description, "5/5 (4 accepted, 1 rejected, 0 skipped) accept rate 80%")
    }

    func testUndoRestoresTheLabelADecisionReplaced() throws {
        let (store, ids) = try tinyStore(self, count: 2)
        try store.label(ids[0], by: .person("ann"), accept: false, score: 0.3, note: "from the CSV")
        let s = try store.openReview(name: "second-look", annotator: "ann", candidates: ids)
        try s.decide(.accept)
        XCTAssertEqual(try store.labels(by: .person("ann")).map(\.accept), [true])
        try s.undo()
        let restored = try store.labels(by: .person("ann"))
        XCTAssertEqual(restored.map(\.accept), [false])
        XCTAssertEqual(restored.first?.score, 0.3)
        XCTAssertEqual(restored.first?.note, "from the CSV")
    }

    func testResumeInANewProcessContinuesWhereItStopped() throws {
        let (store, ids) = try tinyStore(self, count: 4)
        let s = try store.openReview(name: "r", annotator: "ann", candidates: ids, order: .random(seed: 3))
        let order = s.items
        try s.decide(.accept)
        try s.decide(.skip)
        // A new Store on the same folder, as a later process would open it; the candidate list is ignored on resume.
        let again = try Store(path: store.path)
        let resumed = try again.openReview(name: "r", annotator: "ann", candidates: [])
        XCTAssertEqual(resumed.items, order)
        XCTAssertEqual(resumed.position, 2)
        XCTAssertEqual(resumed.current, order[2])
        XCTAssertEqual(resumed.progress, ReviewProgress(done: 2, total: 4, accepted: 1, rejected: 0, skipped: 1))
        XCTAssertEqual(try resumed.undo(), order[1])
        XCTAssertThrowsError(try again.openReview(name: "r", annotator: "bob", candidates: ids)) { XCTAssertTrue("\($0)".contains("'ann'"), "\($0)") }
        XCTAssertNil(try again.resumeReview(name: "none"))
        XCTAssertThrowsError(try again.openReview(name: "bad", annotator: "ann", candidates: [ids[0], 999])) { XCTAssertTrue("\($0)".contains("#999"), "\($0)") }
        XCTAssertNil(try again.resumeReview(name: "bad"), "a failed open leaves no half-made session")
        let listed = try again.reviewSessions()
        XCTAssertEqual(listed.map(\.name), ["r"])
        XCTAssertEqual(listed.first?.progress.done, 1)
    }

    func testOrders() throws {
        let (store, ids) = try tinyStore(self, count: 5)
        XCTAssertEqual(try store.orderCandidates(ids, by: .given), ids)
        let shuffled = try store.orderCandidates(ids, by: .random(seed: 1))
        XCTAssertEqual(shuffled.sorted(), ids)
        XCTAssertEqual(try store.orderCandidates(ids, by: .random(seed: 1)), shuffled)
        // Scores: ids[0] 0.99, ids[1] 0.55, ids[2] 0.85, ids[3] 0.05, ids[4] none.
        try store.addLabels(zip(ids.prefix(4), [0.99, 0.55, 0.85, 0.05]).map { LabelInput(candidateID: $0, score: $1) },
                            by: .discriminator("d", threshold: 0.9))
        // Least confident: |p - 0.5| = 0.49, 0.05, 0.35, 0.45 -> 1, 2, 3, 0, then the unscored 4.
        XCTAssertEqual(try store.orderCandidates(ids, by: .leastConfident(discriminator: "d")), [ids[1], ids[2], ids[3], ids[0], ids[4]])
        // Margin to 0.9: 0.09, 0.35, 0.05, 0.85 -> 2, 0, 1, 3, then 4.
        XCTAssertEqual(try store.orderCandidates(ids, by: .margin(discriminator: "d", threshold: 0.9)), [ids[2], ids[0], ids[1], ids[3], ids[4]])
        // No scores from an unknown discriminator: the given order.
        XCTAssertEqual(try store.orderCandidates(ids, by: .leastConfident(discriminator: "other")), ids)
    }

    func testOfflineReviewCSVRoundTripAndContactSheets() throws {
        let (store, ids) = try tinyStore(self, count: 5)
        let dir = try temporaryFolder(self, "offline")
        let batch = try OfflineReview.export(try store.candidates(round: 1), to: dir, rowsPerSheet: 2, thumbnail: 32)
        XCTAssertEqual(batch.sheets.map { ($0 as NSString).lastPathComponent }, ["sheet-001.png", "sheet-002.png", "sheet-003.png"])
        let sheet = try ImageIO.load(batch.sheets[0])
        XCTAssertEqual(sheet.height, 2 * (24 + 4) + 4, "two rows of 32x24 thumbnails")
        // The result cell of row 1 shows candidate 0's result (its source), scaled 4x.
        let labelWidth = sheet.width - 3 * 32 - 3 * 4
        let thumb = try sheet.cropped(to: PixelRect(x: labelWidth + 2 * 36, y: 4, width: 32, height: 24))
        XCTAssertEqual(thumb, try patternImage(seed: 0).resized(width: 32, height: 24).converted(toChannels: 3).quantizedForTest())
        // The id is drawn: the label area has dark pixels.
        let label = try sheet.cropped(to: PixelRect(x: 0, y: 4, width: labelWidth, height: 24))
        XCTAssertTrue(label.pixels.contains(0))

        var lines = try String(contentsOfFile: batch.csv, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], OfflineReview.columns.joined(separator: ","))
        XCTAssertEqual(lines[1], "\(ids[0]),sheet-001.png,1,p0,m,1,,")
        XCTAssertEqual(lines.count, 6)
        lines[1] = "\(ids[0]),sheet-001.png,1,p0,m,1,accept,"
        lines[2] = "\(ids[1]),sheet-001.png,2,p1,m,1,R,\"seam, left side\""
        lines[4] = "\(ids[3]),sheet-002.png,2,p3,m,1,yes,"
        try (lines.joined(separator: "\r\n") + "\r\n").write(toFile: batch.csv, atomically: true, encoding: .utf8)
        let report = try OfflineReview.importCSV(batch.csv, into: store, annotator: "ann")
        XCTAssertEqual(report, CSVImportReport(accepted: 2, rejected: 1, blank: 2))
        let labels = try store.labels(by: .person("ann"))
        XCTAssertEqual(labels.map(\.candidateID), [ids[0], ids[1], ids[3]])
        XCTAssertEqual(labels.map(\.accept), [true, false, true])
        XCTAssertEqual(labels[1].note, "seam, left side")
    }

    func testBadCSVRowsAreNamedByLineAndNothingIsImported() throws {
        let (store, ids) = try tinyStore(self, count: 3)
        let dir = try temporaryFolder(self, "badcsv")
        let path = dir + "/review.csv"
        let text = """
            candidate_id,decision,note
            \(ids[0]),accept,
            abc,reject,
            \(ids[1]),maybe,
            \(ids[0]),reject,
            999,accept,

            \(ids[2]),reject,fine
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try OfflineReview.importCSV(path, into: store, annotator: "ann")) { error in
            guard case let CurationError.badCSV(p, problems)? = error as? CurationError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertEqual(problems, [
                "line 3: candidate_id 'abc' is not a number",
                "line 4: decision 'maybe' is not accept/reject (a/r, yes/no, 1/0) or blank",
                "line 5: candidate \(ids[0]) already decided on line 2",
                "line 6: candidate 999 is not in the store",
            ])
        }
        XCTAssertEqual(try store.labels().count, 0)
        try "id,verdict\n1,a\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try OfflineReview.importCSV(path, into: store, annotator: "ann")) { XCTAssertTrue("\($0)".contains("line 1"), "\($0)") }
        try "candidate_id,decision\n\"1,a\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try OfflineReview.importCSV(path, into: store, annotator: "ann")) { XCTAssertTrue("\($0)".contains("line 2: a quoted field"), "\($0)") }
    }
}

extension Image {
    /// The image as an 8-bit PNG would store it.
    func quantizedForTest() throws -> Image {
        try Image(width: width, height: height, channels: channels, pixels: pixels.map { (min(max($0, 0), 1) * 255).rounded() / 255 })
    }
}
