import Foundation
import Imaging
import Lang

/// A language session bound to the domain: an `Interpreter` with the image, mask and removal primitives,
/// a base folder for relative paths, and a place to show images.
public final class Session {
    /// The interpreter holding the session's bindings.
    public let interpreter: Interpreter
    /// Folder that relative file paths in primitives are resolved against.
    public var baseDirectory: String
    /// Where `show` sends images (nil: print the summary only).
    public var display: ImageDisplay?
    /// The folder a run writes into (`rorem run --out DIR`), absolute; `output_dir(default)` returns it.
    public var outputDirectory: String?

    /// A fresh session writing text to `output`; relative paths resolve against `baseDirectory` (default: the working directory).
    public init(output: OutputSink = StandardOutput(), baseDirectory: String? = nil, display: ImageDisplay? = nil) {
        self.interpreter = Interpreter(output: output)
        self.baseDirectory = baseDirectory ?? FileManager.default.currentDirectoryPath
        self.display = display
        DomainPrimitives.register(in: self)
        CurationPrimitives.register(in: self)
        ModelPrimitives.register(in: self)
    }

    /// `path` made absolute against `baseDirectory` (with `~` expanded).
    public func resolve(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        return (baseDirectory as NSString).appendingPathComponent(expanded)
    }

    /// Shows a value: images and masks go to `display`, lists of them one after another, anything else prints.
    public func show(_ value: Value, caption: String? = nil) throws {
        switch value {
        case .object(let o as ImageValue):
            try showImage(o.image, caption: caption ?? o.summary)
        case .object(let o as MaskValue):
            try showImage(o.mask.asImage(), caption: caption ?? o.summary)
        case .list(let items) where items.contains(where: { if case .object = $0 { return true }; return false }):
            for item in items { try show(item, caption: nil) }
        default:
            interpreter.output.write(value.printed + "\n")
        }
    }

    private func showImage(_ image: Image, caption: String?) throws {
        if let d = display { try d.show(image, caption: caption) }
        else { interpreter.output.write((caption ?? image.summary) + "\n") }
    }
}
