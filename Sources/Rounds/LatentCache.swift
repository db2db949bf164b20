import Curation
import Foundation
import Imaging
import Learning
import NN
import Tensor

/// VAE latents of images kept on disk, so that training RORem's discriminator for several epochs (or again in the
/// next round) encodes each source and result once: at 512 px the SDXL VAE's encoder costs seconds per image on a
/// CPU, the discriminator's step far less per example.
///
/// Files live under `root/NAMESPACE/KEY.safetensors`, one tensor `latents` each. `NAMESPACE` names the encoder:
/// ``namespace(vaeFolder:resolution:)`` hashes the VAE's config and its weight files' names, sizes and modification
/// times with the resolution, so a different VAE or resolution never reads another's latents. `KEY` is the image's
/// content hash: the store's blob hash for stored images, else the SHA-256 of its size and pixels. Writes go
/// through a temporary file and a rename; a file that does not read back as one finite tensor of the expected
/// kind is recomputed and replaced, never trusted.
public struct LatentCache: Sendable {
    /// The folder of this namespace's files.
    public let directory: String
    /// Lookups answered from disk since this value was made.
    public private(set) var hits = 0
    /// Latents computed (and written) since this value was made.
    public private(set) var misses = 0

    /// A cache in `root/namespace`, created when missing.
    public init(root: String, namespace: String) throws {
        guard !namespace.isEmpty, !namespace.contains("/"), namespace != ".", namespace != ".." else {
            throw CurationError.invalidArgument("latent cache namespace '\(namespace)' must be a plain folder name")
        }
        directory = (root as NSString).appendingPathComponent(namespace)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LearningError.checkpoint(path: directory, reason: "cannot create the latent cache folder: \(error.localizedDescription)")
        }
    }

    /// The cache of `store` (`STORE/latents/NAMESPACE`).
    public init(store: Store, namespace: String) throws {
        try self.init(root: (store.path as NSString).appendingPathComponent("latents"), namespace: namespace)
    }

    /// A name for the encoder in `vaeFolder` at `resolution`: 16 hex digits of the SHA-256 of its `config.json`, its
    /// weight files' names, sizes and modification times, and the resolution.
    public static func namespace(vaeFolder: String, resolution: Int) throws -> String {
        var text = "resolution=\(resolution)\n"
        let fm = FileManager.default
        let config = (vaeFolder as NSString).appendingPathComponent("config.json")
        guard let configBytes = fm.contents(atPath: config) else {
            throw LearningError.checkpoint(path: config, reason: "cannot read the VAE's config")
        }
        text += String(decoding: configBytes, as: UTF8.self) + "\n"
        let names = ((try? fm.contentsOfDirectory(atPath: vaeFolder)) ?? []).sorted()
        for name in names where name.hasSuffix(".safetensors") || name.hasSuffix(".bin") || name.hasSuffix(".json") && name.contains("index") {
            let attributes = try? fm.attributesOfItem(atPath: (vaeFolder as NSString).appendingPathComponent(name))
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            text += "\(name) \(size) \(modified)\n"
        }
        return String(SHA256.hex(SHA256.digest(Array(text.utf8))).prefix(16))
    }

    /// The key of an image: the stored hash when `source` is a blob, else the SHA-256 of `image`'s size and pixels.
    public static func key(of image: Image, source: PixelSource? = nil) -> String {
        if let hash = source?.hash { return hash }
        var bytes = Array("\(image.width)x\(image.height)x\(image.channels)".utf8)
        image.pixels.withUnsafeBytes { bytes += $0 }
        return SHA256.hex(SHA256.digest(bytes))
    }

    /// The file that holds (or will hold) the latents of `key`.
    public func path(for key: String) -> String {
        (directory as NSString).appendingPathComponent(key + ".safetensors")
    }

    /// The latents stored for `key`, or `compute()`'s, written for next time. A stored tensor must have `shape` when
    /// one is given (the encoder's output at this resolution) and finite values; otherwise it is recomputed.
    public mutating func latents(key: String, shape: [Int]? = nil, compute: () throws -> Tensor) throws -> Tensor {
        let file = path(for: key)
        if FileManager.default.fileExists(atPath: file), let stored = Self.read(file, shape: shape) {
            hits += 1
            return stored
        }
        let z = try compute()
        misses += 1
        do {
            try SafeTensors.write([(name: "latents", tensor: z)], metadata: ["rorem.kind": "latents"], to: file)
        } catch {
            throw LearningError.checkpoint(path: file, reason: "cannot write latents: \(error)")
        }
        return z
    }

    /// The tensor in `file` as an owned copy, or nil when the file is not one finite `latents` tensor of `shape`.
    static func read(_ file: String, shape: [Int]?) -> Tensor? {
        guard let source = try? Checkpoint.open(file), let t = try? source.tensor("latents"), t.rank == 4 else { return nil }
        if let shape, t.shape != shape { return nil }
        let values = t.values
        guard values.allSatisfy({ $0.isFinite }) else { return nil }
        return try? Tensor(values, shape: t.shape)
    }
}
