import CKernels
import Foundation

/// 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2016): each 2x2 block of output pixels comes from a 4x4 input patch with 16
/// multiplications per channel pair instead of 36, so the convolution's products shrink by 2.25x.
///
/// With B, G and A the F(2x2, 3x3) transforms (B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2;
/// 1/2 -1/2 1/2; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1]):
/// - U (16, O, C): G g G^T of every filter g, once per call;
/// - per chunk of tiles: V (16, C, T) = B^T d B of every input patch (`ck_wino_f23_input`), then sixteen products
///   M_xi (O, T) = U_xi (O, C) V_xi (C, T), then Y = A^T M A plus the bias into the output (`ck_wino_f23_output`).
///
/// Only the transforms' adds and the products differ from direct convolution, so the error stays at float32
/// rounding (the tests bound it against `Conv.referenceForward`). It runs for inference only (no graph is
/// recorded: training keeps the direct kernels, whose bits its gradients were checked with), on shapes with
/// enough tiles to keep the products efficient. Chunks are (sample, band of tile rows) pieces fixed by the shape
/// and the machine, so results do not depend on the thread count.
public enum Winograd {
    /// Whether eligible convolutions use it: on unless `ROREM_WINOGRAD=off` (tests and benchmarks assign it).
    public static var enabled: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
    private static let state = LockedValue<Bool>(!["off", "0", "no", "false"].contains(
        (getenv("ROREM_WINOGRAD").map { String(cString: $0) } ?? "").lowercased()))

    /// Convolutions `forward` has computed in this process (a diagnostic: tests check that a shape took it).
    static var convolutionsRun: Int { runs.withLock { $0 } }
    private static let runs = LockedValue(0)

    /// One line for benchmarks: `Winograd F(2x2, 3x3) (inference, >= 256 tiles)` or `direct (ROREM_WINOGRAD=off)`.
    public static var status: String {
        enabled ? "Winograd F(2x2, 3x3) (inference, >= \(minimumTiles) tiles)" : "direct (Winograd off)"
    }

    /// Fewest 2x2 output tiles per sample (a 32x32 output): below it the products are too small to gain.
    static let minimumTiles = 256
    /// Fewest input and output channels.
    static let minimumChannels = 16
    /// Tiles a chunk aims for: the products are (O x T) = (O x C)(C x T), efficient from a few hundred columns.
    static let targetTiles = 512
    /// Floats of V and M one chunk may hold (32 MB).
    static let chunkFloats = 8 << 20

    /// Whether a forward convolution with this shape runs here. Not for bf16 weights that oneDNN computes in
    /// bf16 on this CPU (AVX512-BF16 or AMX): that direct path does more work per cycle than float32 here.
    static func applies(c: Int, o: Int, kh: Int, kw: Int, geo: ConvGeometry, oh: Int, ow: Int,
                        weights: DType = .f32) -> Bool {
        if weights == .bf16 && OneDNN.nativeBF16 && ConvBackend.current == .onednn { return false }
        guard kh == 3, kw == 3, geo.strideH == 1, geo.strideW == 1, geo.dilationH == 1, geo.dilationW == 1,
              geo.groups == 1, geo.padH == geo.padW, geo.padH <= 2,
              c >= minimumChannels, o >= minimumChannels else { return false }
        return ((oh + 1) / 2) * ((ow + 1) / 2) >= minimumTiles && enabled
    }

    /// How the output's tile rows are cut: `rows` tile rows per chunk, `chunks` per sample. A function of the
    /// shape and the machine's cores, never of the thread count.
    static func plan(n: Int, c: Int, o: Int, tilesX: Int, tilesY: Int) -> (rows: Int, chunks: Int) {
        let byMemory = Swift.max(1, chunkFloats / (16 * (c + o) * tilesX))
        var rows = Swift.max(1, Swift.min(tilesY, (targetTiles + tilesX - 1) / tilesX, byMemory))
        // Enough pieces for every core, while a chunk keeps at least half the target.
        let wanted = (Parallel.machinePieces + n - 1) / n
        while (tilesY + rows - 1) / rows < wanted && rows > 1 && (rows - 1) * tilesX >= targetTiles / 2 { rows -= 1 }
        return (rows, (tilesY + rows - 1) / rows)
    }

