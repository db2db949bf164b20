import CReadline
import Foundation
import Lang

/// GNU readline glue: prompt, history file, SIGINT handling and tab completion. Readline's callbacks are C
/// functions, so the state they need lives in static properties.
enum LineEditor {
    nonisolated(unsafe) static var session: Session?
    nonisolated(unsafe) static var historyPath = ""
    nonisolated(unsafe) static var candidates: [String] = []
    /// Set while a command runs: Ctrl-C then interrupts the interpreter instead of clearing the line.
    nonisolated(unsafe) static var running = false
    nonisolated(unsafe) static var cancelled: Int32 = 0
    static let codeBreaks = strdup(" \t\n\"'()[]{},:;+-*/%=<>|.!")
    static let stringBreaks = strdup(" \t\n\"")

    static func setUp(session: Session) {
        self.session = session
        historyPath = defaultHistoryPath()
        using_history()
        _ = read_history(historyPath)
        stifle_history(2000)
        rl_readline_name = UnsafePointer(strdup("rorem"))
        rl_attempted_completion_function = complete
        rl_completion_word_break_hook = wordBreaks
        // Readline would otherwise end every completion inside a string with the quote that started the word
        // (even a folder, which then cannot be completed further); `complete` closes the string itself.
        rl_basic_quote_characters = UnsafePointer(strdup(""))
        rl_catch_signals = 0
        rl_getc_function = getc
        var action = sigaction()
        action.__sigaction_handler.sa_handler = onInterrupt
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
    }

    static func tearDown() {
        _ = write_history(historyPath)
        signal(SIGINT, SIG_DFL)
    }

    /// `$XDG_STATE_HOME/rorem/history` when XDG_STATE_HOME is set (the folder is created), else `~/.rorem_history`.
    static func defaultHistoryPath(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let state = env["XDG_STATE_HOME"], !state.isEmpty {
            let dir = (state as NSString).appendingPathComponent("rorem")
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            return (dir as NSString).appendingPathComponent("history")
        }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".rorem_history")
    }

    /// One line from the user, or nil at end of input (Ctrl-D).
    static func readLine(prompt: String) -> String? {
        guard let raw = readline(prompt) else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }

    static func addHistory(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        add_history(line)
        _ = append_history(1, historyPath)
    }

    /// Whether Ctrl-C was pressed at the prompt since the last call (the line is then dropped).
    static func takeCancelledLine() -> Bool {
        defer { cancelled = 0 }
        return cancelled != 0
    }

    /// SIGINT: interrupt the running command, or abandon the line being typed.
    static let onInterrupt: @convention(c) (Int32) -> Void = { _ in
        if running {
            Interrupt.request()
            return
        }
        cancelled = 1
        write(STDOUT_FILENO, "^C", 2)
    }

    /// Reads one key; when Ctrl-C interrupted the read at the prompt, empties the line and ends it, so
    /// readline returns at once (the signal handler itself only sets a flag).
    static let getc: @convention(c) (UnsafeMutablePointer<FILE>?) -> Int32 = { _ in
        var byte: UInt8 = 0
        while true {
            if cancelled != 0 { // Ctrl-C came while readline was busy between keys
                rl_replace_line("", 0)
                return 10
            }
            let n = read(STDIN_FILENO, &byte, 1)
            if n == 1 { return Int32(byte) }
            if n == 0 { return EOF }
            if errno == EINTR { continue }
            return EOF
        }
    }

    /// Inside a string literal, only spaces and quotes break words (so a path completes whole).
    static let wordBreaks: @convention(c) () -> UnsafeMutablePointer<CChar>? = {
        insideString(prefix: currentLine(upTo: Int(rl_point))) ? stringBreaks : codeBreaks
    }

    static func currentLine(upTo point: Int) -> String {
        guard let buffer = rl_line_buffer else { return "" }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: max(0, point))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func insideString(prefix: String) -> Bool {
        var inside = false
        var escaped = false
        for c in prefix {
            if escaped { escaped = false; continue }
            if c == "\\" { escaped = true } else if c == "\"" { inside.toggle() } else if c == "#" && !inside { break }
        }
        return inside
    }

    static let complete: @convention(c) (UnsafePointer<CChar>?, Int32, Int32) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = { text, start, _ in
        rl_attempted_completion_over = 1
        let word = text.map { String(cString: $0) } ?? ""
        let before = currentLine(upTo: Int(start))
        guard let s = session else { return nil }
        candidates = Completion.candidates(word: word, before: before, session: s)
        if insideString(prefix: before) {
            // A unique file closes the string (`load("cat.jpg"`); a folder stays open for the next Tab.
            let closes = candidates.count == 1 && !(candidates.first?.hasSuffix("/") ?? true)
            rl_completion_append_character = closes ? 34 : 0 // 34: '"'
        }
        guard !candidates.isEmpty else { return nil }
        return rl_completion_matches(text, generate)
    }

    static let generate: @convention(c) (UnsafePointer<CChar>?, Int32) -> UnsafeMutablePointer<CChar>? = { _, state in
        let i = Int(state)
        return i < candidates.count ? strdup(candidates[i]) : nil
    }
}
