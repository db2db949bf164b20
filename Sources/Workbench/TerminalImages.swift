import Foundation
import Imaging

/// Inline images in the terminal: kitty and iTerm2 graphics protocols, sixel, or 24-bit half blocks.
public enum TerminalImages {
    /// The ways an image can be drawn (`ROREM_IMAGES` values).
    public enum Method: String, CaseIterable {
        case kitty, iterm, sixel, blocks, none
    }

    /// The protocol to use: `ROREM_IMAGES` if set, else guessed from `KITTY_WINDOW_ID`, `TERM_PROGRAM`, `TERM`.
    public static func detect(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Method {
        if let forced = env["ROREM_IMAGES"].flatMap({ Method(rawValue: $0.lowercased()) }) { return forced }
        if env["KITTY_WINDOW_ID"] != nil || env["TERM"] == "xterm-kitty" || env["TERM_PROGRAM"] == "ghostty" { return .kitty }
        if let p = env["TERM_PROGRAM"], ["iTerm.app", "WezTerm", "vscode"].contains(p) { return .iterm }
        if let t = env["TERM"], t.contains("sixel") || t == "mlterm" || t == "yaft-256color" || t == "foot" { return .sixel }
        return .blocks
    }

    /// A display for the current terminal.
    public static func makeDisplay() -> ImageDisplay {
        TerminalDisplay(protocol: detect())
    }

    /// The escape sequence or text that draws `image` with `proto`, at most `maxColumns` character cells wide.
    public static func render(_ image: Image, protocol proto: Method, maxColumns: Int = 80) throws -> String {
        switch proto {
        case .none: return ""
        case .blocks: return try halfBlocks(image, maxColumns: maxColumns)
        case .kitty:
            let b64 = Data(try ImageIO.encodePNG(image)).base64EncodedString()
            var out = ""
            var chunks: [Substring] = []
            var rest = Substring(b64)
            while !rest.isEmpty { chunks.append(rest.prefix(4096)); rest = rest.dropFirst(4096) }
            for (i, chunk) in chunks.enumerated() {
                let more = i < chunks.count - 1 ? 1 : 0
                let head = i == 0 ? "a=T,f=100,m=\(more)" : "m=\(more)"
                out += "\u{1b}_G\(head);\(chunk)\u{1b}\\"
            }
            return out + "\n"
        case .iterm:
            let png = try ImageIO.encodePNG(image)
            return "\u{1b}]1337;File=inline=1;size=\(png.count);preserveAspectRatio=1:\(Data(png).base64EncodedString())\u{07}\n"
        case .sixel: return try Sixel.encode(image)
        }
    }

    /// Two pixel rows per character: upper half block with a 24-bit foreground and background colour.
    static func halfBlocks(_ image: Image, maxColumns: Int) throws -> String {
        var img = try image.converted(toChannels: 3)
        if img.width > maxColumns {
            let h = max(1, Int((Double(img.height) * Double(maxColumns) / Double(img.width)).rounded()))
            img = try img.resized(width: maxColumns, height: h)
        }
        func rgb(_ x: Int, _ y: Int) -> String {
            let r = Int((img[x, y, 0] * 255).rounded()), g = Int((img[x, y, 1] * 255).rounded()), b = Int((img[x, y, 2] * 255).rounded())
            return "\(r);\(g);\(b)"
        }
        var out = ""
        var y = 0
        while y < img.height {
            for x in 0..<img.width {
                if y + 1 < img.height { out += "\u{1b}[38;2;\(rgb(x, y))m\u{1b}[48;2;\(rgb(x, y + 1))m\u{2580}" }
                else { out += "\u{1b}[38;2;\(rgb(x, y))m\u{1b}[49m\u{2580}" }
            }
            out += "\u{1b}[0m\n"
            y += 2
        }
        return out
    }
}

/// Draws shown images on standard output with a terminal protocol, then the caption.
final class TerminalDisplay: ImageDisplay {
    let proto: TerminalImages.Method
    init(protocol proto: TerminalImages.Method) { self.proto = proto }

    func show(_ image: Image, caption: String?) throws {
        var text = try TerminalImages.render(image, protocol: proto)
        if let c = caption { text += c + "\n" }
        print(text, terminator: "")
        fflush(stdout)
    }
}
