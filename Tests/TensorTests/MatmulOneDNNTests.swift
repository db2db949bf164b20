import XCTest
@testable import Tensor

/// Matrix products through oneDNN (`OneDNNMatmul`) against OpenBLAS (`BLAS.sgemm`), on the plumbing that runs
/// bf16 weights on CPUs with native bf16: the pieces along N and M, B as stored or transposed, batches, the
/// per-call rounding of A, gradients, and the fallback when oneDNN has no kernel.
/// On this project's AVX2 machines oneDNN has no bf16 matmul, so these tests force `ROREM_MATMUL=onednn`'s
/// policy and run the same code in float32; where the CPU has AVX512-BF16 or AMX they run it in bf16.
/// Tolerances: float32 against float32, 2e-5 x the largest magnitude + 1e-4 relative (sums of up to 1,000
/// products in different orders); bf16 compute against float32 math on the bf16-rounded operands, the same
/// (the products of bf16 values are exact in float32, so only the order of the sums differs).
final class MatmulOneDNNTests: XCTestCase {
    private func requireOneDNN() throws {
        try XCTSkipUnless(OneDNN.isAvailable, "oneDNN is not installed here (\(OneDNN.loadError)); products run on OpenBLAS")
    }

    private func using<R>(_ policy: OneDNNMatmul.Policy, threads: Int? = nil, _ body: () throws -> R) rethrows -> R {
        let saved = (OneDNNMatmul.policy, Parallel.threads)
        defer { OneDNNMatmul.policy = saved.0; Parallel.threads = saved.1 }
        OneDNNMatmul.policy = policy
        if let threads { Parallel.threads = threads }
        return try body()
    }

    private func assertNear(_ a: [Float], _ b: [Float], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let scale = b.reduce(Float(0)) { Swift.max($0, abs($1)) }
        assertClose(a, b, atol: 2e-5 * scale, rtol: 1e-4, name, file: file, line: line)
    }

    /// (A shape, B shape, transposeB): one call, blocks of columns (with a shorter last one), blocks of rows,
    /// B as stored, batches, and the UNet's 77-token cross-attention projection.
    private static let cases: [(a: [Int], b: [Int], transposeB: Bool)] = [
        ([5, 7], [3, 7], true),
        ([64, 96], [96, 40], false),
        ([256, 320], [320, 320], true),
        ([300, 128], [200, 128], true),
        ([1024, 64], [48, 64], true),
        ([1024, 64], [64, 48], false),
        ([2, 128, 96], [2, 96, 160], false),
        ([3, 40, 64], [3, 72, 64], true),
        ([77, 2048], [640, 2048], true),
    ]

    func testOneDNNAgreesWithOpenBLAS() throws {
        try requireOneDNN()
        for (i, c) in Self.cases.enumerated() {
            let a = rand(c.a, seed: UInt64(10 + i)), b = rand(c.b, seed: UInt64(50 + i))
            let expected = try using(.native) { try Tensor.matmul(a, b, transposeB: c.transposeB) }
            let label = "A \(c.a) x B \(c.b)\(c.transposeB ? "^T" : "")"
            // Straight through OneDNNMatmul.run, which says whether oneDNN computed it (Tensor.matmul would fall back).
            let r = c.a.count, m = c.a[r - 2], k = c.a[r - 1], n = c.transposeB ? c.b[r - 2] : c.b[r - 1]
            let batch = c.a.dropLast(2).reduce(1, *)
            var got = [Float](repeating: .nan, count: batch * m * n)
            let ran = got.withUnsafeMutableBufferPointer {
                OneDNNMatmul.run(a: a, b: b, transposeB: c.transposeB, batch: batch, m: m, n: n, k: k, compute: .f32, into: $0.baseAddress!)
            }
            XCTAssertTrue(ran, "\(label): oneDNN runs it")
            assertNear(got, expected.values, label)
            // And Tensor.matmul under ROREM_MATMUL=onednn takes this path.
            let before = OneDNNMatmul.productsRun
            let viaMatmul = try using(.onednn) { try Tensor.matmul(a, b, transposeB: c.transposeB) }
            XCTAssertEqual(OneDNNMatmul.productsRun, before + 1, "\(label): Tensor.matmul went to oneDNN")
            XCTAssertEqual(viaMatmul.shape, expected.shape)
            XCTAssertEqual(viaMatmul.values.map(\.bitPattern), got.map(\.bitPattern), "\(label): the same call")
        }
    }

