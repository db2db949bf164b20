import Imaging

/// Telea's fast-marching inpainting (A. Telea, 2004), as in OpenCV's `INPAINT_TELEA`.
///
/// The hole is filled from its boundary inward in the order a unit-speed front reaches each pixel; a pixel
/// becomes the weighted mean of the already-known pixels within `radius`, weighted by closeness, by how
/// well the offset lines up with the front's normal, and by how close the neighbour's arrival time is.
/// Like OpenCV, it leaves out the first-order (gradient) term of the paper, which there moves a value by
/// at most one grey level. Smooth and fast; it blurs texture.
public struct TeleaRemover: Remover {
    /// Radius, in pixels, of the neighbourhood each filled pixel averages (at least 1).
    public let radius: Int

    /// Always `"telea"`.
    public var name: String { "telea" }
    /// Telea works at any size.
    public var workingSize: Int? { nil }

    /// A Telea remover averaging over `radius` pixels (OpenCV's `inpaintRadius`; values below 1 become 1).
    public init(radius: Int = 3) {
        self.radius = max(1, radius)
    }

    /// Fills the masked pixels of `image` by fast marching; unmasked pixels are returned unchanged.
    public func inpaint(_ image: Image, mask: Mask) throws -> Image {
        guard try RemovalInput.needsFill(image, mask: mask, remover: name) else { return image }
        var plane = Plane(image)
        TeleaFill.fill(&plane, hole: mask.values.map { $0 >= 0.5 }, radius: radius)
        return try Image(width: image.width, height: image.height, channels: image.channels, pixels: plane.data)
    }
}

/// The fast-marching fill itself, shared with PatchMatch (which starts its coarsest level from it).
enum TeleaFill {
    /// One neighbourhood offset: padded-grid and pixel-sample deltas, the vector from the sample to the
    /// centre, and the distance factor 1 / |r|^3.
    private struct Offset {
        let dx: Int, dy: Int, grid: Int, sample: Int
        let rx: Float, ry: Float, distance: Float
    }

    /// Fills `plane` where `hole` (row-major, one flag per pixel) is true. Other samples are not written.
    static func fill(_ plane: inout Plane, hole: [Bool], radius: Int) {
        let w = plane.width, h = plane.height, c = plane.channels
        var grid = FrontGrid(width: w, height: h)
        for y in 0..<h {
            for x in 0..<w where hole[y * w + x] {
                let p = grid.index(x, y)
                grid.state[p] = .inside
                grid.time[p] = FrontGrid.far
            }
        }
        grid.markOutsideDistances(limit: Float(radius) + 2)
        let seeds = grid.seedBoundary()
        var heap = FrontHeap(capacity: max(16, seeds.count * 4))
        for p in seeds { heap.push(0, p) }

        let pw = grid.pw
        var offsets: [Offset] = []
        for dy in -radius...radius {
            for dx in -radius...radius where (dx != 0 || dy != 0) && dx * dx + dy * dy <= radius * radius {
                let r2 = Float(dx * dx + dy * dy)
                offsets.append(Offset(dx: dx, dy: dy, grid: dy * pw + dx, sample: (dy * w + dx) * c,
                                      rx: Float(-dx), ry: Float(-dy), distance: 1 / (r2 * r2.squareRoot())))
            }
        }

        var state = grid.state, time = grid.time
        state.withUnsafeMutableBufferPointer { st in
            time.withUnsafeMutableBufferPointer { tm in
                plane.data.withUnsafeMutableBufferPointer { px in
                    offsets.withUnsafeBufferPointer { offs in
                        var acc = (Float(0), Float(0), Float(0), Float(0))
                        while let (_, p) = heap.pop() {
                            st[p] = .known
                            for k in 0..<4 {
                                let q = k == 0 ? p - pw : k == 1 ? p + pw : k == 2 ? p - 1 : p + 1
                                guard st[q] == .inside else { continue }
                                let tq = FrontGrid.arrival(at: q, pw: pw, st, tm)
                                tm[q] = tq
                                let x = q % pw - 1, y = q / pw - 1
                                // Gradient of T at q from the neighbours whose T is final or tentative.
                                let gx = gradient(tm, st, q, step: 1, centre: tq)
                                let gy = gradient(tm, st, q, step: pw, centre: tq)
                                let interior = x >= radius && y >= radius && x < w - radius && y < h - radius
                                acc = (0, 0, 0, 0)
                                var total: Float = 0
                                let base = (y * w + x) * c
                                for o in offs {
                                    if !interior {
                                        let sx = x + o.dx, sy = y + o.dy
                                        if sx < 0 || sy < 0 || sx >= w || sy >= h { continue }
                                    }
                                    let s = q + o.grid
                                    let ss = st[s]
                                    guard ss == .known || ss == .band else { continue }
                                    let level = 1 / (1 + abs(tm[s] - tq))
                                    var direction = o.rx * gx + o.ry * gy
                                    if abs(direction) <= 0.01 { direction = 1e-6 }
                                    let weight = abs(o.distance * level * direction)
                                    let si = base + o.sample
                                    total += weight
                                    acc.0 += weight * px[si]
                                    if c > 1 { acc.1 += weight * px[si + 1]; acc.2 += weight * px[si + 2] }
                                    if c > 3 { acc.3 += weight * px[si + 3] }
                                }
                                if total > 0 {
                                    let inv = 1 / total
                                    px[base] = acc.0 * inv
                                    if c > 1 { px[base + 1] = acc.1 * inv; px[base + 2] = acc.2 * inv }
                                    if c > 3 { px[base + 3] = acc.3 * inv }
                                }
                                st[q] = .band
                                heap.push(tq, q)
                            }
                        }
                    }
                }
            }
        }
    }

    /// One-sided or central difference of T at padded index `q` along `step`, using only neighbours that
    /// are known or on the front (0 when neither is).
    @inline(__always)
    private static func gradient(_ tm: UnsafeMutableBufferPointer<Float>, _ st: UnsafeMutableBufferPointer<FrontState>,
                                 _ q: Int, step: Int, centre: Float) -> Float {
        let after = st[q + step], before = st[q - step]
        let afterOK = after == .known || after == .band, beforeOK = before == .known || before == .band
        switch (afterOK, beforeOK) {
        case (true, true): return (tm[q + step] - tm[q - step]) * 0.5
        case (true, false): return tm[q + step] - centre
        case (false, true): return centre - tm[q - step]
        case (false, false): return 0
        }
    }
}
