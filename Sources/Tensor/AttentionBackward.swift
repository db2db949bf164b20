import Foundation

/// The backward of fused attention (flash-attention's recomputation): the probabilities are recomputed per
/// (query block, key block) tile from the saved row log-sum-exp instead of being kept from the forward, so the
/// Lq x Lk matrix never exists in either pass.
///
/// For one (batch x head), with P = exp(scale q k^T - lse) and D_i = sum_j dO_ij O_ij (= sum_j P_ij dP_ij):
///
///     dV = P^T dO        dP = dO V^T        dS = P * (dP - D)        dQ = scale dS K        dK = scale dS^T Q
///
/// Work is cut into (batch x head, group of key blocks) tasks, chosen from the shape alone. A task owns its key
/// blocks' rows of dK and dV; it adds its key blocks' share of dQ in key order into dQ (group 0) or into a partial
/// buffer of its own (later groups), and the partials are added to dQ in group order afterwards. No two tasks
/// write the same memory and every sum runs in a fixed order, so the bits do not depend on the thread count.
/// Memory: two score tiles per running task, D (B x Lq) and, when a head is split, the dQ partials.
extension Attention {
    /// Query rows per backward tile.
    static let backwardQueryBlock = 128
    /// Key rows per backward tile (128 x 128 tiles: S/P and dP together are 128 KB, within a Zen 3 core's L2).
    static let backwardKeyBlock = 128

    /// The key-block groups each (batch x head) is split into: enough tasks for `Parallel.targetTasks` workers, never
    /// more groups than key blocks. A function of the shape only.
    static func backwardGroups(batch: Int, lk: Int, keyBlock: Int) -> Int {
        let keyBlocks = (lk + keyBlock - 1) / keyBlock
        let wanted = (Parallel.targetTasks + batch - 1) / Swift.max(batch, 1)
        return Swift.max(1, Swift.min(keyBlocks, wanted))
    }

