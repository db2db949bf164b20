import Imaging

/// An object remover: takes an image and a mask and fills the masked pixels.
///
/// Conformers implement ``inpaint(_:mask:)`` for a crop that has unmasked context around the hole; callers
/// normally go through ``remove(_:mask:strategy:)``, which validates the inputs, crops around the mask,
/// downscales to ``workingSize`` when needed and pastes the fill back so that every pixel outside the
/// mask is exactly the input's.
public protocol Remover: Sendable {
    /// Short lowercase name, as used by ``Removers/make(_:options:)`` (for example `"telea"`).
    var name: String { get }
    /// Largest side, in pixels, the method works at; larger crops are downscaled first (nil: any size).
    var workingSize: Int? { get }
    /// Fills the masked pixels (value >= 0.5) of `image` and returns an image of the same size.
    ///
    /// Only masked pixels may change. `mask` has the size of `image`, is not empty and not full.
    func inpaint(_ image: Image, mask: Mask) throws -> Image
    /// The crop strategy `remove` uses when the caller names none (default: a crop with half the mask's size of
    /// context, ``HighResolution/init(margin:minimumMargin:dilation:)``).
    var preferredStrategy: HighResolution { get }
}

extension Remover {
    public var preferredStrategy: HighResolution { HighResolution() }
}

/// Errors raised by removers and the high-resolution strategy. Each message names the problem and where.
public enum RemovalError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The mask and the image differ in size.
    case sizeMismatch(image: String, mask: String)
    /// The mask covers every pixel, so there is nothing to borrow the fill from.
    case fullMask(remover: String, size: String)
    /// No remover has this name.
    case unknownRemover(name: String, valid: [String])
    /// An option is not one the named remover takes.
    case unknownOption(remover: String, option: String, valid: [String])
    /// An option or parameter is out of its range.
    case invalidOption(remover: String, option: String, reason: String)
    /// A remover returned an image of another size or channel count than the one it was given.
    case badResult(remover: String, expected: String, got: String)

    public var description: String {
        switch self {
        case let .sizeMismatch(image, mask):
            return "remove: the mask is \(mask) but the image is \(image); they must have the same size"
        case let .fullMask(remover, size):
            return "\(remover): the mask covers the whole \(size) image; there is nothing left to fill it from"
        case let .unknownRemover(name, valid):
            return "unknown remover '\(name)'; valid removers: \(valid.joined(separator: ", "))"
        case let .unknownOption(remover, option, valid):
            let list = valid.isEmpty ? "none" : valid.joined(separator: ", ")
            return "\(remover): unknown option '\(option)'; valid options: \(list)"
        case let .invalidOption(remover, option, reason):
            return "\(remover): option '\(option)' \(reason)"
        case let .badResult(remover, expected, got):
            return "\(remover): returned a \(got) image for a \(expected) input (width x height x channels)"
        }
    }
}
