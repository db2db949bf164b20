import Imaging
import NN
import Tensor

/// A removal judge in RORem's shape: given (source, mask, result) it estimates whether the object is gone and
/// the fill is clean. Trained with MSE against 0/1 labels on its softplus output; ``score(source:mask:result:)``
/// clamps that output to [0, 1].
///
/// Inputs of any size are cropped around the mask with context (so small objects stay visible) and resized
/// to the fixed ``DiscriminatorConfig/resolution``. Like ``UNetRemover`` it holds mutable weights.
public final class Discriminator: @unchecked Sendable {
    /// The model kind stored in checkpoints.
    public static let kind = "discriminator"
    /// The configuration it was built with.
    public let config: DiscriminatorConfig
    /// The network; its parameters are what training updates.
    public let network: DiscriminatorNetwork

    /// A discriminator with freshly initialised weights drawn from `seed`.
    public init(config: DiscriminatorConfig = DiscriminatorConfig(), seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        var rng = RNG(seed: seed)
        network = DiscriminatorNetwork(config: config, rng: &rng)
    }

    /// The square-ish region the discriminator looks at: the mask's bounding box grown by the context margin,
    /// clamped to the image (the whole image for an empty mask).
    public func contextBox(for mask: Mask) -> PixelRect {
        guard let box = mask.boundingBox() else { return PixelRect(x: 0, y: 0, width: mask.width, height: mask.height) }
        let longest = max(box.width, box.height)
        let extra = max(config.minimumContext, Int((config.contextMargin * Double(longest)).rounded()))
        let side = longest + 2 * extra
        let w = min(side, mask.width), h = min(side, mask.height)
        let cx = box.x + box.width / 2, cy = box.y + box.height / 2
        let x0 = min(max(0, cx - w / 2), mask.width - w), y0 = min(max(0, cy - h / 2), mask.height - h)
        return PixelRect(x: x0, y: y0, width: w, height: h)
    }

    /// The network input (1, C, R, R) for one example: result and source in [-1, 1] and the mask (soft after
    /// resizing) in [0, 1], cropped by ``contextBox(for:)`` and resized to the configured resolution; with
    /// ``DiscriminatorConfig/contextResidual`` also ``ContextResidual/compute(source:mask:result:)``, and with
    /// ``DiscriminatorConfig/shiftResidual`` ``ShiftPrediction/compute(source:mask:result:)`` (3 channels each).
    public func prepare(source: Image, mask: Mask, result: Image) throws -> Tensor {
        try mask.checkSize(matches: source)
        try mask.checkSize(matches: result, what: "mask (against the result)")
        let box = contextBox(for: mask)
        let r = config.resolution
        let src = try source.cropped(to: box).resized(width: r, height: r)
        let res = try result.cropped(to: box).resized(width: r, height: r)
        let m = try mask.cropped(to: box).resized(width: r, height: r, threshold: nil)
        var parts = [try ImageTensor.batch([res], scale: .signed),   // (1, 3, R, R)
                     try ImageTensor.batch([m], binary: false),       // (1, 1, R, R)
                     try ImageTensor.batch([src], scale: .signed)]    // (1, 3, R, R)
        var smooth: Image?   // computed once, shared by the shift prediction's fallback
        if config.contextResidual {
            let predicted = try ContextResidual.prediction(source: src, mask: m)
            smooth = predicted
            parts.append(try ContextResidual.residual(result: res, predicted: predicted, mask: m))   // (1, 3, R, R)
        }
        if config.shiftResidual {
            let predicted = try ShiftPrediction.prediction(source: src, mask: m, smooth: smooth).image
            parts.append(try ContextResidual.residual(result: res, predicted: predicted, mask: m))   // (1, 3, R, R)
        }
        return try Tensor.concat(parts, axis: 1)                      // (1, C, R, R), C = config.inputChannels
    }

    /// Raw softplus outputs (N) for prepared inputs (N, C, R, R); records a graph unless run under no-grad.
    public func forward(_ input: Tensor) throws -> Tensor {
        try network(input)
    }

    /// The estimate in [0, 1] that `result` removed the masked object from `source` cleanly.
    public func score(source: Image, mask: Mask, result: Image) throws -> Double {
        try scores([(source, mask, result)])[0]
    }

    /// Estimates for many examples, computed in batches of `batchSize`.
    public func scores(_ examples: [(source: Image, mask: Mask, result: Image)], batchSize: Int = 16) throws -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(examples.count)
        var start = 0
        while start < examples.count {
            let chunk = examples[start..<min(examples.count, start + max(1, batchSize))]
            let input = try Tensor.concat(chunk.map { try prepare(source: $0.source, mask: $0.mask, result: $0.result) }, axis: 0)
            let values = try GradMode.noGrad { try network(input) }.values   // (n)
            out += values.map { Double(min(max($0, 0), 1)) }
            start += chunk.count
        }
        return out
    }

    /// Writes the weights and configuration to `path` (safetensors; `extra` goes into the metadata).
    public func save(path: String, extra: [String: String] = [:]) throws {
        try ModelCheckpoint.save(network, kind: Self.kind, config: config, extra: extra, to: path)
    }

    /// Loads a discriminator saved by ``save(path:extra:)``; throws naming the file and the problem.
    public static func load(path: String) throws -> Discriminator {
        let (file, _) = try ModelCheckpoint.open(path, expecting: kind)
        let config = try ModelCheckpoint.config(DiscriminatorConfig.self, in: file, path: path)
        let model: Discriminator
        do {
            model = try Discriminator(config: config)
        } catch let error as LearningError {
            throw LearningError.checkpoint(path: path, reason: "stored configuration is invalid: \(error)")
        }
        try ModelCheckpoint.loadWeights(into: model.network, from: file, path: path)
        return model
    }
}
