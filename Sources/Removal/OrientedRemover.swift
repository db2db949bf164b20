import Imaging

/// A remover run on a reoriented view of its input: the image and mask are transformed by an EXIF orientation
/// (1...8, the four rotations by quarter turns and their mirror images), the base remover fills the hole there,
/// and the fill is turned back. Orientation 1 is the base remover itself.
///
/// A learned remover is not exactly equivariant under these transforms, so the eight views give eight different
/// plausible fills of the same hole: a deterministic stand-in for the sampling seeds of a diffusion remover when a
/// curation round wants several candidates per image (`generate(..., samples:)`), and a quick check of how much a
/// remover's result depends on the way the image happens to be turned.
public struct OrientedRemover: Remover {
    /// The remover that does the work.
    public let base: any Remover
    /// EXIF orientation of the view the base remover sees (1...8).
    public let orientation: Int

    /// Wraps `base`; throws unless `orientation` is in 1...8.
    public init(_ base: any Remover, orientation: Int) throws {
        guard (1...8).contains(orientation) else {
            throw RemovalError.invalidOption(remover: base.name, option: "orientation", reason: "must be in 1...8 (EXIF orientations), got \(orientation)")
        }
        self.base = base
        self.orientation = orientation
    }

    public var name: String { orientation == 1 ? base.name : "\(base.name)@\(orientation)" }
    public var workingSize: Int? { base.workingSize }
    public var preferredStrategy: HighResolution { base.preferredStrategy }

    /// The EXIF orientation that undoes `orientation`: the rotations by a quarter turn (6 and 8) undo each other,
    /// every other orientation is its own inverse.
    public static func inverse(of orientation: Int) -> Int {
        switch orientation {
        case 6: return 8
        case 8: return 6
        default: return orientation
        }
    }

    public func inpaint(_ image: Image, mask: Mask) throws -> Image {
        guard orientation != 1 else { return try base.inpaint(image, mask: mask) }
        let filled = try base.inpaint(image.oriented(exif: orientation), mask: mask.oriented(exif: orientation))
        return filled.oriented(exif: Self.inverse(of: orientation))
    }
}
