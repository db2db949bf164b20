import Foundation
import Imaging
import Learning
import Tensor

/// Tiny synthetic data for fast tests: flat backgrounds of a random colour with a square "object" of another
/// colour; the target is the flat background, so the right fill is known exactly.
enum SyntheticData {
    /// One sample of `size` px: background colour, object square of side `size / 4 ... size / 2`.
    static func flatSample(size: Int, rng: inout RNG) throws -> (sample: RemovalSample, background: [Float]) {
        let bg = (0..<3).map { _ in 0.1 + 0.8 * rng.nextFloat() }
        let fg = bg.map { 1 - $0 }   // clearly different from the background
        let side = size / 4 + rng.nextInt(size / 4 + 1)
        let x0 = rng.nextInt(size - side + 1), y0 = rng.nextInt(size - side + 1)
        var target = try Image(width: size, height: size, channels: 3)
        var source = target
        var mask = try Mask(width: size, height: size)
        for y in 0..<size {
            for x in 0..<size {
                let inside = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side
                for c in 0..<3 {
                    target[x, y, c] = bg[c]
                    source[x, y, c] = inside ? fg[c] : bg[c]
                }
                if inside { mask.values[y * size + x] = 1 }
            }
        }
        return (RemovalSample(source: source, mask: mask, target: target), bg)
    }

    /// `count` flat samples drawn from `seed`.
    static func flatSet(count: Int, size: Int, seed: UInt64) throws -> [RemovalSample] {
        var rng = RNG(seed: seed)
        return try (0..<count).map { _ in try flatSample(size: size, rng: &rng).sample }
    }

    /// Judged samples from flat samples: the clean target as a good result (label 1) and the untouched source,
    /// object still there, as a bad one (label 0), alternating.
    static func judgedSet(count: Int, size: Int, seed: UInt64) throws -> [JudgedSample] {
        try flatSet(count: count, size: size, seed: seed).enumerated().map { i, s in
            i % 2 == 0 ? JudgedSample(source: s.source, mask: s.mask, result: s.target, label: 1)
                       : JudgedSample(source: s.source, mask: s.mask, result: s.source, label: 0)
        }
    }

    /// Mean absolute difference over masked pixels and RGB channels.
    static func maskedL1(_ a: Image, _ b: Image, mask: Mask) -> Double {
        var sum = 0.0, n = 0
        for i in 0..<mask.pixelCount where mask.isMasked(i) {
            for c in 0..<3 { sum += Double(abs(a.pixels[i * 3 + c] - b.pixels[i * 3 + c])); n += 1 }
        }
        return n == 0 ? 0 : sum / Double(n)
    }

    /// A fresh scratch directory for checkpoint files.
    static func scratchDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "rorem-learning-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
