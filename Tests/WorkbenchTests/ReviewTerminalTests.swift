import Curation
import Foundation
import XCTest

/// `review` end to end: the real `rorem` REPL on a pseudo-terminal, keys typed as a person would, and the labels
/// then read from the store with the Curation API. Every wait has a deadline (see `PseudoTerminal.expect`).
final class ReviewTerminalTests: XCTestCase {
    var home = ""

    override func setUpWithError() throws {
        home = NSTemporaryDirectory() + "rorem-review-pty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home + "/state", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: home)
    }

    /// The `rorem` executable (see `PseudoTerminal.roremBinary`).
    static var binary: String? { PseudoTerminal.roremBinary }

    /// Starts the REPL with history under `home` and images drawn by `images` (a `ROREM_IMAGES` value).
    func startREPL(images: String, file: StaticString = #filePath, line: UInt = #line) throws -> PseudoTerminal {
        guard let binary = ReviewTerminalTests.binary else {
            XCTFail("the rorem binary is not built (swift build first)", file: file, line: line)
            throw PseudoTerminalError("no rorem binary")
        }
        let environment = [
            "HOME": home, "XDG_STATE_HOME": home + "/state", "TERM": "xterm-256color", "ROREM_IMAGES": images,
            "INPUTRC": "/dev/null", "LANG": "C.UTF-8", "USER": "tess",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        let terminal = try PseudoTerminal(executable: binary, environment: environment)
        try terminal.expect("rorem> ", file: file, line: line)
        return terminal
    }

    /// Types `input`, waits for the next prompt and returns what was printed in between.
    @discardableResult
    func enter(_ input: String, on terminal: PseudoTerminal, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try terminal.type(input)
        return try terminal.expect("rorem> ", file: file, line: line)
    }

    func testKeysDecideUndoQuitAndALaterReviewResumes() throws {
        let storePath = home + "/store"
        // First session: generate 4 candidates with Telea, then a, r, u, a, q.
        let first = try startREPL(images: "none")
        try enter("let st = open_store(\"\(storePath)\")", on: first)
        let made = try enter("let c = generate(st, remover(\"telea\"), synth(4, seed: 2), round: 1)", on: first)
        XCTAssertTrue(made.contains("4/4"), "generate draws a progress bar on a terminal: \(made)")
        try first.type("review(c)")
        try first.expect("0/4  accepted 0  [a]ccept [r]eject [s]kip [u]ndo [q]uit")
        try first.send("a")
        try first.expect("1/4  accepted 1 (100%)")
        try first.send("r")
        try first.expect("2/4  accepted 1 (50%)")
        try first.send("u")
        try first.expect("1/4  accepted 1 (100%)")
        try first.send("\u{1b}[A")  // an arrow key is ignored
        try first.send("a")
        try first.expect("2/4  accepted 2 (100%)")
        try first.send("q")
        let summary = try first.expect("rorem> ")
        XCTAssertTrue(summary.contains("review tess-given-4-"), summary)
        XCTAssertTrue(summary.contains("stopped; run the same review again to resume"), summary)
        XCTAssertEqual(try enter("1 + 1", on: first).split(separator: "\n").last.map(String.init), "2", "the terminal is usable after review")
        try first.send("\u{04}")
        XCTAssertEqual(try first.waitForExit(), 0)

        let store = try Store.open(storePath)
        let ids = try store.candidates(round: 1).map(\.id)
        XCTAssertEqual(ids.count, 4)
        let afterFirst = try store.labels(by: .person("tess"))
        XCTAssertEqual(afterFirst.map(\.candidateID), [ids[0], ids[1]])
        XCTAssertEqual(afterFirst.map(\.accept), [true, true], "the reject on the second candidate was undone, then accepted")

        // Second session: the same review resumes at the third candidate; reject it, then Ctrl-C quits.
        let second = try startREPL(images: "blocks")
        try enter("let st = open_store(\"\(storePath)\")", on: second)
        try second.type("let r = review(candidates(st, round: 1), by: \"tess\")")
        let screen = try second.expect("2/4  accepted 2 (100%)")
        XCTAssertTrue(screen.contains("candidate #\(ids[2])"), "resumes at the third candidate: \(screen)")
        XCTAssertTrue(screen.contains("\u{2580}"), "half blocks are drawn")
        try second.send("r")
        try second.expect("3/4  accepted 2 (67%)")
        try second.send("\u{03}")
        try second.expect("rorem> ")
        XCTAssertEqual(try enter("r.done", on: second).split(separator: "\n").last.map(String.init), "3")
        try second.send("\u{04}")
        XCTAssertEqual(try second.waitForExit(), 0)

        let labels = try store.labels(by: .person("tess"))
        XCTAssertEqual(labels.map(\.candidateID), [ids[0], ids[1], ids[2]])
        XCTAssertEqual(labels.map(\.accept), [true, true, false])
        let sessions = try store.reviewSessions()
        XCTAssertEqual(sessions.count, 1, "both calls used one session")
        XCTAssertEqual(sessions.first?.progress.description, "3/4 (2 accepted, 1 rejected, 0 skipped) accept rate 67%")
    }
}
