import Curation
import Foundation
import Imaging
import Lang

/// A `Dataset` as a language value: `<dataset synth-s0 600 pairs>`; fields `name`, `len`, `paired` (pairs with
/// ground truth); iterable (`for p in ds`) and indexable (`ds[3]`, a ``PairValue``).
public struct DatasetValue: LangObject {
    /// The wrapped dataset.
    public let dataset: Dataset
    /// Wraps `dataset`.
    public init(_ dataset: Dataset) { self.dataset = dataset }
    public var typeName: String { "dataset" }
    public var summary: String { "<dataset \(dataset.name) \(dataset.count) pair\(dataset.count == 1 ? "" : "s")>" }
    public var fieldNames: [String] { ["name", "len", "paired"] }
    public func field(_ name: String) -> Value? {
        switch name {
        case "name": return .string(dataset.name)
        case "len": return .number(Double(dataset.count))
        case "paired": return .number(Double(dataset.pairedCount))
        default: return nil
        }
    }
    public func iterate() -> [Value]? { dataset.pairs.map { .object(PairValue($0)) } }
    public var count: Int? { dataset.count }
    /// `ds + other` for another dataset (`concat`), nil for anything else. Ready for a `LangObject` requirement
    /// `adding(_:)` that the interpreter's `+` would consult for objects.
    public func adding(_ other: any LangObject) -> Value? {
        guard let o = other as? DatasetValue else { return nil }
        return .object(DatasetValue(dataset + o.dataset))
    }
    /// Equal when the names and every pair (name and pixels' origin) are the same.
    public func isEqual(to other: any LangObject) -> Bool {
        guard let o = other as? DatasetValue, o.dataset.name == dataset.name, o.dataset.count == dataset.count else { return false }
        return zip(dataset.pairs, o.dataset.pairs).allSatisfy { PairValue.same($0, $1) }
    }
}

/// One `Pair` as a language value: `<pair synth-000003>`; fields `name`, `source`, `mask`, `target` (nil without
/// ground truth) and `score`. Images load when the field is read; a file that cannot be read gives nil (use
/// `load(...)` on the file to see why).
public struct PairValue: LangObject {
    /// The wrapped pair.
    public let pair: Pair
    /// Wraps `pair`.
    public init(_ pair: Pair) { self.pair = pair }
    public var typeName: String { "pair" }
    public var summary: String { "<pair \(pair.name)\(pair.target == nil ? "" : " with target")>" }
    public var fieldNames: [String] { ["name", "source", "mask", "target", "score"] }
    public func field(_ name: String) -> Value? {
        switch name {
        case "name": return .string(pair.name)
        case "source": return (try? pair.loadSource()).map { .object(ImageValue($0)) } ?? .nil
        case "mask": return (try? pair.loadMask()).map { .object(MaskValue($0)) } ?? .nil
        case "target": return (try? pair.loadTarget()).flatMap { $0 }.map { .object(ImageValue($0)) } ?? .nil
        case "score": return pair.score.map { .number($0) } ?? .nil
        default: return nil
        }
    }
    public func isEqual(to other: any LangObject) -> Bool {
        guard let o = other as? PairValue else { return false }
        return PairValue.same(pair, o.pair)
    }

    /// Whether two pairs have the same name, score and pixel origins (same image, file or stored hash).
    static func same(_ a: Pair, _ b: Pair) -> Bool {
        a.name == b.name && a.score == b.score && same(a.source, b.source) && same(a.mask, b.mask)
            && ((a.target == nil && b.target == nil) || (a.target.map { t in b.target.map { same(t, $0) } ?? false } ?? false))
    }

    static func same(_ a: PixelSource, _ b: PixelSource) -> Bool {
        switch (a, b) {
        case let (.image(x), .image(y)): return x == y
        case let (.mask(x), .mask(y)): return x == y
        case let (.file(x), .file(y)): return x == y
        case let (.blob(x, _), .blob(y, _)): return x == y
        default: return false
        }
    }
}

