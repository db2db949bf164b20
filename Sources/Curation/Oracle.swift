import Foundation
import Imaging

/// The rule by which the oracle accepts a result: its error against the ground-truth background, measured over the
/// mask (grown by `maskDilation` pixels so that seams just outside count too), must be small enough on both
/// measures: masked PSNR >= `minPSNR` dB **and** masked L1 <= `maxL1` (samples in [0, 1]).
///
/// Defaults (25 dB, 0.05) accept a fill that is close to the hidden background and reject one that leaves the
/// object, a shadow or a visible smear behind. On 40 synthetic 64 px scenes with shadows the untouched source
/// (object left in place) scores 6.8-17 dB (median 12.7) and is always rejected; the background itself scores
/// infinity.
public struct OracleRule: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Smallest masked PSNR accepted, in dB.
    public var minPSNR: Double
    /// Largest masked mean absolute error accepted.
    public var maxL1: Double
    /// Pixels by which the mask is grown before measuring.
    public var maskDilation: Int

    /// A rule; see the type's documentation for the defaults.
    public init(minPSNR: Double = 25, maxL1: Double = 0.05, maskDilation: Int = 0) {
        self.minPSNR = minPSNR
        self.maxL1 = maxL1
        self.maskDilation = maskDilation
    }

    public var description: String { "masked PSNR >= \(minPSNR) dB and masked L1 <= \(maxL1) (mask dilated by \(maskDilation) px)" }
}

/// The oracle's measurements and decision for one result.
public struct OracleVerdict: Sendable, Equatable {
    /// Whether the rule accepts it.
    public var accept: Bool
    /// Masked PSNR in dB (infinity for a perfect fill).
    public var psnr: Double
    /// Masked mean absolute error.
    public var l1: Double
}

/// What ``Oracle/label(_:in:rule:name:)`` did.
public struct OracleReport: Sendable, Equatable {
    /// Candidates labelled.
    public var labelled: Int
    /// Of those, accepted.
    public var accepted: Int
    /// Candidates left unlabelled because their pair has no ground truth.
    public var withoutGroundTruth: [Int64]
    /// Candidates skipped because this oracle had labelled them already (an earlier, interrupted call).
    public var alreadyLabelled: Int = 0
    /// Accepted over labelled (nil when none were labelled).
    public var acceptRate: Double? { labelled == 0 ? nil : Double(accepted) / Double(labelled) }
}

/// Labels from ground truth, standing in for a person in tests and teaching. The language's `oracle`.
public enum Oracle {
    /// Measures `result` against `target` over `mask` and applies `rule`.
    public static func judge(result: Image, target: Image, mask: Mask, rule: OracleRule = OracleRule()) throws -> OracleVerdict {
        let region = rule.maskDilation > 0 ? try mask.dilated(radius: rule.maskDilation) : mask
        let r = try result.converted(toChannels: target.channels)
        let psnr = try Quality.psnr(r, target, mask: region), l1 = try Quality.l1(r, target, mask: region)
        return OracleVerdict(accept: psnr >= rule.minPSNR && l1 <= rule.maxL1, psnr: psnr, l1: l1)
    }

    /// Labels every candidate whose pair has a target, each label committed as it is made, as annotator
    /// `.oracle(name)` with the measurements in the label's note. Candidates without ground truth are listed, not
    /// labelled. Candidates this oracle already labelled are skipped (so an interrupted call resumes) unless
    /// `relabel` is true (after changing the rule).
    public static func label(_ candidates: [Candidate], in store: Store, rule: OracleRule = OracleRule(), name: String = "oracle",
                             relabel: Bool = false) throws -> OracleReport {
        var report = OracleReport(labelled: 0, accepted: 0, withoutGroundTruth: [])
        let done = relabel ? [] : Set(try store.labels(by: .oracle(name)).map(\.candidateID))
        for c in candidates {
            guard let targetSource = c.target else { report.withoutGroundTruth.append(c.id); continue }
            if done.contains(c.id) { report.alreadyLabelled += 1; continue }
            let verdict = try judge(result: c.result.loadImage(), target: targetSource.loadImage(), mask: c.mask.loadMask(), rule: rule)
            let psnrText = verdict.psnr.isFinite ? String(format: "%.2f", verdict.psnr) : "inf"
            try store.label(c.id, by: .oracle(name), accept: verdict.accept,
                            note: "psnr=\(psnrText) l1=\(String(format: "%.4f", verdict.l1)) rule: \(rule)")
            report.labelled += 1
            if verdict.accept { report.accepted += 1 }
        }
        return report
    }
}
