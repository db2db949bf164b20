import Support
import Foundation
import Imaging

/// Procedural paired scenes: a background, an object on it (optionally textured, optionally casting a soft shadow)
/// and the object's mask; the pair is (source with object, mask, background). For tests, teaching and the paper in
/// miniature. The language's `synth`.
///
/// Deterministic: scene `i` depends only on the options and `i` (each scene has its own generator seeded from
/// `seed` and `i`), so the first `n` scenes of a larger set equal a set of `n`. Pixels are multiples of 1/255, so
/// storing them as 8-bit PNG is exact.
public enum Synth {
    /// Makes `options.count` pairs.
    public static func make(_ options: SynthOptions) throws -> Dataset {
        try options.validate()
        let photos = try PhotoShelf(folder: options.photoFolder)
        var pairs: [Pair] = []
        pairs.reserveCapacity(options.count)
        for i in 0..<options.count { pairs.append(try scene(i, options: options, photos: photos)) }
        return Dataset(name: options.name ?? "synth-s\(options.seed)", pairs: pairs)
    }

    /// Makes `count` pairs of `width` x `height` from `seed` with the other options at their defaults.
    public static func make(count: Int, width: Int = 64, height: Int = 64, seed: UInt64 = 0) throws -> Dataset {
        try make(SynthOptions(count: count, width: width, height: height, seed: seed))
    }

    /// Scene number `index` of the set that `options` describe.
    static func scene(_ index: Int, options: SynthOptions, photos: PhotoShelf) throws -> Pair {
        var seedMixer = SeededRandom(seed: options.seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD6E8_FEB8_6659_FD93))
        var rng = SeededRandom(seed: seedMixer.next())
        let w = options.width, h = options.height
        var kinds = options.backgrounds
        if options.photoFolder != nil, !kinds.contains(.photo) { kinds.append(.photo) }
        if photos.isEmpty { kinds.removeAll { $0 == .photo } }
        if kinds.isEmpty { throw CurationError.invalidArgument("synth: the photo folder '\(options.photoFolder ?? "")' holds no PNG or JPEG images") }

        // Background (H, W, 3), then distractors (part of the scene, never masked).
        var canvas = Canvas(width: w, height: h)
        switch rng.pick(kinds) {
        case .gradient: canvas.paintGradient(&rng)
        case .noise: canvas.paintNoise(&rng, detail: options.backgroundDetail)
        case .stripes: canvas.paintStripes(&rng, detail: options.backgroundDetail, angles: options.stripeAngles)
        case .photo: canvas = try photos.crop(&rng, width: w, height: h)
        }
        let minSide = Double(min(w, h))
        for _ in 0..<options.distractors {
            let shape = ObjectShape.random(&rng, shapes: options.shapes, width: w, height: h, diameter: minSide * rng.uniform(0.1...0.2))
            let cover = shape.coverage(width: w, height: h)
            if options.shadows { try canvas.shade(cover, &rng, radius: shape.radius, light: options.light) }
            canvas.paintObject(cover, shape: shape, &rng, textured: options.texturedObjects)
        }
        let target = canvas

        // The object, its shadow, and its mask.
        let shape = ObjectShape.random(&rng, shapes: options.shapes, width: w, height: h, diameter: minSide * rng.uniform(options.objectScale))
        let cover = shape.coverage(width: w, height: h)
        var maskValues = cover.map { $0 > 0.02 ? Float(1) : 0 }
        if options.shadows {
            let shadow = try canvas.shade(cover, &rng, radius: shape.radius, light: options.light)
            if options.maskCoversShadow { for i in 0..<maskValues.count where shadow[i] > 0.15 { maskValues[i] = 1 } }
        }
        canvas.paintObject(cover, shape: shape, &rng, textured: options.texturedObjects)
        var mask = try Mask(width: w, height: h, values: maskValues)
        if options.maskDilation > 0 { mask = try mask.dilated(radius: options.maskDilation) }

        return Pair(name: String(format: "synth-%06d", index), source: .image(try canvas.image()), mask: .mask(mask.thresholded()),
                    target: .image(try target.image()))
    }
}