/// An experiment store as a language value: `<store runs/r1 3 datasets 120 candidates>`; fields `path`,
/// `datasets` (names), `candidates`, `labels` (counts) and `reviews` (session names).
public final class StoreValue: LangObject {
    /// The wrapped store.
    public let store: Store
    /// Wraps `store`.
    public init(_ store: Store) { self.store = store }
    public var typeName: String { "store" }
    public var summary: String {
        let datasets = (try? store.datasetNames().count) ?? 0, candidates = (try? store.count("candidate")) ?? 0
        return "<store \(store.path) \(datasets) dataset\(datasets == 1 ? "" : "s") \(candidates) candidate\(candidates == 1 ? "" : "s")>"
    }
    public var fieldNames: [String] { ["path", "datasets", "candidates", "labels", "reviews"] }
    public func field(_ name: String) -> Value? {
        switch name {
        case "path": return .string(store.path)
        case "datasets": return .list(((try? store.datasetNames()) ?? []).map { .string($0) })
        case "candidates": return .number(Double((try? store.count("candidate")) ?? 0))
        case "labels": return .number(Double((try? store.count("label")) ?? 0))
        case "reviews": return .list(((try? store.reviewSessions()) ?? []).map { .string($0.name) })
        default: return nil
        }
    }
}

/// A list of candidates (model results with lineage) from one store: `<candidates 40 round 1>`; fields `len`,
/// `ids`, `round` (nil when mixed), `models`; iterable and indexable (each a ``CandidateValue``).
public struct CandidatesValue: LangObject {
    /// The store the candidates live in.
    public let store: Store
    /// The candidates, in order.
    public let candidates: [Candidate]
    /// Wraps `candidates` of `store`.
    public init(store: Store, candidates: [Candidate]) {
        self.store = store
        self.candidates = candidates
    }
    /// The round all candidates share, or nil.
    var round: Int? {
        let rounds = Set(candidates.map { $0.round ?? -1 })
        guard rounds.count == 1, let r = rounds.first, r >= 0 else { return nil }
        return r
    }
    public var typeName: String { "candidates" }
    public var summary: String { "<candidates \(candidates.count)\(round.map { " round \($0)" } ?? "")>" }
    public var fieldNames: [String] { ["len", "ids", "round", "models"] }
    public func field(_ name: String) -> Value? {
        switch name {
        case "len": return .number(Double(candidates.count))
        case "ids": return .list(candidates.map { .number(Double($0.id)) })
        case "round": return round.map { .number(Double($0)) } ?? .nil
        case "models":
            var seen: [String] = []
            for c in candidates where !seen.contains(c.model) { seen.append(c.model) }
            return .list(seen.map { .string($0) })
        default: return nil
        }
    }
    public func iterate() -> [Value]? { candidates.map { .object(CandidateValue($0)) } }
    public var count: Int? { candidates.count }
}

/// One candidate: `<candidate #12 telea round 1 synth-000003>`; fields `id`, `pair`, `dataset`, `model`, `round`,
/// and the images `source`, `mask`, `target` (nil without ground truth), `result`, loaded when read.
public struct CandidateValue: LangObject {
    /// The wrapped candidate.
    public let candidate: Candidate
    /// Wraps `candidate`.
    public init(_ candidate: Candidate) { self.candidate = candidate }
    public var typeName: String { "candidate" }
    public var summary: String {
        "<candidate #\(candidate.id) \(candidate.model)\(candidate.round.map { " round \($0)" } ?? "") \(candidate.pairName)>"
    }
    public var fieldNames: [String] { ["id", "pair", "dataset", "model", "round", "source", "mask", "target", "result"] }
    public func field(_ name: String) -> Value? {
        let c = candidate
        switch name {
        case "id": return .number(Double(c.id))
        case "pair": return .string(c.pairName)
        case "dataset": return .string(c.dataset)
        case "model": return .string(c.model)
        case "round": return c.round.map { .number(Double($0)) } ?? .nil
        case "source": return (try? c.source.loadImage()).map { .object(ImageValue($0)) } ?? .nil
        case "mask": return (try? c.mask.loadMask()).map { .object(MaskValue($0)) } ?? .nil
        case "target": return (try? c.target?.loadImage()).flatMap { $0 }.map { .object(ImageValue($0)) } ?? .nil
        case "result": return (try? c.result.loadImage()).map { .object(ImageValue($0)) } ?? .nil
        default: return nil
        }
    }
    public func isEqual(to other: any LangObject) -> Bool { (other as? CandidateValue)?.candidate.id == candidate.id }
}

