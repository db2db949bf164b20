import Imaging
import Lang
import Removal

/// An `Image` as a language value: prints as `<image 512x384 rgb>`, fields `width`, `height`, `channels`.
public struct ImageValue: LangObject {
    /// The wrapped image.
    public let image: Image
    /// Wraps `image`.
    public init(_ image: Image) { self.image = image }
    public var typeName: String { "image" }
    public var summary: String { image.summary }
    public var fieldNames: [String] { ["width", "height", "channels"] }
    public func field(_ name: String) -> Value? {
        switch name {
        case "width": return .number(Double(image.width))
        case "height": return .number(Double(image.height))
        case "channels": return .number(Double(image.channels))
        default: return nil
        }
    }
    public func isEqual(to other: any LangObject) -> Bool { (other as? ImageValue)?.image == image }
}

/// A `Mask` as a language value: prints as `<mask 512x384 area 9.8%>`; fields `width`, `height`, `area`
/// (fraction masked), `count` (masked pixels) and `bbox` (a record `{x, y, width, height}` or nil).
public struct MaskValue: LangObject {
    /// The wrapped mask.
    public let mask: Mask
    /// Wraps `mask`.
    public init(_ mask: Mask) { self.mask = mask }
    public var typeName: String { "mask" }
    public var summary: String { mask.summary }
    public var fieldNames: [String] { ["width", "height", "area", "count", "bbox"] }
    public func field(_ name: String) -> Value? {
        switch name {
        case "width": return .number(Double(mask.width))
        case "height": return .number(Double(mask.height))
        case "area": return .number(mask.area)
        case "count": return .number(Double(mask.maskedCount))
        case "bbox":
            guard let r = mask.boundingBox() else { return .nil }
            return .record(Record([("x", .number(Double(r.x))), ("y", .number(Double(r.y))),
                                   ("width", .number(Double(r.width))), ("height", .number(Double(r.height)))]))
        default: return nil
        }
    }
    public func isEqual(to other: any LangObject) -> Bool { (other as? MaskValue)?.mask == mask }
}

/// A configured remover as a language value: `<remover patchmatch>`, field `name`.
public struct RemoverValue: LangObject {
    /// The wrapped remover.
    public let remover: any Remover
    /// Wraps `remover`.
    public init(_ remover: any Remover) { self.remover = remover }
    public var typeName: String { "remover" }
    public var summary: String { "<remover \(remover.name)>" }
    public var fieldNames: [String] { ["name"] }
    public func field(_ name: String) -> Value? { name == "name" ? .string(remover.name) : nil }
}

/// Where `show` sends images: the terminal, a notebook cell, or a folder of PNG files.
public protocol ImageDisplay: AnyObject {
    /// Shows `image` with an optional caption.
    func show(_ image: Image, caption: String?) throws
}
