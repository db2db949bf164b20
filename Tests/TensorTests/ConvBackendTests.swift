import XCTest
@testable import Tensor

/// conv2d's two backends (`ConvBackend`: oneDNN and the native banded im2col + SGEMM) against PyTorch
/// (Fixtures/conv_grads.safetensors from Scripts/fixtures/make_conv_grad_fixtures.py: forward, input, weight
/// and bias gradients computed in float64) and against each other. oneDNN cases are skipped, with the reason,
/// where libdnnl.so.2 is not installed; the native path is always tested.
/// Tolerances: PyTorch fixtures 1e-5 absolute + 1e-4 relative per element (float32 sums of at most a few
/// hundred products); backend against backend on larger shapes 2e-5 x the largest magnitude + 1e-4 relative
/// (float32 sums of up to 5,000 products in different orders); bf16 compute (CPUs with native bf16 only)
/// 1e-2 absolute + 1.6e-2 relative, the bf16 tolerance of HalfPrecisionKernelTests.
final class ConvBackendTests: XCTestCase {
    private static let file: SafeTensorsFile? = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/conv_grads.safetensors").path
        return try? SafeTensorsFile(path: path)
    }()

    /// The fixture cases and their geometry (as in make_conv_grad_fixtures.py).
    private static let cases: [(String, ConvGeometry)] = [
        ("one_sample_wide", ConvGeometry(padding: 1)),
        ("depthwise", ConvGeometry(padding: 1, groups: 8)),
        ("pointwise", ConvGeometry()),
        ("rect_strided", ConvGeometry(stride: 2, padding: 1)),
        ("dilated_one_sample", ConvGeometry(padding: 2, dilation: 2)),
        ("grouped_batch", ConvGeometry(stride: 2, padding: 1, groups: 3)),
    ]

    /// The backends to test here: native always, oneDNN where it loads.
    private var backends: [ConvBackend] { OneDNN.isAvailable ? [.native, .onednn] : [.native] }

    private func requireOneDNN() throws {
        try XCTSkipUnless(OneDNN.isAvailable, "oneDNN is not installed here (\(OneDNN.loadError)); the native path is tested alone")
    }

    private func using<R>(_ backend: ConvBackend, threads: Int? = nil, _ body: () throws -> R) rethrows -> R {
        let saved = (ConvBackend.current, Parallel.threads)
        defer { ConvBackend.current = saved.0; Parallel.threads = saved.1 }
        ConvBackend.current = backend
        if let threads { Parallel.threads = threads }
        return try body()
    }

    /// Output and gradients of sum(conv(x, w, b) * probe) with respect to x, w and b.
    private func grads(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ geo: ConvGeometry, probe: Tensor) throws
        -> (out: [Float], x: [Float], w: [Float], b: [Float]) {
        let (xl, wl, bl) = (x.requiringGrad(), w.requiringGrad(), b?.requiringGrad())
        let y = try Tensor.conv2d(xl, weight: wl, bias: bl, geometry: geo)
        try (y * probe.reshaped(y.shape)).sum().backward()
        return (y.values, xl.grad?.values ?? [], wl.grad?.values ?? [], bl?.grad?.values ?? [])
    }

    func testBothBackendsMatchPyTorchForwardAndGradients() throws {
        let file = try XCTUnwrap(Self.file, "Fixtures/conv_grads.safetensors should load")
        for backend in backends {
            for (name, geo) in Self.cases {
                let b = try? file.tensor("\(name).b")
                let got = try using(backend) {
                    try grads(file.tensor("\(name).x"), file.tensor("\(name).w"), b, geo, probe: file.tensor("\(name).probe"))
                }
                let label = "\(name) on \(backend)"
                assertClose(got.out, try file.tensor("\(name).out").values, atol: 1e-5, rtol: 1e-4, "\(label): output")
                assertClose(got.x, try file.tensor("\(name).grad.x").values, atol: 1e-5, rtol: 1e-4, "\(label): input gradient")
                assertClose(got.w, try file.tensor("\(name).grad.w").values, atol: 1e-5, rtol: 1e-4, "\(label): weight gradient")
                if b != nil {
                    assertClose(got.b, try file.tensor("\(name).grad.b").values, atol: 1e-5, rtol: 1e-4, "\(label): bias gradient")
                }
            }
        }
    }

    /// Shapes past the fixtures' sizes: blocked layouts with channel tails, the one-sample weight-gradient
    /// blocks, batches, and the UNet's own 3x3 64-channel layer.
    private static let largerCases: [(x: [Int], w: [Int], bias: Bool, geo: ConvGeometry)] = [
        ([1, 64, 32, 32], [64, 64, 3, 3], true, ConvGeometry(padding: 1)),
        ([3, 32, 17, 19], [48, 32, 3, 3], true, ConvGeometry(stride: 2, padding: 1)),
        ([2, 16, 20, 20], [16, 1, 3, 3], false, ConvGeometry(padding: 1, groups: 16)),
        ([1, 40, 15, 15], [70, 40, 1, 1], true, ConvGeometry()),
        ([2, 12, 14, 14], [20, 12, 5, 5], false, ConvGeometry(padding: 2)),
        ([1, 9, 21, 16], [36, 3, 3, 3], true, ConvGeometry(padding: 3, dilation: 3, groups: 3)),
        // Weights outweighing the input: the forward runs in blocks of output channels (with a shorter last one).
        ([1, 64, 8, 8], [144, 64, 3, 3], true, ConvGeometry(padding: 1)),
        ([2, 32, 6, 6], [96, 32, 3, 3], false, ConvGeometry(stride: 2, padding: 1)),
    ]

    private func assertNear(_ a: [Float], _ b: [Float], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let scale = b.reduce(Float(0)) { Swift.max($0, abs($1)) }
        assertClose(a, b, atol: 2e-5 * scale, rtol: 1e-4, name, file: file, line: line)
    }

    func testOneDNNAgreesWithTheNativePathOnLargerShapes() throws {
        try requireOneDNN()
        for (i, c) in Self.largerCases.enumerated() {
            let seed = UInt64(100 + 10 * i)
            let x = rand(c.x, seed: seed), w = rand(c.w, seed: seed + 1), b = c.bias ? rand([c.w[0]], seed: seed + 2) : nil
            let oh = c.geo.convOut(c.x[2], c.w[2], c.geo.strideH, c.geo.padH, c.geo.dilationH)
            let ow = c.geo.convOut(c.x[3], c.w[3], c.geo.strideW, c.geo.padW, c.geo.dilationW)
            let probe = rand([c.x[0], c.w[0], oh, ow], seed: seed + 3)
            let native = try using(.native) { try grads(x, w, b, c.geo, probe: probe) }
            let onednn = try using(.onednn) { try grads(x, w, b, c.geo, probe: probe) }
            let label = "x \(c.x) w \(c.w) \(c.geo)"
            assertNear(onednn.out, native.out, "\(label): output")
            assertNear(onednn.x, native.x, "\(label): input gradient")
            assertNear(onednn.w, native.w, "\(label): weight gradient")
            assertNear(onednn.b, native.b, "\(label): bias gradient")
        }
    }

    func testOneDNNGivesTheSameBitsForAnyThreadCount() throws {
        try requireOneDNN()
        // Small shapes, where oneDNN's multi-threaded weight gradient would split its sums between threads, and
        // the 64-channel layer at a size where every kernel cuts its work.
        let shapes: [(x: [Int], w: [Int], geo: ConvGeometry)] = [
            ([2, 8, 9, 11], [6, 8, 3, 3], ConvGeometry(padding: 1)),
            ([3, 4, 7, 7], [6, 4, 1, 1], ConvGeometry()),
            ([1, 64, 48, 40], [64, 64, 3, 3], ConvGeometry(padding: 1)),
            ([2, 6, 12, 12], [6, 1, 3, 3], ConvGeometry(padding: 1, groups: 6)),
            ([1, 8, 10, 10], [40, 4, 3, 3], ConvGeometry(padding: 2, dilation: 2, groups: 2)),
            ([1, 64, 8, 8], [144, 64, 3, 3], ConvGeometry(padding: 1)),
        ]
        for (i, s) in shapes.enumerated() {
            let x = rand(s.x, seed: UInt64(7 + i)), w = rand(s.w, seed: UInt64(70 + i)), b = rand([s.w[0]], seed: UInt64(700 + i))
            let oh = s.geo.convOut(s.x[2], s.w[2], s.geo.strideH, s.geo.padH, s.geo.dilationH)
            let ow = s.geo.convOut(s.x[3], s.w[3], s.geo.strideW, s.geo.padW, s.geo.dilationW)
            let probe = rand([s.x[0], s.w[0], oh, ow], seed: UInt64(7000 + i))
            let serial = try using(.onednn, threads: 1) { try grads(x, w, b, s.geo, probe: probe) }
            for threads in [2, 3, 4] {
                let run = try using(.onednn, threads: threads) { try grads(x, w, b, s.geo, probe: probe) }
                let label = "x \(s.x) w \(s.w) on \(threads) threads"
                for (part, a, b) in [("output", run.out, serial.out), ("input gradient", run.x, serial.x),
                                     ("weight gradient", run.w, serial.w), ("bias gradient", run.b, serial.b)] {
                    XCTAssertEqual(a.count, b.count, "\(label): \(part) size")
                    let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "\(label): \(part) differs from 1 thread in \(differing) of \(b.count) values")
                }
            }
        }
    }

    func testOneDNNIsTheDefaultAndNamesItsKernel() throws {
        try requireOneDNN()
        if ProcessInfo.processInfo.environment["ROREM_CONV"] == nil {
            XCTAssertEqual(ConvBackend.current, .onednn, "oneDNN loads, so it is the default backend")
        }
        let impl = try using(.onednn) {
            try XCTUnwrap(OneDNNConv.forwardImplementation(input: [1, 64, 32, 32], weight: [64, 64, 3, 3], geometry: ConvGeometry(padding: 1)))
        }
        XCTAssertTrue(impl.contains("jit") || impl.contains("gemm") || impl.contains("brg"), "implementation \(impl)")
        XCTAssertFalse(OneDNN.version.isEmpty)
        XCTAssertFalse(OneDNN.isa.isEmpty)
        using(.onednn) { XCTAssertTrue(ConvBackend.status.hasPrefix("onednn \(OneDNN.version)"), ConvBackend.status) }
        using(.native) { XCTAssertTrue(ConvBackend.status.hasPrefix("native"), ConvBackend.status) }
    }

    func testBF16WeightsRunOnOneDNNWithoutAKeptFloat32Copy() throws {
        try requireOneDNN()
        // Weights whose values bf16 holds exactly, so f32 and bf16 storage describe the same convolution.
        let x = rand([1, 16, 20, 20], seed: 41), w32 = rand([24, 16, 3, 3], seed: 42).to(.bf16).to(.f32), b = rand([24], seed: 43)
        let w16 = w32.to(.bf16)
        let geo = ConvGeometry(padding: 1)
        let expected = try using(.native) { try GradMode.noGrad { try Tensor.conv2d(x, weight: w32, bias: b, geometry: geo) } }
        let y = try using(.onednn) { try GradMode.noGrad { try Tensor.conv2d(x, weight: w16, bias: b, geometry: geo) } }
        XCTAssertFalse(w16.storage.hasFloat32Shadow, "the bf16 weight is read as stored or converted per call, never kept in float32")
        XCTAssertNotNil(OneDNNConv.forwardImplementation(input: x.shape, weight: w16.shape, geometry: geo, weights: .bf16),
                        "oneDNN runs convolutions with bf16 weights (float32 compute, or bf16 where the CPU has it)")
        if OneDNN.nativeBF16 {
            // bf16 compute rounds the activations to bf16 too.
            assertClose(y.values, expected.values, atol: 1e-2, rtol: 1.6e-2, "bf16 compute vs float32")
        } else {
            assertNear(y.values, expected.values, "bf16 weights, float32 compute")
        }
    }

    func testBF16ComputeWhereTheCPUHasIt() throws {
        try requireOneDNN()
        try XCTSkipUnless(OneDNN.nativeBF16, "this CPU has neither avx512_bf16 nor amx_bf16: oneDNN computes bf16 weights in float32 here (isa \(OneDNN.isa))")
        XCTAssertEqual(OneDNNConv.computeTypes(weights: .bf16).first, .bf16)
        let impl = try XCTUnwrap(OneDNNConv.forwardImplementation(input: [1, 16, 20, 20], weight: [24, 16, 3, 3],
                                                                  geometry: ConvGeometry(padding: 1), weights: .bf16),
                                 "oneDNN should have a bf16 convolution on isa \(OneDNN.isa)")
        XCTAssertTrue(impl.contains("bf16") || impl.contains("amx"), "a bf16 kernel, not the float32 fallback: \(impl)")
    }

    func testBackendSwitchReadsTheEnvironment() {
        XCTAssertEqual(ConvBackend.requested("native").0, .native)
        XCTAssertEqual(ConvBackend.requested("ONEDNN").0, .onednn)
        XCTAssertNil(ConvBackend.requested(nil).0)
        XCTAssertNil(ConvBackend.requested("").0)
        let (bogus, note) = ConvBackend.requested("mkl")
        XCTAssertNil(bogus)
        XCTAssertTrue(note.contains("ignored"), note)
        XCTAssertTrue(OneDNN.cpuHasNativeBF16(cpuinfo: "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n"))
        XCTAssertTrue(OneDNN.cpuHasNativeBF16(cpuinfo: "flags\t\t: fpu amx_bf16\n"))
        XCTAssertFalse(OneDNN.cpuHasNativeBF16(cpuinfo: "flags\t\t: fpu avx2 fma avx512f\n"))
        XCTAssertFalse(OneDNN.cpuHasNativeBF16(cpuinfo: ""))
    }

    func testBandsCoverEveryRowWithTheImagesPadding() throws {
        // Forward: output rows in order, each band reading the input rows its outputs need.
        for (h, k, s, p, d) in [(17, 3, 1, 1, 1), (17, 3, 2, 1, 1), (12, 3, 1, 2, 2), (10, 3, 2, 0, 1), (9, 5, 1, 2, 1)] {
            let oh = ConvGeometry().convOut(h, k, s, p, d)
            for rows in [1, 3, oh] {
                let bands = try XCTUnwrap(OneDNNConv.forwardBands(h: h, oh: oh, kh: k, stride: s, pad: p, dilation: d, rowsPerBand: rows))
                XCTAssertEqual(bands.first?.out.lowerBound, 0)
                XCTAssertEqual(bands.last?.out.upperBound, oh)
                for band in bands {
                    XCTAssertTrue(band.padTop >= 0 && band.padBottom >= 0)
                    // The band as a convolution of its own yields exactly its output rows.
                    XCTAssertEqual((band.input.count + band.padTop + band.padBottom - (k - 1) * d - 1) / s + 1, band.out.count,
                                   "h \(h) k \(k) s \(s) p \(p) d \(d) rows \(rows): \(band)")
                    XCTAssertEqual(band.input.lowerBound - band.padTop, band.out.lowerBound * s - p)
                }
                XCTAssertTrue(zip(bands, bands.dropFirst()).allSatisfy { $0.out.upperBound == $1.out.lowerBound })
            }
        }
        // Input gradient (stride 1): input rows in order, each receiving from every output row that reads it.
        for (h, k, p, d) in [(17, 3, 1, 1), (12, 3, 2, 2), (9, 5, 0, 1), (10, 1, 0, 1)] {
            let oh = ConvGeometry().convOut(h, k, 1, p, d)
            let bands = try XCTUnwrap(OneDNNConv.dataBands(h: h, oh: oh, kh: k, pad: p, dilation: d, rowsPerBand: 3))
            XCTAssertEqual(bands.first?.input.lowerBound, 0)
            XCTAssertEqual(bands.last?.input.upperBound, h)
            for band in bands {
                let readers = (0..<oh).filter { oy in (0..<k).contains { band.input.contains(oy - p + $0 * d) } }
                XCTAssertEqual(readers.first, band.out.lowerBound, "\(band)")
                XCTAssertEqual(readers.last.map { $0 + 1 }, band.out.upperBound, "\(band)")
                XCTAssertEqual(band.input.count + band.padTop + band.padBottom - (k - 1) * d, band.out.count, "\(band)")
            }
        }
    }

    func testForwardCutsLargeWeightsIntoChannelBlocksAndLargeImagesIntoBands() {
        // The UNet's 1280-channel convolution at 16 x 16 (58 MB of weights, 1.3 MB of input): blocks of output
        // channels over the whole image, multiples of 16.
        let unet = OneDNNConv.forwardSplit(n: 1, c: 1280, h: 16, w: 16, o: 1280, kh: 3, kw: 3, groups: 1, oh: 16, ow: 16)
        XCTAssertEqual(unet.rowsPerBand, 16)
        XCTAssertLessThan(unet.channelBlock, 1280)
        XCTAssertEqual(unet.channelBlock % 16, 0)
        // The VAE's 128-channel convolution at 512 x 512: bands of rows, all channels.
        let vae = OneDNNConv.forwardSplit(n: 1, c: 128, h: 512, w: 512, o: 128, kh: 3, kw: 3, groups: 1, oh: 512, ow: 512)
        XCTAssertEqual(vae.channelBlock, 128)
        XCTAssertLessThan(vae.rowsPerBand, 512)
        // Grouped convolutions and narrow outputs are never cut by channel.
        XCTAssertEqual(OneDNNConv.forwardSplit(n: 1, c: 256, h: 8, w: 8, o: 256, kh: 3, kw: 3, groups: 2, oh: 8, ow: 8).channelBlock, 256)
        XCTAssertEqual(OneDNNConv.forwardSplit(n: 1, c: 32, h: 4, w: 4, o: 48, kh: 3, kw: 3, groups: 1, oh: 4, ow: 4).channelBlock, 48)
    }

    func testWeightGradientPiecesDependOnTheShapeOnly() {
        XCTAssertEqual(OneDNNConv.weightPieces(n: 4, o: 64, groups: 1).map(\.channels), [0..<64])
        XCTAssertEqual(OneDNNConv.weightPieces(n: 1, o: 16, groups: 1).map(\.channels), [0..<16])
        XCTAssertEqual(OneDNNConv.weightPieces(n: 1, o: 64, groups: 2).map(\.channels), [0..<64])
        let wide = OneDNNConv.weightPieces(n: 1, o: 320, groups: 1).map(\.channels)
        XCTAssertEqual(wide.first?.lowerBound, 0)
        XCTAssertEqual(wide.last?.upperBound, 320)
        XCTAssertTrue(zip(wide, wide.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        XCTAssertTrue(wide.dropLast().allSatisfy { $0.count % 8 == 0 && $0.count >= 16 })
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        XCTAssertEqual(OneDNNConv.weightPieces(n: 1, o: 320, groups: 1).map(\.channels), wide)
    }
}
