import Foundation
import Imaging
import Removal
import Support
import Tensor

/// A diffusion inpainting pipeline as a rorem `Remover`: SDXL-inpainting, RORem or RORem-4S anywhere a remover
/// goes (`remove`, `generate`, `evaluate_model`, `rorem remove`). As with every remover, only masked pixels change.
///
/// Strategies for images of any size, as IOPaint names them:
/// - `crop` (default): a crop around the mask with context, scaled so its longer side is `resolution`, sides
///   rounded to the VAE's factor; the fill is scaled back and pasted.
/// - `resize`: the whole image resized to `resolution` x `resolution`, as RORem's scripts do.
/// - `whole`: the image as given, sides rounded to the VAE's factor.
public final class DiffusionRemover: Remover, @unchecked Sendable {
    /// How the image is brought to the model's size.
    public enum Strategy: String, CaseIterable, Sendable {
        case crop, resize, whole
    }

    public let pipeline: SDXLInpaintPipeline
    public var settings: InpaintSettings
    public var strategy: Strategy
    /// The side the model works at (512 for RORem; 1024 is SDXL's native size).
    public var resolution: Int
    /// Pixels by which the mask the model sees is grown (the result still changes only masked pixels).
    public var dilate: Int
    /// Where the per-step progress bar goes.
    public var progressMode: ProgressBar.Mode
    /// Checked between denoising steps; true stops the removal with an error.
    public var shouldStop: @Sendable () -> Bool
    /// Seconds the last `inpaint` took, for batch summaries.
    public private(set) var lastSeconds: Double = 0

    public var name: String { "diffusion" }
    public var workingSize: Int? { nil }
    public var preferredStrategy: HighResolution { strategy == .crop ? HighResolution() : .whole }

    public init(pipeline: SDXLInpaintPipeline, settings: InpaintSettings, strategy: Strategy = .crop, resolution: Int = 512,
                dilate: Int = 0, progressMode: ProgressBar.Mode = .terminalOnly, shouldStop: @escaping @Sendable () -> Bool = { false }) throws {
        try settings.validate()
        let f = pipeline.vaeScaleFactor
        guard resolution >= f, resolution <= 4096 else {
            throw PipelineError("resolution", "must be in \(f)...4096, got \(resolution)")
        }
        guard dilate >= 0, dilate <= 256 else { throw PipelineError("dilate", "must be in 0...256 pixels, got \(dilate)") }
        self.pipeline = pipeline; self.settings = settings; self.strategy = strategy; self.resolution = resolution
        self.dilate = dilate; self.progressMode = progressMode; self.shouldStop = shouldStop
    }

    /// The size the model runs at for a `width` x `height` input.
    public func modelSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let f = pipeline.vaeScaleFactor
        func round(_ x: Double) -> Int { max(f, Int((x / Double(f)).rounded()) * f) }
        switch strategy {
        case .resize: return (round(Double(resolution)), round(Double(resolution)))
        case .whole: return (round(Double(width)), round(Double(height)))
        case .crop:
            let s = Double(resolution) / Double(max(width, height))
            return (round(Double(width) * s), round(Double(height) * s))
        }
    }

    public func inpaint(_ image: Image, mask: Mask) throws -> Image {
        let started = Date()
        let rgb = try image.converted(toChannels: 3)
        var seen = mask
        if dilate > 0 { seen = try mask.dilated(radius: dilate) }
        let (w, h) = modelSize(width: image.width, height: image.height)
        let scaled = rgb.width == w && rgb.height == h ? rgb : try rgb.resized(width: w, height: h, filter: .auto)
        let scaledMask = seen.width == w && seen.height == h ? seen : try seen.resized(width: w, height: h, threshold: 0.01)
        var stepBar: ProgressBar?
        let output = try pipeline.run(image: Self.tensor(scaled), mask: Self.tensor(scaledMask), settings: settings,
                                      progress: { done, total in
                                          if stepBar == nil { stepBar = ProgressBar(total: total, label: "denoise \(w)x\(h)", unit: "step", mode: self.progressMode) }
                                          stepBar?.update(done: done)
                                      }, shouldStop: shouldStop)
        var fill = try Self.image(output.image)
        if fill.width != image.width || fill.height != image.height {
            fill = try fill.resized(width: image.width, height: image.height, filter: .bilinear)
        }
        lastSeconds = Date().timeIntervalSince(started)
        return try fill.converted(toChannels: image.channels)
    }

    /// An RGB image as a (1, 3, H, W) tensor in [0, 1].
    static func tensor(_ image: Image) throws -> Tensor {
        let w = image.width, h = image.height
        var values = [Float](repeating: 0, count: 3 * w * h)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { values[(c * h + y) * w + x] = image[x, y, c] } } }
        return try Tensor(values, shape: [1, 3, h, w])
    }

    /// A mask as a (1, 1, H, W) tensor of 0 and 1.
    static func tensor(_ mask: Mask) throws -> Tensor {
        try Tensor(mask.values.map { $0 >= 0.5 ? 1 : 0 }, shape: [1, 1, mask.height, mask.width])
    }

    /// A (1, 3, H, W) tensor in [0, 1] as an RGB image.
    static func image(_ t: Tensor) throws -> Image {
        guard t.rank == 4, t.shape[0] == 1, t.shape[1] == 3 else { throw PipelineError("image", "expected (1, 3, H, W), got \(t.shape)") }
        let h = t.shape[2], w = t.shape[3]
        let v = t.values
        var pixels = [Float](repeating: 0, count: 3 * w * h)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { pixels[(y * w + x) * 3 + c] = v[(c * h + y) * w + x] } } }
        return try Image(width: w, height: h, channels: 3, pixels: pixels)
    }
}
