import Support
import GRDB

/// The order in which a review session presents its candidates.
public enum ReviewOrder: Sendable, Equatable, CustomStringConvertible {
    /// As given.
    case given
    /// Shuffled by `seed`.
    case random(seed: UInt64)
    /// Most uncertain first by discriminator `name`'s score: smallest `max(p, 1 - p)`, i.e. scores nearest 0.5.
    case leastConfident(discriminator: String)
    /// Smallest margin first: scores nearest the discriminator's decision `threshold` (RORem's 0.9), the items whose
    /// automatic label is most likely to flip.
    case margin(discriminator: String, threshold: Double)

    public var description: String {
        switch self {
        case .given: return "given"
        case let .random(seed): return "random(\(seed))"
        case let .leastConfident(name): return "least-confident(\(name))"
        case let .margin(name, t): return "margin(\(name)@\(t))"
        }
    }
}

/// A reviewer's decision on one candidate.
public enum ReviewDecision: String, Sendable, CaseIterable {
    /// The object is gone and the fill is clean.
    case accept
    /// Not good enough.
    case reject
    /// Pass without a label.
    case skip
}

/// How far a review session has come.
public struct ReviewProgress: Sendable, Equatable, CustomStringConvertible {
    /// Decisions made (accept, reject or skip).
    public var done: Int
    /// Candidates in the session.
    public var total: Int
    /// Accepted so far.
    public var accepted: Int
    /// Rejected so far.
    public var rejected: Int
    /// Skipped so far.
    public var skipped: Int
    /// Accepted over decided (accept + reject); nil before the first.
    public var acceptRate: Double? { accepted + rejected == 0 ? nil : Double(accepted) / Double(accepted + rejected) }
    /// Candidates left.
    public var remaining: Int { total - done }

    public var description: String {
        let rate = acceptRate.map { " accept rate \(Int(($0 * 100).rounded()))%" } ?? ""
        return "\(done)/\(total) (\(accepted) accepted, \(rejected) rejected, \(skipped) skipped)\(rate)"
    }
}

/// A person's pass over a list of candidates: one decision at a time, each committed before `decide` returns,
/// with undo, and resumable by name from a later process (the order is stored with the session).
///
/// Accept and reject write the person's label (``Store/label(_:by:accept:score:note:)``); skip writes none.
/// Undo removes the last decision and the label it wrote, restoring the label it replaced, if any.
public final class ReviewSession {
    /// The store it writes to.
    public let store: Store
    /// The session's row id.
    public let id: Int64
    /// Its unique name.
    public let name: String
    /// The person reviewing.
    public let annotator: Annotator
    /// The candidate ids in review order.
    public let items: [Int64]
    /// The index in `items` of the next candidate to decide (== `items.count` when finished).
    public private(set) var position: Int
    /// Counts so far.
    public private(set) var progress: ReviewProgress

    init(store: Store, id: Int64, name: String, annotator: Annotator, items: [Int64], position: Int, progress: ReviewProgress) {
        self.store = store
        self.id = id
        self.name = name
        self.annotator = annotator
        self.items = items
        self.position = position
        self.progress = progress
    }

    /// The id of the candidate to decide next, or nil when the session is finished.
    public var current: Int64? { position < items.count ? items[position] : nil }

    /// Whether every candidate has a decision.
    public var isFinished: Bool { position >= items.count }

    /// The candidate to decide next, with its images, or nil when finished.
    public func currentCandidate() throws -> Candidate? {
        guard let id = current else { return nil }
        return try store.candidate(id)
    }

