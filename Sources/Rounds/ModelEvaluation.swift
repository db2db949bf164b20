import Curation
import Imaging

extension Rounds {
    /// A remover's results on a test set with ground truth, judged by the oracle and, optionally, a discriminator.
    public struct Evaluation {
        /// The evaluation's name (also the model name its candidates are recorded under).
        public var name: String
        /// Candidates measured.
        public var count: Int
        /// Share the oracle accepts.
        public var successRateOracle: Double?
        /// Share the discriminator accepts at its threshold (nil without one).
        public var successRateDiscriminator: Double?
        /// The discriminator's mean score: a judge trained with MSE on 0/1 labels scores the probability of success,
        /// so the mean estimates the success rate without a threshold's bias (nil without one).
        public var successRateExpected: Double?
        /// How well the discriminator's scores rank the oracle's verdicts (area under the ROC curve).
        public var discriminatorAUC: Double?
        /// Masked PSNR, SSIM and L1 against the ground truth.
        public var psnr: Double?, ssim: Double?, l1: Double?
        /// The candidates, in test-set order.
        public var candidates: [Candidate]
        /// The discriminator's score of each candidate (empty without one).
        public var scores: [Double]
        /// The stored summary.
        public var summary: EvaluationSummary
    }

    /// Labels `candidates` (a remover's results on a test set) with the oracle `rule` and, when given, with
    /// `judge` at its annotator's threshold, then records and returns the evaluation `name`. One scoring pass serves
    /// both the judge's labels (of candidates it has not decided yet) and the estimate.
    public static func evaluate(_ candidates: [Candidate], store: Store, name: String, round: Int?,
                                oracle rule: OracleRule = OracleRule(),
                                judge: (scorer: CandidateScorer, annotator: Annotator)? = nil) throws -> Evaluation {
        _ = try Oracle.label(candidates, in: store, rule: rule)
        var scores: [Double] = []
        var auc: Double?
        if let judge {
            scores = try Rounds.scores(judge.scorer, candidates)
            let todo = Set(try store.undecided(candidates.map(\.id), by: judge.annotator))
            let pending = zip(candidates, scores).filter { todo.contains($0.0.id) }
            _ = try record(pending.map(\.1), of: pending.map(\.0), store: store, annotator: judge.annotator)
            let verdicts = Dictionary(try store.labels(by: .oracle("oracle")).compactMap { l in l.accept.map { (l.candidateID, $0) } },
                                      uniquingKeysWith: { _, last in last })
            let judged = zip(candidates, scores).compactMap { c, s in verdicts[c.id].map { (s, $0) } }
            auc = try Agreement.auc(scores: judged.map(\.0), accepts: judged.map(\.1))
        }
        let summary = try store.evaluate(candidates, name: name, round: round)
        let m = summary.metrics
        return Evaluation(name: name, count: summary.count, successRateOracle: m["success_rate:oracle:oracle"],
                          successRateDiscriminator: judge.flatMap { m["success_rate:discriminator:\($0.annotator.name)"] },
                          successRateExpected: scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count),
                          discriminatorAUC: auc, psnr: m["psnr_masked"], ssim: m["ssim_masked"], l1: m["l1_masked"],
                          candidates: candidates, scores: scores, summary: summary)
    }
}
