import XCTest
@testable import Tensor

/// The inference kernels (tiled convolution, flash attention, fused norms and activations) against PyTorch
/// references computed in float64 (Fixtures/kernels.safetensors, written by
/// Scripts/fixtures/make_kernel_fixtures.py), and against their readable reference paths.
/// Tolerances: convolution and attention 1e-5 absolute + 1e-4 relative per element (float32 sums of up to a
/// few hundred products); fused activations 2e-6 + 2e-5 (their exp and erfc approximations are within about
/// 1e-6 relative).
final class KernelParityTests: XCTestCase {
    private static let file: SafeTensorsFile? = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/kernels.safetensors").path
        return try? SafeTensorsFile(path: path)
    }()

    private func fixture(_ name: String) throws -> (inputs: [Tensor], out: Tensor) {
        let file = try XCTUnwrap(Self.file, "Fixtures/kernels.safetensors should load")
        var inputs: [Tensor] = []
        while let t = try? file.tensor("\(name).in\(inputs.count)") { inputs.append(t) }
        return (inputs, try file.tensor("\(name).out"))
    }

    private static let convCases: [(String, ConvGeometry)] = [
        ("conv3x3", ConvGeometry(padding: 1)),
        ("conv_strided_grouped", ConvGeometry(stride: 2, padding: 1, groups: 2)),
        ("conv_dilated", ConvGeometry(padding: 2, dilation: 2)),
        ("conv_pointwise", ConvGeometry()),
    ]

    /// Runs the tiled forward with a given band budget (tiny budgets force one row per band).
    private func tiled(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ geo: ConvGeometry, workspace: Int) -> [Float] {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = geo.convOut(h, kh, geo.strideH, geo.padH, geo.dilationH), ow = geo.convOut(wd, kw, geo.strideW, geo.padW, geo.dilationW)
        var out = [Float](repeating: .nan, count: n * o * oh * ow)
        out.withUnsafeMutableBufferPointer { op in
            Conv.tiledForward(x: x.storage.pointer, n: n, c: c, h: h, wd: wd, w: w.storage.pointer, o: o, kh: kh, kw: kw,
                              bias: b.map { UnsafePointer($0.storage.pointer) }, geo: geo, oh: oh, ow: ow,
                              out: op.baseAddress!, workspace: workspace)
        }
        return out
    }

    func testTiledConvolutionMatchesPyTorchForEveryBandSize() throws {
        for (name, geo) in Self.convCases {
            let (inputs, expected) = try fixture(name)
            let x = inputs[0], w = inputs[1], b = inputs.count > 2 ? inputs[2] : nil
            let y = try GradMode.noGrad { try Tensor.conv2d(x, weight: w, bias: b, geometry: geo) }
            XCTAssertEqual(y.shape, expected.shape, name)
            assertClose(y.values, expected.values, atol: 1e-5, rtol: 1e-4, "\(name) (conv2d)")
            for workspace in [1, 97, 1 << 12] {
                assertClose(tiled(x, w, b, geo, workspace: workspace), expected.values, atol: 1e-5, rtol: 1e-4,
                            "\(name) (bands for workspace \(workspace))")
            }
        }
    }

    func testWinogradConvolutionMatchesPyTorch() throws {
        for (name, geo) in [("conv3x3_winograd", ConvGeometry(padding: 1)), ("conv3x3_winograd_valid", ConvGeometry())] {
            let (inputs, expected) = try fixture(name)
            let x = inputs[0], w = inputs[1], b = inputs.count > 2 ? inputs[2] : nil
            let saved = (Winograd.variant, Winograd.thresholds)
            defer { (Winograd.variant, Winograd.thresholds) = saved }
            Winograd.thresholds = WinogradConvTests.testThresholds
            for variant in Winograd.Variant.allCases {
                Winograd.variant = variant
                let before = Winograd.convolutionsRun
                let y = try GradMode.noGrad { try Tensor.conv2d(x, weight: w, bias: b, geometry: geo) }
                XCTAssertEqual(Winograd.convolutionsRun, before + 1, "\(name) should take the Winograd path")
                XCTAssertEqual(y.shape, expected.shape, name)
                // Errors against the output's scale (WinogradConvTests.bound states why and how large).
                let scale = expected.values.map(abs).max() ?? 0
                let error = zip(y.values, expected.values).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(error, WinogradConvTests.bound(variant) * scale,
                                         "\(name) (Winograd \(variant.name)): largest error \(error), scale \(scale)")
            }
        }
    }

    /// The register-tile kernel (CKernels/attention.c) against the portable SGEMM path at the UNet's head width, in
    /// the projections' heads layout, with log-sum-exp, value widths of 64 and 40 (a half panel) and sequence lengths
    /// that leave partial tiles.
    func testRegisterTileAttentionAgreesWithThePortablePath() throws {
        var rng = RNG(seed: 21)
        var generator = RNG(seed: 22)
        var shapes = [(4, 150, 200, 64, 64), (2, 77, 131, 64, 40), (1, 300, 77, 32, 8)]
        for _ in 0..<20 {       // small and odd: one query, one key, widths 1-20, every value width up to 40
            shapes.append((Int.random(in: 1...3, using: &generator), Int.random(in: 1...40, using: &generator),
                           Int.random(in: 1...40, using: &generator), Int.random(in: 1...20, using: &generator),
                           8 * Int.random(in: 1...5, using: &generator)))
        }
        for (heads, lq, lk, d, dv) in shapes {
            let q = Tensor.randn([2, lq, heads * d], rng: &rng), k = Tensor.randn([2, lk, heads * d], rng: &rng)
            let v = Tensor.randn([2, lk, heads * dv], rng: &rng)
            var results: [([Float], [Float])] = []
            for tiles in [true, false] {
                var out = [Float](repeating: .nan, count: 2 * lq * heads * dv)
                var lse = [Float](repeating: .nan, count: 2 * heads * lq)
                out.withUnsafeMutableBufferPointer { op in lse.withUnsafeMutableBufferPointer { lp in
                    Attention.flash(q: q.storage.pointer, k: k.storage.pointer, v: v.storage.pointer, out: op.baseAddress!,
                                    logsumexp: lp.baseAddress!, batch: 2 * heads, heads: heads, lq: lq, lk: lk, d: d,
                                    dv: dv, scale: 1 / Float(d).squareRoot(), tiles: tiles)
                } }
                results.append((out, lse))
            }
            let shape = "\(heads) heads, \(lq) x \(lk), d \(d), dv \(dv)"
            assertClose(results[0].0, results[1].0, atol: 1e-5, rtol: 1e-4, "\(shape): output")
            assertClose(results[0].1, results[1].1, atol: 1e-5, rtol: 1e-5, "\(shape): log-sum-exp")
        }
    }

    func testReferenceConvolutionMatchesPyTorch() throws {
        for (name, geo) in Self.convCases {
            let (inputs, expected) = try fixture(name)
            let x = inputs[0], w = inputs[1], b = inputs.count > 2 ? inputs[2] : nil
            let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            var out = [Float](repeating: .nan, count: expected.count)
            out.withUnsafeMutableBufferPointer { op in
                Conv.referenceForward(x: x.storage.pointer, n: n, c: c, h: h, wd: wd, w: w.storage.pointer, o: w.shape[0],
                                      kh: w.shape[2], kw: w.shape[3], bias: b.map { UnsafePointer($0.storage.pointer) },
                                      geo: geo, oh: expected.shape[2], ow: expected.shape[3], out: op.baseAddress!)
            }
            assertClose(out, expected.values, atol: 1e-5, rtol: 1e-4, "\(name) (reference path)")
        }
    }

    func testBandPlanBoundsWorkspaceAndFeedsEveryCore() {
        // The SDXL VAE decoder's widest 3x3 convolutions: 512 channels at 512 px and 256 at 1024 px. A whole
        // image im2col would take 512*9*512*512*4 bytes = 4.8 GB and 256*9*1024*1024*4 = 9.7 GB.
        for (c, size) in [(512, 512), (256, 1024), (128, 1024)] {
            let colRows = c * 9
            let plan = ConvTilePlan.make(batch: 1, oh: size, ow: size, colRows: colRows)
            let bandFloats = colRows * plan.rowsPerBand * size
            XCTAssertLessThanOrEqual(bandFloats, Swift.max(ConvTilePlan.workspaceTarget, colRows * size),
                                     "\(c) channels at \(size) px: one band holds at most the budget or one row")
            XCTAssertEqual(plan.bands * plan.rowsPerBand >= size, true)
            XCTAssertLessThan(Double(bandFloats) * 4 * Double(Parallel.targetTasks), 1.2e9,
                              "\(c) channels at \(size) px: even \(Parallel.targetTasks) bands at once stay near a GB")
        }
        // A batch of 2 at 64x64 still makes enough tasks for every core of a 16-core machine.
        let plan = ConvTilePlan.make(batch: 2, oh: 64, ow: 64, colRows: 320 * 9)
        XCTAssertTrue(plan.parallelTasks)
        XCTAssertGreaterThanOrEqual(2 * plan.bands, Parallel.targetTasks)
        // One tiny image: too little to cut, so its products are split instead.
        XCTAssertFalse(ConvTilePlan.make(batch: 1, oh: 8, ow: 8, colRows: 1280 * 9).parallelTasks)
    }

    func testFlashAttentionMatchesPyTorchForEveryBlockSize() throws {
        for name in ["attention", "attention_sharp", "attention_cross", "attention_tiles"] {
            let (inputs, expected) = try fixture(name)
            let (q, k, v) = (inputs[0], inputs[1], inputs[2])
            let y = try GradMode.noGrad { try Tensor.scaledDotProductAttention(query: q, key: k, value: v) }
            XCTAssertEqual(y.shape, expected.shape, name)
            assertClose(y.values, expected.values, atol: 1e-5, rtol: 1e-4, "\(name) (default blocks)")
            let r = q.rank
            let batch = q.shape.dropLast(2).reduce(1, *)
            let (lq, lk, d, dv) = (q.shape[r - 2], k.shape[r - 2], q.shape[r - 1], v.shape[r - 1])
            for (qb, kb) in [(1, 1), (7, 16), (16, 33), (64, 512)] {
                for tiles in [true, false] {
                    var out = [Float](repeating: .nan, count: expected.count)
                    out.withUnsafeMutableBufferPointer { op in
                        Attention.flash(q: q.storage.pointer, k: k.storage.pointer, v: v.storage.pointer, out: op.baseAddress!,
                                        batch: batch, lq: lq, lk: lk, d: d, dv: dv, scale: 1 / Float(d).squareRoot(),
                                        queryBlock: qb, keyBlock: kb, tiles: tiles)
                    }
                    assertClose(out, expected.values, atol: 1e-5, rtol: 1e-4,
                                "\(name) (blocks \(qb) x \(kb), register tiles \(tiles))")
                }
            }
            // The recorded (training) path, the fused primitive, and the composite reference agree too.
            let recorded = try Tensor.scaledDotProductAttention(query: q.requiringGrad(), key: k, value: v)
            assertClose(recorded.values, expected.values, atol: 1e-5, rtol: 1e-4, "\(name) (recorded)")
            let composite = try Tensor.attentionComposite(query: q, key: k, value: v, scale: 1 / Float(d).squareRoot())
            assertClose(composite.values, expected.values, atol: 1e-5, rtol: 1e-4, "\(name) (composite)")
        }
    }

    func testMultiHeadAttentionReadsTheHeadsInPlace() throws {
        // (N, L, heads x D) in place against splitting the heads, the PyTorch-checked kernel and merging them back:
        // several query and key blocks, cross-attention with Dv != D, one head, and the recorded (training) path.
        for (i, c) in [(n: 2, lq: 300, lk: 600, heads: 3, d: 8, dv: 8), (n: 1, lq: 37, lk: 77, heads: 4, d: 16, dv: 8),
                       (n: 1, lq: 5, lk: 5, heads: 1, d: 4, dv: 4)].enumerated() {
            let seed = UInt64(40 + 5 * i)
            let q = rand([c.n, c.lq, c.heads * c.d], seed: seed), k = rand([c.n, c.lk, c.heads * c.d], seed: seed + 1)
            let v = rand([c.n, c.lk, c.heads * c.dv], seed: seed + 2)
            func split(_ t: Tensor, _ w: Int) throws -> Tensor { try t.reshaped([c.n, t.shape[1], c.heads, w]).permuted([0, 2, 1, 3]) }
            let expected = try GradMode.noGrad {
                try Tensor.scaledDotProductAttention(query: split(q, c.d), key: split(k, c.d), value: split(v, c.dv))
                    .permuted([0, 2, 1, 3]).reshaped([c.n, c.lq, c.heads * c.dv])
            }
            let got = try GradMode.noGrad { try Tensor.multiHeadAttention(query: q, key: k, value: v, heads: c.heads) }
            XCTAssertEqual(got.shape, [c.n, c.lq, c.heads * c.dv])
            assertClose(got.values, expected.values, atol: 1e-6, rtol: 1e-5, "case \(i)")
            let recorded = try Tensor.multiHeadAttention(query: q.requiringGrad(), key: k, value: v, heads: c.heads)
            assertClose(recorded.values, expected.values, atol: 1e-6, rtol: 1e-5, "case \(i) recorded")
        }
        XCTAssertThrowsError(try Tensor.multiHeadAttention(query: rand([1, 4, 6]), key: rand([1, 4, 6]), value: rand([1, 4, 6]), heads: 4))
    }

    func testFusedNormsAndActivationsMatchPyTorch() throws {
        let (gs, gsOut) = try fixture("group_norm_silu")
        let (gg, ggOut) = try fixture("group_norm_gelu")
        let (ln, lnOut) = try fixture("layer_norm")
        try GradMode.noGrad {
            let a = try Tensor.groupNorm(gs[0], groups: 3, weight: gs[1], bias: gs[2], activation: .silu)
            assertClose(a.values, gsOut.values, atol: 2e-6, rtol: 2e-5, "group_norm_silu (fused)")
            let b = try Tensor.groupNorm(gg[0], groups: 4, weight: gg[1], bias: gg[2], eps: 1e-6, activation: .gelu)
            assertClose(b.values, ggOut.values, atol: 2e-6, rtol: 2e-5, "group_norm_gelu (fused)")
            let c = try Tensor.layerNorm(ln[0], weight: ln[1], bias: ln[2])
            assertClose(c.values, lnOut.values, atol: 2e-6, rtol: 2e-5, "layer_norm (fused)")
        }
        // The recorded paths (primitives) agree with the same references.
        let a = try Tensor.groupNorm(gs[0].requiringGrad(), groups: 3, weight: gs[1], bias: gs[2], activation: .silu)
        XCTAssertFalse(a.isLeaf || !a.requiresGrad, "the recorded path records a graph")
        assertClose(a.values, gsOut.values, atol: 2e-6, rtol: 2e-5, "group_norm_silu (recorded)")
        let c = try Tensor.layerNorm(ln[0].requiringGrad(), weight: ln[1], bias: ln[2])
        assertClose(c.values, lnOut.values, atol: 2e-6, rtol: 2e-5, "layer_norm (recorded)")

        for (name, act) in [("silu", Activation.silu), ("gelu", .gelu), ("gelu_tanh", .geluTanh)] {
            let (x, expected) = try fixture(name)
            let fused = try GradMode.noGrad { try x[0].copy().activated(act) }
            assertClose(fused.values, expected.values, atol: 2e-6, rtol: 2e-5, "\(name) (fused)")
            let recorded = try x[0].requiringGrad().activated(act)
            XCTAssertTrue(recorded.requiresGrad, "\(name): the recorded path records a graph")
            assertClose(recorded.values, expected.values, atol: 2e-6, rtol: 2e-5, "\(name) (recorded)")
        }
    }

    func testGELUAndTheGEGLUGateMatchPyTorch() throws {
        let (x, expected) = try fixture("gelu")
        // The unary primitive (inference and recorded: the same vector kernel).
        assertClose(try GradMode.noGrad { x[0].gelu() }.values, expected.values, atol: 2e-6, rtol: 2e-5, "gelu (unary)")
        let recorded = x[0].requiringGrad().gelu()
        XCTAssertTrue(recorded.requiresGrad)
        assertClose(recorded.values, expected.values, atol: 2e-6, rtol: 2e-5, "gelu (unary, recorded)")
        // GEGLU: x (..., 2D) -> value * gelu(gate), the gate taken from the fixture's input rows.
        let d = x[0].shape[x[0].rank - 1], rows = x[0].count / d
        let gate = try x[0].reshaped([rows, d]), value = rand([rows, d], seed: 21)
        let joined = try Tensor.concat([value, gate], axis: 1)                              // (rows, 2D)
        let reference = zip(value.values, expected.values).map { $0 * $1 }
        let fused = try GradMode.noGrad { try joined.gatedGELU() }
        XCTAssertEqual(fused.shape, [rows, d])
        assertClose(fused.values, reference, atol: 2e-6, rtol: 2e-5, "gatedGELU (fused)")
        let leaf = joined.requiringGrad()
        let composite = try leaf.gatedGELU()
        assertClose(composite.values, reference, atol: 2e-6, rtol: 2e-5, "gatedGELU (recorded)")
        try composite.sum().backward()
        let grad = try XCTUnwrap(leaf.grad)
        // d/dvalue = gelu(gate): the first half of each row of the gradient.
        let firstHalf = (0..<rows).flatMap { r in grad.values[(r * 2 * d)..<(r * 2 * d + d)] }
        assertClose(Array(firstHalf), expected.values, atol: 2e-6, rtol: 2e-5, "gatedGELU gradient")
        XCTAssertThrowsError(try Tensor(zeros: [2, 3]).gatedGELU(), "an odd last axis is refused")
    }

    func testPlusWritesIntoAHandedOverBufferAndRecordsWhenTraining() throws {
        let a = rand([3, 5, 7], seed: 30), b = rand([3, 5, 7], seed: 31)
        let sum = zip(a.values, b.values).map { $0 + $1 }
        try GradMode.noGrad {
            let shared = try a.plus(b)                       // a is still held: a new buffer, a unchanged
            XCTAssertFalse(shared.storage === a.storage)
            XCTAssertEqual(shared.values, sum)
            let owned = a.copy()
            let buffer = owned.storage.pointer
            let inPlace = try (consume owned).plus(b)
            XCTAssertEqual(inPlace.storage.pointer, buffer)
            XCTAssertEqual(inPlace.values, sum)
            let broadcast = try a.plus(Tensor(repeating: 1, shape: [7]))   // other shapes: the primitive
            XCTAssertEqual(broadcast.values, a.values.map { $0 + 1 })
        }
        let leaf = a.copy().requiringGrad()
        let recorded = try leaf.plus(b)
        XCTAssertTrue(recorded.requiresGrad)
        XCTAssertFalse(recorded.storage === leaf.storage)
        try recorded.sum().backward()
        XCTAssertEqual(try XCTUnwrap(leaf.grad).values, [Float](repeating: 1, count: a.count))
    }

    func testInferenceKernelsWriteInPlaceOnlyIntoUnsharedBuffers() throws {
        let x = rand([2, 8, 6, 6], seed: 5), w = Tensor(repeating: 1.5, shape: [8]), b = Tensor(repeating: 0.25, shape: [8])
        let before = x.values
        try GradMode.noGrad {
            // Shared: x keeps its values and the result has its own buffer.
            let shared = try Tensor.groupNorm(x, groups: 2, weight: w, bias: b, activation: .silu)
            XCTAssertFalse(shared.storage === x.storage)
            XCTAssertEqual(x.values, before)
            // Handed over: the result reuses the buffer and equals the out-of-place result.
            let owned = x.copy()
            let buffer = owned.storage.pointer   // the address only: holding the storage would share it
            let inPlace = try Tensor.groupNorm(consume owned, groups: 2, weight: w, bias: b, activation: .silu)
            XCTAssertEqual(inPlace.storage.pointer, buffer)
            XCTAssertEqual(inPlace.values, shared.values)
            let row = x.copy()
            let rowBuffer = row.storage.pointer
            let normed = try Tensor.layerNorm(consume row, weight: nil, bias: nil)
            XCTAssertEqual(normed.storage.pointer, rowBuffer)
            let activated = try normed.activated(.gelu)   // normed is still held here: a new buffer
            XCTAssertFalse(activated.storage === normed.storage)
        }
        // Recording a graph never writes in place.
        var leafCopy = x.copy()
        leafCopy.requiresGrad = true
        let recorded = try Tensor.groupNorm(leafCopy, groups: 2, weight: w, bias: b)
        XCTAssertFalse(recorded.storage === leafCopy.storage)
        XCTAssertEqual(leafCopy.values, before)
    }

    func testKernelsGiveTheSameBitsForAnyThreadCount() throws {
        let x = rand([2, 24, 33, 29], seed: 7), w = rand([16, 24, 3, 3], seed: 8), bias = rand([16], seed: 9)
        let q = rand([2, 3, 150, 16], seed: 10), k = rand([2, 3, 700, 16], seed: 11), v = rand([2, 3, 700, 8], seed: 12)
        func run() throws -> [Float] {
            try GradMode.noGrad {
                let y = try Tensor.conv2d(x, weight: w, bias: bias, geometry: ConvGeometry(padding: 1))
                let g = try Tensor.groupNorm(y, groups: 4, weight: Tensor(repeating: 1, shape: [16]), bias: bias, activation: .silu)
                let a = try Tensor.scaledDotProductAttention(query: q, key: k, value: v)
                let m = try Tensor.matmul(rand([300, 200], seed: 13), rand([200, 170], seed: 14))
                let gated = try rand([40, 1030], seed: 15).gatedGELU()
                let gelu = rand([70_001], seed: 16).gelu()
                return g.values + a.values + m.values + gated.values + gelu.values
            }
        }
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        let serial = try run()
        for p in [2, 3, 8] {
            Parallel.threads = p
            let differing = zip(try run(), serial).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(p) threads differ from serial in \(differing) values")
        }
    }

    func testSoftmaxLoopsAgreeBetweenTheCKernelsAndTheSwiftLoops() throws {
        try XCTSkipUnless(Attention.vectorKernels, "this CPU has no AVX2 + FMA: only the Swift loops run")
        for n in [1, 7, 8, 13, 512, 517] {
            let values = rand([n], seed: UInt64(n), low: -30, high: 5).values
            var a = values, b = values
            let (ma, mb) = a.withUnsafeMutableBufferPointer { pa in b.withUnsafeMutableBufferPointer { pb in
                (Attention.maximum(pa.baseAddress!, n, vector: true), Attention.maximum(pb.baseAddress!, n, vector: false))
            } }
            XCTAssertEqual(ma, mb, "max of \(n)")
            let (sa, sb) = a.withUnsafeMutableBufferPointer { pa in b.withUnsafeMutableBufferPointer { pb in
                (Attention.exponentiate(pa.baseAddress!, n, subtracting: ma, vector: true),
                 Attention.exponentiate(pb.baseAddress!, n, subtracting: mb, vector: false))
            } }
            XCTAssertEqual(sa, sb, accuracy: 1e-5 * sb, "sum of \(n)")
            assertClose(a, b, atol: 1e-12, rtol: 1e-6, "exp of \(n)")
            assertClose(a, values.map { Float(Foundation.exp(Double($0 - ma))) }, atol: 1e-12, rtol: 1e-6, "exp of \(n) vs double")
        }
    }
}