    /// Records `decision` on the current candidate and moves on. Committed before it returns.
    public func decide(_ decision: ReviewDecision, note: String = "") throws {
        guard let candidate = current else {
            throw CurationError.conflict("review '\(name)' is finished (\(items.count) of \(items.count)); nothing left to decide")
        }
        let position = self.position, annotator = self.annotator, sessionID = id
        try store.db.write { db in
            var labelID: Int64?
            var previous: Row?
            if decision != .skip {
                // The label this decision replaces (from an earlier session or a CSV), kept so that undo restores it.
                previous = try Row.fetchOne(db, sql: "SELECT accept, score, note, created_at FROM label WHERE candidate_id = ? AND annotator_kind = ? AND annotator_name = ?",
                                            arguments: [candidate, annotator.kind.rawValue, annotator.name])
                labelID = try Store.upsertLabel(db, LabelInput(candidateID: candidate, accept: decision == .accept, note: note),
                                                by: annotator, at: Store.now())
            }
            let prevAccept: Bool? = previous?["accept"], prevScore: Double? = previous?["score"]
            let prevNote: String? = previous?["note"], prevTime: Double? = previous?["created_at"]
            try db.execute(sql: """
                INSERT INTO review_event (session_id, position, candidate_id, action, label_id, prev_accept, prev_score, prev_note, prev_created_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [sessionID, position, candidate, decision.rawValue, labelID, prevAccept, prevScore, prevNote, prevTime, Store.now()])
        }
        self.position += 1
        progress.done += 1
        switch decision {
        case .accept: progress.accepted += 1
        case .reject: progress.rejected += 1
        case .skip: progress.skipped += 1
        }
    }

    /// Takes back the last decision (its label is removed, or the label it replaced restored); returns the candidate
    /// id that is current again,
    /// or nil when there was nothing to undo.
    @discardableResult
    public func undo() throws -> Int64? {
        guard position > 0 else { return nil }
        let sessionID = id
        let action: String? = try store.db.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM review_event WHERE session_id = ? ORDER BY position DESC LIMIT 1",
                                             arguments: [sessionID]) else { return nil }
            let labelID: Int64? = row["label_id"]
            if let labelID {
                if let prevTime: Double = row["prev_created_at"] {
                    try db.execute(sql: "UPDATE label SET accept = ?, score = ?, note = ?, created_at = ? WHERE id = ?",
                                   arguments: [row["prev_accept"] as Bool?, row["prev_score"] as Double?, row["prev_note"] as String? ?? "", prevTime, labelID])
                } else {
                    try db.execute(sql: "DELETE FROM label WHERE id = ?", arguments: [labelID])
                }
            }
            try db.execute(sql: "DELETE FROM review_event WHERE id = ?", arguments: [row["id"] as Int64])
            return row["action"]
        }
        guard let action else { return nil }
        position -= 1
        progress.done -= 1
        switch ReviewDecision(rawValue: action) {
        case .accept: progress.accepted -= 1
        case .reject: progress.rejected -= 1
        case .skip, nil: progress.skipped -= 1
        }
        return current
    }

    /// The decisions made so far, in order: (candidate id, decision).
    public func decisions() throws -> [(candidate: Int64, decision: ReviewDecision)] {
        try store.db.read { db in
            try Row.fetchAll(db, sql: "SELECT candidate_id, action FROM review_event WHERE session_id = ? ORDER BY position", arguments: [id]).map { row in
                (row["candidate_id"], ReviewDecision(rawValue: row["action"]) ?? .skip)
            }
        }
    }
}

extension Store {
    /// Opens review session `name` for person `annotator`. A new session stores `candidates` in `order`; an
    /// existing one resumes where it stopped with its stored order (then `candidates` and `order` are ignored).
    /// Candidates without a score from the ordering discriminator go last, in the given order.
    public func openReview(name: String, annotator: String, candidates: [Int64], order: ReviewOrder = .given) throws -> ReviewSession {
        if let resumed = try resumeReview(name: name) {
            guard resumed.annotator.name == annotator else {
                throw CurationError.conflict("review '\(name)' belongs to '\(resumed.annotator.name)', not '\(annotator)'; choose another session name")
            }
            return resumed
        }
        let ordered = try orderCandidates(candidates, by: order)
        let id: Int64 = try db.write { db in
            try db.execute(sql: "INSERT INTO review_session (name, annotator, ordering, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, annotator, order.description, Store.now()])
            let id = db.lastInsertedRowID
            for (k, candidate) in ordered.enumerated() {
                do {
                    try db.execute(sql: "INSERT INTO review_item (session_id, position, candidate_id) VALUES (?, ?, ?)", arguments: [id, k, candidate])
                } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
                    throw CurationError.notFound(what: "candidate #\(candidate) (review '\(name)')")
                }
            }
            return id
        }
        return ReviewSession(store: self, id: id, name: name, annotator: .person(annotator), items: ordered, position: 0,
                             progress: ReviewProgress(done: 0, total: ordered.count, accepted: 0, rejected: 0, skipped: 0))
    }

    /// Reopens stored review session `name` where it stopped, or returns nil when there is none.
    public func resumeReview(name: String) throws -> ReviewSession? {
        try db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT id, annotator FROM review_session WHERE name = ?", arguments: [name]) else { return nil }
            let id: Int64 = row["id"]
            let items = try Int64.fetchAll(db, sql: "SELECT candidate_id FROM review_item WHERE session_id = ? ORDER BY position", arguments: [id])
            var progress = ReviewProgress(done: 0, total: items.count, accepted: 0, rejected: 0, skipped: 0)
            for action in try String.fetchAll(db, sql: "SELECT action FROM review_event WHERE session_id = ?", arguments: [id]) {
                progress.done += 1
                switch ReviewDecision(rawValue: action) {
                case .accept: progress.accepted += 1
                case .reject: progress.rejected += 1
                case .skip, nil: progress.skipped += 1
                }
            }
            return ReviewSession(store: self, id: id, name: name, annotator: .person(row["annotator"]), items: items,
                                 position: progress.done, progress: progress)
        }
    }

    /// The names of all review sessions, oldest first, with their reviewer and progress.
    public func reviewSessions() throws -> [(name: String, annotator: String, progress: ReviewProgress)] {
        let names = try db.read { db in try String.fetchAll(db, sql: "SELECT name FROM review_session ORDER BY id") }
        return try names.compactMap { name in
            try resumeReview(name: name).map { (name, $0.annotator.name, $0.progress) }
        }
    }

    /// `candidates` in review `order` (see ``ReviewOrder``); ties keep the given order.
    public func orderCandidates(_ candidates: [Int64], by order: ReviewOrder) throws -> [Int64] {
        switch order {
        case .given:
            return candidates
        case let .random(seed):
            var rng = SeededRandom(seed: seed)
            return rng.permutation(candidates.count).map { candidates[$0] }
        case let .leastConfident(name):
            return try sortByScore(candidates, discriminator: name) { p in max(p, 1 - p) }
        case let .margin(name, threshold):
            return try sortByScore(candidates, discriminator: name) { p in abs(p - threshold) }
        }
    }

    private func sortByScore(_ candidates: [Int64], discriminator: String, key: (Double) -> Double) throws -> [Int64] {
        let scores: [Int64: Double] = try db.read { db in
            var out: [Int64: Double] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT candidate_id, score FROM label WHERE annotator_kind = 'discriminator' AND annotator_name = ? AND score IS NOT NULL",
                                           arguments: [discriminator])
            while let row = try rows.next() { out[row["candidate_id"]] = row["score"] }
            return out
        }
        let keyed = candidates.enumerated().map { (index: $0.offset, id: $0.element, key: scores[$0.element].map(key)) }
        return keyed.sorted { a, b in
            switch (a.key, b.key) {
            case let (x?, y?): return x != y ? x < y : a.index < b.index
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.index < b.index
            }
        }.map(\.id)
    }
}
