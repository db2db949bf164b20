import Imaging
@testable import Removal
import XCTest

/// Synthetic test images and masks with known ground truth, and error measures written independently of
/// Imaging's metrics.
enum Fixtures {
    /// A smooth diagonal RGB gradient (per-channel linear ramps).
    static func gradient(width: Int = 64, height: Int = 48, channels: Int = 3) throws -> Image {
        var img = try Image(width: width, height: height, channels: channels)
        for y in 0..<height {
            for x in 0..<width {
                let u = Float(x) / Float(width - 1), v = Float(y) / Float(height - 1)
                let values: [Float] = [0.1 + 0.8 * u, 0.2 + 0.6 * v, 0.5 * (u + v) * 0.9 + 0.05, 1]
                for c in 0..<channels { img[x, y, c] = channels == 1 ? values[0] : values[c] }
            }
        }
        return img
    }

    /// Vertical stripes of `period` pixels alternating between two colours.
    static func stripes(width: Int = 64, height: Int = 64, period: Int = 4) throws -> Image {
        var img = try Image(width: width, height: height, channels: 3)
        for y in 0..<height {
            for x in 0..<width {
                let on = (x / period) % 2 == 0
                img[x, y, 0] = on ? 0.9 : 0.1; img[x, y, 1] = on ? 0.8 : 0.2; img[x, y, 2] = on ? 0.2 : 0.7
            }
        }
        return img
    }

    /// A checkerboard of `cell`-pixel squares.
    static func checkerboard(width: Int = 64, height: Int = 64, cell: Int = 4) throws -> Image {
        var img = try Image(width: width, height: height, channels: 3)
        for y in 0..<height {
            for x in 0..<width {
                let v: Float = ((x / cell) + (y / cell)) % 2 == 0 ? 0.85 : 0.15
                for c in 0..<3 { img[x, y, c] = v }
            }
        }
        return img
    }

    /// Uniform noise in [0.2, 0.8] from a fixed-seed generator, repeating with period `tile` in x and y
    /// so that the hole's content exists elsewhere in the image.
    static func tiledNoise(width: Int = 64, height: Int = 64, tile: Int = 8, seed: UInt64 = 7) throws -> Image {
        var img = try Image(width: width, height: height, channels: 3)
        var state = seed
        var cellValues: [Float] = []
        for _ in 0..<(tile * tile * 3) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            cellValues.append(0.2 + 0.6 * Float(state >> 40) / Float(1 << 24))
        }
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 { img[x, y, c] = cellValues[((y % tile) * tile + x % tile) * 3 + c] }
            }
        }
        return img
    }

    /// A mask with the rectangle `x..<x+w`, `y..<y+h` set.
    static func rect(width: Int, height: Int, x: Int, y: Int, w: Int, h: Int) throws -> Mask {
        var mask = try Mask(width: width, height: height)
        for yy in y..<(y + h) { for xx in x..<(x + w) { mask.values[yy * width + xx] = 1 } }
        return mask
    }

    /// Mean squared error over the masked pixels (all channels).
    static func maskedMSE(_ a: Image, _ b: Image, _ mask: Mask) -> Double {
        var sum = 0.0, n = 0
        for i in 0..<mask.pixelCount where mask.isMasked(i) {
            for c in 0..<a.channels {
                let d = Double(a.pixels[i * a.channels + c] - b.pixels[i * b.channels + c])
                sum += d * d; n += 1
            }
        }
        return n == 0 ? 0 : sum / Double(n)
    }

    /// The image with its masked pixels set to the mean colour of the unmasked ones: the naive baseline.
    static func meanFill(_ image: Image, _ mask: Mask) throws -> Image {
        var out = image
        var mean = [Double](repeating: 0, count: image.channels)
        var n = 0.0
        for i in 0..<mask.pixelCount where !mask.isMasked(i) {
            for c in 0..<image.channels { mean[c] += Double(image.pixels[i * image.channels + c]) }
            n += 1
        }
        for i in 0..<mask.pixelCount where mask.isMasked(i) {
            for c in 0..<image.channels { out.pixels[i * image.channels + c] = Float(mean[c] / n) }
        }
        return out
    }

    /// Asserts that every unmasked sample of `result` equals `original` bit for bit.
    static func assertUnmaskedExact(_ result: Image, _ original: Image, _ mask: Mask,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.width, original.width, file: file, line: line)
        XCTAssertEqual(result.height, original.height, file: file, line: line)
        XCTAssertEqual(result.channels, original.channels, file: file, line: line)
        guard result.pixels.count == original.pixels.count else { return }
        var changed = 0
        for i in 0..<mask.pixelCount where !mask.isMasked(i) {
            for c in 0..<original.channels where result.pixels[i * original.channels + c].bitPattern
                != original.pixels[i * original.channels + c].bitPattern { changed += 1 }
        }
        XCTAssertEqual(changed, 0, "unmasked samples changed", file: file, line: line)
    }
}
