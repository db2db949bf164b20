import XCTest
@testable import Curation

/// Revising an earlier decision of a review session (the browser review's "revisit").
final class ReviewReviseTests: XCTestCase {
    func testReviseChangesTheLabelAndTheCountsAndUndoStillRestoresTheOriginal() throws {
        let (store, ids) = try tinyStore(self, count: 4)
        // A label from a CSV that the session's first decision replaces.
        try store.label(ids[0], by: .person("bob"), accept: false, note: "from csv")
        let session = try store.openReview(name: "r", annotator: "bob", candidates: ids)
        try session.decide(.accept)     // #0 replaces the CSV reject
        try session.decide(.skip)       // #1
        try session.decide(.reject)     // #2
        try session.revise(position: 0, to: .reject)
        XCTAssertEqual(try store.labels(by: .person("bob")).first { $0.candidateID == ids[0] }?.accept, false)
        try session.revise(position: 1, to: .accept)
        XCTAssertEqual(try store.labels(by: .person("bob")).first { $0.candidateID == ids[1] }?.accept, true)
        try session.revise(position: 2, to: .skip)
        XCTAssertNil(try store.labels(by: .person("bob")).first { $0.candidateID == ids[2] })
        XCTAssertEqual(session.progress, ReviewProgress(done: 3, total: 4, accepted: 1, rejected: 1, skipped: 1))
        XCTAssertEqual(try session.decisions().map(\.decision), [.reject, .accept, .skip])
        // Resuming from the store gives the same counts.
        XCTAssertEqual(try store.resumeReview(name: "r")?.progress, session.progress)
        // Revising to the same decision changes nothing; a position not decided yet is refused.
        let before = try store.labels(by: .person("bob"))
        try session.revise(position: 0, to: .reject)
        XCTAssertEqual(try store.labels(by: .person("bob")), before)
        XCTAssertThrowsError(try session.revise(position: 3, to: .accept))
        XCTAssertThrowsError(try session.revise(position: -1, to: .accept))
        // Undo takes back position 2, then 1 (its label goes: it replaced nothing), then 0 (the CSV label returns).
        try session.undo(); try session.undo(); try session.undo()
        let labels = try store.labels(by: .person("bob"))
        XCTAssertEqual(labels.count, 1)
        XCTAssertEqual(labels.first?.accept, false)
        XCTAssertEqual(labels.first?.note, "from csv")
        XCTAssertEqual(session.progress, ReviewProgress(done: 0, total: 4, accepted: 0, rejected: 0, skipped: 0))
        XCTAssertEqual(try store.integrityCheck(), "ok")
    }

    func testSkipRevisedToAcceptKeepsTheLabelItReplacesForUndo() throws {
        let (store, ids) = try tinyStore(self, count: 2)
        let session = try store.openReview(name: "r2", annotator: "eve", candidates: ids)
        try session.decide(.skip)
        try store.label(ids[0], by: .person("eve"), accept: false, note: "later csv")
        try session.revise(position: 0, to: .accept)
        XCTAssertEqual(try store.labels(by: .person("eve")).first?.accept, true)
        try session.undo()
        XCTAssertEqual(try store.labels(by: .person("eve")).first?.note, "later csv")
        XCTAssertEqual(try store.labels(by: .person("eve")).first?.accept, false)
    }

    func testDefaultNameIsStableAndDependsOnReviewerOrderAndIds() {
        let a = ReviewSession.defaultName(reviewer: "alice", order: .given, ids: [1, 2, 3])
        XCTAssertEqual(a, ReviewSession.defaultName(reviewer: "alice", order: .given, ids: [1, 2, 3]))
        XCTAssertTrue(a.hasPrefix("alice-given-3-"))
        XCTAssertEqual(a.count, "alice-given-3-".count + 8)
        XCTAssertNotEqual(a, ReviewSession.defaultName(reviewer: "bob", order: .given, ids: [1, 2, 3]))
        XCTAssertNotEqual(a, ReviewSession.defaultName(reviewer: "alice", order: .given, ids: [1, 3, 2]))
    }
}
