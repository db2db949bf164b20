import Foundation
import Lang
import XCTest
@testable import Workbench

final class REPLCoreTests: XCTestCase {
    private func core() -> (REPLCore, CapturedOutput) {
        let out = CapturedOutput()
        return (REPLCore(session: Session(output: out, baseDirectory: NSTemporaryDirectory())), out)
    }

    func testMultiLineInputContinuesWhileOpen() {
        let (c, out) = core()
        XCTAssertEqual(c.handle("let xs = [1,"), .needMore)
        XCTAssertEqual(c.handle("  2]"), .ready)
        XCTAssertEqual(c.handle("fn f(x) {"), .needMore)
        XCTAssertEqual(c.handle("  return x * 2"), .needMore)
        XCTAssertEqual(c.handle("}"), .ready)
        XCTAssertEqual(c.handle("xs |> map(f)"), .ready)
        XCTAssertEqual(out.text, "[2, 4]\n")
    }

    func testNeedsMoreInput() {
        for s in ["print(1", "let x =", "1 +", "if x {", "\"abc", "[1, 2,", "{a: 1,", "x |>", "fn f(a,"] {
            XCTAssertTrue(REPLCore.needsMoreInput(s), s)
        }
        for s in ["print(1)", "let x = 1", "foo bar", "print(1))", "}", "let = 3"] {
            XCTAssertFalse(REPLCore.needsMoreInput(s), s)
        }
    }

    func testBlankLineEndsUnfinishedInputWithItsError() {
        let (c, out) = core()
        XCTAssertEqual(c.handle("print(1,"), .needMore)
        XCTAssertEqual(c.handle(""), .ready)
        XCTAssertTrue(out.text.hasPrefix("error: line 1, col 9: expected an expression, found end of input"), out.text)
        XCTAssertTrue(c.pending.isEmpty)
    }

    func testErrorsKeepTheSession() {
        let (c, out) = core()
        _ = c.handle("let a = 1")
        _ = c.handle("a = a + nope")
        _ = c.handle("a")
        XCTAssertTrue(out.text.contains("unknown name 'nope'"))
        XCTAssertTrue(out.text.hasSuffix("\n1\n"))
    }

    func testHelpAndCommands() {
        let (c, out) = core()
        _ = c.handle("?mask_box")
        XCTAssertTrue(out.text.hasPrefix("mask_box(like: image|mask, left: int, top: int, width: int, height: int)\n  A mask the size"), out.text)
        out.clear()
        _ = c.handle("let n = 3")
        _ = c.handle(":vars")
        XCTAssertEqual(out.text, "n: number = 3\n")
        out.clear()
        _ = c.handle(":vras")
        XCTAssertEqual(out.text, "unknown command ':vras' (did you mean ':vars'?); :help lists them\n")
        out.clear()
        _ = c.handle(":time 1 + 1")
        XCTAssertTrue(out.text.hasPrefix("2\n") && out.text.hasSuffix(" s\n"), out.text)
        _ = c.handle(":reset")
        XCTAssertNil(c.session.interpreter.global("n"))
        XCTAssertEqual(c.handle(":quit"), .quit)
    }

    func testSaveWritesAReplayableScript() throws {
        let (c, _) = core()
        let path = NSTemporaryDirectory() + "rorem-save-\(UUID().uuidString).rorem"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = c.handle("let a = 2")
        _ = c.handle("let b = [a,")
        _ = c.handle("  a * 10]")
        _ = c.handle("b = b + undefined_name")
        _ = c.handle(":save \(path)")
        let replay = Session(output: CapturedOutput())
        try replay.interpreter.run(try String(contentsOfFile: path, encoding: .utf8))
        XCTAssertEqual(replay.interpreter.global("b"), .list([.number(2), .number(20)]))
    }

    func testCompletion() throws {
        let session = Session(output: CapturedOutput(), baseDirectory: NSTemporaryDirectory())
        try session.interpreter.run("let img = new_image(4, 4)\nlet rec = {alpha: 1, beta: 2}")
        XCTAssertEqual(Completion.candidates(word: "mask_", before: "let m = ", session: session), ["mask_box", "mask_ellipse"])
        XCTAssertEqual(Array(Completion.candidates(word: "wi", before: "img.", session: session).prefix(1)), ["width"])
        XCTAssertEqual(Array(Completion.candidates(word: "b", before: "rec.", session: session).prefix(1)), ["beta"])
        XCTAssertEqual(Completion.candidates(word: ":sa", before: "", session: session), [":save"])
        let dir = NSTemporaryDirectory() + "rorem-comp-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/photo.png", contents: Data())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertEqual(Completion.candidates(word: dir + "/", before: "load(\"", session: session), [dir + "/photo.png", dir + "/sub/"])
        XCTAssertEqual(Completion.candidates(word: dir + "/ph", before: "load(\"", session: session), [dir + "/photo.png"])
    }

    func testHistoryPath() {
        XCTAssertEqual(LineEditor.defaultHistoryPath(["XDG_STATE_HOME": NSTemporaryDirectory() + "xdg"]), NSTemporaryDirectory() + "xdg/rorem/history")
        XCTAssertTrue(LineEditor.defaultHistoryPath([:]).hasSuffix("/.rorem_history"))
    }
}
