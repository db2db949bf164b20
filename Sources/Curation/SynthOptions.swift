/// Background kinds of synthetic scenes.
public enum SynthBackground: String, Sendable, CaseIterable, Codable {
    /// A linear blend between two colours at a random angle.
    case gradient
    /// Multi-octave value noise between two colours (a soft texture).
    case noise
    /// Soft stripes of two colours at a random angle and period.
    case stripes
    /// A random crop of a photograph from ``SynthOptions/photoFolder``.
    case photo
}

/// Where the light comes from, which decides where shadows fall.
public enum SynthLight: String, Sendable, CaseIterable, Codable {
    /// From above: every shadow falls below its object, to the left or the right (the way most photos are lit).
    case above
    /// From any side: each shadow falls in a direction drawn uniformly from the full circle.
    case any
}

/// Object shapes of synthetic scenes.
public enum SynthShape: String, Sendable, CaseIterable, Codable {
    /// An ellipse.
    case disc
    /// A rotated rectangle.
    case box
    /// A rotated triangle.
    case triangle
    /// An elliptical ring (a hole shows the background).
    case ring
}

/// The parameters of ``Synth/make(_:)``. Each field moves the distribution: smaller or more detailed backgrounds,
/// distractor objects, shadows left outside the mask and textured objects make removal harder.
public struct SynthOptions: Sendable, Equatable, Codable {
    /// Name of the dataset (default `synth-s<seed>`).
    public var name: String?
    /// Number of pairs.
    public var count: Int = 16
    /// Image width in pixels.
    public var width: Int = 64
    /// Image height in pixels.
    public var height: Int = 64
    /// The seed; with the same seed and options every pixel is the same on every run.
    public var seed: UInt64 = 0
    /// Background kinds drawn from uniformly (`.photo` needs ``photoFolder``).
    public var backgrounds: [SynthBackground] = [.gradient, .noise, .stripes]
    /// A folder of PNG/JPEG photographs; when set, `.photo` joins the background kinds.
    public var photoFolder: String?
    /// Object shapes drawn from uniformly.
    public var shapes: [SynthShape] = SynthShape.allCases
    /// Object size as a fraction of the shorter image side (its bounding diameter).
    public var objectScale: ClosedRange<Double> = 0.25...0.45
    /// Whether objects carry a texture (checks, stripes or noise) on top of their colour.
    public var texturedObjects: Bool = true
    /// Whether objects cast a soft shadow onto the background.
    public var shadows: Bool = false
    /// Whether the mask covers the shadow too (true) or only the object (false: a harder case, the shadow stays).
    public var maskCoversShadow: Bool = true
    /// Where the light comes from (with ``shadows``): `.above` casts every shadow downwards.
    public var light: SynthLight = .above
    /// Extra objects that are part of the scene (present in source and target, never masked).
    public var distractors: Int = 0
    /// Directions of stripe backgrounds' bands in degrees (0: horizontal bands, 90: vertical), drawn uniformly;
    /// the default, 0...180, is every direction.
    public var stripeAngles: ClosedRange<Double> = 0...180
    /// Texture frequency of noise and stripe backgrounds; larger is busier and harder to fill.
    public var backgroundDetail: Double = 1
    /// Pixels by which the mask is grown around the object (masks in practice are a little loose).
    public var maskDilation: Int = 1

    /// Default options with `count` pairs from `seed`.
    public init(count: Int = 16, width: Int = 64, height: Int = 64, seed: UInt64 = 0) {
        self.count = count
        self.width = width
        self.height = height
        self.seed = seed
    }

    /// Throws when a field is out of range, naming it.
    public func validate() throws {
        func bad(_ message: String) -> CurationError { .invalidArgument("synth: \(message)") }
        guard count >= 0 else { throw bad("count must be >= 0, got \(count)") }
        guard (8...4096).contains(width), (8...4096).contains(height) else { throw bad("width and height must be in 8...4096, got \(width)x\(height)") }
        guard !backgrounds.isEmpty || photoFolder != nil else { throw bad("backgrounds is empty") }
        guard !backgrounds.contains(.photo) || photoFolder != nil else { throw bad("background 'photo' needs photoFolder") }
        guard !shapes.isEmpty else { throw bad("shapes is empty") }
        guard objectScale.lowerBound > 0, objectScale.upperBound <= 1 else { throw bad("objectScale must lie in (0, 1], got \(objectScale)") }
        guard (0...16).contains(distractors) else { throw bad("distractors must be in 0...16, got \(distractors)") }
        guard stripeAngles.lowerBound >= -360, stripeAngles.upperBound <= 360 else { throw bad("stripeAngles must lie in -360...360 degrees, got \(stripeAngles)") }
        guard backgroundDetail > 0, backgroundDetail <= 16 else { throw bad("backgroundDetail must be in (0, 16], got \(backgroundDetail)") }
        guard (0...32).contains(maskDilation) else { throw bad("maskDilation must be in 0...32, got \(maskDilation)") }
    }
}
