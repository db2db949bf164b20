import CKernels
import Foundation

/// 3x3 stride-1 convolutions by Winograd's minimal filtering (Lavin and Gray, "Fast Algorithms for Convolutional
/// Neural Networks", 2016). F(m x m, 3x3) computes each m x m block of output pixels (a tile) from its
/// (m + 2) x (m + 2) input patch with (m + 2)^2 multiplications per channel pair instead of 9 m^2: F(2x2, 3x3) with
/// 16 instead of 36 (2.25x fewer), F(4x4, 3x3) with 36 instead of 144 (4x fewer).
///
/// With B, G and A the variant's transforms (`Variant` lists them), P = (m + 2)^2 points and T tiles per chunk:
/// - U (P, O, C): G g G^T of every filter g, once per call;
/// - per chunk of tiles: V (P, C, T) = B^T d B of every input patch (`ck_wino_f23_input` / `ck_wino_f43_input`),
///   P products M_xi (O, T) = U_xi (O, C) V_xi (C, T), then Y = A^T M A plus the bias into the output.
///
/// The error stays near float32 rounding (the tests bound it against PyTorch in float64 and against
/// `Conv.referenceForward`). It runs for inference only (no graph is recorded: training keeps the direct kernels,
/// whose bits its gradients were checked with), on shapes big enough to keep the products efficient. Chunks are
/// (sample, band of tile rows) pieces fixed by the shape and the machine, so results do not depend on the thread
/// count.
public enum Winograd {
    /// The tile size.
    public enum Variant: String, CaseIterable, Sendable {
        /// F(2x2, 3x3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
        /// A^T = [1 1 1 0; 0 1 -1 -1]; its transforms are adds and subtracts only.
        case f23
        /// F(4x4, 3x3), points 0, +-1, +-2 and infinity: B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
        /// 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1], G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
        /// 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1], A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
        case f43

        /// Output pixels per tile side.
        public var m: Int { self == .f23 ? 2 : 4 }
        /// Input patch side, m + 2.
        var alpha: Int { m + 2 }
        /// Transform points per tile, (m + 2)^2: the number of products per chunk.
        var points: Int { alpha * alpha }
        /// Tiles a chunk aims for (about 2,000-4,000 output pixels): products of (O x C)(C x T) with T in the
        /// hundreds, and V and M small enough to stay in the last-level cache for the SDXL VAE's channel counts.
        var targetTiles: Int { self == .f23 ? 512 : 192 }
        var name: String { self == .f23 ? "F(2x2, 3x3)" : "F(4x4, 3x3)" }
    }

