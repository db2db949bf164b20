import Support
import Curation
import Foundation
import XCTest
@testable import ReviewWeb

/// The HTTP interface through a real loopback socket: pages, token, malformed and replayed POSTs, validation,
/// escaping, images by hash only, the Host check and a port in use.
final class ReviewServerTests: XCTestCase {
    private var store: Store!
    private var candidates: [Candidate] = []
    private var server: ReviewServer!
    private var client: LoopbackClient!

    override func setUpWithError() throws {
        (store, candidates) = try reviewStore(self)
        server = try ReviewServer(desk: try ReviewDesk(store: store, candidates: candidates), port: 0)
        try server.start()
        client = LoopbackClient(port: server.port)
    }

    override func tearDown() {
        server?.stop()
        server = nil
    }

    private func decide(_ decision: String, by: String = "alice", position: Int, candidate: Int64, nonce: String = UUID().uuidString,
                        token: String? = nil) throws -> LoopbackClient.Response {
        try client.post(["by": by, "action": "decide", "decision": decision, "position": position,
                         "candidate": candidate, "nonce": nonce], token: token ?? server.token)
    }

    func testPagesAndStateAndADecision() throws {
        XCTAssertTrue(server.url.hasPrefix("http://127.0.0.1:"))
        let start = try client.get("/")
        XCTAssertEqual(start.status, 200)
        XCTAssertTrue(start.text.contains("name=\"by\""))
        XCTAssertNotNil(start.headers["content-security-policy"])
        let page = try client.get("/?by=alice")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains(server.token))
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://"), "the page must not load anything from another host")
        XCTAssertEqual(try client.get("/app.js").status, 200)
        XCTAssertEqual(try client.get("/app.css").status, 200)
        let state = try client.get("/api/state?by=alice").json()
        XCTAssertEqual(state["position"] as? Int, 0)
        let ok = try decide("accept", position: 0, candidate: candidates[0].id)
        XCTAssertEqual(ok.status, 200, ok.text)
        XCTAssertEqual(try ok.json()["position"] as? Int, 1)
        XCTAssertEqual(try store.labels(by: .person("alice")).map(\.accept), [true])
    }

    func testTokenIsRequired() throws {
        let missing = try client.post(["by": "alice", "action": "decide", "decision": "accept", "position": 0,
                                       "candidate": candidates[0].id, "nonce": UUID().uuidString], token: nil)
        XCTAssertEqual(missing.status, 403)
        XCTAssertEqual(try decide("accept", position: 0, candidate: candidates[0].id, token: "0123456789abcdef0123456789abcdef").status, 403)
        XCTAssertEqual(try store.count("label"), candidates.count / 2 * 2)     // only the fixture's oracle and disc labels
        XCTAssertEqual(try store.count("review_event"), 0)
    }

    func testMalformedPostsChangeNothing() throws {
        let labelsBefore = try store.count("label")
        let id = candidates[0].id
        let bad: [(String, [UInt8], String)] = [
            ("not JSON", Array("accept please".utf8), "application/json"),
            ("a JSON list", Array("[1, 2]".utf8), "application/json"),
            ("truncated", Array("{\"by\": \"alice\", \"action\": \"dec".utf8), "application/json"),
            ("form encoded", Array("by=alice&action=decide".utf8), "application/x-www-form-urlencoded"),
            ("unknown decision", json(["by": "alice", "action": "decide", "decision": "maybe", "position": 0, "candidate": id, "nonce": nonce()]), "application/json"),
            ("unknown action", json(["by": "alice", "action": "delete", "position": 0, "nonce": nonce()]), "application/json"),
            ("position as text", json(["by": "alice", "action": "decide", "decision": "accept", "position": "0", "candidate": id, "nonce": nonce()]), "application/json"),
            ("fractional position", Array("{\"by\":\"alice\",\"action\":\"decide\",\"decision\":\"accept\",\"position\":0.5,\"candidate\":\(id),\"nonce\":\"\(nonce())\"}".utf8), "application/json"),
            ("negative position", json(["by": "alice", "action": "decide", "decision": "accept", "position": -1, "candidate": id, "nonce": nonce()]), "application/json"),
            ("candidate as text", json(["by": "alice", "action": "decide", "decision": "accept", "position": 0, "candidate": "1; DROP TABLE label", "nonce": nonce()]), "application/json"),
            ("no candidate", json(["by": "alice", "action": "decide", "decision": "accept", "position": 0, "nonce": nonce()]), "application/json"),
            ("no nonce", json(["by": "alice", "action": "decide", "decision": "accept", "position": 0, "candidate": id]), "application/json"),
            ("short nonce", json(["by": "alice", "action": "decide", "decision": "accept", "position": 0, "candidate": id, "nonce": "abc"]), "application/json"),
            ("extra field", json(["by": "alice", "action": "decide", "decision": "accept", "position": 0, "candidate": id, "nonce": nonce(), "accept": true]), "application/json"),
            ("empty reviewer", json(["by": " ", "action": "decide", "decision": "accept", "position": 0, "candidate": id, "nonce": nonce()]), "application/json"),
            ("control characters in the name", json(["by": "al\u{1}ice", "action": "decide", "decision": "accept", "position": 0, "candidate": id, "nonce": nonce()]), "application/json"),
        ]
        for (what, body, type) in bad {
            let r = try client.send("POST", "/api/decide", headers: ["Content-Type": type, "X-Review-Token": server.token], body: body)
            XCTAssertEqual(r.status, 400, "\(what): \(r.text)")
            XCTAssertNotNil(try? r.json()["error"] as? String, what)
        }
        // A candidate that is not the current one, and one that does not exist: refused as stale.
        XCTAssertEqual(try decide("accept", position: 0, candidate: candidates[1].id).status, 409)
        XCTAssertEqual(try decide("accept", position: 0, candidate: 999_999).status, 409)
        // Too large a body.
        let huge = try client.send("POST", "/api/decide", headers: ["Content-Type": "application/json", "X-Review-Token": server.token],
                                   body: [UInt8](repeating: UInt8(ascii: " "), count: ReviewRouter.maxBody + 10))
        XCTAssertEqual(huge.status, 413)
        // GET and other methods on the POST route.
        XCTAssertEqual(try client.get("/api/decide").status, 405)
        XCTAssertEqual(try client.send("DELETE", "/api/decide").status, 405)
        XCTAssertEqual(try client.get("/api/state?by=alice&at=x").status, 400)
        XCTAssertEqual(try store.count("label"), labelsBefore)
        XCTAssertEqual(try store.count("review_event"), 0)
        // The server still works.
        XCTAssertEqual(try decide("accept", position: 0, candidate: candidates[0].id).status, 200)
    }

    func testReplayedPostChangesNothing() throws {
        let n = nonce()
        XCTAssertEqual(try decide("reject", position: 0, candidate: candidates[0].id, nonce: n).status, 200)
        let undo: [String: Any] = ["by": "alice", "action": "undo", "position": 1, "nonce": nonce()]
        XCTAssertEqual(try client.post(undo, token: server.token).status, 200)
        // The same decision again, byte for byte: the position matches again after the undo, but the nonce is spent.
        let replay = try decide("reject", position: 0, candidate: candidates[0].id, nonce: n)
        XCTAssertEqual(replay.status, 409)
        XCTAssertTrue(replay.text.contains("replayed"), replay.text)
        XCTAssertEqual(try client.post(undo, token: server.token).status, 409)
        XCTAssertEqual(try store.count("review_event"), 0)
        XCTAssertTrue(try store.labels(by: .person("alice")).isEmpty)
    }

    func testReviewerNameIsEscapedEverywhere() throws {
        let name = "<script>alert(1)</script>&\"'"
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let page = try client.get("/?by=\(encoded)")
        XCTAssertEqual(page.status, 200)
        XCTAssertFalse(page.text.contains("<script>alert"), "the raw name must not reach the page")
        XCTAssertTrue(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"))
        // The JSON keeps the name as data (the script shows it with textContent).
        let state = try client.get("/api/state?by=\(encoded)").json()
        XCTAssertEqual(state["reviewer"] as? String, name)
        // An invalid name gets the form again with the message escaped.
        let bad = try client.get("/?by=" + String(repeating: "%3Cb%3E", count: 30))
        XCTAssertEqual(bad.status, 400)
        XCTAssertFalse(bad.text.contains("<b>"))
        // Pair names with markup (the fixture's are "pair<i>") are JSON data, never HTML.
        let item = try XCTUnwrap(state["item"] as? [String: Any])
        XCTAssertEqual(item["pair"] as? String, "pair<0>")
    }

    func testImagesOnlyByServedHash() throws {
        let c = candidates[0]
        let image = try client.get("/image/\(c.result.hash!)")
        XCTAssertEqual(image.status, 200)
        XCTAssertEqual(image.headers["content-type"], "image/png")
        XCTAssertEqual(Array(image.body.prefix(4)), [0x89, 0x50, 0x4e, 0x47])
        // Dot segments are resolved before routing: nothing outside /image/HASH is ever a file.
        let escape = try client.get("/image/../store.sqlite")
        XCTAssertEqual(escape.status, 404)
        XCTAssertFalse(escape.text.contains("SQLite format"))
        XCTAssertEqual(try client.get("/image/%2e%2e%2fstore.sqlite").status, 400)
        XCTAssertEqual(try client.get("/image/" + c.result.hash!.uppercased()).status, 400)
        XCTAssertEqual(try client.get("/image/" + String(repeating: "0", count: 64)).status, 404)
        XCTAssertEqual(try client.get("/nothing").status, 404)
    }

    func testHostHeaderMustNameTheServer() throws {
        XCTAssertEqual(try client.send("GET", "/", host: "evil.example:\(server.port)").status, 403)
        XCTAssertEqual(try client.send("GET", "/", host: "localhost:\(server.port)").status, 200)
    }

    func testPortInUseGetsAClearMessage() throws {
        let second = try ReviewServer(desk: server.desk, port: server.port)
        XCTAssertThrowsError(try second.start()) { error in
            XCTAssertEqual(error as? ReviewWebError, .portInUse(host: "127.0.0.1", port: server.port))
            XCTAssertTrue("\(error)".contains("already in use"))
        }
        XCTAssertThrowsError(try ReviewServer(desk: server.desk, host: "example.com", port: 0))
        XCTAssertThrowsError(try ReviewServer(desk: server.desk, port: 70000))
    }

    private func json(_ object: [String: Any]) -> [UInt8] {
        (try? [UInt8](JSONSerialization.data(withJSONObject: object))) ?? []
    }

    private func nonce() -> String { UUID().uuidString }
}
