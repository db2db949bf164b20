import GRDB

extension Store {
    /// Records (or replaces) `annotator`'s label on candidate `candidate`. A discriminator's decision, when not
    /// given, is `score >= threshold`. Each annotator has at most one label per candidate; the latest wins.
    /// - Returns: the label's row id.
    @discardableResult
    public func label(_ candidate: Int64, by annotator: Annotator, accept: Bool? = nil, score: Double? = nil, note: String = "") throws -> Int64 {
        try db.write { db in
            try Store.upsertLabel(db, LabelInput(candidateID: candidate, accept: accept, score: score, note: note), by: annotator, at: Store.now())
        }
    }

    /// Records many labels by one annotator in a single transaction (all or none).
    public func addLabels(_ labels: [LabelInput], by annotator: Annotator) throws {
        let time = Store.now()
        try db.write { db in
            for input in labels { try Store.upsertLabel(db, input, by: annotator, at: time, returningID: false) }
        }
    }

    /// Inserts or replaces one label; returns its row id (0 when `returningID` is false, which saves a query).
    @discardableResult
    static func upsertLabel(_ db: Database, _ input: LabelInput, by annotator: Annotator, at time: Double, returningID: Bool = true) throws -> Int64 {
        var accept = input.accept
        if accept == nil, annotator.kind == .discriminator, let s = input.score, let t = annotator.threshold { accept = s >= t }
        if let s = input.score, !s.isFinite {
            throw CurationError.invalidArgument("label score for candidate #\(input.candidateID) must be finite, got \(s)")
        }
        do {
            let insert = try db.cachedStatement(sql: """
                INSERT INTO label (candidate_id, annotator_kind, annotator_name, accept, score, threshold, note, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (candidate_id, annotator_kind, annotator_name) DO UPDATE SET
                  accept = excluded.accept, score = excluded.score, threshold = excluded.threshold,
                  note = excluded.note, created_at = excluded.created_at
                """)
            try insert.execute(arguments: [input.candidateID, annotator.kind.rawValue, annotator.name, accept, input.score,
                                           annotator.threshold, input.note, time])
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
            throw CurationError.notFound(what: "candidate #\(input.candidateID)")
        }
        if !returningID { return 0 }
        let select = try db.cachedStatement(sql: "SELECT id FROM label WHERE candidate_id = ? AND annotator_kind = ? AND annotator_name = ?")
        return try Int64.fetchOne(select, arguments: [input.candidateID, annotator.kind.rawValue, annotator.name]) ?? db.lastInsertedRowID
    }

    /// Removes `annotator`'s label on `candidate`, if any.
    public func removeLabel(_ candidate: Int64, by annotator: Annotator) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM label WHERE candidate_id = ? AND annotator_kind = ? AND annotator_name = ?",
                           arguments: [candidate, annotator.kind.rawValue, annotator.name])
        }
    }

    /// Labels, oldest first, optionally only `annotator`'s (matched by kind and name) and/or those on round `round`'s
    /// candidates.
    public func labels(by annotator: Annotator? = nil, round: Int? = nil) throws -> [Label] {
        var clauses: [String] = [], args: [DatabaseValueConvertible?] = []
        if let annotator {
            clauses.append("l.annotator_kind = ? AND l.annotator_name = ?")
            args += [annotator.kind.rawValue, annotator.name]
        }
        if let round { clauses.append("r.number = ?"); args.append(round) }
        let sql = """
            SELECT l.* FROM label l JOIN candidate c ON c.id = l.candidate_id LEFT JOIN round r ON r.id = c.round_id
            """ + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")) + " ORDER BY l.id"
        return try db.read { db in
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
            var out: [Label] = []
            while let row = try cursor.next() {
                let kindText: String = row["annotator_kind"]
                let kind = AnnotatorKind(rawValue: kindText) ?? .person
                out.append(Label(id: row["id"], candidateID: row["candidate_id"],
                                 annotator: Annotator(kind: kind, name: row["annotator_name"], threshold: row["threshold"]),
                                 accept: row["accept"], score: row["score"], note: row["note"], createdAt: row["created_at"]))
            }
            return out
        }
    }

    /// Those of `candidates` (ids, order kept) that `annotator` has not decided yet: what is left to review.
    public func undecided(_ candidates: [Int64], by annotator: Annotator) throws -> [Int64] {
        let decided = try db.read { db in
            try Set(Int64.fetchAll(db, sql: "SELECT candidate_id FROM label WHERE annotator_kind = ? AND annotator_name = ? AND accept IS NOT NULL",
                                   arguments: [annotator.kind.rawValue, annotator.name]))
        }
        return candidates.filter { !decided.contains($0) }
    }

    /// The annotators that have labelled anything, in order of first label.
    public func annotators() throws -> [Annotator] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT annotator_kind, annotator_name, MAX(threshold) AS threshold FROM label
                GROUP BY annotator_kind, annotator_name ORDER BY MIN(id)
                """).map { row in
                let kindText: String = row["annotator_kind"]
                return Annotator(kind: AnnotatorKind(rawValue: kindText) ?? .person, name: row["annotator_name"], threshold: row["threshold"])
            }
        }
    }

    /// The candidates `annotator` accepted, optionally only in round `round`; the language's `accepted`.
    public func accepted(by annotator: Annotator, round: Int? = nil) throws -> [Candidate] {
        var sql = Store.candidateSelect + """
             JOIN label l ON l.candidate_id = c.id
            WHERE l.annotator_kind = ? AND l.annotator_name = ? AND l.accept = 1
            """
        var args: [DatabaseValueConvertible?] = [annotator.kind.rawValue, annotator.name]
        if let round { sql += " AND r.number = ?"; args.append(round) }
        sql += " ORDER BY c.id"
        return try db.read { db in
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
            var out: [Candidate] = []
            while let row = try cursor.next() { out.append(candidate(from: row)) }
            return out
        }
    }

    /// The accepted candidates as a dataset of (source, mask, result-as-target) pairs, ready to add to a training
    /// set (RORem's step "add the accepted results to the training data").
    public func acceptedDataset(by annotator: Annotator, round: Int? = nil, name: String) throws -> Dataset {
        let pairs = try accepted(by: annotator, round: round).map { c in
            Pair(name: "\(c.pairName)-c\(c.id)", source: c.source, mask: c.mask, target: c.result)
        }
        return Dataset(name: name, pairs: pairs)
    }
}