    /// Gradients of `out = flash(q, k, v)` given dOut, for q (B, Lq, D), k (B, Lk, D), v (B, Lk, Dv), out and dOut
    /// (B, Lq, Dv), logsumexp (B, Lq) from the forward; writes dq (B, Lq, D), dk (B, Lk, D), dv (B, Lk, Dv) where
    /// given (a nil one is neither needed nor computed). All f32, contiguous. Needs lk >= 1, d >= 1.
    static func flashBackward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                              out: UnsafePointer<Float>, logsumexp: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                              dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?,
                              dv dvOut: UnsafeMutablePointer<Float>?,
                              batch: Int, lq: Int, lk: Int, d: Int, dv: Int, scale: Float,
                              queryBlock: Int = Attention.backwardQueryBlock, keyBlock: Int = Attention.backwardKeyBlock) {
        if dq == nil && dk == nil && dvOut == nil { return }
        if lq == 0 {
            // No query reads any key: the key and value gradients are zero.
            dk?.initialize(repeating: 0, count: batch * lk * d)
            dvOut?.initialize(repeating: 0, count: batch * lk * dv)
            return
        }
        // D (B, Lq): rowsum(dO * O), the softmax backward's correction per query row.
        let rowDot = ScratchPool.shared.take(batch * lq)
        defer { ScratchPool.shared.give(rowDot) }
        let dp = rowDot.pointer
        Parallel.forChunks(batch * lq, grain: Swift.max(1, Parallel.grain / Swift.max(dv, 1))) { range in
            for row in range { dp[row] = Attention.dot(dOut + row * dv, out + row * dv, dv) }
        }
        let keyBlocks = (lk + keyBlock - 1) / keyBlock
        let groups = backwardGroups(batch: batch, lk: lk, keyBlock: keyBlock)
        let blocksPerGroup = (keyBlocks + groups - 1) / groups
        let usedGroups = (keyBlocks + blocksPerGroup - 1) / blocksPerGroup
        // dQ partials of groups 1..<usedGroups: (usedGroups - 1, B, Lq, D).
        let partialCount = dq == nil ? 0 : (usedGroups - 1) * batch * lq * d
        let partials = ScratchPool.shared.take(Swift.max(partialCount, 1))
        defer { ScratchPool.shared.give(partials) }
        let qTile = Swift.min(queryBlock, lq), kTile = Swift.min(keyBlock, lk)
        Parallel.forEach(batch * usedGroups) { t in
            let b = t / usedGroups, group = t % usedGroups
            let scratch = ScratchPool.shared.take(2 * qTile * kTile)
            defer { ScratchPool.shared.give(scratch) }
            let p = scratch.pointer, ds = p + qTile * kTile                 // (rows, kc) each: P, then dP -> dS
            let qp = q + b * lq * d, kp = k + b * lk * d, vp = v + b * lk * dv
            let dop = dOut + b * lq * dv, lp = logsumexp + b * lq, rowD = dp + b * lq
            let dqHead: UnsafeMutablePointer<Float>? = dq.map { group == 0 ? $0 + b * lq * d
                                                                          : partials.pointer + ((group - 1) * batch + b) * lq * d }
            let firstBlock = group * blocksPerGroup, endBlock = Swift.min(keyBlocks, firstBlock + blocksPerGroup)
            for kb in firstBlock..<endBlock {
                let k0 = kb * keyBlock, kc = Swift.min(keyBlock, lk - k0)
                let dkBlock = dk.map { $0 + (b * lk + k0) * d }, dvBlock = dvOut.map { $0 + (b * lk + k0) * dv }
                var q0 = 0
                while q0 < lq {
                    let rows = Swift.min(queryBlock, lq - q0), firstQuery = q0 == 0
                    // P (rows, kc) = exp(scale * Q_blk K_blk^T - lse)
                    BLAS.sgemm(transA: false, transB: true, m: rows, n: kc, k: d, alpha: scale, a: qp + q0 * d, lda: d,
                               b: kp + k0 * d, ldb: d, c: p, ldc: kc, split: false)
                    for r in 0..<rows { _ = Attention.exponentiate(p + r * kc, kc, subtracting: lp[q0 + r]) }
                    // dV_blk (kc, dv) += P^T dO_blk
                    if let dvBlock {
                        BLAS.sgemm(transA: true, transB: false, m: kc, n: dv, k: rows, a: p, lda: kc,
                                   b: dop + q0 * dv, ldb: dv, beta: firstQuery ? 0 : 1, c: dvBlock, ldc: dv, split: false)
                    }
                    if dqHead != nil || dkBlock != nil {
                        // dP (rows, kc) = dO_blk V_blk^T, then dS = P * (dP - D)
                        BLAS.sgemm(transA: false, transB: true, m: rows, n: kc, k: dv, a: dop + q0 * dv, lda: dv,
                                   b: vp + k0 * dv, ldb: dv, c: ds, ldc: kc, split: false)
                        for r in 0..<rows { Attention.softmaxGradient(p + r * kc, ds + r * kc, kc, rowD[q0 + r]) }
                        // dQ_blk (rows, d) += scale * dS K_blk
                        if let dqHead {
                            BLAS.sgemm(transA: false, transB: false, m: rows, n: d, k: kc, alpha: scale, a: ds, lda: kc,
                                       b: kp + k0 * d, ldb: d, beta: kb == firstBlock ? 0 : 1, c: dqHead + q0 * d, ldc: d,
                                       split: false)
                        }
                        // dK_blk (kc, d) += scale * dS^T Q_blk
                        if let dkBlock {
                            BLAS.sgemm(transA: true, transB: false, m: kc, n: d, k: rows, alpha: scale, a: ds, lda: kc,
                                       b: qp + q0 * d, ldb: d, beta: firstQuery ? 0 : 1, c: dkBlock, ldc: d, split: false)
                        }
                    }
                    q0 += rows
                }
            }
        }
        if let dq, usedGroups > 1 {
            // dQ += the later groups' partials, in group order (fixed chunks, so any thread count gives the same sums).
            let n = batch * lq * d, pp = partials.pointer
            Parallel.forChunks(n) { range in
                for g in 0..<(usedGroups - 1) {
                    let src = pp + g * n
                    for i in range { dq[i] += src[i] }
                }
            }
        }
    }

    /// sum_i a[i] * b[i] in a fixed order (8 lanes, then the tail).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
                * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var total = acc.sum()
        while i < n { total += a[i] * b[i]; i += 1 }
        return total
    }

    /// dS[i] = P[i] * (dP[i] - rowDot) in place of dP, for one row of n.
    @inline(__always)
    static func softmaxGradient(_ p: UnsafePointer<Float>, _ dp: UnsafeMutablePointer<Float>, _ n: Int, _ rowDot: Float) {
        var i = 0
        while i + 8 <= n {
            let pv = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            let gv = UnsafeRawPointer(dp + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(dp + i).storeBytes(of: pv * (gv - rowDot), as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { dp[i] = p[i] * (dp[i] - rowDot); i += 1 }
    }
}
