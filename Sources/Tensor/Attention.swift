import CKernels
import Foundation

/// Memory-bounded scaled dot-product attention for inference (flash-attention style): queries are cut into
/// blocks of `queryBlock` rows and keys into blocks of `keyBlock`; each (batch, query block) task keeps one
/// score tile (queryBlock x keyBlock) and folds the key blocks into its output rows with an online softmax
/// (running row maximum and row sum, earlier contributions rescaled when the maximum grows). The N x N score
/// matrix never exists. Tasks are independent and each runs its blocks in a fixed order, so results do not
/// depend on the thread count.
///
/// Training uses the same forward with `logsumexp` (saved for `Attention.flashBackward`, the recomputing backward in
/// AttentionBackward.swift). The composite `Tensor.attentionComposite` (matmul, softmax, matmul) is the readable
/// reference of both.
enum Attention {
    /// Query rows per task (128 x 512 score tiles, 256 KB: they stay in a Zen 3 core's L2; 128 rows measured
    /// about 5% faster than 64 at 4096 tokens).
    static let queryBlock = 128
    /// Key rows per score tile.
    static let keyBlock = 512
    /// Whether the softmax loops run the AVX2 + FMA C kernels (chosen once from the CPU's features).
    static let vectorKernels = ck_has_avx2_fma() != 0
    /// Whether `flash` runs each query block through `ck_flash_block` (AVX2 + FMA register tiles, scores kept
    /// transposed) where the CPU has them and Dv is a multiple of 8; the SGEMM path below stays as the portable
    /// one (tests pass `tiles: false` to compare them).
    static let registerTiles = true

