import Foundation

/// The project's one progress bar: batch removal, `generate`, training and denoising all show their progress
/// through it, as `label [#####-----] 5/10 2.5 it/s eta 2.0s note`.
///
/// On a terminal the bar is redrawn in place on standard error at most ten times a second (and always for the
/// last step); elsewhere it prints one plain line per step (`logLines`) or nothing, so logs and notebooks stay
/// readable.
public final class ProgressBar {
    /// Where the bar goes.
    public enum Mode: Sendable {
        /// Redrawn in place on standard error when it is a terminal; otherwise silent.
        case terminalOnly
        /// Redrawn on a terminal; one line per step on standard error otherwise.
        case logLines
        /// Never drawn (tests, nested work).
        case silent
    }

    /// Items (steps, images) in all.
    public let total: Int
    /// What is being done, e.g. `remove` or `denoise`.
    public let label: String
    /// The unit in the rate, e.g. `it`, `step`, `img`.
    public let unit: String
    /// Items done so far.
    public private(set) var done = 0

    private let start: Date
    private let drawsInPlace: Bool
    private let logs: Bool
    private var lastDrawn = -1.0

    /// A bar for `total` items. `mode` decides where it is drawn; `isTerminal` overrides the check of standard
    /// error (tests).
    public init(total: Int, label: String, unit: String = "it", mode: Mode = .terminalOnly, isTerminal: Bool? = nil,
                start: Date = Date()) {
        self.total = max(total, 0)
        self.label = label
        self.unit = unit
        self.start = start
        let terminal = isTerminal ?? (isatty(STDERR_FILENO) != 0)
        drawsInPlace = mode != .silent && terminal
        logs = mode == .logLines && !terminal
    }

    /// Seconds since the bar started.
    public var elapsed: Double { Date().timeIntervalSince(start) }

    /// Marks `count` more items done and redraws; `note` (a file name, the loss) is shown after the bar.
    public func step(_ count: Int = 1, note: String = "") {
        update(done: done + count, note: note)
    }

    /// Sets the number of items done and redraws.
    public func update(done newDone: Int, note: String = "") {
        done = min(max(0, newDone), max(total, newDone))
        let seconds = elapsed
        if drawsInPlace {
            guard done >= total || seconds - lastDrawn >= 0.1 else { return }
            lastDrawn = seconds
            let line = Self.line(label: label, done: done, total: total, elapsed: seconds, unit: unit, note: note)
            FileHandle.standardError.write(Data(("\r" + String(line.prefix(160)) + "\u{1B}[K").utf8))
            if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else if logs {
            FileHandle.standardError.write(Data("\(label) \(done)/\(total) \(note)\n".utf8))
        }
    }

    /// Writes a message on its own line without garbling the bar.
    public func message(_ text: String) {
        if drawsInPlace { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if drawsInPlace || logs { FileHandle.standardError.write(Data((text + "\n").utf8)) }
    }

    /// Ends a bar that stopped early (Ctrl-C, an error): moves past it on a terminal.
    public func finish() {
        if drawsInPlace && done < total && lastDrawn >= 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// One rendered line: `label [#####-----] 5/10 2.5 it/s eta 2.0s note` (the rate as seconds per item when
    /// slower than one a second; no rate or ETA before the first item).
    public static func line(label: String, done: Int, total: Int, elapsed: Double, unit: String = "it",
                            note: String = "", width: Int = 20) -> String {
        let w = max(1, width)
        let filled = total > 0 ? min(w, w * done / total) : (done > 0 ? w : 0)
        var text = label.isEmpty ? "" : label + " "
        text += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: w - filled) + "] \(done)/\(total)"
        if done > 0 && elapsed > 0 {
            let perSecond = Double(done) / elapsed
            text += perSecond >= 1 ? String(format: " %.1f %@/s", perSecond, unit) : " \(duration(1 / perSecond))/\(unit)"
            if total > done { text += " eta " + duration(elapsed / Double(done) * Double(total - done)) }
        }
        if !note.isEmpty { text += " " + note }
        return text
    }

    /// `850ms`, `4.2s`, `3m07s`, `2h05m`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 1 { return "\(Int(seconds * 1000))ms" }
        if seconds < 120 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        if s < 7200 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s / 60) % 60)
    }
}