/// An RGB float canvas, (H, W, 3) row-major, that Synth paints on.
struct Canvas {
    let width: Int, height: Int
    var pixels: [Float]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [Float](repeating: 0, count: width * height * 3)
    }

    /// The canvas as an image with every sample rounded to a multiple of 1/255.
    func image() throws -> Image {
        try Image(width: width, height: height, channels: 3, pixels: pixels.map { (min(max($0, 0), 1) * 255).rounded() / 255 })
    }

    static func randomColor(_ rng: inout SeededRandom) -> [Float] {
        [Float(rng.unit()), Float(rng.unit()), Float(rng.unit())]
    }

    mutating func fill(_ value: (Int, Int) -> Float, _ a: [Float], _ b: [Float]) {
        for y in 0..<height {
            for x in 0..<width {
                let t = value(x, y), i = (y * width + x) * 3
                for k in 0..<3 { pixels[i + k] = a[k] + (b[k] - a[k]) * t }
            }
        }
    }

    mutating func paintGradient(_ rng: inout SeededRandom) {
        let a = Canvas.randomColor(&rng), b = Canvas.randomColor(&rng)
        let angle = rng.uniform(0...(2 * Double.pi)), c = cos(angle), s = sin(angle)
        let w = Double(width), h = Double(height)
        let half = 0.5 * (abs(c) * w + abs(s) * h)
        fill({ x, y in
            let d = (Double(x) - w / 2) * c + (Double(y) - h / 2) * s
            return Float(min(max(0.5 + 0.5 * d / max(half, 1), 0), 1))
        }, a, b)
    }

    /// Soft stripes whose bands run at an angle drawn from `angles` (degrees, 0: horizontal bands).
    mutating func paintStripes(_ rng: inout SeededRandom, detail: Double, angles: ClosedRange<Double>) {
        let a = Canvas.randomColor(&rng), b = Canvas.randomColor(&rng)
        // `angle` is the direction across the bands: a quarter turn from theirs. Every direction (the default) keeps
        // the draw that earlier versions made, so their datasets stay pixel for pixel the same.
        let angle = angles == 0...180 ? rng.uniform(0...Double.pi)
            : (rng.uniform(angles) + 90) * Double.pi / 180
        let c = cos(angle), s = sin(angle)
        let period = max(2, rng.uniform(5...16) / detail)
        fill({ x, y in Float(0.5 + 0.5 * sin(2 * Double.pi * (Double(x) * c + Double(y) * s) / period)) }, a, b)
    }

    mutating func paintNoise(_ rng: inout SeededRandom, detail: Double) {
        let a = Canvas.randomColor(&rng), b = Canvas.randomColor(&rng)
        let field = ValueNoise.field(&rng, width: width, height: height, cell: max(2, Double(min(width, height)) / (3 * detail)), octaves: 3)
        let w = width
        fill({ x, y in field[y * w + x] }, a, b)
    }

    /// Darkens the canvas under a blurred, offset copy of `cover` (the shadow); returns the shadow's strength map.
    /// With light from `.above` the offset points down and to one side; from `.any`, in any direction.
    @discardableResult
    mutating func shade(_ cover: [Float], _ rng: inout SeededRandom, radius: Double, light: SynthLight) throws -> [Float] {
        let dx: Int, dy: Int
        switch light {
        case .above:
            dx = Int((radius * rng.uniform(0.2...0.45)).rounded()) * (rng.below(2) == 0 ? 1 : -1)
            dy = Int((radius * rng.uniform(0.15...0.4)).rounded())
        case .any:
            // The same offset lengths as from above (about 0.25...0.6 of the radius), turned to any angle.
            let length = radius * rng.uniform(0.25...0.6), angle = rng.uniform(0...(2 * Double.pi))
            dx = Int((length * cos(angle)).rounded())
            dy = Int((length * sin(angle)).rounded())
        }
        var shifted = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let sx = x - dx, sy = y - dy
                if sx >= 0, sx < width, sy >= 0, sy < height { shifted[y * width + x] = cover[sy * width + sx] }
            }
        }
        let soft = try Mask(width: width, height: height, values: shifted).feathered(radius: max(1, Int(radius / 3))).values
        let strength = Float(rng.uniform(0.35...0.6))
        for i in 0..<(width * height) {
            let f = 1 - strength * soft[i]
            for k in 0..<3 { pixels[i * 3 + k] *= f }
        }
        return soft
    }

    /// Paints an object of random colour (and texture) through its coverage map, with simple directional shading.
    mutating func paintObject(_ cover: [Float], shape: ObjectShape, _ rng: inout SeededRandom, textured: Bool) {
        let color = Canvas.randomColor(&rng)
        let texture = textured ? rng.below(3) : -1
        let period = Double(rng.uniform(3...8)), contrast = Float(rng.uniform(0.15...0.35))
        let noise = texture == 2 ? ValueNoise.field(&rng, width: width, height: height, cell: 3, octaves: 2) : []
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x, alpha = cover[i]
                if alpha <= 0 { continue }
                let (u, v) = shape.local(Double(x) + 0.5, Double(y) + 0.5)
                var f = Float(0.85 + 0.15 * max(-1, min(1, -(u + v) * 0.7)))
                switch texture {
                case 0: f *= ((Int((Double(x) / period).rounded(.down)) + Int((Double(y) / period).rounded(.down))) & 1) == 0 ? 1 : 1 - contrast
                case 1: f *= 1 - contrast * Float(0.5 + 0.5 * sin(2 * Double.pi * u * Double(shape.radius) / period))
                case 2: f *= 1 - contrast * noise[i]
                default: break
                }
                for k in 0..<3 {
                    let j = i * 3 + k
                    pixels[j] = (1 - alpha) * pixels[j] + alpha * min(1, color[k] * f)
                }
            }
        }
    }
}

/// Smooth random fields: random values on a lattice, interpolated with smoothstep, summed over octaves.
enum ValueNoise {
    /// A (H, W) field in [0, 1].
    static func field(_ rng: inout SeededRandom, width: Int, height: Int, cell: Double, octaves: Int) -> [Float] {
        var out = [Float](repeating: 0, count: width * height)
        var amplitude: Float = 1, total: Float = 0, size = cell
        for _ in 0..<octaves {
            let gw = Int(Double(width) / size) + 2, gh = Int(Double(height) / size) + 2
            let lattice = (0..<(gw * gh)).map { _ in Float(rng.unit()) }
            for y in 0..<height {
                let fy = Double(y) / size, y0 = Int(fy), ty = Float(fy - Double(y0))
                let sy = ty * ty * (3 - 2 * ty)
                for x in 0..<width {
                    let fx = Double(x) / size, x0 = Int(fx), tx = Float(fx - Double(x0))
                    let sx = tx * tx * (3 - 2 * tx)
                    let a = lattice[y0 * gw + x0], b = lattice[y0 * gw + x0 + 1]
                    let c = lattice[(y0 + 1) * gw + x0], d = lattice[(y0 + 1) * gw + x0 + 1]
                    let top = a + (b - a) * sx, bottom = c + (d - c) * sx
                    out[y * width + x] += amplitude * (top + (bottom - top) * sy)
                }
            }
            total += amplitude
            amplitude *= 0.5
            size = max(1, size / 2)
        }
        return out.map { $0 / total }
    }
}
