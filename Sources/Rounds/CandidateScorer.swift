import Curation
import Diffusion
import Imaging
import Learning

/// Anything that scores removal results: higher is better, RORem's discriminators keep results at 0.9 and above.
/// The miniature judge (`Learning.Discriminator`) conforms, and so does RORem's SDXL-based one
/// (`Diffusion.RORemDiscriminator`, whose scores are RORem's unclamped softplus values).
public protocol CandidateScorer {
    /// One score per (source, mask, result), in order, computed `batchSize` at a time.
    func scores(_ examples: [(source: Image, mask: Mask, result: Image)], batchSize: Int) throws -> [Double]
}

extension Discriminator: CandidateScorer {}

extension RORemDiscriminator: CandidateScorer {}

extension Rounds {
    /// `scorer`'s scores for `candidates`, in order; images are decoded 64 candidates at a time.
    public static func scores(_ scorer: CandidateScorer, _ candidates: [Candidate], batchSize: Int = 16) throws -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(candidates.count)
        var start = 0
        while start < candidates.count {
            let chunk = candidates[start..<min(candidates.count, start + 64)]
            let examples = try chunk.map { c in (source: try c.source.loadImage(), mask: try c.mask.loadMask(), result: try c.result.loadImage()) }
            out += try scorer.scores(examples, batchSize: batchSize)
            start += chunk.count
        }
        return out
    }

    /// What `annotate` or `record` did.
    public struct AnnotationSummary: Sendable, Equatable {
        /// Candidates labelled now.
        public var labelled = 0
        /// Of those, accepted (score at or above the threshold).
        public var accepted = 0
        /// Candidates left alone because the annotator had already decided them.
        public var skipped = 0
        /// Sum of the scores labelled now.
        public var scoreSum = 0.0

        public init() {}

        /// Accepted over labelled; nil when nothing was labelled.
        public var acceptRate: Double? { labelled > 0 ? Double(accepted) / Double(labelled) : nil }
        /// Mean score of what was labelled; nil when nothing was.
        public var meanScore: Double? { labelled > 0 ? scoreSum / Double(labelled) : nil }
    }

    /// Scores the candidates `annotator` has not decided yet with `scorer` and records `accept = score >= threshold`
    /// (the annotator's threshold, default 0.9) with the score, all in one transaction.
    public static func annotate(_ scorer: CandidateScorer, _ candidates: [Candidate], store: Store,
                                annotator: Annotator) throws -> AnnotationSummary {
        let todo = Set(try store.undecided(candidates.map(\.id), by: annotator))
        let pending = candidates.filter { todo.contains($0.id) }
        var summary = try record(try scores(scorer, pending), of: pending, store: store, annotator: annotator)
        summary.skipped = candidates.count - pending.count
        return summary
    }

    /// Records `annotator`'s labels from `values`, the scores of `candidates` in order, in one transaction.
    public static func record(_ values: [Double], of candidates: [Candidate], store: Store,
                              annotator: Annotator) throws -> AnnotationSummary {
        let threshold = annotator.threshold ?? 0.9
        var summary = AnnotationSummary()
        var inputs: [LabelInput] = []
        for (c, s) in zip(candidates, values) {
            inputs.append(LabelInput(candidateID: c.id, accept: s >= threshold, score: s))
            summary.labelled += 1
            summary.scoreSum += s
            if s >= threshold { summary.accepted += 1 }
        }
        if !inputs.isEmpty { try store.addLabels(inputs, by: annotator) }
        return summary
    }
}
