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
            out = RemovalSample(source: out.source.oriented(exif: 2), mask: flip(out.mask, exif: 2), target: out.target.oriented(exif: 2))
        }
        if vertical && rng.nextFloat() < 0.5 {
            out = RemovalSample(source: out.source.oriented(exif: 4), mask: flip(out.mask, exif: 4), target: out.target.oriented(exif: 4))
        }
        return out
    }

    /// Random flips of a judged sample (the discriminator crops around the mask itself).
    static func flipped(_ s: JudgedSample, horizontal: Bool, vertical: Bool, rng: inout RNG) -> JudgedSample {
        var out = s
        if horizontal && rng.nextFloat() < 0.5 {
            out = JudgedSample(source: out.source.oriented(exif: 2), mask: flip(out.mask, exif: 2),
                               result: out.result.oriented(exif: 2), label: out.label)
        }
        if vertical && rng.nextFloat() < 0.5 {
            out = JudgedSample(source: out.source.oriented(exif: 4), mask: flip(out.mask, exif: 4),
                               result: out.result.oriented(exif: 4), label: out.label)
        }
        return out
    }

    /// A mask mirrored like `Image.oriented(exif:)` (2: left-right, 4: top-bottom), keeping soft values.
    static func flip(_ mask: Mask, exif: Int) -> Mask {
        let img = mask.asImage().oriented(exif: exif)
        return (try? Mask(width: img.width, height: img.height, values: img.pixels)) ?? mask
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