/// Agreement between two annotators: `<agreement n 40 87.5% kappa 0.71 gap -2.5 points>`; fields `n`,
/// `percent`, `kappa` (nil when undefined), `first_rate`, `second_rate`, `gap` (first minus second, in
/// percentage points) and `table` (`{both_accept, only_first, only_second, both_reject}`).
public struct AgreementValue: LangObject {
    /// The wrapped report.
    public let report: AgreementReport
    /// Wraps `report`.
    public init(_ report: AgreementReport) { self.report = report }
    public var typeName: String { "agreement" }
    public var summary: String {
        let r = report
        let kappa = r.kappa.map { String(format: "%.2f", $0) } ?? "undefined"
        return "<agreement n \(r.count) \(String(format: "%.1f", r.percentAgreement))% kappa \(kappa) gap \(String(format: "%+.1f", 100 * r.rateGap)) points>"
    }
    public var fieldNames: [String] { ["n", "percent", "kappa", "first_rate", "second_rate", "gap", "table"] }
    public func field(_ name: String) -> Value? {
        let r = report
        switch name {
        case "n": return .number(Double(r.count))
        case "percent": return .number(r.percentAgreement)
        case "kappa": return r.kappa.map { .number($0) } ?? .nil
        case "first_rate": return .number(r.firstRate)
        case "second_rate": return .number(r.secondRate)
        case "gap": return .number(100 * r.rateGap)
        case "table":
            return .record(Record([("both_accept", .number(Double(r.bothAccept))), ("only_first", .number(Double(r.onlyFirstAccepts))),
                                   ("only_second", .number(Double(r.onlySecondAccepts))), ("both_reject", .number(Double(r.bothReject)))]))
        default: return nil
        }
    }
    public func isEqual(to other: any LangObject) -> Bool { (other as? AgreementValue)?.report == report }
}

/// A review session's progress: `<review alice-r1 12/40 accepted 7 (58%)>`; fields `name`, `by`, `done`,
/// `total`, `remaining`, `accepted`, `rejected`, `skipped`, `accept_rate` (nil before the first decision).
public struct ReviewValue: LangObject {
    /// The session's name.
    public let name: String
    /// The reviewer.
    public let reviewer: String
    /// Its progress when the value was made.
    public let progress: ReviewProgress
    /// A value for session `name` by `reviewer` at `progress`.
    public init(name: String, reviewer: String, progress: ReviewProgress) {
        self.name = name
        self.reviewer = reviewer
        self.progress = progress
    }
    public var typeName: String { "review" }
    public var summary: String { "<review \(name) \(ReviewStatus.counts(progress))>" }
    public var fieldNames: [String] { ["name", "by", "done", "total", "remaining", "accepted", "rejected", "skipped", "accept_rate"] }
    public func field(_ field: String) -> Value? {
        let p = progress
        switch field {
        case "name": return .string(name)
        case "by": return .string(reviewer)
        case "done": return .number(Double(p.done))
        case "total": return .number(Double(p.total))
        case "remaining": return .number(Double(p.remaining))
        case "accepted": return .number(Double(p.accepted))
        case "rejected": return .number(Double(p.rejected))
        case "skipped": return .number(Double(p.skipped))
        case "accept_rate": return p.acceptRate.map { .number($0) } ?? .nil
        default: return nil
        }
    }
}

/// The text of the review status line.
enum ReviewStatus {
    /// `12/40  accepted 7 (58%)`.
    static func counts(_ p: ReviewProgress) -> String {
        let rate = p.acceptRate.map { " (\(Int(($0 * 100).rounded()))%)" } ?? ""
        return "\(p.done)/\(p.total)  accepted \(p.accepted)\(rate)"
    }

    /// `12/40  accepted 7 (58%)  [a]ccept [r]eject [s]kip [u]ndo [q]uit`.
    static func line(_ p: ReviewProgress) -> String {
        counts(p) + "  [a]ccept [r]eject [s]kip [u]ndo [q]uit"
    }
}
