import Imaging
import NN
import Removal
import Tensor

/// Configuration of ``UNetRemover``: the network's shape and the resolution it works at.
public struct UNetRemoverConfig: Hashable, Codable, Sendable {
    /// Channel width per level, finest first; depth = `widths.count` (the image shrinks 2^(depth-1) times).
    public var widths: [Int]
    /// GroupNorm groups; must divide every width.
    public var groups: Int
    /// Largest side the remover works at (its training resolution); the high-resolution strategy downsamples
    /// larger crops to it.
    public var workingSize: Int

    /// A configuration; the defaults (widths 16, 32, 64; 8 groups; 128 px) train at a few steps per second
    /// at 64 px on two cores (see Docs/learning.md).
    public init(widths: [Int] = [16, 32, 64], groups: Int = 8, workingSize: Int = 128) {
        self.widths = widths
        self.groups = groups
        self.workingSize = workingSize
    }

    /// Number of levels.
    public var depth: Int { widths.count }
    /// Input sides must be multiples of this, 2^(depth-1).
    public var sizeMultiple: Int { 1 << max(0, widths.count - 1) }

    /// Throws an error naming the field when a value is out of range.
    public func validate() throws {
        let place = "UNetRemoverConfig"
        guard (1...6).contains(widths.count) else {
            throw LearningError.invalidConfig(what: place, reason: "widths must have 1 to 6 levels, got \(widths.count)")
        }
        guard groups >= 1 else { throw LearningError.invalidConfig(what: place, reason: "groups must be at least 1, got \(groups)") }
        for w in widths where w < 1 || w > 4096 || w % groups != 0 {
            throw LearningError.invalidConfig(what: place, reason: "width \(w) must be in 1...4096 and divisible by groups (\(groups))")
        }
        guard workingSize >= sizeMultiple, workingSize <= 8192 else {
            throw LearningError.invalidConfig(what: place, reason: "workingSize \(workingSize) must be in \(sizeMultiple)...8192")
        }
    }

    /// The network configuration: 4 input channels (zeroed RGB and mask), RGB out.
    var network: ReferenceUNetConfig {
        var c = ReferenceUNetConfig()
        c.inChannels = 4
        c.outChannels = 3
        c.widths = widths
        c.groups = groups
        return c
    }
}

/// The learned remover: NN's ``ReferenceUNet`` over the source with the masked region zeroed plus the mask,
/// predicting RGB in [-1, 1]; only masked pixels of the result are taken (composited over the input).
///
/// Use ``Remover/remove(_:mask:strategy:)`` for full-size images: it crops around the mask and downsamples
/// crops larger than ``workingSize``. The remover holds mutable weights (training updates them in place), so
/// it is `@unchecked Sendable`: do not run it from several threads while it trains.
public final class UNetRemover: Remover, @unchecked Sendable {
    /// The model kind stored in checkpoints.
    public static let kind = "unet-remover"
    /// The configuration it was built with.
    public let config: UNetRemoverConfig
    /// The network; its parameters are what training updates.
    public let network: ReferenceUNet

    /// A remover with freshly initialised weights drawn from `seed` (PyTorch's default initialisation).
    public init(config: UNetRemoverConfig = UNetRemoverConfig(), seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        var rng = RNG(seed: seed)
        network = ReferenceUNet(config: config.network, rng: &rng)
    }

    /// `"unet"`.
    public var name: String { "unet" }
    /// The configuration's working size.
    public var workingSize: Int? { config.workingSize }

    /// The raw prediction: input (N, 4, H, W) from ``ImageTensor/zeroedInput(images:masks:)`` to RGB
    /// (N, 3, H, W) in [-1, 1] (not clamped, not composited). Records a graph unless run under no-grad.
    public func predict(_ input: Tensor) throws -> Tensor {
        try network(input)
    }

    /// Fills the masked pixels of `image`: pads to a multiple of 2^(depth-1) by reflection, runs the network
    /// without recording a graph, and composites so that only masked pixels (>= 0.5) change.
    public func inpaint(_ image: Image, mask: Mask) throws -> Image {
        try mask.checkSize(matches: image)
        let m = config.sizeMultiple
        let padW = (m - image.width % m) % m, padH = (m - image.height % m) % m
        let paddedImage = try image.converted(toChannels: 3).padded(top: 0, left: 0, bottom: padH, right: padW, mode: .reflect)
        let paddedMask = try Mask(fromImage: mask.asImage().padded(top: 0, left: 0, bottom: padH, right: padW, mode: .reflect))
        let input = try ImageTensor.zeroedInput(images: [paddedImage], masks: [paddedMask])   // (1, 4, H', W')
        let output = try GradMode.noGrad { try network(input) }                                // (1, 3, H', W')
        guard let full = try ImageTensor.images(from: output, scale: .signed).first else {
            throw LearningError.invalidData(what: "UNetRemover.inpaint", reason: "the network returned no image")
        }
        let fill = try full.cropped(to: PixelRect(x: 0, y: 0, width: image.width, height: image.height))
        return try Compositing.composite(result: fill, original: image, mask: mask.thresholded(0.5))
    }

    /// Writes the weights and configuration to `path` (safetensors; `extra` goes into the metadata).
    public func save(path: String, extra: [String: String] = [:]) throws {
        try ModelCheckpoint.save(network, kind: Self.kind, config: config, extra: extra, to: path)
    }

    /// Loads a remover saved by ``save(path:extra:)``; throws naming the file and the problem (not safetensors,
    /// another model kind, a missing tensor, or a tensor whose shape does not fit, with both shapes).
    public static func load(path: String) throws -> UNetRemover {
        let (file, _) = try ModelCheckpoint.open(path, expecting: kind)
        let config = try ModelCheckpoint.config(UNetRemoverConfig.self, in: file, path: path)
        let remover: UNetRemover
        do {
            remover = try UNetRemover(config: config)
        } catch let error as LearningError {
            throw LearningError.checkpoint(path: path, reason: "stored configuration is invalid: \(error)")
        }
        try ModelCheckpoint.loadWeights(into: remover.network, from: file, path: path)
        return remover
    }
}

/// Learned removers by name, for the command line and the language (``Removers/make(_:options:)`` in Removal
/// cannot see this module).
public enum LearnedRemovers {
    /// Names of removers that need a checkpoint.
    public static let names = ["unet"]

    /// The remover stored in the checkpoint at `path`, whatever its kind.
    public static func load(_ path: String) throws -> any Remover {
        let (_, kind) = try ModelCheckpoint.open(path)
        switch kind {
        case UNetRemover.kind: return try UNetRemover.load(path: path)
        default: throw LearningError.checkpoint(path: path, reason: "holds a '\(kind)' model, which is not a remover")
        }
    }

    /// The remover called `name` (case-insensitive) loaded from `path`; throws for names other than ``names``.
    public static func make(_ name: String, path: String) throws -> any Remover {
        guard names.contains(name.lowercased()) else {
            throw LearningError.invalidConfig(what: "learned remover", reason: "unknown name '\(name)'; valid: \(names.joined(separator: ", "))")
        }
        return try load(path)
    }
}
