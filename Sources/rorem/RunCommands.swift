import ArgumentParser
import Foundation
import Workbench

/// `rorem run FILE`: a `.rorem` script or a Markdown notebook.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a .rorem script, or a Markdown notebook and render it (Markdown + self-contained HTML).",
        discussion: """
        Exit status: 0 on success, 65 for a syntax error, 70 for a runtime error, 74 for an I/O error.
        Examples:
          rorem run Notebooks/quickstart.md --out out/quickstart
          rorem run experiment.rorem
        """
    )

    @Argument(help: "The script (.rorem) or notebook (.md).") var file: String
    @Option(name: .long, help: "Folder for rendered notebooks and images shown by scripts (default: beside the file).")
    var out: String?

    func run() throws {
        let status = ScriptRunner.run(path: file, out: out)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `rorem repl` (also `rorem` alone): the interactive session.
struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl",
        abstract: "Start the interactive REPL (the default when rorem is run without arguments).",
        discussion: "Type :help inside for commands, ?name for a primitive's help; Ctrl-C interrupts, Ctrl-D quits."
    )

    func run() throws {
        let status = REPL.run()
        if status != 0 { throw ExitCode(status) }
    }
}