    /// The variant eligible convolutions use, or nil for none (direct kernels): F(4x4, 3x3) unless
    /// `ROREM_WINOGRAD` says `f23` or `off` (tests and benchmarks assign it).
    public static var variant: Variant? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }

    /// The variant `ROREM_WINOGRAD` asks for: unset or unknown gives the default.
    static func requested(_ value: String?) -> Variant? {
        switch (value ?? "").lowercased() {
        case "off", "0", "no", "false", "direct": return nil
        case "f23", "2": return .f23
        default: return .f43
        }
    }
    private static let state = LockedValue<Variant?>(requested(getenv("ROREM_WINOGRAD").map { String(cString: $0) }))

    /// Convolutions `forward` has computed in this process (a diagnostic: tests check that a shape took it).
    static var convolutionsRun: Int { runs.withLock { $0 } }
    private static let runs = LockedValue(0)

    /// One line for benchmarks: `Winograd F(4x4, 3x3) (inference, >= 64 channels, >= 256 tiles)` or
    /// `direct (Winograd off)`.
    public static var status: String {
        guard let variant else { return "direct (Winograd off)" }
        let limits = thresholds
        return "Winograd \(variant.name) (inference, >= \(limits.channels) channels, >= \(limits.tiles) tiles)"
    }

    /// When a shape is worth it: at least `channels` input and output channels and `tiles` tiles per sample.
    public struct Thresholds: Equatable, Sendable {
        public var channels: Int
        public var tiles: Int
        public init(channels: Int, tiles: Int) { self.channels = channels; self.tiles = tiles }
        /// 64 channels and 256 tiles (a 64 x 64 output for F(4x4, 3x3), 32 x 32 for F(2x2, 3x3)): the reference
        /// UNet's forward at 128 x 128 ran slower with its 32-channel level (128 x 128) and its 128-channel level
        /// (32 x 32, 64 tiles) taken, where the transforms cost more than the smaller products save.
        public static let standard = Thresholds(channels: 64, tiles: 256)
    }

    /// The thresholds in use (tests lower them to run small shapes through).
    public static var thresholds: Thresholds {
        get { limits.withLock { $0 } }
        set { limits.withLock { $0 = newValue } }
    }
    private static let limits = LockedValue(Thresholds.standard)

    /// Floats of V and M one chunk may hold (32 MB).
    static let chunkFloats = 8 << 20

    /// Whether a forward convolution with this shape runs here (see `Thresholds`). Not for bf16 weights that
    /// oneDNN computes in bf16 on this CPU (AVX512-BF16 or AMX): that direct path does more work per cycle than
    /// float32 here.
    static func applies(c: Int, o: Int, kh: Int, kw: Int, geo: ConvGeometry, oh: Int, ow: Int,
                        weights: DType = .f32) -> Bool {
        if weights == .bf16 && OneDNN.nativeBF16 && ConvBackend.current == .onednn { return false }
        guard let variant, kh == 3, kw == 3, geo.strideH == 1, geo.strideW == 1, geo.dilationH == 1,
              geo.dilationW == 1, geo.groups == 1, geo.padH == geo.padW, geo.padH <= 2 else { return false }
        let limits = thresholds, m = variant.m
        return c >= limits.channels && o >= limits.channels && ((oh + m - 1) / m) * ((ow + m - 1) / m) >= limits.tiles
    }

    /// How the output's tile rows are cut: `rows` tile rows per chunk, `chunks` per sample. A function of the
    /// shape and the machine's cores, never of the thread count.
    static func plan(_ variant: Variant, n: Int, c: Int, o: Int, tilesX: Int, tilesY: Int) -> (rows: Int, chunks: Int) {
        let target = variant.targetTiles
        let byMemory = Swift.max(1, chunkFloats / (variant.points * (c + o) * tilesX))
        var rows = Swift.max(1, Swift.min(tilesY, (target + tilesX - 1) / tilesX, byMemory))
        // Enough pieces for every core, while a chunk keeps at least half the target.
        let wanted = (Parallel.machinePieces + n - 1) / n
        while (tilesY + rows - 1) / rows < wanted && rows > 1 && (rows - 1) * tilesX >= target / 2 { rows -= 1 }
        return (rows, (tilesY + rows - 1) / rows)
    }

    /// G (g0, g1, g2)^T: one filter column (or row) at the variant's interpolation points (4 or 6 values).
    @inline(__always)
    static func interpolate(_ g0: Float, _ g1: Float, _ g2: Float, _ variant: Variant) -> SIMD8<Float> {
        switch variant {
        case .f23:
            return SIMD8(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2, 0, 0, 0, 0)
        case .f43:
            return SIMD8(0.25 * g0, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6, g0 / 24 + g1 / 12 + g2 / 6,
                         g0 / 24 - g1 / 12 + g2 / 6, g2, 0, 0)
        }
    }

    /// u (P, o, c) = G g G^T of each 3x3 filter g of w (o, c, 3, 3).
    static func transformWeights(_ w: UnsafePointer<Float>, o: Int, c: Int, variant: Variant,
                                 into u: UnsafeMutablePointer<Float>) {
        let plane = o * c, alpha = variant.alpha
        Parallel.forChunks(plane, grain: 4096) { range in
            for f in range {
                let g = w + f * 9
                // t (alpha, 3) = G g, one column per filter column s.
                let t0 = interpolate(g[0], g[3], g[6], variant)
                let t1 = interpolate(g[1], g[4], g[7], variant)
                let t2 = interpolate(g[2], g[5], g[8], variant)
                // u (alpha, alpha) = t G^T: row i of u is G applied to row i of t.
                for i in 0..<alpha {
                    let row = interpolate(t0[i], t1[i], t2[i], variant)
                    for j in 0..<alpha { u[(alpha * i + j) * plane + f] = row[j] }
                }
            }
        }
    }

    /// out (N, O, oh, ow) = conv(x (N, C, H, W), w (O, C, 3, 3), padding `pad`) + bias (O), for `applies` shapes,
    /// with `variant` (default: the one in use).
    static func forward(x: UnsafePointer<Float>, n: Int, c: Int, h: Int, wd: Int, w: UnsafePointer<Float>, o: Int,
                        bias: UnsafePointer<Float>?, pad: Int, oh: Int, ow: Int, out: UnsafeMutablePointer<Float>,
                        variant chosen: Variant? = nil) {
        let variant = chosen ?? self.variant ?? .f43
        let m = variant.m, points = variant.points
        let tilesX = (ow + m - 1) / m, tilesY = (oh + m - 1) / m
        let (rowsPerChunk, chunks) = plan(variant, n: n, c: c, o: o, tilesX: tilesX, tilesY: tilesY)
        let u = ScratchPool.shared.take(points * o * c)
        defer { ScratchPool.shared.give(u) }
        transformWeights(w, o: o, c: c, variant: variant, into: u.pointer)
        let up = UnsafePointer(u.pointer)
        // Scratch rows of the transforms (see ckernels.h).
        let rowFloats = variant == .f23 ? Swift.max(8 * (2 * tilesX + 2), 12 * tilesX)
                                        : Swift.max(12 * (4 * tilesX + 2), 40 * tilesX)
        let input = variant == .f23 ? ck_wino_f23_input : ck_wino_f43_input
        let output = variant == .f23 ? ck_wino_f23_output : ck_wino_f43_output
        Parallel.forEach(n * chunks) { task in
            let b = task / chunks, ty0 = (task % chunks) * rowsPerChunk
            let ty1 = Swift.min(tilesY, ty0 + rowsPerChunk), t = (ty1 - ty0) * tilesX
            let scratch = ScratchPool.shared.take(points * (c + o) * t + rowFloats)
            defer { ScratchPool.shared.give(scratch) }
            let v = scratch.pointer                                   // (P, C, T)
            let mm = v + points * c * t                               // (P, O, T)
            let rows = mm + points * o * t
            let xb = x + b * c * h * wd, ob = out + b * o * oh * ow
            for ci in 0..<c {
                input(xb + ci * h * wd, h, wd, pad, ty0, ty1, tilesX, v + ci * t, c * t, rows)
            }
            for xi in 0..<points {
                // M_xi (O, T) = U_xi (O, C) @ V_xi (C, T)
                BLAS.sgemm(transA: false, transB: false, m: o, n: t, k: c, a: up + xi * o * c, lda: c,
                           b: v + xi * c * t, ldb: t, c: mm + xi * o * t, ldc: t, split: false)
            }
            for oi in 0..<o {
                output(mm + oi * t, o * t, ty0, ty1, tilesX, bias?[oi] ?? 0, ob + oi * oh * ow, oh, ow, rows)
            }
        }
        runs.withLock { $0 += 1 }
    }
}
