import Foundation
import Tensor

/// Tiled encode and decode, as diffusers' `_tiled_encode` and `tiled_decode`: tiles start every
/// `tile * (1 - overlap)` and are `tile` wide (smaller at the far edges); each is encoded (decoded) on its own; each
/// tile is blended, in place and in raster order, with the already blended tile above and the one to its left over
/// `blend = outTile * overlap` rows / columns (linear weights y / blend), then cropped to `outTile - blend` and the
/// crops are concatenated. Only one tile's activations are alive at a time.
extension AutoencoderKL {
    /// Moments (N, 2 latent, h, w) of images encoded tile by tile.
    public func tiledMoments(_ images: Tensor, _ tiling: Tiling) throws -> Tensor {
        try tiling.validate()
        let step = Int(Double(tiling.sampleMinSize) * (1 - tiling.overlapFactor))
        let blend = Int(Double(tiling.latentMinSize) * tiling.overlapFactor)
        return try GradMode.noGrad {
            try Self.tiled(images, tile: tiling.sampleMinSize, step: step, blend: blend,
                           keep: tiling.latentMinSize - blend) { try moments($0) }
        }
    }

    /// Images (N, out, h f, w f) decoded tile by tile from latents (N, latent, h, w).
    public func tiledDecode(_ latents: Tensor, _ tiling: Tiling) throws -> Tensor {
        try tiling.validate()
        let step = Int(Double(tiling.latentMinSize) * (1 - tiling.overlapFactor))
        let blend = Int(Double(tiling.sampleMinSize) * tiling.overlapFactor)
        return try GradMode.noGrad {
            try Self.tiled(latents, tile: tiling.latentMinSize, step: step, blend: blend,
                           keep: tiling.sampleMinSize - blend) { try decodeWhole($0) }
        }
    }

    /// Runs `body` on tiles of x (N, C, H, W) of side `tile` every `step`, blends the results over `blend` and
    /// keeps `keep` rows and columns of each.
    static func tiled(_ x: Tensor, tile: Int, step: Int, blend: Int, keep: Int,
                      _ body: (Tensor) throws -> Tensor) throws -> Tensor {
        let (height, width) = (x.shape[2], x.shape[3])
        var rows: [[BlendTile]] = []
        for top in stride(from: 0, to: height, by: step) {
            var row: [BlendTile] = []
            for left in stride(from: 0, to: width, by: step) {
                let part = try x.slice(axis: 2, top, min(top + tile, height)).slice(axis: 3, left, min(left + tile, width))
                var out = try BlendTile(body(part))
                if let above = rows.last?[row.count] { out.blendVertically(below: above, extent: blend) }
                if let previous = row.last { out.blendHorizontally(rightOf: previous, extent: blend) }
                row.append(out)
            }
            rows.append(row)
        }
        return try BlendTile.assemble(rows, keep: keep)
    }
}

/// One processed tile's values (N, C, h, w), blended in place with its neighbours.
struct BlendTile {
    var values: [Float]
    let n: Int, c: Int, h: Int, w: Int

    init(_ t: Tensor) throws {
        guard t.rank == 4 else { throw TensorError("AutoencoderKL tiling", "tile result \(t.shape) is not (N, C, h, w)") }
        values = t.values
        (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
    }

    /// b[y] = a[a.h - e + y] (1 - y/e) + b[y] (y/e) for the first e = min(a.h, h, extent) rows.
    mutating func blendVertically(below a: BlendTile, extent: Int) {
        let e = min(a.h, h, extent)
        guard e > 0, a.w == w, a.n == n, a.c == c else { return }
        for y in 0..<e {
            let wb = Float(Double(y) / Double(e)), wa = Float(1 - Double(y) / Double(e))
            for p in 0..<(n * c) {
                let rb = (p * h + y) * w, ra = (p * a.h + a.h - e + y) * w
                for x in 0..<w { values[rb + x] = a.values[ra + x] * wa + values[rb + x] * wb }
            }
        }
    }

    /// b[:, x] = a[:, a.w - e + x] (1 - x/e) + b[:, x] (x/e) for the first e = min(a.w, w, extent) columns.
    mutating func blendHorizontally(rightOf a: BlendTile, extent: Int) {
        let e = min(a.w, w, extent)
        guard e > 0, a.h == h, a.n == n, a.c == c else { return }
        for x in 0..<e {
            let wb = Float(Double(x) / Double(e)), wa = Float(1 - Double(x) / Double(e))
            for p in 0..<(n * c) {
                for y in 0..<h {
                    let ib = (p * h + y) * w + x, ia = (p * h + y) * a.w + a.w - e + x
                    values[ib] = a.values[ia] * wa + values[ib] * wb
                }
            }
        }
    }

    /// Concatenates each tile's top-left `keep` x `keep` crop (rows of tiles along the width, then the rows).
    static func assemble(_ rows: [[BlendTile]], keep: Int) throws -> Tensor {
        guard let first = rows.first?.first else { throw TensorError("AutoencoderKL tiling", "no tiles") }
        let rowHeights = rows.map { min($0[0].h, keep) }, colWidths = rows[0].map { min($0.w, keep) }
        let (n, c) = (first.n, first.c)
        let height = rowHeights.reduce(0, +), width = colWidths.reduce(0, +)
        var out = [Float](repeating: 0, count: n * c * height * width)
        var y0 = 0
        for (i, row) in rows.enumerated() {
            var x0 = 0
            guard row.count == colWidths.count else { throw TensorError("AutoencoderKL tiling", "ragged tile rows") }
            for (j, t) in row.enumerated() {
                let kh = rowHeights[i], kw = colWidths[j]
                guard t.h >= kh, t.w >= kw, t.n == n, t.c == c else {
                    throw TensorError("AutoencoderKL tiling", "tile (\(i), \(j)) is \(t.h) x \(t.w), smaller than its crop")
                }
                for p in 0..<(n * c) {
                    for y in 0..<kh {
                        let src = (p * t.h + y) * t.w, dst = (p * height + y0 + y) * width + x0
                        for x in 0..<kw { out[dst + x] = t.values[src + x] }
                    }
                }
                x0 += kw
            }
            y0 += rowHeights[i]
        }
        return try Tensor(out, shape: [n, c, height, width])
    }
}
