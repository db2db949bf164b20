/// A small Markdown to HTML converter for notebook text: headings, paragraphs, bullet and numbered lists,
/// fenced code, inline code, bold, italics and links. Everything else passes through escaped.
enum MarkdownHTML {
    static func render(_ text: String) -> String {
        var html = ""
        var paragraph: [String] = []
        var listTag: String?
        var inFence = false
        func flushParagraph() {
            if !paragraph.isEmpty { html += "<p>" + inline(paragraph.joined(separator: " ")) + "</p>\n"; paragraph = [] }
        }
        func closeList() {
            if let tag = listTag { html += "</\(tag)>\n"; listTag = nil }
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") {
                flushParagraph(); closeList()
                html += inFence ? "</code></pre>\n" : "<pre><code>"
                inFence.toggle()
                continue
            }
            if inFence { html += NotebookRenderer.escape(line) + "\n"; continue }
            if trimmed.isEmpty { flushParagraph(); closeList(); continue }
            if let level = headingLevel(trimmed) {
                flushParagraph(); closeList()
                html += "<h\(level)>\(inline(String(trimmed.dropFirst(level)).trimmingCharacters(in: .whitespaces)))</h\(level)>\n"
                continue
            }
            if let item = listItem(trimmed) {
                flushParagraph()
                if listTag != item.tag { closeList(); html += "<\(item.tag)>\n"; listTag = item.tag }
                html += "<li>\(inline(item.text))</li>\n"
                continue
            }
            closeList()
            paragraph.append(trimmed)
        }
        flushParagraph(); closeList()
        if inFence { html += "</code></pre>\n" }
        return html
    }

    static func headingLevel(_ line: String) -> Int? {
        let hashes = line.prefix { $0 == "#" }.count
        guard hashes >= 1, hashes <= 6, line.dropFirst(hashes).first == " " else { return nil }
        return hashes
    }

    static func listItem(_ line: String) -> (tag: String, text: String)? {
        if line.hasPrefix("- ") || line.hasPrefix("* ") { return ("ul", String(line.dropFirst(2))) }
        let digits = line.prefix { $0.isNumber }
        if !digits.isEmpty, line.dropFirst(digits.count).hasPrefix(". ") { return ("ol", String(line.dropFirst(digits.count + 2))) }
        return nil
    }

    /// Inline markup on escaped text: `code`, **bold**, *em*, [text](url).
    static func inline(_ s: String) -> String {
        var out = ""
        let chars = Array(s)
        var i = 0
        func find(_ c: String, from: Int) -> Int? {
            let target = Array(c)
            var j = from
            while j + target.count <= chars.count {
                if Array(chars[j..<j + target.count]) == target { return j }
                j += 1
            }
            return nil
        }
        while i < chars.count {
            let c = chars[i]
            if c == "`", let end = find("`", from: i + 1) {
                out += "<code>" + NotebookRenderer.escape(String(chars[i + 1..<end])) + "</code>"
                i = end + 1
            } else if c == "*", i + 1 < chars.count, chars[i + 1] == "*", let end = find("**", from: i + 2) {
                out += "<strong>" + inline(String(chars[i + 2..<end])) + "</strong>"
                i = end + 2
            } else if c == "*", let end = find("*", from: i + 1), end > i + 1 {
                out += "<em>" + inline(String(chars[i + 1..<end])) + "</em>"
                i = end + 1
            } else if c == "[", let close = find("](", from: i + 1), let end = find(")", from: close + 2) {
                let url = String(chars[close + 2..<end])
                out += "<a href=\"\(NotebookRenderer.escape(url))\">" + inline(String(chars[i + 1..<close])) + "</a>"
                i = end + 1
            } else {
                out += NotebookRenderer.escape(String(c))
                i += 1
            }
        }
        return out
    }
}
