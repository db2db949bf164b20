import Foundation
import Imaging

/// Content-addressed image files: each image is PNG-encoded and saved as `images/ab/cdef....png`, named by the
/// SHA-256 of its PNG bytes. A file is written once (temporary name, then rename), never changed, and shared by
/// every row that refers to the same pixels.
public struct BlobStore: Sendable, Equatable {
    /// The folder holding the two-level hash tree (`<store>/images`).
    public let root: String

    /// A blob store rooted at `root`; the folder is created when missing.
    public init(root: String) throws {
        self.root = root
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw CurationError.storeUnavailable(path: root, reason: "cannot create the image folder: \(error.localizedDescription)")
        }
    }

    /// Where the blob named `hash` lives.
    public func path(for hash: String) -> String {
        let prefix = hash.prefix(2), rest = hash.dropFirst(2)
        return "\(root)/\(prefix)/\(rest).png"
    }

    /// Whether the blob named `hash` is on disk.
    public func contains(_ hash: String) -> Bool {
        FileManager.default.fileExists(atPath: path(for: hash))
    }

    /// Stores `image` as an 8-bit PNG and returns its hash and whether a new file was written
    /// (false when the same pixels were already stored).
    @discardableResult
    public func put(_ image: Image) throws -> (hash: String, written: Bool) {
        try putPNG(ImageIO.encodePNG(image))
    }

    /// Stores `mask` as an 8-bit gray PNG (soft values kept to 1/255).
    @discardableResult
    public func put(_ mask: Mask) throws -> (hash: String, written: Bool) {
        try put(mask.asImage())
    }

    /// Stores already-encoded PNG bytes under their SHA-256.
    @discardableResult
    public func putPNG(_ bytes: [UInt8]) throws -> (hash: String, written: Bool) {
        let hash = SHA256.hex(bytes)
        let target = path(for: hash)
        if FileManager.default.fileExists(atPath: target) { return (hash, false) }
        let folder = (target as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw CurationError.storeUnavailable(path: folder, reason: "cannot create an image folder: \(error.localizedDescription)")
        }
        try ImageIO.writeAtomically(bytes, to: target)
        return (hash, true)
    }

    /// Decodes the image named `hash`.
    public func image(_ hash: String) throws -> Image {
        let p = path(for: hash)
        guard FileManager.default.fileExists(atPath: p) else { throw CurationError.missingBlob(hash: hash, path: p) }
        return try ImageIO.load(p)
    }

    /// Decodes the mask named `hash` (a gray image; soft values are kept).
    public func mask(_ hash: String) throws -> Mask {
        let img = try image(hash)
        if img.channels == 1 { return try Mask(width: img.width, height: img.height, values: img.pixels) }
        return Mask(fromImage: img)
    }

    /// Re-hashes the file named `hash` and reports whether its bytes still match its name.
    public func verify(_ hash: String) -> Bool {
        guard let bytes = try? ImageIO.readFile(path(for: hash)) else { return false }
        return SHA256.hex(bytes) == hash
    }
}
