import Support
import Curation
import XCTest
@testable import ReviewWeb

/// The browser review's workflow without HTTP: sessions per reviewer, stale-page checks, lineage, agreement.
final class ReviewDeskTests: XCTestCase {
    func testEachReviewerHasTheirOwnQueueAndLabelsWithPersonLineage() throws {
        let (store, candidates) = try reviewStore(self)
        let desk = try ReviewDesk(store: store, candidates: candidates)
        var alice = try desk.state(for: "alice")
        XCTAssertEqual(alice.total, candidates.count)
        XCTAssertEqual(alice.item?.candidate, candidates[0].id)
        XCTAssertEqual(alice.item?.box, Box(x: 8, y: 5, width: 6, height: 4))
        XCTAssertEqual(alice.item?.width, 24)
        XCTAssertEqual(alice.upcoming, [candidates[1].source.hash!, candidates[1].mask.hash!, candidates[1].result.hash!])
        alice = try desk.decide(.accept, reviewer: "alice", position: 0, candidate: candidates[0].id)
        alice = try desk.decide(.reject, reviewer: "alice", position: 1, candidate: candidates[1].id)
        let bob = try desk.decide(.reject, reviewer: "bob", position: 0, candidate: candidates[0].id)
        XCTAssertEqual(alice.position, 2)
        XCTAssertEqual(bob.position, 1)
        XCTAssertEqual(alice.acceptRate, 0.5)
        XCTAssertEqual(alice.decisions.map(\.decision), ["reject", "accept"])    // newest first
        // The same session as the terminal review, by the shared default name.
        XCTAssertEqual(alice.session, ReviewSession.defaultName(reviewer: "alice", order: .given, ids: candidates.map(\.id)))
        let labels = try store.labels(by: .person("alice"))
        XCTAssertEqual(labels.map(\.candidateID), [candidates[0].id, candidates[1].id])
        XCTAssertEqual(labels.map(\.accept), [true, false])
        XCTAssertTrue(labels.allSatisfy { $0.annotator.kind == .person && $0.createdAt > 0 })
        XCTAssertEqual(try store.labels(by: .person("alice"), round: 1).count, 2)
        XCTAssertEqual(try store.labels(by: .person("bob")).map(\.accept), [false])
    }

    func testStaleRequestsChangeNothing() throws {
        let (store, candidates) = try reviewStore(self)
        let desk = try ReviewDesk(store: store, candidates: candidates)
        _ = try desk.decide(.accept, reviewer: "alice", position: 0, candidate: candidates[0].id)
        // The same decision again (a second tab, a replay): the position moved on.
        XCTAssertThrowsError(try desk.decide(.accept, reviewer: "alice", position: 0, candidate: candidates[0].id)) { error in
            XCTAssertEqual((error as? ReviewWebError)?.status, 409)
        }
        XCTAssertThrowsError(try desk.decide(.accept, reviewer: "alice", position: 1, candidate: candidates[2].id))
        XCTAssertThrowsError(try desk.undo(reviewer: "alice", position: 0))
        XCTAssertThrowsError(try desk.revise(.reject, reviewer: "alice", position: 1, candidate: candidates[1].id))
        XCTAssertThrowsError(try desk.revise(.reject, reviewer: "alice", position: 0, candidate: candidates[1].id))
        XCTAssertEqual(try store.labels(by: .person("alice")).map(\.accept), [true])
        XCTAssertEqual(try desk.state(for: "alice").position, 1)
    }

    func testUndoReviseRevisitAndResumeInANewDesk() throws {
        let (store, candidates) = try reviewStore(self)
        let ids = candidates.map(\.id)
        let desk = try ReviewDesk(store: store, candidates: candidates)
        _ = try desk.decide(.accept, reviewer: "carol", position: 0, candidate: ids[0])
        _ = try desk.decide(.skip, reviewer: "carol", position: 1, candidate: ids[1])
        var s = try desk.undo(reviewer: "carol", position: 2)
        XCTAssertEqual(s.position, 1)
        XCTAssertEqual(s.item?.candidate, ids[1])
        s = try desk.decide(.reject, reviewer: "carol", position: 1, candidate: ids[1])
        // Revisit the first decision, then change it.
        let revisit = try desk.state(for: "carol", at: 0)
        XCTAssertTrue(revisit.revisiting)
        XCTAssertEqual(revisit.item?.candidate, ids[0])
        XCTAssertEqual(revisit.item?.decision, "accept")
        XCTAssertThrowsError(try desk.state(for: "carol", at: 5))
        s = try desk.revise(.reject, reviewer: "carol", position: 0, candidate: ids[0])
        XCTAssertFalse(s.revisiting)
        XCTAssertEqual(s.rejected, 2)
        XCTAssertEqual(try store.labels(by: .person("carol")).map(\.accept), [false, false])
        // A new desk (a restarted server) resumes where carol stopped.
        let again = try ReviewDesk(store: store, candidates: candidates)
        let resumed = try again.state(for: "carol")
        XCTAssertEqual(resumed.position, 2)
        XCTAssertEqual(resumed.item?.candidate, ids[2])
        XCTAssertEqual(resumed.rejected, 2)
    }

