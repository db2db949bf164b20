import XCTest
@testable import Tensor

/// Winograd convolution, F(2x2, 3x3) and F(4x4, 3x3) (ConvWinograd.swift), against the direct reference path, on
/// the shapes and options it takes and the ones it leaves to the direct kernels. Its PyTorch parity is in
/// KernelParityTests.
final class WinogradConvTests: XCTestCase {
    /// Small shapes run through it here (its standard thresholds are for speed, not correctness).
    static let testThresholds = Winograd.Thresholds(channels: 16, tiles: 1)
    private var savedThresholds = Winograd.thresholds

    override func setUp() {
        savedThresholds = Winograd.thresholds
        Winograd.thresholds = Self.testThresholds
    }

    override func tearDown() { Winograd.thresholds = savedThresholds }

    /// Runs `body` once with each variant in use.
    private func forEachVariant(_ body: (Winograd.Variant) throws -> Void) rethrows {
        let saved = Winograd.variant
        defer { Winograd.variant = saved }
        for variant in Winograd.Variant.allCases {
            Winograd.variant = variant
            try body(variant)
        }
    }

    private func direct(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ geo: ConvGeometry) -> [Float] {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let o = w.shape[0]
        let oh = geo.convOut(h, 3, 1, geo.padH, 1), ow = geo.convOut(wd, 3, 1, geo.padW, 1)
        var out = [Float](repeating: .nan, count: n * o * oh * ow)
        out.withUnsafeMutableBufferPointer { op in
            Conv.referenceForward(x: x.storage.pointer, n: n, c: c, h: h, wd: wd, w: w.storage.pointer, o: o, kh: 3, kw: 3,
                                  bias: b.map { UnsafePointer($0.storage.pointer) }, geo: geo, oh: oh, ow: ow,
                                  out: op.baseAddress!)
        }
        return out
    }

    /// The error bound of each variant, relative to the output's largest magnitude: F(2x2, 3x3)'s transforms
    /// are adds and subtracts, so its errors are float32 sums' (about 1e-6); F(4x4, 3x3)'s points (up to 2, with
    /// weights down to 1/24) amplify them several times. Errors are measured against the scale rather than each
    /// element because an output near zero is the difference of terms of the scale's size.
    static func bound(_ variant: Winograd.Variant) -> Float { variant == .f23 ? 2e-6 : 1e-5 }

