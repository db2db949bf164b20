import CReadline
import Foundation
import Lang

/// The interactive read-eval-print loop: readline editing, persistent history, tab completion, multi-line
/// input, `?name` help and `:` commands. Ctrl-C stops a running command (or clears the line at the prompt);
/// Ctrl-D quits; errors never end the session.
public enum REPL {
    /// Runs the REPL on the terminal until `:quit` or Ctrl-D; returns the exit status (0).
    public static func run() -> Int32 {
        let session = Session(output: StandardOutput(), display: TerminalImages.makeDisplay())
        let core = REPLCore(session: session)
        LineEditor.setUp(session: session)
        defer { LineEditor.tearDown() }
        print("rorem \(REPL.banner) - :help for commands, help() for primitives, Ctrl-D to quit")
        var prompt = "rorem> "
        while true {
            // A Ctrl-C that came after the last command ended (not while typing) must not drop the next line.
            LineEditor.cancelled = 0
            guard let line = LineEditor.readLine(prompt: prompt) else {
                print("")
                return 0
            }
            if LineEditor.takeCancelledLine() {
                core.cancelPending()
                prompt = "rorem> "
                continue
            }
            LineEditor.addHistory(line)
            Interrupt.clear()
            LineEditor.running = true
            let outcome = core.handle(line)
            LineEditor.running = false
            switch outcome {
            case .quit: return 0
            case .needMore: prompt = "  ...> "
            case .ready: prompt = "rorem> "
            }
        }
    }

    /// The version line shown at start.
    static let banner = "workbench"
}