    /// out (B, Lq, Dv) = softmax(scale * q k^T) v for q (B, Lq, D), k (B, Lk, D), v (B, Lk, Dv), f32, contiguous.
    /// With `heads` > 1 the operands are instead in the projections' own layout, q (N, Lq, heads, D), k (N, Lk,
    /// heads, D), v (N, Lk, heads, Dv) and out (N, Lq, heads, Dv), with B = N x heads: each head's rows are read and
    /// written in place with a row stride of heads x D (no permuted copies of q, k, v and the output).
    /// When `logsumexp` is given it receives (B, Lq) rows of log(sum_j exp(scale q_i k_j)), what the backward needs to
    /// recompute the probabilities. Needs lk >= 1.
    static func flash(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      out: UnsafeMutablePointer<Float>, logsumexp: UnsafeMutablePointer<Float>? = nil,
                      batch: Int, heads: Int = 1, lq: Int, lk: Int, d: Int, dv: Int, scale: Float,
                      queryBlock: Int = Attention.queryBlock, keyBlock: Int = Attention.keyBlock,
                      tiles: Bool = Attention.registerTiles) {
        let qBlocks = (lq + queryBlock - 1) / queryBlock
        let keyTile = Swift.min(keyBlock, lk)
        let ldq = heads * d, ldv = heads * dv                        // row strides of q and k, of v and out
        // The register-tile kernel's key blocks are whole groups of 6 keys (or all of them).
        let kernelKeys = keyTile >= lk ? keyTile : Swift.max(6, keyTile / 6 * 6)
        let kernel = vectorKernels && tiles && dv % 8 == 0
        let kernelScratch = kernel ? ck_flash_block_scratch(queryBlock, d, dv, kernelKeys) : 0
        // Each head's keys packed, and its values made contiguous, once for all its query blocks (as much memory
        // as k and v): a key block's values then stay in cache while every query block reads them.
        let packedSize = kernel ? ck_flash_packed_keys(lk, d) + lk * dv : 0
        let packed = kernel ? ScratchPool.shared.take(batch * packedSize) : nil
        defer { if let packed { ScratchPool.shared.give(packed) } }
        if let packed {
            Parallel.forEach(batch) { b in
                let sample = b / heads, head = b % heads
                let kp = packed.pointer + b * packedSize, vp = kp + ck_flash_packed_keys(lk, d)
                ck_flash_pack_keys(k + (sample * lk * heads + head) * d, ldq, lk, d, kp)
                let vs = v + (sample * lk * heads + head) * dv
                for j in 0..<lk { (vp + j * dv).update(from: vs + j * ldv, count: dv) }
            }
        }
        Parallel.forEach(batch * qBlocks) { t in
            let b = t / qBlocks, q0 = (t % qBlocks) * queryBlock, rows = Swift.min(queryBlock, lq - q0)
            let sample = b / heads, head = b % heads
            if let packed {
                // The AVX2 + FMA register-tile kernel (CKernels/attention.c): the same blocks and online softmax,
                // with the scores kept transposed so that only Q^T (and the keys, above) are packed.
                let scratch = ScratchPool.shared.take(kernelScratch)
                defer { ScratchPool.shared.give(scratch) }
                let qp = q + ((sample * lq + q0) * heads + head) * d
                let kp = packed.pointer + b * packedSize, vp = kp + ck_flash_packed_keys(lk, d)
                let op = out + ((sample * lq + q0) * heads + head) * dv
                let ran = ck_flash_block(qp, ldq, kp, vp, dv, op, ldv,
                                         logsumexp.map { $0 + b * lq + q0 }, rows, lk, d, dv, scale, kernelKeys,
                                         scratch.pointer)
                if ran != 0 { return }
            }
            let scratch = ScratchPool.shared.take(queryBlock * keyTile + 2 * queryBlock)
            defer { ScratchPool.shared.give(scratch) }
            let s = scratch.pointer                                  // (rows, kc) scores, then probabilities
            let rowMax = s + queryBlock * keyTile, rowSum = rowMax + queryBlock   // (rows) each
            let qp = q + ((sample * lq + q0) * heads + head) * d, kp = k + (sample * lk * heads + head) * d
            let vp = v + (sample * lk * heads + head) * dv
            let op = out + ((sample * lq + q0) * heads + head) * dv  // (rows, dv) accumulator, rows ldv apart
            var k0 = 0
            while k0 < lk {
                let kc = Swift.min(keyTile, lk - k0), first = k0 == 0
                // S (rows, kc) = scale * Q_blk (rows, d) @ K_blk^T (d, kc)
                BLAS.sgemm(transA: false, transB: true, m: rows, n: kc, k: d, alpha: scale, a: qp, lda: ldq,
                           b: kp + k0 * ldq, ldb: ldq, c: s, ldc: kc, split: false)
                for r in 0..<rows {
                    let srow = s + r * kc
                    let blockMax = Attention.maximum(srow, kc)
                    let previous = first ? -Float.infinity : rowMax[r]
                    let newMax = Swift.max(previous, blockMax)
                    let blockSum = Attention.exponentiate(srow, kc, subtracting: newMax)
                    if first {
                        rowSum[r] = blockSum
                    } else {
                        // Earlier key blocks were weighted by exp(-previous); rescale them to exp(-newMax).
                        let correction = Foundation.exp(previous - newMax)
                        rowSum[r] = rowSum[r] * correction + blockSum
                        if correction != 1 {
                            let orow = op + r * ldv
                            for j in 0..<dv { orow[j] *= correction }
                        }
                    }
                    rowMax[r] = newMax
                }
                // O_blk (rows, dv) += P (rows, kc) @ V_blk (kc, dv)
                BLAS.sgemm(transA: false, transB: false, m: rows, n: dv, k: kc, a: s, lda: kc,
                           b: vp + k0 * ldv, ldb: ldv, beta: first ? 0 : 1, c: op, ldc: ldv, split: false)
                k0 += kc
            }
            for r in 0..<rows {
                let inv = 1 / rowSum[r], orow = op + r * ldv
                for j in 0..<dv { orow[j] *= inv }
            }
            if let logsumexp {
                let lp = logsumexp + b * lq + q0                     // (rows)
                for r in 0..<rows { lp[r] = rowMax[r] + Foundation.log(rowSum[r]) }
            }
        }
    }

    /// The largest of p[0..<n] (n >= 1).
    @inline(__always)
    static func maximum(_ p: UnsafeMutablePointer<Float>, _ n: Int, vector: Bool = vectorKernels) -> Float {
        if vector { return ck_max(p, n) }
        var i = 0
        var m8 = SIMD8<Float>(repeating: -.infinity)
        while i + 8 <= n { m8 = pointwiseMax(m8, p.loadV(i)); i += 8 }
        var m = m8.max()
        while i < n { m = Swift.max(m, p[i]); i += 1 }
        return m
    }

    /// Replaces p[i] by exp(p[i] - shift) and returns their sum (8 lane partial sums, then the tail: a fixed order).
    /// On AVX2 + FMA CPUs the C kernel `ck_exp_shift_sum` (same method, 8 lanes with FMA); else these loops.
    @inline(__always)
    static func exponentiate(_ p: UnsafeMutablePointer<Float>, _ n: Int, subtracting shift: Float,
                             vector: Bool = vectorKernels) -> Float {
        if vector { return ck_exp_shift_sum(p, n, shift) }
        var i = 0
        var acc = SIMD8<Float>()
        while i + 8 <= n {
            let e = FastMath.exp8(p.loadV(i) - shift)
            UnsafeMutableRawPointer(p + i).storeBytes(of: e, as: SIMD8<Float>.self)
            acc += e
            i += 8
        }
        var total = acc.sum()
        while i < n { let e = FastMath.exp(p[i] - shift); p[i] = e; total += e; i += 1 }
        return total
    }
}