    private func assertWithinScale(_ a: [Float], _ b: [Float], _ variant: Winograd.Variant, _ name: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, name, file: file, line: line)
        let scale = b.map(abs).max() ?? 0
        let error = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(error, Self.bound(variant) * scale, "\(name): largest error \(error), scale \(scale)",
                                 file: file, line: line)
    }

    private func winograd(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ geo: ConvGeometry) throws -> Tensor {
        let before = Winograd.convolutionsRun
        let y = try GradMode.noGrad { try Tensor.conv2d(x, weight: w, bias: b, geometry: geo) }
        XCTAssertEqual(Winograd.convolutionsRun, before + 1, "\(x.shape) -> \(w.shape) should take the Winograd path")
        return y
    }

    func testMatchesDirectConvolutionOnOddSidesPaddingsAndBatches() throws {
        var rng = RNG(seed: 11)
        // (batch, in, out, height, width, padding, bias): odd sides clip the last tiles; padding 0, 1 and 2.
        let cases: [(Int, Int, Int, Int, Int, Int, Bool)] = [
            (1, 16, 16, 32, 32, 1, true), (2, 24, 20, 35, 33, 1, false), (1, 17, 33, 40, 31, 0, true),
            (1, 32, 16, 31, 37, 2, true), (3, 16, 48, 36, 36, 1, true),
        ]
        for (n, c, o, h, wd, pad, hasBias) in cases {
            let x = Tensor.randn([n, c, h, wd], rng: &rng)
            let w = Tensor.randn([o, c, 3, 3], rng: &rng) * (1 / Float(3 * c).squareRoot())
            let b = hasBias ? Tensor.randn([o], rng: &rng) : nil
            let geo = ConvGeometry(padding: pad)
            let expected = direct(x, w, b, geo)
            try forEachVariant { variant in
                let y = try winograd(x, w, b, geo)
                XCTAssertEqual(y.count, expected.count)
                assertWithinScale(y.values, expected, variant, "\(variant): \(n)x\(c)x\(h)x\(wd) -> \(o), padding \(pad)")
            }
        }
    }

    func testRandomSmallShapesAgreeWithTheDirectPath() throws {
        // Tiny images (a patch wider than the image, one tile, a clipped last row and column), every padding.
        var rng = RNG(seed: 15)
        var generator = RNG(seed: 15)
        for trial in 0..<40 {
            let pad = Int.random(in: 0...2, using: &generator)
            let h = Int.random(in: Swift.max(1, 3 - 2 * pad)...21, using: &generator)
            let wd = Int.random(in: Swift.max(1, 3 - 2 * pad)...21, using: &generator)
            let n = Int.random(in: 1...2, using: &generator), c = Int.random(in: 16...19, using: &generator)
            let o = Int.random(in: 16...18, using: &generator)
            let x = Tensor.randn([n, c, h, wd], rng: &rng)
            let w = Tensor.randn([o, c, 3, 3], rng: &rng) * (1 / Float(3 * c).squareRoot())
            let b = trial % 2 == 0 ? Tensor.randn([o], rng: &rng) : nil
            let geo = ConvGeometry(padding: pad)
            let expected = direct(x, w, b, geo)
            try forEachVariant { variant in
                let y = try winograd(x, w, b, geo)
                assertWithinScale(y.values, expected, variant, "\(variant): \(n)x\(c)x\(h)x\(wd) -> \(o), padding \(pad)")
            }
        }
    }

    func testSameBitsOnEveryThreadCount() throws {
        var rng = RNG(seed: 12)
        let x = Tensor.randn([2, 32, 48, 40], rng: &rng), w = Tensor.randn([32, 32, 3, 3], rng: &rng) * 0.1
        let b = Tensor.randn([32], rng: &rng)
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        try forEachVariant { variant in
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                Parallel.threads = threads
                results.append(try winograd(x, w, b, ConvGeometry(padding: 1)).values)
            }
            XCTAssertEqual(results[0], results[1], "\(variant)")
            XCTAssertEqual(results[0], results[2], "\(variant)")
        }
    }

    func testHalfPrecisionWeightsGiveTheirWidenedValuesResult() throws {
        var rng = RNG(seed: 13)
        let x = Tensor.randn([1, 16, 34, 34], rng: &rng), w = Tensor.randn([24, 16, 3, 3], rng: &rng) * 0.1
        try forEachVariant { variant in
            for dtype in [DType.f16, .bf16] {
                let half = w.to(dtype)
                let y = try winograd(x, half, nil, ConvGeometry(padding: 1))
                let widened = try winograd(x, half.to(.f32), nil, ConvGeometry(padding: 1))
                XCTAssertEqual(y.values, widened.values, "\(variant): \(dtype) weights")
            }
        }
    }

    func testOtherShapesTrainingAndTheSwitchKeepTheDirectKernels() throws {
        Winograd.thresholds = .standard
        var rng = RNG(seed: 14)
        let x = Tensor.randn([1, 64, 64, 64], rng: &rng), w = Tensor.randn([64, 64, 3, 3], rng: &rng) * 0.05
        // The standard thresholds take this shape (F(4x4, 3x3): 256 tiles, 64 channels) ...
        _ = try winograd(x, w, nil, ConvGeometry(padding: 1))
        let before = Winograd.convolutionsRun
        _ = try GradMode.noGrad {
            // ... and none of these: too few tiles, a stride, a dilation, groups, too few channels, a 1x1 kernel.
            _ = try Tensor.conv2d(Tensor.randn([1, 64, 48, 48], rng: &rng), weight: w, geometry: ConvGeometry(padding: 1))
            _ = try Tensor.conv2d(x, weight: w, geometry: ConvGeometry(stride: 2, padding: 1))
            _ = try Tensor.conv2d(x, weight: w, geometry: ConvGeometry(padding: 2, dilation: 2))
            _ = try Tensor.conv2d(x, weight: Tensor.randn([64, 32, 3, 3], rng: &rng), geometry: ConvGeometry(padding: 1, groups: 2))
            _ = try Tensor.conv2d(Tensor.randn([1, 32, 64, 64], rng: &rng), weight: Tensor.randn([64, 32, 3, 3], rng: &rng),
                                  geometry: ConvGeometry(padding: 1))
            return try Tensor.conv2d(x, weight: Tensor.randn([64, 64, 1, 1], rng: &rng))
        }
        XCTAssertEqual(Winograd.convolutionsRun, before, "none of these shapes should take the Winograd path")
        XCTAssertEqual(Winograd.requested(nil), .f43)
        XCTAssertEqual(Winograd.requested("f23"), .f23)
        XCTAssertNil(Winograd.requested("off"))

        // Recording a graph (training) keeps the direct kernels, whose outputs the gradients were checked with.
        let wp = w.requiringGrad()
        let trained = try Tensor.conv2d(x, weight: wp, geometry: ConvGeometry(padding: 1))
        XCTAssertEqual(Winograd.convolutionsRun, before, "a recorded convolution should run direct")
        try trained.sum().backward()

        // Switched off, the same shape runs direct.
        let saved = Winograd.variant
        Winograd.variant = nil
        defer { Winograd.variant = saved }
        let off = try GradMode.noGrad { try Tensor.conv2d(x, weight: w, geometry: ConvGeometry(padding: 1)) }
        XCTAssertEqual(Winograd.convolutionsRun, before)
        assertClose(off.values, trained.values, atol: 0, rtol: 0, "direct inference and training forward")
    }

    func testChunksBoundMemoryAndFeedEveryCore() {
        // The SDXL VAE decoder's largest shapes at 512 px and 1024 px, and the UNet's first level at 512 px.
        for variant in Winograd.Variant.allCases {
        for (c, o, side) in [(512, 512, 128), (512, 512, 256), (256, 256, 512), (128, 128, 1024), (320, 320, 64)] {
            let tiles = (side + variant.m - 1) / variant.m, points = variant.points
            let plan = Winograd.plan(variant, n: 1, c: c, o: o, tilesX: tiles, tilesY: tiles)
            XCTAssertGreaterThanOrEqual(plan.rows * plan.chunks, tiles, "\(c) channels at \(side): every tile row")
            XCTAssertLessThan((plan.chunks - 1) * plan.rows, tiles, "\(c) channels at \(side): no empty chunk")
            XCTAssertLessThanOrEqual(points * (c + o) * plan.rows * tiles,
                                     Swift.max(Winograd.chunkFloats, points * (c + o) * tiles),
                                     "\(c) channels at \(side): a chunk holds at most the budget or one tile row")
            XCTAssertGreaterThanOrEqual(plan.chunks, Swift.min(tiles, 2), "\(c) channels at \(side): work for two cores")
        }
        }
    }
}
