import XCTest
@testable import Tensor

/// The fused attention primitive (the recorded path of `scaledDotProductAttention`: flash forward with the row
/// log-sum-exp, recomputing backward) against PyTorch (Fixtures/attention_grads.safetensors, written by
/// Scripts/fixtures/make_attention_fixtures.py), against the composite reference for many block sizes, by finite
/// differences, and bit for bit across thread counts.
/// Tolerances: against PyTorch (float64) 2e-5 absolute + 2e-4 relative; against the composite (both float32)
/// 1e-5 + 1e-4.
final class AttentionGradientTests: XCTestCase {
    private static let file: SafeTensorsFile? = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/attention_grads.safetensors").path
        return try? SafeTensorsFile(path: path)
    }()

    /// [dq, dk, dv] of sum(f(q, k, v) * probe), and the output, through the recorded graph.
    private func gradients(_ q: Tensor, _ k: Tensor, _ v: Tensor, probe: Tensor,
                           _ f: (Tensor, Tensor, Tensor) throws -> Tensor) throws -> (out: Tensor, grads: [[Float]]) {
        let leaves = [q, k, v].map { $0.requiringGrad() }
        let out = try f(leaves[0], leaves[1], leaves[2])
        try (out * probe).sum().backward()
        return (out, leaves.map { $0.grad?.values ?? [] })
    }

    func testFusedGradientsMatchPyTorch() throws {
        let file = try XCTUnwrap(Self.file, "Fixtures/attention_grads.safetensors should load")
        let names = Set(file.entries.keys.compactMap { $0.hasSuffix(".out") ? String($0.dropLast(4)) : nil })
        XCTAssertEqual(names, ["self", "cross", "sharp", "scaled"])
        for name in names.sorted() {
            let (q, k, v) = (try file.tensor("\(name).in0"), try file.tensor("\(name).in1"), try file.tensor("\(name).in2"))
            let scale = (try? file.tensor("\(name).scale")).map { $0.values[0] }
            let (out, grads) = try gradients(q, k, v, probe: file.tensor("\(name).probe")) {
                let y = try Tensor.scaledDotProductAttention(query: $0, key: $1, value: $2, scale: scale)
                XCTAssertEqual(y.node?.op.name, "attention", "\(name): the recorded path is the fused primitive")
                return y
            }
            assertClose(out.values, try file.tensor("\(name).out").values, atol: 2e-5, rtol: 2e-4, "\(name).out")
            for i in 0..<3 {
                assertClose(grads[i], try file.tensor("\(name).grad\(i)").values, atol: 2e-5, rtol: 2e-4, "\(name).grad\(i)")
            }
        }
    }

    func testFusedGradientsMatchTheCompositeForEveryBlockSize() throws {
        let shapes: [(q: [Int], k: [Int], v: [Int])] = [
            ([2, 3, 150, 16], [2, 3, 150, 16], [2, 3, 150, 16]),   // self-attention, 2 x 3 heads
            ([1, 2, 37, 8], [1, 2, 300, 8], [1, 2, 300, 5]),        // more keys than queries, Dv != D
            ([2, 200, 8], [2, 9, 8], [2, 9, 8]),                    // a short context, rank 3
            ([1, 1, 1, 4], [1, 1, 1, 4], [1, 1, 1, 3]),             // one query, one key
        ]
        for (i, s) in shapes.enumerated() {
            let q = rand(s.q, seed: UInt64(10 + i), low: -2, high: 2), k = rand(s.k, seed: UInt64(20 + i), low: -2, high: 2)
            let v = rand(s.v, seed: UInt64(30 + i))
            let scale = 1 / Float(s.q.last!).squareRoot()
            let probe = rand(Array(s.q.dropLast()) + [s.v.last!], seed: UInt64(40 + i))
            let (reference, expected) = try gradients(q, k, v, probe: probe) {
                try Tensor.attentionComposite(query: $0, key: $1, value: $2, scale: scale)
            }
            let (out, fused) = try gradients(q, k, v, probe: probe) { try Tensor.scaledDotProductAttention(query: $0, key: $1, value: $2) }
            assertClose(out.values, reference.values, atol: 1e-5, rtol: 1e-4, "shape \(i) out")
            for j in 0..<3 { assertClose(fused[j], expected[j], atol: 1e-5, rtol: 1e-4, "shape \(i) grad\(j) (default blocks)") }
            // The kernel itself with other tile sizes: every (query block, key block) split gives the same gradients.
            let r = s.q.count
            let batch = s.q.dropLast(2).reduce(1, *)
            let (lq, lk, d, dv) = (s.q[r - 2], s.k[r - 2], s.q[r - 1], s.v[r - 1])
            var lse = [Float](repeating: .nan, count: batch * lq)
            var o = [Float](repeating: .nan, count: batch * lq * dv)
            Attention.flash(q: q.storage.pointer, k: k.storage.pointer, v: v.storage.pointer, out: &o, logsumexp: &lse,
                            batch: batch, lq: lq, lk: lk, d: d, dv: dv, scale: scale)
            for (qb, kb) in [(1, 1), (7, 16), (16, 33), (64, 512)] {
                var dq = [Float](repeating: .nan, count: q.count), dk = [Float](repeating: .nan, count: k.count)
                var dvg = [Float](repeating: .nan, count: v.count)
                Attention.flashBackward(q: q.storage.pointer, k: k.storage.pointer, v: v.storage.pointer, out: o,
                                        logsumexp: lse, dOut: probe.storage.pointer, dq: &dq, dk: &dk, dv: &dvg,
                                        batch: batch, lq: lq, lk: lk, d: d, dv: dv, scale: scale, queryBlock: qb, keyBlock: kb)
                for (j, g) in [dq, dk, dvg].enumerated() {
                    assertClose(g, expected[j], atol: 1e-5, rtol: 1e-4, "shape \(i) grad\(j) (blocks \(qb) x \(kb))")
                }
            }
        }
    }

    func testFusedGradientsAgreeWithFiniteDifferences() throws {
        // Self-attention over more than one 128-row block, and cross-attention with Dv != D, 4-D.
        try gradCheck([rand([1, 1, 130, 3], seed: 1), rand([1, 1, 130, 3], seed: 2), rand([1, 1, 130, 2], seed: 3)]) {
            try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2])
        }
        try gradCheck([rand([2, 2, 5, 4], seed: 4), rand([2, 2, 7, 4], seed: 5), rand([2, 2, 7, 3], seed: 6)]) {
            try Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], scale: 0.7)
        }
    }

    func testOnlyTheNeededGradientsAreComputed() throws {
        let q = rand([1, 2, 40, 8], seed: 1).requiringGrad(), k = rand([1, 2, 50, 8], seed: 2), v = rand([1, 2, 50, 8], seed: 3)
        try Tensor.scaledDotProductAttention(query: q, key: k, value: v).sum().backward()
        let all = [q, k, v].map { $0.detached.requiringGrad() }
        try Tensor.scaledDotProductAttention(query: all[0], key: all[1], value: all[2]).sum().backward()
        XCTAssertEqual(q.grad?.values, all[0].grad?.values, "dq does not depend on which other gradients are wanted")
        XCTAssertNil(k.grad)
        XCTAssertNil(v.grad)
    }

    func testSavesOnlyTheOutputAndTheRowLogSumExp() throws {
        let q = rand([2, 3, 64, 8], seed: 1).requiringGrad(), k = rand([2, 3, 96, 8], seed: 2), v = rand([2, 3, 96, 5], seed: 3)
        let y = try Tensor.scaledDotProductAttention(query: q, key: k, value: v)
        guard case .attention(_, let output, let lse)? = y.node?.op else { return XCTFail("no fused attention node") }
        XCTAssertEqual(output.shape, [2, 3, 64, 5])
        XCTAssertEqual(lse.shape, [2, 3, 64], "one float per query row, not the (B, H, Lq, Lk) scores")
        // lse_i = log sum_j exp(scale q_i . k_j)
        let scores = try GradMode.noGrad { try Tensor.matmul(q.detached, k, transposeB: true) * (1 / Float(8).squareRoot()) }
        let expected = try scores.exp().sum(axes: [-1]).log()
        assertClose(lse.values, expected.values, atol: 1e-5, rtol: 1e-5, "logsumexp")
    }

    func testGradientsAreTheSameBitsForAnyThreadCount() throws {
        // One head with many key blocks (its keys split into groups, dQ summed from partials) and many heads (one
        // task per head).
        let cases: [([Int], [Int])] = [([1, 1, 300, 16], [1, 1, 700, 16]), ([2, 10, 100, 8], [2, 10, 77, 8])]
        for (qs, ks) in cases {
            let q = rand(qs, seed: 1), k = rand(ks, seed: 2), v = rand(ks, seed: 3)
            let probe = rand(qs, seed: 4)
            func run() throws -> [Float] {
                let (out, grads) = try gradients(q, k, v, probe: probe) { try Tensor.scaledDotProductAttention(query: $0, key: $1, value: $2) }
                return out.values + grads.flatMap { $0 }
            }
            let saved = Parallel.threads
            defer { Parallel.threads = saved }
            Parallel.threads = 1
            let serial = try run()
            for p in [2, 3] {
                Parallel.threads = p
                let differing = zip(try run(), serial).filter { $0 != $1 }.count
                XCTAssertEqual(differing, 0, "\(qs): \(p) threads differ from serial in \(differing) values")
            }
        }
        XCTAssertGreaterThan(Attention.backwardGroups(batch: 1, lk: 700, keyBlock: Attention.backwardKeyBlock), 1,
                             "the single head is split into key groups")
    }

    func testShapesWithoutTheKernelStillRecordGradients() throws {
        // A zero-width head: every score is 0, each output row the mean of the values.
        let q = Tensor(zeros: [1, 3, 0]).requiringGrad(), k = Tensor(zeros: [1, 4, 0]), v = rand([1, 4, 2], seed: 1).requiringGrad()
        let y = try Tensor.scaledDotProductAttention(query: q, key: k, value: v)
        XCTAssertNotEqual(y.node?.op.name, "attention")
        try y.sum().backward()
        assertClose(v.grad?.values ?? [], [Float](repeating: 0.75, count: 8), atol: 1e-6, rtol: 0, "dv")
        // Keys and values of rank 2 shared by every batch: the composite, giving the fused path's query gradient.
        let q2 = rand([2, 5, 4], seed: 2), k2 = rand([6, 4], seed: 3), v2 = rand([6, 3], seed: 4)
        let shared = q2.requiringGrad()
        let y2 = try Tensor.scaledDotProductAttention(query: shared, key: k2, value: v2)
        XCTAssertNotEqual(y2.node?.op.name, "attention")
        try y2.sum().backward()
        let batched = q2.requiringGrad()
        let y3 = try Tensor.scaledDotProductAttention(query: batched, key: Tensor.concat([k2, k2], axis: 0).reshaped([2, 6, 4]),
                                                      value: Tensor.concat([v2, v2], axis: 0).reshaped([2, 6, 3]))
        XCTAssertEqual(y3.node?.op.name, "attention")
        try y3.sum().backward()
        assertClose(shared.grad?.values ?? [], batched.grad?.values ?? [], atol: 1e-6, rtol: 1e-5, "dq")
    }
}