    func testAgreementBetweenPeopleAndWithOracleAndDiscriminator() throws {
        let (store, candidates) = try reviewStore(self, count: 6)
        let ids = candidates.map(\.id)
        let desk = try ReviewDesk(store: store, candidates: candidates)
        // alice: accept, reject, accept, accept; bob: accept, accept, accept, reject.
        for (k, d) in [ReviewDecision.accept, .reject, .accept, .accept].enumerated() {
            _ = try desk.decide(d, reviewer: "alice", position: k, candidate: ids[k])
        }
        for (k, d) in [ReviewDecision.accept, .accept, .accept, .reject].enumerated() {
            _ = try desk.decide(d, reviewer: "bob", position: k, candidate: ids[k])
        }
        let panel = desk.agreement()
        let ab = try XCTUnwrap(panel.first { $0.first == "alice" && $0.second == "bob" })
        XCTAssertEqual(ab.n, 4)
        XCTAssertEqual(ab.percent, 50, accuracy: 1e-9)
        // po = 0.5, rates 0.75 and 0.75: pe = 0.625, kappa = (0.5 - 0.625) / 0.375 = -1/3.
        XCTAssertEqual(try XCTUnwrap(ab.kappa), -1.0 / 3.0, accuracy: 1e-9)
        // The oracle labelled the first 3 (accept, reject, accept): alice agrees on all 3.
        let ao = try XCTUnwrap(panel.first { $0.first == "alice" && $0.second == "oracle" })
        XCTAssertEqual(ao.n, 3)
        XCTAssertEqual(ao.percent, 100, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(ao.kappa), 1, accuracy: 1e-9)
        // The discriminator (threshold 0.5, scores 0, 1/6, 2/6) rejected all three, bob accepted them: rates 1 and 0,
        // so pe = 0 and kappa = 0.
        let bd = try XCTUnwrap(panel.first { $0.first == "bob" && $0.second == "disc (discriminator)" })
        XCTAssertEqual(bd.n, 3)
        XCTAssertEqual(bd.percent, 0, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(bd.kappa), 0, accuracy: 1e-12)
        // Cross-check with the store's own agreement.
        let report = try store.agreement(.person("alice"), .person("bob"))
        XCTAssertEqual(report.kappa ?? .nan, ab.kappa ?? .nan, accuracy: 1e-12)
        // An undo leaves the panel in step.
        _ = try desk.undo(reviewer: "bob", position: 4)
        XCTAssertEqual(desk.agreement().first { $0.first == "alice" && $0.second == "bob" }?.n, 3)
    }

    func testScoresShownWhenTheDiscriminatorOrdersTheQueue() throws {
        let (store, candidates) = try reviewStore(self, count: 6)
        let desk = try ReviewDesk(store: store, candidates: candidates, order: .margin(discriminator: "disc", threshold: 0.5))
        let s = try desk.state(for: "dan")
        XCTAssertEqual(s.scoreName, "disc")
        // Scores 0, 1/6, 2/6 on the first three; nearest 0.5 is 2/6; unscored go last.
        XCTAssertEqual(s.item?.candidate, candidates[2].id)
        XCTAssertEqual(try XCTUnwrap(s.item?.score), 2.0 / 6.0, accuracy: 1e-12)
        let plain = try ReviewDesk(store: store, candidates: candidates)
        XCTAssertNil(try plain.state(for: "dan2").item?.score)
    }

    func testReviewerNamesAreValidated() throws {
        XCTAssertEqual(try ReviewerName.validated("  <b>eve</b> "), "<b>eve</b>")
        XCTAssertThrowsError(try ReviewerName.validated("   "))
        XCTAssertThrowsError(try ReviewerName.validated(String(repeating: "x", count: 65)))
        XCTAssertThrowsError(try ReviewerName.validated("a\u{0}b"))
        XCTAssertThrowsError(try ReviewerName.validated("a\nb"))
        XCTAssertEqual(HTML.escape("<b a=\"1\">'&'</b>"), "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;")
    }
}