    /// u (16, o, c) = G g G^T of each 3x3 filter g of w (o, c, 3, 3).
    static func transformWeights(_ w: UnsafePointer<Float>, o: Int, c: Int, into u: UnsafeMutablePointer<Float>) {
        let plane = o * c
        Parallel.forChunks(plane, grain: 4096) { range in
            for f in range {
                let g = w + f * 9
                // t (4, 3) = G g, one column per filter column s: g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2.
                func column(_ s: Int) -> SIMD4<Float> {
                    let g0 = g[s], g1 = g[3 + s], g2 = g[6 + s]
                    return SIMD4(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2)
                }
                let t0 = column(0), t1 = column(1), t2 = column(2)
                // u (4, 4) = t G^T: row i (a, b, c) -> a, (a + b + c) / 2, (a - b + c) / 2, c.
                for i in 0..<4 {
                    let a = t0[i], b = t1[i], cc = t2[i]
                    u[(4 * i + 0) * plane + f] = a
                    u[(4 * i + 1) * plane + f] = 0.5 * (a + b + cc)
                    u[(4 * i + 2) * plane + f] = 0.5 * (a - b + cc)
                    u[(4 * i + 3) * plane + f] = cc
                }
            }
        }
    }

    /// out (N, O, oh, ow) = conv(x (N, C, H, W), w (O, C, 3, 3), padding `pad`) + bias (O), for `applies` shapes.
    static func forward(x: UnsafePointer<Float>, n: Int, c: Int, h: Int, wd: Int, w: UnsafePointer<Float>, o: Int,
                        bias: UnsafePointer<Float>?, pad: Int, oh: Int, ow: Int, out: UnsafeMutablePointer<Float>) {
        let tilesX = (ow + 1) / 2, tilesY = (oh + 1) / 2
        let (rowsPerChunk, chunks) = plan(n: n, c: c, o: o, tilesX: tilesX, tilesY: tilesY)
        let u = ScratchPool.shared.take(16 * o * c)
        defer { ScratchPool.shared.give(u) }
        transformWeights(w, o: o, c: c, into: u.pointer)
        let up = UnsafePointer(u.pointer)
        let rowFloats = Swift.max(8 * (2 * tilesX + 2), 12 * tilesX)
        Parallel.forEach(n * chunks) { task in
            let b = task / chunks, ty0 = (task % chunks) * rowsPerChunk
            let ty1 = Swift.min(tilesY, ty0 + rowsPerChunk), t = (ty1 - ty0) * tilesX
            let scratch = ScratchPool.shared.take(16 * (c + o) * t + rowFloats)
            defer { ScratchPool.shared.give(scratch) }
            let v = scratch.pointer                                   // (16, C, T)
            let m = v + 16 * c * t                                    // (16, O, T)
            let rows = m + 16 * o * t
            let xb = x + b * c * h * wd, ob = out + b * o * oh * ow
            for ci in 0..<c {
                ck_wino_f23_input(xb + ci * h * wd, h, wd, pad, ty0, ty1, tilesX, v + ci * t, c * t, rows)
            }
            for xi in 0..<16 {
                // M_xi (O, T) = U_xi (O, C) @ V_xi (C, T)
                BLAS.sgemm(transA: false, transB: false, m: o, n: t, k: c, a: up + xi * o * c, lda: c,
                           b: v + xi * c * t, ldb: t, c: m + xi * o * t, ldc: t, split: false)
            }
            for oi in 0..<o {
                ck_wino_f23_output(m + oi * t, o * t, ty0, ty1, tilesX, bias?[oi] ?? 0, ob + oi * oh * ow, oh, ow, rows)
            }
        }
        runs.withLock { $0 += 1 }
    }
}
