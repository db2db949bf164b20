import Curation
import Foundation
import Imaging

/// The browser review's workflow, without HTTP: one store's candidates served to any number of named reviewers,
/// each with their own ``ReviewSession`` (the terminal review's, by the same name, so either resumes the other).
///
/// Every change is checked against the state the reviewer's page last saw (`position`, `candidate`), so a stale
/// or replayed request changes nothing; each decision is committed in its own transaction by ``ReviewSession``
/// before the call returns. Safe to call from many threads: calls are serialised.
public final class ReviewDesk: @unchecked Sendable {
    /// The most decisions listed in a ``ReviewState`` (newest first).
    public static let recentLimit = 100

    /// The store reviewed.
    public let store: Store
    /// The candidate ids served, in the given order (each session stores them in ``order``).
    public let candidateIDs: [Int64]
    /// The order of every reviewer's queue.
    public let order: ReviewOrder
    /// The discriminator whose scores the page shows, if any.
    public let scoreName: String?

    private struct Entry {
        var pair: String, dataset: String, model: String, round: Int?
        var source: String, mask: String, result: String
    }
    private let entries: [Int64: Entry]
    private let scores: [Int64: Double]
    /// Every image hash the page may fetch: the served candidates' sources, masks and results.
    private let servedHashes: Set<String>
    private let lock = NSLock()
    private var sessions: [String: ReviewSession] = [:]
    private var maskGeometry: [String: (width: Int, height: Int, box: Box?)] = [:]
    /// Decisions (accept true / reject false) on served candidates, by annotator, for the agreement panel.
    private var decisions: [Annotator: [Int64: Bool]] = [:]
    private var annotatorOrder: [Annotator] = []

    /// A desk serving `candidates` of `store` in `order`. `discriminator` names the scores to show (by default
    /// the one that orders the queue, if any).
    public init(store: Store, candidates: [Candidate], order: ReviewOrder = .given, discriminator: String? = nil) throws {
        guard !candidates.isEmpty else { throw ReviewWebError.badRequest("no candidates to review in the store at '\(store.path)'") }
        self.store = store
        self.order = order
        var ids: [Int64] = [], entries: [Int64: Entry] = [:], hashes: Set<String> = []
        for c in candidates where entries[c.id] == nil {
            guard let s = c.source.hash, let m = c.mask.hash, let r = c.result.hash else {
                throw ReviewWebError.badRequest("candidate #\(c.id) is not stored as content-addressed images")
            }
            ids.append(c.id)
            entries[c.id] = Entry(pair: c.pairName, dataset: c.dataset, model: c.model, round: c.round, source: s, mask: m, result: r)
            hashes.formUnion([s, m, r])
        }
        candidateIDs = ids
        self.entries = entries
        servedHashes = hashes
        switch order {
        case let .leastConfident(name), let .margin(name, _): scoreName = discriminator ?? name
        default: scoreName = discriminator
        }
        var scores: [Int64: Double] = [:]
        if let name = scoreName {
            for label in try store.labels(by: Annotator(kind: .discriminator, name: name)) {
                if let s = label.score, entries[label.candidateID] != nil { scores[label.candidateID] = s }
            }
        }
        self.scores = scores
        let rounds = Set(candidates.map { $0.round ?? -1 })
        let round = rounds.count == 1 ? candidates.first?.round : nil
        for label in try store.labels(round: round) {
            guard let accept = label.accept, entries[label.candidateID] != nil else { continue }
            let who = Annotator(kind: label.annotator.kind, name: label.annotator.name)
            if decisions[who] == nil { annotatorOrder.append(who) }
            decisions[who, default: [:]][label.candidateID] = accept
        }
    }

    /// Whether `hash` names one of the served images (the only files the server reads).
    public func serves(image hash: String) -> Bool { servedHashes.contains(hash) }

    /// Where the served image `hash` lives, or nil when it is not served.
    public func imagePath(_ hash: String) -> String? { serves(image: hash) ? store.blobs.path(for: hash) : nil }

    /// The state of `reviewer`'s session (opened, or resumed, on first use); `at` revisits an earlier decision.
    public func state(for reviewer: String, at: Int? = nil) throws -> ReviewState {
        try locked {
            let session = try session(reviewer)
            return try makeState(session, at: at)
        }
    }

    /// Records `decision` on the candidate at `position`, which must be `reviewer`'s current one (`candidate`).
    public func decide(_ decision: ReviewDecision, reviewer: String, position: Int, candidate: Int64) throws -> ReviewState {
        try locked {
            let session = try session(reviewer)
            guard !session.isFinished else { throw ReviewWebError.conflict("\(reviewer)'s review is finished; nothing left to decide") }
            guard position == session.position, session.current == candidate else {
                throw ReviewWebError.conflict("stale page: \(reviewer) is at position \(session.position) (candidate #\(session.current ?? -1)), not \(position) (#\(candidate)); nothing changed")
            }
            try session.decide(decision)
            try refreshDecisions(of: reviewer, candidate: candidate)
            return try makeState(session, at: nil)
        }
    }

    /// Takes back `reviewer`'s last decision; `position` must be their current position (what the page saw).
    public func undo(reviewer: String, position: Int) throws -> ReviewState {
        try locked {
            let session = try session(reviewer)
            guard position == session.position else {
                throw ReviewWebError.conflict("stale page: \(reviewer) is at position \(session.position), not \(position); nothing changed")
            }
            guard position > 0 else { throw ReviewWebError.conflict("\(reviewer) has no decision to undo") }
            let candidate = session.items[position - 1]
            try session.undo()
            try refreshDecisions(of: reviewer, candidate: candidate)
            return try makeState(session, at: nil)
        }
    }

