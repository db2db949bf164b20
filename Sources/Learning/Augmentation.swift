import Imaging
import Tensor

/// Training-time augmentation: square crops that keep the mask in view, and mirror flips. Each sample draws
/// from its own generator seeded by (run seed, step, slot), so augmentation does not depend on batch order.
enum Augmentation {
    /// A generator for the sample in `slot` of `step`'s batch.
    static func rng(seed: UInt64, step: Int, slot: Int) -> RNG {
        var mixer = RNG(seed: seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(slot) &* 0xC2B2_AE3D_27D4_EB4F))
        return RNG(seed: mixer.next())
    }

    /// Throws unless source, mask and target (or result) share one size; `what` names the sample.
    static func checkSizes(_ source: Image, _ mask: Mask, _ other: Image, what: String) throws {
        guard source.width == mask.width, source.height == mask.height,
              other.width == mask.width, other.height == mask.height else {
            throw LearningError.invalidData(what: what, reason: "source \(source.width)x\(source.height), mask \(mask.width)x\(mask.height) "
                                                + "and target/result \(other.width)x\(other.height) must have the same size")
        }
    }

    /// A `size` x `size` crop of the sample that contains the mask's box when it fits (its centre otherwise),
    /// at a random position; images with a side shorter than `size` are enlarged first. Then random flips.
    static func removalCrop(_ s: RemovalSample, size: Int, horizontal: Bool, vertical: Bool, rng: inout RNG) throws -> RemovalSample {
        var source = s.source, target = s.target, mask = s.mask
        let shortest = min(source.width, source.height)
        if shortest < size {
            let scale = Double(size) / Double(shortest)
            let w = max(size, Int((Double(source.width) * scale).rounded(.up)))
            let h = max(size, Int((Double(source.height) * scale).rounded(.up)))
            source = try source.resized(width: w, height: h)
            target = try target.resized(width: w, height: h)
            mask = try mask.resized(width: w, height: h)
        }
        let box = mask.boundingBox()
        let x = cropStart(length: source.width, size: size, lo: box?.x, hi: box?.maxX, rng: &rng)
        let y = cropStart(length: source.height, size: size, lo: box?.y, hi: box?.maxY, rng: &rng)
        let rect = PixelRect(x: x, y: y, width: size, height: size)
        var out = RemovalSample(source: try source.cropped(to: rect), mask: try mask.cropped(to: rect), target: try target.cropped(to: rect))
        if horizontal && rng.nextFloat() < 0.5 {
            out = RemovalSample(source: out.source.oriented(exif: 2), mask: out.mask.oriented(exif: 2), target: out.target.oriented(exif: 2))
        }
        if vertical && rng.nextFloat() < 0.5 {
            out = RemovalSample(source: out.source.oriented(exif: 4), mask: out.mask.oriented(exif: 4), target: out.target.oriented(exif: 4))
        }
        return out
    }

    /// A judged sample under a random label-preserving transform: flips (as configured), or with `turns` any of
    /// the eight orientations (rotations by quarter turns and mirrorings); with `colors` also a random permutation
    /// of the colour channels and, with probability 1/2, inversion (`1 - x`), applied to source and result alike.
    /// Masked PSNR and L1 against a ground truth are exactly invariant under all of these, so the oracle's label
    /// holds for the transformed sample; a person's judgement of a leftover blob does not depend on them either.
    /// (The discriminator crops around the mask itself.)
    static func judged(_ s: JudgedSample, config: TrainingConfig, rng: inout RNG) -> JudgedSample {
        let exif = orientation(config: config, rng: &rng)
        var out = JudgedSample(source: s.source.oriented(exif: exif), mask: s.mask.oriented(exif: exif),
                               result: s.result.oriented(exif: exif), label: s.label)
        if config.colorAugmentation {
            let recolor = ColorTransform.random(rng: &rng)
            out.source = recolor.apply(out.source)
            out.result = recolor.apply(out.result)
        }
        return out
    }

    /// The EXIF orientation (1...8) of a random transform: 1, 2 (left-right) and 4 (top-bottom), or their product
    /// 3, as the flips allow; any of the eight with `turns`.
    static func orientation(config: TrainingConfig, rng: inout RNG) -> Int {
        if config.quarterTurns { return 1 + rng.nextInt(8) }
        let h = config.horizontalFlips && rng.nextFloat() < 0.5
        let v = config.verticalFlips && rng.nextFloat() < 0.5
        switch (h, v) {
        case (false, false): return 1
        case (true, false): return 2
        case (false, true): return 4
        case (true, true): return 3
        }
    }

    /// Start of a crop of `size` along an axis of `length`, covering `lo..<hi` when it fits, else its centre.
    static func cropStart(length: Int, size: Int, lo: Int?, hi: Int?, rng: inout RNG) -> Int {
        let last = length - size
        guard last > 0 else { return 0 }
        var a = 0, b = last
        if let lo, let hi {
            if hi - lo <= size {
                a = max(0, hi - size); b = min(lo, last)
            } else {
                let centre = (lo + hi) / 2
                a = max(0, centre - size + 1); b = min(centre, last)
            }
        }
        guard b >= a else { return min(max(0, a), last) }
        return a + rng.nextInt(b - a + 1)
    }
}

/// A permutation of the first three channels, optionally followed by inversion of those channels.
struct ColorTransform: Equatable {
    /// `permutation[k]` is the source channel of output channel k.
    var permutation: [Int]
    var inverted: Bool

    static let permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]

    static func random(rng: inout RNG) -> ColorTransform {
        let p = permutations[rng.nextInt(permutations.count)]
        return ColorTransform(permutation: p, inverted: rng.nextFloat() < 0.5)
    }

    /// The transformed image; images with fewer than three channels are only inverted, extra channels (alpha)
    /// are kept as they are.
    func apply(_ image: Image) -> Image {
        let c = image.channels
        var out = image
        let colour = min(c, 3)
        image.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<image.pixelCount {
                    let base = i * c
                    for k in 0..<colour {
                        let v = src[base + (c >= 3 ? permutation[k] : k)]
                        dst[base + k] = inverted ? 1 - v : v
                    }
                }
            }
        }
        return out
    }
}
