import Imaging
import Lang

/// Collects a cell's text and images in order (the output sink and image display of a notebook session).
final class NotebookSink: OutputSink, ImageDisplay {
    var current = CellOutput()
    weak var session: Session?

    func write(_ text: String) {
        if case .text(let last)? = current.items.last {
            current.items[current.items.count - 1] = .text(last + text)
        } else {
            current.items.append(.text(text))
        }
    }

    /// Echoed images and masks are shown; other values print.
    func display(_ value: Value) {
        if case .object(let o) = value, o is ImageValue || o is MaskValue, let s = session {
            do { try s.show(value) } catch { write(value.printed + "\n") }
            return
        }
        write(value.printed + "\n")
    }

    func show(_ image: Image, caption: String?) throws {
        current.items.append(.image(png: try ImageIO.encodePNG(image), caption: caption))
    }

    /// The output collected since the last call, and a fresh start.
    func take() -> CellOutput {
        defer { current = CellOutput() }
        return current
    }
}
