import Support
import Foundation
import Imaging

/// A placed object shape: centre, bounding radius, rotation and aspect, with an inside test in its own frame.
struct ObjectShape {
    var kind: SynthShape
    var cx: Double, cy: Double
    var radius: Double
    var angle: Double
    var aspect: Double

    /// A random shape of one of `shapes`, `diameter` across, fully inside the image when it fits.
    static func random(_ rng: inout SeededRandom, shapes: [SynthShape], width: Int, height: Int, diameter: Double) -> ObjectShape {
        let kind = rng.pick(shapes)
        let r = max(2, diameter / 2)
        let cx = r < Double(width) / 2 ? rng.uniform(r...(Double(width) - r)) : Double(width) / 2
        let cy = r < Double(height) / 2 ? rng.uniform(r...(Double(height) - r)) : Double(height) / 2
        return ObjectShape(kind: kind, cx: cx, cy: cy, radius: r, angle: rng.uniform(0...(2 * Double.pi)), aspect: rng.uniform(0.6...1))
    }

    /// Coordinates of image point `(x, y)` in the shape's frame, where the shape fits in the unit disc.
    func local(_ x: Double, _ y: Double) -> (Double, Double) {
        let dx = x - cx, dy = y - cy, c = cos(angle), s = sin(angle)
        return ((dx * c + dy * s) / radius, (-dx * s + dy * c) / (radius * aspect))
    }

    func contains(_ x: Double, _ y: Double) -> Bool {
        let (u, v) = local(x, y)
        switch kind {
        case .disc: return u * u + v * v <= 1
        case .box: return abs(u) <= 0.75 && abs(v) <= 0.75
        case .ring:
            let d = u * u + v * v
            return d <= 1 && d >= 0.3
        case .triangle:
            // Vertices on the unit circle at 90, 210 and 330 degrees; inside when on the same side of all edges.
            let p: [(Double, Double)] = [(0, -1), (-0.866, 0.5), (0.866, 0.5)]
            var sign = 0.0
            for k in 0..<3 {
                let (ax, ay) = p[k], (bx, by) = p[(k + 1) % 3]
                let cross = (bx - ax) * (v - ay) - (by - ay) * (u - ax)
                if cross == 0 { continue }
                if sign == 0 { sign = cross } else if (cross > 0) != (sign > 0) { return false }
            }
            return true
        }
    }

    /// Anti-aliased coverage (H, W) in [0, 1] by 4x4 supersampling of each pixel, only near the shape.
    func coverage(width: Int, height: Int) -> [Float] {
        var out = [Float](repeating: 0, count: width * height)
        let reach = radius + 1
        let x0 = max(0, Int((cx - reach).rounded(.down))), x1 = min(width - 1, Int((cx + reach).rounded(.up)))
        let y0 = max(0, Int((cy - reach).rounded(.down))), y1 = min(height - 1, Int((cy + reach).rounded(.up)))
        if x0 > x1 || y0 > y1 { return out }
        for y in y0...y1 {
            for x in x0...x1 {
                var hits = 0
                for sy in 0..<4 { for sx in 0..<4 where contains(Double(x) + (Double(sx) + 0.5) / 4, Double(y) + (Double(sy) + 0.5) / 4) { hits += 1 } }
                out[y * width + x] = Float(hits) / 16
            }
        }
        return out
    }
}

/// The photographs of a folder, loaded once each when first drawn, for photo backgrounds.
final class PhotoShelf {
    let paths: [String]
    private var loaded: [Int: Image] = [:]

    /// Lists the PNG and JPEG files of `folder` (sorted by name, for determinism); none when `folder` is nil.
    init(folder: String?) throws {
        guard let folder else { paths = []; return }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw CurationError.badDataset(path: folder, reason: "cannot list the photo folder: \(error.localizedDescription)")
        }
        paths = names.filter { ImageIO.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted().map { folder + "/" + $0 }
    }

    var isEmpty: Bool { paths.isEmpty }

    /// A random crop of a random photo with the aspect of `width` x `height`, resized to that size.
    func crop(_ rng: inout SeededRandom, width: Int, height: Int) throws -> Canvas {
        let index = rng.below(paths.count)
        let photo: Image
        if let cached = loaded[index] {
            photo = cached
        } else {
            photo = try ImageIO.load(paths[index]).converted(toChannels: 3)
            loaded[index] = photo
        }
        let aspect = Double(width) / Double(height)
        var cw = Double(photo.width) * rng.uniform(0.5...1), ch = cw / aspect
        if ch > Double(photo.height) { ch = Double(photo.height); cw = ch * aspect }
        let w = max(1, min(photo.width, Int(cw))), h = max(1, min(photo.height, Int(ch)))
        let x = rng.below(photo.width - w + 1), y = rng.below(photo.height - h + 1)
        let cut = try photo.cropped(to: PixelRect(x: x, y: y, width: w, height: h)).resized(width: width, height: height)
        var canvas = Canvas(width: width, height: height)
        canvas.pixels = cut.pixels
        return canvas
    }
}