    func testBF16WeightsOnOneDNN() throws {
        try requireOneDNN()
        for (i, c) in Self.cases.enumerated() {
            let a = rand(c.a, seed: UInt64(100 + i)), b16 = rand(c.b, seed: UInt64(150 + i)).to(.bf16)
            let compute = try XCTUnwrap(using(.onednn) { OneDNNMatmul.computeType(a: .f32, b: .bf16) })
            XCTAssertEqual(compute, OneDNN.nativeBF16 ? .bf16 : .f32)
            // bf16 compute rounds A to bf16; float32 compute reads it as it is.
            let aRead = compute == .bf16 ? a.to(.bf16).to(.f32) : a
            let expected = try using(.native) { try Tensor.matmul(aRead, b16.to(.f32), transposeB: c.transposeB) }
            let before = OneDNNMatmul.productsRun
            let got = try using(.onednn) { try Tensor.matmul(a, b16, transposeB: c.transposeB) }
            XCTAssertEqual(OneDNNMatmul.productsRun, before + 1, "A \(c.a) x bf16 B \(c.b): computed by oneDNN")
            assertNear(got.values, expected.values, "A \(c.a) x bf16 B \(c.b)\(c.transposeB ? "^T" : "") in \(compute)")
            XCTAssertFalse(b16.storage.hasFloat32Shadow, "the bf16 weight is read as stored or converted per call, never kept")
            XCTAssertEqual(b16.dtype, .bf16)
        }
    }

    func testTheDefaultSendsBF16WeightsToOneDNNOnlyWhereTheCPUComputesBF16() throws {
        try requireOneDNN()
        using(.auto) {
            XCTAssertNil(OneDNNMatmul.computeType(a: .f32, b: .f32), "float32 products stay on OpenBLAS")
            XCTAssertNil(OneDNNMatmul.computeType(a: .f32, b: .f16), "f16 weights are converted to float32")
            XCTAssertEqual(OneDNNMatmul.computeType(a: .f32, b: .bf16), OneDNN.nativeBF16 ? .bf16 : nil)
            XCTAssertTrue(OneDNNMatmul.status.contains(OneDNN.nativeBF16 ? "onednn" : "no native bf16"), OneDNNMatmul.status)
        }
        using(.native) {
            XCTAssertNil(OneDNNMatmul.computeType(a: .f32, b: .bf16))
            XCTAssertTrue(OneDNNMatmul.status.contains("ROREM_MATMUL=native"), OneDNNMatmul.status)
        }
        using(.onednn) { XCTAssertTrue(OneDNNMatmul.status.hasPrefix("onednn "), OneDNNMatmul.status) }
    }

    func testBF16ComputeWhereTheCPUHasIt() throws {
        try requireOneDNN()
        let key = OneDNNMatmul.Key(m: 64, n: 64, k: 64, lda: 64, ldb: 64, ldc: 64, bTransposed: true, compute: .bf16)
        guard OneDNN.nativeBF16 else {
            // No bf16 matmul here: the handle is refused, and `run` says so instead of writing anything.
            XCTAssertNil(OneDNNMatmul.handle(key), "oneDNN 2.x has no bf16 matmul without AVX512-BF16 (isa \(OneDNN.isa))")
            let a = rand([64, 64], seed: 3), b = rand([64, 64], seed: 4).to(.bf16)
            var c = [Float](repeating: 7, count: 64 * 64)
            let ran = c.withUnsafeMutableBufferPointer {
                OneDNNMatmul.run(a: a, b: b, transposeB: true, batch: 1, m: 64, n: 64, k: 64, compute: .bf16, into: $0.baseAddress!)
            }
            XCTAssertFalse(ran)
            XCTAssertTrue(c.allSatisfy { $0 == 7 }, "a refused product leaves the output to the fallback")
            throw XCTSkip("this CPU has neither avx512_bf16 nor amx_bf16 (isa \(OneDNN.isa)): bf16 weights are converted to float32 here")
        }
        let impl = try XCTUnwrap(OneDNNMatmul.handle(key)?.implementation, "oneDNN should have a bf16 matmul on isa \(OneDNN.isa)")
        XCTAssertFalse(impl.isEmpty)
    }

