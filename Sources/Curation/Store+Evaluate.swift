import Foundation
import Imaging

/// The numbers ``Store/evaluate(_:name:round:run:)`` computed.
public struct EvaluationSummary: Sendable, Equatable {
    /// The recorded evaluation's row id.
    public var id: Int64
    /// Candidates evaluated.
    public var count: Int
    /// Of those, with ground truth (the image metrics cover only these).
    public var withGroundTruth: Int
    /// Overall metrics by name: `psnr_masked`, `l1_masked`, `ssim_masked` (means over candidates with ground truth;
    /// infinite PSNRs are capped at 100 dB), and `success_rate:<annotator>` for every annotator that decided any.
    public var metrics: [String: Double]
}

extension Store {
    /// Measures `candidates` against their ground truth (masked PSNR, L1, SSIM), computes each annotator's success
    /// rate (accepted / decided) on them, and records it all as evaluation `name` with per-candidate-pair metrics.
    /// The language's `evaluate`.
    @discardableResult
    public func evaluate(_ candidates: [Candidate], name: String, round: Int? = nil, run: Int64? = nil) throws -> EvaluationSummary {
        guard !candidates.isEmpty else { throw CurationError.invalidArgument("evaluate '\(name)': no candidates") }
        var sums = (psnr: 0.0, l1: 0.0, ssim: 0.0), measured = 0
        var perPair: [(pair: Int64, name: String, value: Double)] = []
        for c in candidates {
            guard let target = try c.target?.loadImage() else { continue }
            let mask = try c.mask.loadMask()
            if mask.isEmpty { continue }
            let result = try c.result.loadImage().converted(toChannels: target.channels)
            let psnr = min(100, try Quality.psnr(result, target, mask: mask))
            let l1 = try Quality.l1(result, target, mask: mask), ssim = try Quality.ssim(result, target, mask: mask)
            sums.psnr += psnr; sums.l1 += l1; sums.ssim += ssim
            measured += 1
            perPair += [(c.pairID, "psnr_masked", psnr), (c.pairID, "l1_masked", l1), (c.pairID, "ssim_masked", ssim)]
        }
        var metrics: [String: Double] = [:]
        if measured > 0 {
            metrics["psnr_masked"] = sums.psnr / Double(measured)
            metrics["l1_masked"] = sums.l1 / Double(measured)
            metrics["ssim_masked"] = sums.ssim / Double(measured)
        }
        let ids = Set(candidates.map(\.id))
        var tallies: [String: (accepted: Int, decided: Int)] = [:]
        for label in try labels(round: round) where ids.contains(label.candidateID) {
            guard let accept = label.accept else { continue }
            let key = "success_rate:\(label.annotator.kind.rawValue):\(label.annotator.name)"
            var t = tallies[key] ?? (0, 0)
            t.decided += 1
            if accept { t.accepted += 1 }
            tallies[key] = t
        }
        for (key, t) in tallies { metrics[key] = Double(t.accepted) / Double(t.decided) }
        let roundID = try round.flatMap { try self.round($0).id }
        let models = Set(candidates.map(\.model))
        let modelID = models.count == 1 ? try models.first.flatMap { try model($0).id } : nil
        let record = try addEvaluation(name, model: modelID, round: roundID, run: run, metrics: metrics, perPair: perPair)
        return EvaluationSummary(id: record.id ?? 0, count: candidates.count, withGroundTruth: measured, metrics: metrics)
    }
}
