import Foundation
import XCTest

/// End-to-end tests of the REPL: the real `rorem` binary on a pseudo-terminal, driven with keys as a person
/// would (readline echo, Tab, arrows, Ctrl-C, Ctrl-D). History lives in a per-test temporary HOME.
final class REPLTerminalTests: XCTestCase {
    var home = ""

    override func setUpWithError() throws {
        home = NSTemporaryDirectory() + "rorem-repl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home + "/state", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: home)
    }

    /// The `rorem` executable (see `PseudoTerminal.roremBinary`).
    static var binary: String? { PseudoTerminal.roremBinary }

    func binaryPath(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let binary = REPLTerminalTests.binary else {
            XCTFail("the rorem binary is not built (swift build first)", file: file, line: line)
            throw PseudoTerminalError("no rorem binary")
        }
        return binary
    }

    /// The prompt while an input continues.
    let continuation = "  ...> "

    /// An isolated environment: history under `home`, no user inputrc, plain text instead of images.
    var environment: [String: String] {
        [
            "HOME": home, "XDG_STATE_HOME": home + "/state", "TERM": "xterm-256color", "ROREM_IMAGES": "none",
            "INPUTRC": "/dev/null", "LANG": "C.UTF-8",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
    }

    /// Starts the REPL and waits for its first prompt.
    func startREPL(file: StaticString = #filePath, line: UInt = #line) throws -> PseudoTerminal {
        let terminal = try PseudoTerminal(executable: try binaryPath(file: file, line: line), environment: environment)
        try terminal.expect("rorem> ", file: file, line: line)
        return terminal
    }

    /// Types `input` and Enter, waits for the next prompt and returns the lines printed in between (the echo of
    /// the input itself left out).
    @discardableResult
    func enter(_ input: String, on terminal: PseudoTerminal, prompt: String = "rorem> ",
               file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        try terminal.type(input)
        let shown = try terminal.expect(prompt, file: file, line: line)
        return Array(shown.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().map(String.init).filter { !$0.isEmpty })
    }

    /// Quits with Ctrl-D at an empty prompt and checks the exit status is 0.
    func quit(_ terminal: PseudoTerminal, file: StaticString = #filePath, line: UInt = #line) throws {
        try terminal.send("\u{04}")
        XCTAssertEqual(try terminal.waitForExit(file: file, line: line), 0, "Ctrl-D must quit with status 0", file: file, line: line)
    }

    func testEvaluationPrintingAndErrorsKeepTheSession() throws {
        let t = try startREPL()
        XCTAssertEqual(try enter("1 + 2", on: t), ["3"])
        XCTAssertEqual(try enter("let x = 5", on: t), [])
        XCTAssertEqual(try enter("print(x * 2, \"apples\")", on: t), ["10 apples"])
        let error = try enter("xx + 1", on: t)
        XCTAssertTrue(error.first?.contains("unknown name 'xx'") ?? false, "\(error)")
        XCTAssertTrue(error.joined().contains("did you mean 'x'"), "\(error)")
        XCTAssertEqual(try enter("x + 1", on: t), ["6"], "the session must survive an error")
        try quit(t)
    }

    func testMultiLineInputWhileBracketsAreOpen() throws {
        let t = try startREPL()
        XCTAssertEqual(try enter("let xs = [1,", on: t, prompt: continuation), [])
        XCTAssertEqual(try enter("  2, 3]", on: t), [])
        XCTAssertEqual(try enter("len(xs)", on: t), ["3"])
        try enter("fn add(a, b) {", on: t, prompt: continuation)
        try enter("  return a + b", on: t, prompt: continuation)
        XCTAssertEqual(try enter("}", on: t), [])
        XCTAssertEqual(try enter("add(40, 2)", on: t), ["42"])
        try quit(t)
    }

    func testTabCompletesNamesFieldsAndPaths() throws {
        let folder = home + "/pics"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/unique_photo_name.txt"))
        let t = try startREPL()

        try t.send("pri\t")
        try t.expect("print")
        XCTAssertEqual(try enter("(7)", on: t), ["7"], "pri<Tab> must complete to print")

        try enter("let rec = {zeta_field: 11, other: 2}", on: t)
        try t.send("rec.zeta_f\t")
        try t.expect("zeta_field")
        XCTAssertEqual(try enter("", on: t), ["11"], "rec.zeta_f<Tab> must complete the field")

        // A folder completes with its slash and leaves the string open; a unique file closes it.
        let full = folder + "/unique_photo_name.txt"
        try t.send("len(\"\(home)/pi\t")
        try t.expect("pics/")
        try t.send("unique_ph\t")
        try t.expect("unique_photo_name.txt\"")
        XCTAssertEqual(try enter(")", on: t), ["\(full.count)"], "a path inside a string must complete whole")
        try quit(t)
    }

    func testHistoryIsKeptAcrossSessions() throws {
        let first = try startREPL()
        try enter("let hist_marker = 40 + 2", on: first)
        try quit(first)
        let historyFile = home + "/state/rorem/history"
        XCTAssertTrue((try? String(contentsOfFile: historyFile, encoding: .utf8))?.contains("let hist_marker = 40 + 2") ?? false,
                      "history must be written to \(historyFile)")

        let second = try startREPL()
        try second.send("\u{1b}[A") // Up arrow
        try second.expect("let hist_marker = 40 + 2")
        XCTAssertEqual(try enter("", on: second), [], "the recalled line runs")
        XCTAssertEqual(try enter("hist_marker", on: second), ["42"])
        try quit(second)
    }

    func testCtrlCStopsALoopAndKeepsTheSession() throws {
        let t = try startREPL()
        try enter("let keep = 7", on: t)
        try t.type("print(\"spinning\"); while true { }")
        try t.expect("spinning\n") // the loop is running
        try t.send("\u{03}")
        let stopped = try t.expect("rorem> ")
        XCTAssertTrue(stopped.contains("interrupted"), "Ctrl-C must report the interruption:\n\(stopped)")
        XCTAssertEqual(try enter("keep * 6", on: t), ["42"], "bindings survive Ctrl-C")

        // Ctrl-C at the prompt drops the line being typed.
        try t.send("let dropped = 1")
        try t.expect("let dropped = 1")
        try t.send("\u{03}")
        try t.expect("rorem> ")
        let after = try enter("dropped", on: t)
        XCTAssertTrue(after.first?.contains("unknown name 'dropped'") ?? false, "\(after)")
        try quit(t)
    }

    func testSavedSessionReplaysWithRun() throws {
        let script = home + "/session.rorem"
        let t = try startREPL()
        try enter("let a = 6", on: t)
        XCTAssertEqual(try enter("print(a * 7)", on: t), ["42"])
        try enter("fn sq(x) { return x * x }", on: t)
        XCTAssertEqual(try enter("print(sq(a))", on: t), ["36"])
        XCTAssertTrue(try enter("sq(nope)", on: t).joined().contains("unknown name"), "an error is not saved")
        XCTAssertEqual(try enter(":save \(script)", on: t), ["saved 4 inputs to \(script)"])
        try quit(t)

        let replay = Process()
        replay.executableURL = URL(fileURLWithPath: try binaryPath())
        replay.arguments = ["run", script]
        replay.environment = environment
        let out = Pipe()
        replay.standardOutput = out
        replay.standardError = out
        try replay.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        replay.waitUntilExit()
        XCTAssertEqual(replay.terminationStatus, 0, text)
        XCTAssertEqual(text, "42\n36\n", "replaying the saved session must print what the session printed")
    }

    func testHelpVarsAndTime() throws {
        let t = try startREPL()
        let help = try enter("?print", on: t)
        XCTAssertTrue(help.first?.hasPrefix("print(") ?? false, "\(help)")
        XCTAssertTrue(help.joined(separator: "\n").contains("separated by spaces"), "\(help)")

        try enter("let n = 12", on: t)
        try enter("let word = \"hi\"", on: t)
        XCTAssertEqual(try enter(":vars", on: t), ["n: number = 12", "word: string = \"hi\""])

        let timed = try enter(":time 6 * 7", on: t)
        XCTAssertEqual(timed.first, "42", "\(timed)")
        let seconds = timed.last ?? ""
        XCTAssertNotNil(seconds.range(of: #"^[0-9]+\.[0-9]{3} s$"#, options: .regularExpression), "\(timed)")
        try quit(t)
    }
}
