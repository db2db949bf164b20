/// A Markdown notebook: text and ```` ```rorem ```` cells, in order.
public struct Notebook {
    /// One part of a notebook.
    public enum Part {
        /// Markdown text, passed through.
        case markdown(String)
        /// A code cell: its source and the 1-based line of its first code line in the file.
        case cell(source: String, line: Int)
    }

    /// The parts in file order.
    public var parts: [Part]

    /// Splits `text` into Markdown and rorem cells. A cell opens with a line ```` ```rorem ```` and closes with ```` ``` ````;
    /// an unclosed cell runs to the end of the file.
    public init(parsing text: String) {
        var parts: [Part] = []
        var markdown: [Substring] = []
        var code: [Substring] = []
        var cellLine = 0
        var inCell = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !inCell, trimmed.hasPrefix("```"), trimmed.dropFirst(3).trimmingCharacters(in: .whitespaces).lowercased() == "rorem" {
                if !markdown.isEmpty { parts.append(.markdown(markdown.joined(separator: "\n"))) }
                markdown = []
                inCell = true
                cellLine = index + 2
            } else if inCell, trimmed == "```" {
                parts.append(.cell(source: code.joined(separator: "\n"), line: cellLine))
                code = []
                inCell = false
            } else if inCell {
                code.append(line)
            } else {
                markdown.append(line)
            }
        }
        if inCell { parts.append(.cell(source: code.joined(separator: "\n"), line: cellLine)) }
        if !markdown.isEmpty { parts.append(.markdown(markdown.joined(separator: "\n"))) }
        self.parts = parts
    }

    /// The number of code cells.
    public var cellCount: Int {
        parts.reduce(0) { n, p in if case .cell = p { return n + 1 }; return n }
    }
}

/// What one cell produced, in order: text and images.
public struct CellOutput {
    /// One item of output.
    public enum Item {
        case text(String)
        /// PNG bytes and a caption.
        case image(png: [UInt8], caption: String?)
    }

    /// The items in the order they were produced.
    public var items: [Item] = []
    /// The error report if the cell failed.
    public var error: String?

    /// All text items joined.
    public var text: String {
        items.compactMap { if case .text(let t) = $0 { return t }; return nil }.joined()
    }
}
