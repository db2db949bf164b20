import Support
import Foundation

/// Renders a run notebook as Markdown (outputs after each cell) and as one self-contained HTML page
/// (images embedded as base64 PNG data URIs).
enum NotebookRenderer {
    static func markdown(_ notebook: Notebook, outputs: [CellOutput]) -> String {
        var out: [String] = []
        var cellIndex = 0
        for part in notebook.parts {
            switch part {
            case .markdown(let text): out.append(text)
            case .cell(let source, _):
                out.append("```rorem\n\(source)\n```")
                guard cellIndex < outputs.count else { cellIndex += 1; continue }
                let o = outputs[cellIndex]
                cellIndex += 1
                for item in o.items {
                    switch item {
                    case .text(let t):
                        let body = t.hasSuffix("\n") ? String(t.dropLast()) : t
                        out.append("```text\n\(body)\n```")
                    case .image(let png, let caption):
                        out.append("![\(caption ?? "image")](data:image/png;base64,\(Data(png).base64EncodedString()))")
                    }
                }
                if let e = o.error { out.append("```text\n\(e)\n```") }
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func html(_ notebook: Notebook, outputs: [CellOutput], title: String) -> String {
        var body = ""
        var cellIndex = 0
        for part in notebook.parts {
            switch part {
            case .markdown(let text): body += MarkdownHTML.render(text)
            case .cell(let source, _):
                body += "<pre class=\"cell\"><code>\(escape(source))</code></pre>\n"
                guard cellIndex < outputs.count else { cellIndex += 1; continue }
                let o = outputs[cellIndex]
                cellIndex += 1
                body += "<div class=\"output\">\n"
                for item in o.items {
                    switch item {
                    case .text(let t): body += "<pre>\(escape(t))</pre>\n"
                    case .image(let png, let caption):
                        let alt = escape(caption ?? "image")
                        body += "<figure><img src=\"data:image/png;base64,\(Data(png).base64EncodedString())\" alt=\"\(alt)\"><figcaption>\(alt)</figcaption></figure>\n"
                    }
                }
                if let e = o.error { body += "<pre class=\"error\">\(escape(e))</pre>\n" }
                body += "</div>\n"
            }
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
        pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; border-radius: 4px; }
        pre.cell { border-left: 3px solid #4a7bd0; }
        .output pre { background: #fff; border: 1px solid #e3e3e3; }
        .output pre.error { color: #b00020; border-color: #f0b0b8; }
        figure { margin: .5rem 0; } figure img { max-width: 100%; image-rendering: pixelated; }
        figcaption { font-size: .85rem; color: #555; }
        code { font-family: ui-monospace, monospace; }
        </style></head><body>
        \(body)</body></html>

        """
    }

    static func escape(_ s: String) -> String { HTML.escape(s) }
}