    /// Changes `reviewer`'s earlier decision at `position` (on `candidate`) to `decision`.
    public func revise(_ decision: ReviewDecision, reviewer: String, position: Int, candidate: Int64) throws -> ReviewState {
        try locked {
            let session = try session(reviewer)
            guard position >= 0, position < session.position, session.items[position] == candidate else {
                throw ReviewWebError.conflict("stale page: \(reviewer) has no decision on candidate #\(candidate) at position \(position); nothing changed")
            }
            try session.revise(position: position, to: decision)
            try refreshDecisions(of: reviewer, candidate: candidate)
            return try makeState(session, at: nil)
        }
    }

    /// The reviewers seen so far with their session names and progress, in order of first visit.
    public func reviews() -> [(reviewer: String, session: String, progress: ReviewProgress)] {
        locked {
            sessions.values.sorted { $0.id < $1.id }.map { ($0.annotator.name, $0.name, $0.progress) }
        }
    }

    /// Agreement between the people so far, and between each person and the oracle and discriminators, on the
    /// served candidates both decided (pairs with nothing in common are left out).
    public func agreement() -> [AgreementEntry] {
        locked { makeAgreement() }
    }

    // MARK: Internals (called with the lock held)

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func session(_ raw: String) throws -> ReviewSession {
        let reviewer = try ReviewerName.validated(raw)
        if let open = sessions[reviewer] { return open }
        let name = ReviewSession.defaultName(reviewer: reviewer, order: order, ids: candidateIDs)
        let session = try store.openReview(name: name, annotator: reviewer, candidates: candidateIDs, order: order)
        sessions[reviewer] = session
        return session
    }

    private func refreshDecisions(of reviewer: String, candidate: Int64) throws {
        let who = Annotator.person(reviewer)
        let label = try store.labels(by: who).last { $0.candidateID == candidate }
        if decisions[who] == nil { annotatorOrder.append(who) }
        decisions[who, default: [:]][candidate] = label?.accept
    }

    private func makeState(_ session: ReviewSession, at: Int?) throws -> ReviewState {
        let made = try session.decisions()
        var item: ReviewItem?
        var revisiting = false
        if let at, at != session.position {
            guard at >= 0, at < made.count else {
                throw ReviewWebError.badRequest("position \(at) has no decision to revisit (decided: 0..<\(made.count))")
            }
            item = try makeItem(position: at, candidate: made[at].candidate, decision: made[at].decision.rawValue)
            revisiting = true
        } else if let current = session.current {
            item = try makeItem(position: session.position, candidate: current, decision: nil)
        }
        let recent = made.enumerated().suffix(ReviewDesk.recentLimit).reversed().map { k, d in
            DecisionEntry(position: k, candidate: d.candidate, pair: entries[d.candidate]?.pair ?? "#\(d.candidate)", decision: d.decision.rawValue)
        }
        var upcoming: [String] = []
        if !revisiting, session.position + 1 < session.items.count, let next = entries[session.items[session.position + 1]] {
            upcoming = [next.source, next.mask, next.result]
        }
        let p = session.progress
        return ReviewState(reviewer: session.annotator.name, session: session.name, order: order.description,
                           position: session.position, total: p.total, done: p.done, accepted: p.accepted,
                           rejected: p.rejected, skipped: p.skipped, acceptRate: p.acceptRate, finished: session.isFinished,
                           item: item, revisiting: revisiting, upcoming: upcoming, scoreName: scoreName, decisions: Array(recent),
                           agreement: makeAgreement())
    }

    private func makeItem(position: Int, candidate: Int64, decision: String?) throws -> ReviewItem {
        guard let e = entries[candidate] else { throw ReviewWebError.notFound("candidate #\(candidate) is not served") }
        let geometry = try geometry(ofMask: e.mask)
        return ReviewItem(position: position, candidate: candidate, pair: e.pair, dataset: e.dataset, model: e.model,
                          round: e.round, source: e.source, mask: e.mask, result: e.result, width: geometry.width,
                          height: geometry.height, box: geometry.box, score: scores[candidate], decision: decision)
    }

    private func geometry(ofMask hash: String) throws -> (width: Int, height: Int, box: Box?) {
        if let known = maskGeometry[hash] { return known }
        let mask = try store.blobs.mask(hash)
        let box = mask.boundingBox().map { Box(x: $0.x, y: $0.y, width: $0.width, height: $0.height) }
        let geometry = (mask.width, mask.height, box)
        maskGeometry[hash] = geometry
        return geometry
    }

    private func makeAgreement() -> [AgreementEntry] {
        let people = annotatorOrder.filter { $0.kind == .person }
        let machines = annotatorOrder.filter { $0.kind != .person }
        var pairs: [(Annotator, Annotator)] = []
        for (i, a) in people.enumerated() { for b in people[(i + 1)...] { pairs.append((a, b)) } }
        for a in people { for m in machines { pairs.append((a, m)) } }
        return pairs.compactMap { a, b in
            let report = Agreement.compare(decisions[a] ?? [:], decisions[b] ?? [:])
            guard report.count > 0 else { return nil }
            return AgreementEntry(first: display(a), second: display(b), n: report.count,
                                  percent: report.percentAgreement, kappa: report.kappa)
        }
    }

    private func display(_ a: Annotator) -> String {
        switch a.kind {
        case .person: return a.name
        case .oracle: return a.name == "oracle" ? "oracle" : "oracle \(a.name)"
        case .discriminator: return "\(a.name) (discriminator)"
        }
    }
}
