/// Errors raised by Imaging. Every case names the file or operation and the problem, in words a user can act on.
public enum ImagingError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The bytes are not a valid image of the claimed format (corrupt, truncated, empty).
    case corrupt(path: String, reason: String)
    /// The format is not one rorem decodes.
    case unsupportedFormat(path: String, reason: String)
    /// The header claims dimensions that are not allowed (zero, or past ``ImageLimits``).
    case tooLarge(path: String, width: Int, height: Int, limit: String)
    /// The file could not be written.
    case unwritable(path: String, reason: String)
    /// Two images or masks that must agree in size do not.
    case sizeMismatch(what: String, expected: String, got: String)
    /// An argument is out of its range.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read '\(path)': \(reason)"
        case let .corrupt(path, reason): return "'\(path)' is not a valid image: \(reason)"
        case let .unsupportedFormat(path, reason): return "'\(path)': unsupported format: \(reason)"
        case let .tooLarge(path, w, h, limit): return "'\(path)' claims \(w)x\(h) pixels, beyond the limit (\(limit))"
        case let .unwritable(path, reason): return "cannot write '\(path)': \(reason)"
        case let .sizeMismatch(what, expected, got): return "\(what): expected \(expected), got \(got)"
        case let .invalidArgument(message): return message
        }
    }
}

/// Limits that protect the process from images whose headers claim absurd sizes.
/// Decoders check them before allocating anything.
public enum ImageLimits {
    /// Largest side accepted, in pixels.
    public static let maxSide = 32_768
    /// Largest pixel count accepted (about 268 megapixels, roughly 3 GiB as float RGB).
    public static let maxPixels = 1 << 28

    /// Throws ``ImagingError/tooLarge`` when `width` x `height` is zero or past the limits.
    public static func check(width: Int, height: Int, path: String) throws {
        if width <= 0 || height <= 0 {
            throw ImagingError.corrupt(path: path, reason: "header gives an empty size \(width)x\(height)")
        }
        if width > maxSide || height > maxSide || width.multipliedReportingOverflow(by: height).partialValue > maxPixels {
            throw ImagingError.tooLarge(path: path, width: width, height: height,
                                        limit: "at most \(maxSide) px a side and \(maxPixels) pixels")
        }
    }
}
