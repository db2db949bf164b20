import Foundation

/// A progress bar on standard error for batch work: redrawn in place on a terminal, one line per step otherwise
/// (so logs stay readable).
final class ProgressBar {
    private let total: Int
    private let label: String
    private let start = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private(set) var done = 0

    init(total: Int, label: String) {
        self.total = max(total, 1)
        self.label = label
    }

    /// Marks one more item done; `note` (a file name, an error) is shown beside the bar.
    func step(_ note: String) {
        done += 1
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed / Double(done)
        let eta = rate * Double(total - done)
        if isTerminal {
            let width = 24
            let filled = min(width, done * width / total)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = "\r\(label) \(bar) \(done)/\(total)  \(format(rate))/it  eta \(format(eta))  \(note)"
            FileHandle.standardError.write(Data((line.prefix(120) + "\u{1B}[K").utf8))
            if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            printError("\(label) \(done)/\(total) \(note)")
        }
    }

    /// Writes a message on its own line without garbling the bar.
    func message(_ text: String) {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        printError(text)
    }

    private func format(_ seconds: Double) -> String {
        seconds < 1 ? "\(Int(seconds * 1000))ms" : seconds < 120 ? String(format: "%.1fs", seconds) : "\(Int(seconds / 60))m\(Int(seconds) % 60)s"
    }
}
