import Curation
import Foundation
import Imaging

/// What a key press means during a review.
public enum ReviewKey: Equatable, Sendable {
    case accept, reject, skip, undo, quit
    /// A key with no meaning here (arrows, function keys, other letters): ignored.
    case ignored

    /// Splits typed bytes into keys: `a`/`y` accept, `r`/`n` reject, `s`/space skip, `u` undo, `q`, Esc-less
    /// Ctrl-C and Ctrl-D quit; escape sequences (arrows, `ESC [ ... final`, `ESC O x`) are one ignored key each.
    public static func parse(_ bytes: [UInt8]) -> [ReviewKey] {
        var keys: [ReviewKey] = []
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            i += 1
            if b == 0x1b {
                // ESC [ params final  |  ESC O x  |  ESC x  |  a lone ESC.
                if i < bytes.count, bytes[i] == UInt8(ascii: "[") {
                    i += 1
                    while i < bytes.count, !(0x40...0x7e).contains(bytes[i]) { i += 1 }
                    i += 1
                } else if i < bytes.count {
                    i += bytes[i] == UInt8(ascii: "O") ? 2 : 1
                }
                keys.append(.ignored)
                continue
            }
            keys.append(key(b))
        }
        return keys
    }

    /// The meaning of one plain byte.
    static func key(_ b: UInt8) -> ReviewKey {
        switch b {
        case UInt8(ascii: "a"), UInt8(ascii: "A"), UInt8(ascii: "y"), UInt8(ascii: "Y"): return .accept
        case UInt8(ascii: "r"), UInt8(ascii: "R"), UInt8(ascii: "n"), UInt8(ascii: "N"): return .reject
        case UInt8(ascii: "s"), UInt8(ascii: "S"), UInt8(ascii: " "): return .skip
        case UInt8(ascii: "u"), UInt8(ascii: "U"): return .undo
        case UInt8(ascii: "q"), UInt8(ascii: "Q"), 0x03, 0x04: return .quit
        default: return .ignored
        }
    }
}

/// The review loop without the terminal: show the current candidate, wait for a key, commit the decision (or undo,
/// or stop), until the session is finished. The REPL's `review` runs it on a raw terminal; tests run it with
/// scripted keys.
public enum ReviewLoop {
    /// How a review ended.
    public enum Outcome: Equatable, Sendable {
        /// Every candidate has a decision.
        case finished
        /// The reviewer quit (q, Ctrl-C, end of input); decisions made so far are committed.
        case quit
    }

    /// Runs `session` to its end or until quit. `nextKey` returns nil at end of input (treated as quit); `draw`
    /// is called with each candidate to show and the progress so far (again after an undo).
    public static func run(_ session: ReviewSession, nextKey: () throws -> ReviewKey?,
                           draw: (Candidate, ReviewProgress) throws -> Void) throws -> Outcome {
        while let candidate = try session.currentCandidate() {
            try draw(candidate, session.progress)
            var moved = false
            while !moved {
                guard let key = try nextKey() else { return .quit }
                switch key {
                case .accept: try session.decide(.accept); moved = true
                case .reject: try session.decide(.reject); moved = true
                case .skip: try session.decide(.skip); moved = true
                case .undo:
                    if session.position > 0 { moved = try session.undo() != nil }
                case .quit: return .quit
                case .ignored: continue
                }
            }
        }
        return .finished
    }

    /// One screen of the review: a title line, source | mask overlay | result side by side (drawn with `method`
    /// at most `columns` cells wide; images larger than `thumbnail` px are scaled down first), and the status line.
    public static func frame(_ candidate: Candidate, progress: ReviewProgress, method: TerminalImages.Method,
                             columns: Int, thumbnail: Int = 256) throws -> String {
        var out = method == .kitty ? "\u{1b}_Ga=d\u{1b}\\" : ""
        out += "\u{1b}[H\u{1b}[2J"
        let round = candidate.round.map { " round \($0)" } ?? ""
        out += "candidate #\(candidate.id)  \(candidate.pairName)  \(candidate.model)\(round)   source | mask | result\n"
        let source = try candidate.source.loadImage().converted(toChannels: 3)
        let overlay = try source.overlay(candidate.mask.loadMask())
        let result = try candidate.result.loadImage().converted(toChannels: 3)
        let panels = try [source, overlay, result].map { $0.width > thumbnail || $0.height > thumbnail ? try $0.resized(longSide: thumbnail) : $0 }
        out += try TerminalImages.render(try Image.grid(panels, columns: 3, gap: 4), protocol: method, maxColumns: max(12, columns))
        out += ReviewStatus.line(progress) + "\n"
        return out
    }
}
