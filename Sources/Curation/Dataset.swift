import Support
import Foundation
import Imaging

/// Where an image or mask of a pair comes from: held in memory, a file on disk (read when needed), or a
/// content-addressed file in a store.
public enum PixelSource: Sendable {
    /// An image in memory.
    case image(Image)
    /// A mask in memory.
    case mask(Mask)
    /// An image file, decoded when loaded.
    case file(String)
    /// A stored image, by hash.
    case blob(hash: String, blobs: BlobStore)

    /// The pixels as an image (a mask becomes a gray image).
    public func loadImage() throws -> Image {
        switch self {
        case let .image(image): return image
        case let .mask(mask): return mask.asImage()
        case let .file(path): return try ImageIO.load(path)
        case let .blob(hash, blobs): return try blobs.image(hash)
        }
    }

    /// The pixels as a mask (files are thresholded at 0.5; stored gray masks keep their values).
    public func loadMask() throws -> Mask {
        switch self {
        case let .image(image): return image.channels == 1 ? try Mask(width: image.width, height: image.height, values: image.pixels) : Mask(fromImage: image)
        case let .mask(mask): return mask
        case let .file(path): return try ImageIO.loadMask(path)
        case let .blob(hash, blobs): return try blobs.mask(hash)
        }
    }

    /// The stored hash, when the pixels live in a store.
    public var hash: String? {
        if case let .blob(hash, _) = self { return hash }
        return nil
    }

    /// The file path, when the pixels are a file outside a store.
    public var filePath: String? {
        if case let .file(path) = self { return path }
        return nil
    }
}

/// One sample: a source image showing an object, the mask of the object to remove, and (for paired data) the
/// target, the same scene without the object.
public struct Pair: Sendable {
    /// A name unique within its dataset (a file stem, or `synth-000042`).
    public var name: String
    /// The image with the object.
    public var source: PixelSource
    /// The object's mask (1 = remove).
    public var mask: PixelSource
    /// The scene without the object, when known (ground truth).
    public var target: PixelSource?
    /// A discriminator's score carried by RORem's label data, if any.
    public var score: Double?
    /// The pair's row id when it was read from a store.
    public var storeID: Int64?

    /// A pair from its parts.
    public init(name: String, source: PixelSource, mask: PixelSource, target: PixelSource? = nil, score: Double? = nil, storeID: Int64? = nil) {
        self.name = name
        self.source = source
        self.mask = mask
        self.target = target
        self.score = score
        self.storeID = storeID
    }

    /// The decoded source image.
    public func loadSource() throws -> Image { try source.loadImage() }
    /// The decoded mask.
    public func loadMask() throws -> Mask { try mask.loadMask() }
    /// The decoded target, or nil when the pair has none.
    public func loadTarget() throws -> Image? { try target?.loadImage() }
}

/// An ordered, named list of pairs, held in memory or read lazily from files or a store. Every operation
/// (`take`, `split`, `shuffled`, `+`) is deterministic and returns a new dataset; images are not loaded by them.
public struct Dataset: RandomAccessCollection, Sendable {
    /// The dataset's name (unique in a store).
    public var name: String
    /// The pairs, in order.
    public var pairs: [Pair]

    /// A dataset from its pairs.
    public init(name: String, pairs: [Pair]) {
        self.name = name
        self.pairs = pairs
    }

    public var startIndex: Int { pairs.startIndex }
    public var endIndex: Int { pairs.endIndex }
    public subscript(position: Int) -> Pair { pairs[position] }

    /// The number of pairs (the language's `len`).
    public var len: Int { pairs.count }

    /// The first `n` pairs (all of them when there are fewer).
    public func take(_ n: Int) throws -> Dataset {
        guard n >= 0 else { throw CurationError.invalidArgument("take needs a count >= 0, got \(n)") }
        return Dataset(name: "\(name)[:\(n)]", pairs: Array(pairs.prefix(n)))
    }

    /// The pairs in a random order fixed by `seed`.
    public func shuffled(seed: UInt64) -> Dataset {
        var rng = SeededRandom(seed: seed)
        return Dataset(name: "\(name)~\(seed)", pairs: rng.permutation(pairs.count).map { pairs[$0] })
    }

    /// Splits into two disjoint datasets, the first holding `fraction` of the pairs (rounded), chosen at random by
    /// `seed`; each part keeps the original order. Named `<name>:train` and `<name>:test`.
    public func split(_ fraction: Double, seed: UInt64 = 0) throws -> (train: Dataset, test: Dataset) {
        guard fraction >= 0, fraction <= 1 else { throw CurationError.invalidArgument("split fraction must be in [0, 1], got \(fraction)") }
        var rng = SeededRandom(seed: seed)
        let order = rng.permutation(pairs.count)
        let cut = Int((fraction * Double(pairs.count)).rounded())
        let first = Set(order.prefix(cut))
        var a: [Pair] = [], b: [Pair] = []
        for (i, p) in pairs.enumerated() { if first.contains(i) { a.append(p) } else { b.append(p) } }
        return (Dataset(name: "\(name):train", pairs: a), Dataset(name: "\(name):test", pairs: b))
    }

    /// This dataset followed by `other`. Pair names that clash get a numeric suffix so names stay unique.
    public func concatenated(with other: Dataset, name newName: String? = nil) -> Dataset {
        var seen = Set(pairs.map(\.name))
        var all = pairs
        for var p in other.pairs {
            var candidate = p.name, k = 2
            while seen.contains(candidate) { candidate = "\(p.name)-\(k)"; k += 1 }
            p.name = candidate
            seen.insert(candidate)
            all.append(p)
        }
        return Dataset(name: newName ?? "\(name)+\(other.name)", pairs: all)
    }

    /// Concatenation, as ``concatenated(with:name:)``.
    public static func + (a: Dataset, b: Dataset) -> Dataset { a.concatenated(with: b) }

    /// The number of pairs that have a target.
    public var pairedCount: Int { pairs.reduce(0) { $0 + ($1.target == nil ? 0 : 1) } }
}
