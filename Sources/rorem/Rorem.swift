import ArgumentParser
import Foundation

/// The `rorem` command: object removal from the command line, benchmarks, scripts and the REPL.
@main
struct Rorem: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rorem",
        abstract: "A workbench for research on object removal (after RORem, CVPR 2025).",
        discussion: """
        Without arguments rorem starts the REPL.

        Examples:
          rorem                                   # the REPL
          rorem run Notebooks/quickstart.md       # a notebook, rendered to HTML
          rorem remove photo.jpg --mask mask.png -o clean.png
          rorem remove photos/ --mask masks/ -o out/ --method telea
          rorem bench remove photo.jpg --mask mask.png --method patchmatch --runs 5
          rorem review experiments/round1 --round 1   # label in the browser
        """,
        version: "0.1.0",
        subcommands: [ReplCommand.self, RunCommand.self, RemoveCommand.self, BenchCommand.self, ReviewCommand.self],
        defaultSubcommand: ReplCommand.self
    )
}

/// A failure already reported to the user; carries the exit status.
struct Reported: Error {
    let status: Int32
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