    func testTheSameBitsForAnyThreadCount() throws {
        try requireOneDNN()
        for (i, c) in Self.cases.enumerated() {
            let a = rand(c.a, seed: UInt64(200 + i)), b = rand(c.b, seed: UInt64(250 + i)).to(.bf16)
            let serial = try using(.onednn, threads: 1) { try Tensor.matmul(a, b, transposeB: c.transposeB).values }
            for threads in [2, 3] {
                let run = try using(.onednn, threads: threads) { try Tensor.matmul(a, b, transposeB: c.transposeB).values }
                let differing = zip(run, serial).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "A \(c.a) x B \(c.b) on \(threads) threads: \(differing) values differ from 1 thread")
            }
        }
    }

    func testGradientsFlowThroughAFrozenBF16Weight() throws {
        try requireOneDNN()
        // A Linear layer with a frozen bf16 weight (how a LoRA trains on a half-precision backbone): the input's
        // gradient is another product with the bf16 weight, B as stored this time, whose A is the output gradient.
        let x = rand([96, 160], seed: 31), w = rand([144, 160], seed: 32).to(.bf16), probe = rand([96, 144], seed: 33)
        let xl = x.requiringGrad()
        let y = try using(.onednn) { () -> Tensor in
            let y = try Tensor.linear(xl, weight: w)
            try (y * probe).sum().backward()   // the output gradient is `probe`
            return y
        }
        let gx = try XCTUnwrap(xl.grad)
        // The same products on OpenBLAS, with A rounded to bf16 first where oneDNN computes in bf16.
        let bf16 = try XCTUnwrap(using(.onednn) { OneDNNMatmul.computeType(a: .f32, b: .bf16) }) == .bf16
        let (xr, pr) = bf16 ? (x.to(.bf16).to(.f32), probe.to(.bf16).to(.f32)) : (x, probe)
        let (yRef, gRef) = try using(.native) {
            (try Tensor.linear(xr, weight: w.to(.f32)), try Tensor.matmul(pr, w.to(.f32)))
        }
        assertNear(y.values, yRef.values, "output")
        assertNear(gx.values, gRef.values, "input gradient")
    }

    func testPiecesDependOnTheShapeOnlyAndCoverIt() {
        for (m, n, k) in [(4096, 640, 640), (4096, 5120, 1280), (77, 1280, 2048), (1024, 48, 64), (256, 10240, 1280),
                          (5, 7, 3), (2, 64, 4096), (300, 200, 128)] {
            let plan = OneDNNMatmul.pieces(m: m, n: n, k: k)
            let extent = plan.alongN ? n : m
            XCTAssertGreaterThanOrEqual(plan.block * plan.count, extent, "\(m)x\(n)x\(k): blocks cover the extent")
            XCTAssertLessThan(plan.block * (plan.count - 1), extent, "\(m)x\(n)x\(k): no empty block")
            XCTAssertLessThanOrEqual(plan.count, Swift.max(1, Parallel.machinePieces))
            if plan.count > 1 { XCTAssertEqual(plan.block % (plan.alongN ? 64 : 32), 0, "\(m)x\(n)x\(k): block \(plan.block)") }
            if n >= 128 { XCTAssertTrue(plan.alongN, "\(m)x\(n)x\(k): wide products split their weights") }
        }
        XCTAssertEqual(OneDNNMatmul.pieces(m: 5, n: 7, k: 3).count, 1, "small products are one call")
        XCTAssertGreaterThan(OneDNNMatmul.pieces(m: 4096, n: 640, k: 640).count, 1)
        XCTAssertFalse(OneDNNMatmul.pieces(m: 1024, n: 48, k: 64).alongN, "narrow products split their rows")
    }

    func testThePolicySwitchReadsTheEnvironment() {
        XCTAssertEqual(OneDNNMatmul.requested("onednn"), .onednn)
        XCTAssertEqual(OneDNNMatmul.requested("NATIVE"), .native)
        XCTAssertEqual(OneDNNMatmul.requested("openblas"), .native)
        XCTAssertNil(OneDNNMatmul.requested(nil))
        XCTAssertNil(OneDNNMatmul.requested(""))
        XCTAssertNil(OneDNNMatmul.requested("mkl"))
    }
}
