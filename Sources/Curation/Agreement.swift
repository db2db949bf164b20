/// Agreement between two annotators on the candidates both decided.
public struct AgreementReport: Sendable, Equatable, CustomStringConvertible {
    /// Candidates both accepted.
    public var bothAccept: Int
    /// First accepted, second rejected.
    public var onlyFirstAccepts: Int
    /// First rejected, second accepted.
    public var onlySecondAccepts: Int
    /// Both rejected.
    public var bothReject: Int

    /// Candidates both decided.
    public var count: Int { bothAccept + onlyFirstAccepts + onlySecondAccepts + bothReject }
    /// Share of candidates with the same decision, in percent.
    public var percentAgreement: Double { count == 0 ? .nan : 100 * Double(bothAccept + bothReject) / Double(count) }
    /// The first annotator's success-rate estimate (accepted / decided) on the shared candidates.
    public var firstRate: Double { count == 0 ? .nan : Double(bothAccept + onlyFirstAccepts) / Double(count) }
    /// The second annotator's success-rate estimate on the shared candidates.
    public var secondRate: Double { count == 0 ? .nan : Double(bothAccept + onlySecondAccepts) / Double(count) }
    /// `firstRate - secondRate` (in the paper, discriminator minus human is within a few points).
    public var rateGap: Double { firstRate - secondRate }

    /// Cohen's kappa, `(po - pe) / (1 - pe)` with `po` the observed agreement and `pe` the agreement expected by
    /// chance from each annotator's accept rate; nil when undefined (`pe == 1`: both gave one and the same answer
    /// throughout, or nothing is shared).
    public var kappa: Double? {
        guard count > 0 else { return nil }
        let n = Double(count)
        let po = Double(bothAccept + bothReject) / n
        let a = firstRate, b = secondRate
        let pe = a * b + (1 - a) * (1 - b)
        return pe >= 1 ? nil : (po - pe) / (1 - pe)
    }

    public var description: String {
        let k = kappa.map { String(format: "%.3f", $0) } ?? "undefined"
        return "n=\(count) agreement \(String(format: "%.1f", percentAgreement))% kappa \(k) rates \(String(format: "%.3f", firstRate)) vs \(String(format: "%.3f", secondRate))"
    }
}

/// Percent agreement, Cohen's kappa and success-rate gap between two annotators. The language's `agreement`.
public enum Agreement {
    /// Compares two sets of accept/reject decisions keyed by candidate; only candidates in both count.
    public static func compare(_ first: [Int64: Bool], _ second: [Int64: Bool]) -> AgreementReport {
        var report = AgreementReport(bothAccept: 0, onlyFirstAccepts: 0, onlySecondAccepts: 0, bothReject: 0)
        for (id, a) in first {
            guard let b = second[id] else { continue }
            switch (a, b) {
            case (true, true): report.bothAccept += 1
            case (true, false): report.onlyFirstAccepts += 1
            case (false, true): report.onlySecondAccepts += 1
            case (false, false): report.bothReject += 1
            }
        }
        return report
    }

    /// Compares two equally long lists of decisions, item by item.
    public static func compare(decisions first: [Bool], _ second: [Bool]) throws -> AgreementReport {
        guard first.count == second.count else {
            throw CurationError.invalidArgument("agreement needs two lists of the same length, got \(first.count) and \(second.count)")
        }
        var a: [Int64: Bool] = [:], b: [Int64: Bool] = [:]
        for i in 0..<first.count { a[Int64(i)] = first[i]; b[Int64(i)] = second[i] }
        return compare(a, b)
    }

    /// The area under the ROC curve of `scores` against `accepts`: the chance that a random accepted item scores
    /// above a random rejected one, ties counting half (Mann-Whitney, by ranks, O(n log n)). 0.5 is a judge that
    /// cannot tell them apart, 1 a perfect one. Nil when either class is empty or a score is not finite.
    public static func auc(scores: [Double], accepts: [Bool]) throws -> Double? {
        guard scores.count == accepts.count else {
            throw CurationError.invalidArgument("auc needs as many scores as decisions, got \(scores.count) and \(accepts.count)")
        }
        let positives = accepts.filter { $0 }.count, negatives = accepts.count - positives
        guard positives > 0, negatives > 0, scores.allSatisfy(\.isFinite) else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1           // mean rank of the tied run i...j (1-based)
            for k in i...j where accepts[order[k]] { rankSum += rank }
            i = j + 1
        }
        let p = Double(positives), n = Double(negatives)
        return (rankSum - p * (p + 1) / 2) / (p * n)
    }
}

extension Store {
    /// Agreement between annotators `first` and `second` (matched by kind and name) on the candidates both decided,
    /// optionally only in round `round`. Throws when they share no decided candidate.
    public func agreement(_ first: Annotator, _ second: Annotator, round: Int? = nil) throws -> AgreementReport {
        func decisions(_ annotator: Annotator) throws -> [Int64: Bool] {
            var out: [Int64: Bool] = [:]
            for label in try labels(by: annotator, round: round) { if let accept = label.accept { out[label.candidateID] = accept } }
            return out
        }
        let report = Agreement.compare(try decisions(first), try decisions(second))
        if report.count == 0 {
            throw CurationError.notFound(what: "a candidate decided by both \(first) and \(second)\(round.map { " in round \($0)" } ?? "")")
        }
        return report
    }
}
