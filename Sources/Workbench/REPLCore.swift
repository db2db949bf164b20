import Foundation
import Lang

/// The REPL's logic without the terminal: takes lines, keeps pending multi-line input, runs commands and
/// code in one session, and remembers the inputs that ran cleanly (for `:save`). Tests drive it directly.
public final class REPLCore {
    /// The session inputs run in.
    public let session: Session
    /// Inputs that ran without error, in order (`:save` writes them).
    public private(set) var successfulInputs: [String] = []
    /// Lines of an unfinished input (open brackets, a trailing operator, an unterminated string).
    public private(set) var pending: [String] = []

    /// What the caller should do after a line.
    public enum Outcome: Equatable {
        /// Show the normal prompt.
        case ready
        /// Show the continuation prompt: the input is not finished.
        case needMore
        /// End the session.
        case quit
    }

    /// A core over `session`.
    public init(session: Session) {
        self.session = session
    }

    var out: OutputSink { session.interpreter.output }

    /// Handles one line typed by the user.
    public func handle(_ line: String) -> Outcome {
        if pending.isEmpty {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return .ready }
            if trimmed.hasPrefix(":") { return command(trimmed) }
            if trimmed.hasPrefix("?") {
                let name = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
                out.write(session.interpreter.helpText(for: name.isEmpty ? .nil : .string(name)) + "\n")
                return .ready
            }
        } else if line.trimmingCharacters(in: .whitespaces).isEmpty {
            // A blank line ends an unfinished input: run it to show its error.
            let source = pending.joined(separator: "\n")
            pending = []
            execute(source)
            return .ready
        }
        pending.append(line)
        let source = pending.joined(separator: "\n")
        if REPLCore.needsMoreInput(source) { return .needMore }
        pending = []
        execute(source)
        return .ready
    }

    /// Drops an unfinished input (after Ctrl-C at the prompt).
    public func cancelPending() { pending = [] }

    /// Runs `source`, echoing values; prints errors and keeps the session.
    @discardableResult
    func execute(_ source: String, echo: Bool = true) -> Bool {
        do {
            try session.interpreter.run(source, echo: echo)
            successfulInputs.append(source)
            return true
        } catch {
            out.write(session.interpreter.format(error) + "\n")
            return false
        }
    }

    /// Whether `source` is an unfinished input (see `Interpreter.isIncomplete`).
    public static func needsMoreInput(_ source: String) -> Bool {
        Interpreter.isIncomplete(source)
    }

    /// `:help`, `:vars`, `:time expr`, `:load file`, `:save file`, `:reset`, `:quit`.
    func command(_ text: String) -> Outcome {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        let name = parts[0]
        let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch name {
        case ":help", ":h":
            out.write(REPLCore.commandHelp + "\n")
        case ":vars":
            let bindings = session.interpreter.userBindings
            if bindings.isEmpty { out.write("no bindings yet\n") }
            for (n, v) in bindings {
                var shown = v.repr
                if shown.count > 70 { shown = String(shown.prefix(67)) + "..." }
                out.write("\(n): \(v.typeName) = \(shown)\n")
            }
        case ":time":
            guard !argument.isEmpty else { out.write("usage: :time expr\n"); return .ready }
            let start = DispatchTime.now().uptimeNanoseconds
            let ok = execute(argument)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            out.write(String(format: "%@%.3f s\n", ok ? "" : "(failed) ", seconds))
        case ":load":
            guard !argument.isEmpty else { out.write("usage: :load file.rorem\n"); return .ready }
            let path = session.resolve(REPLCore.unquote(argument))
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                out.write("error: cannot read '\(path)'\n")
                return .ready
            }
            execute(text, echo: false)
        case ":save":
            guard !argument.isEmpty else { out.write("usage: :save file.rorem\n"); return .ready }
            let path = session.resolve(REPLCore.unquote(argument))
            let script = "# saved from the rorem REPL\n" + successfulInputs.joined(separator: "\n") + "\n"
            do {
                try script.write(toFile: path, atomically: true, encoding: .utf8)
                out.write("saved \(successfulInputs.count) inputs to \(path)\n")
            } catch {
                out.write("error: cannot write '\(path)': \(error.localizedDescription)\n")
            }
        case ":reset":
            session.interpreter.reset()
            successfulInputs = []
            out.write("session reset\n")
        case ":quit", ":q", ":exit":
            return .quit
        default:
            let names = REPLCore.commands.map { String($0.0.split(separator: " ")[0]) }
            out.write("unknown command '\(name)'\(didYouMean(name, names)); :help lists them\n")
        }
        return .ready
    }

    static func unquote(_ s: String) -> String {
        if s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") { return String(s.dropFirst().dropLast()) }
        return s
    }

    /// The REPL commands and what they do.
    public static let commands: [(String, String)] = [
        (":help", "this list"), (":vars", "the session's bindings"), (":time expr", "run expr and print how long it took"),
        (":load file", "run a script in this session"), (":save file", "write the inputs that ran cleanly as a replayable script"),
        (":reset", "forget all bindings"), (":quit", "leave (or Ctrl-D)"),
    ]

    static var commandHelp: String {
        var lines = commands.map { "  " + $0.0.padding(toLength: 12, withPad: " ", startingAt: 0) + $0.1 }
        lines.append("  ?name       help on a primitive (help() lists them all)")
        lines.append("Ctrl-C stops a running command; an open bracket continues the input on the next line.")
        return "commands:\n" + lines.joined(separator: "\n")
    }
}
