import GRDB
import Imaging

/// A model's result for one pair, with its lineage.
public struct Candidate: Sendable {
    /// Row id.
    public var id: Int64
    /// The pair it answers.
    public var pairID: Int64
    /// The pair's name.
    public var pairName: String
    /// The dataset of the pair.
    public var dataset: String
    /// The model that made it.
    public var model: String
    /// The round that made it, if any.
    public var round: Int?
    /// The pair's source image.
    public var source: PixelSource
    /// The pair's mask.
    public var mask: PixelSource
    /// The pair's ground truth, when it has one.
    public var target: PixelSource?
    /// The model's output.
    public var result: PixelSource
    /// When it was recorded (seconds since 1970).
    public var createdAt: Double
}

extension Store {
    /// Records `result` as model `model`'s candidate for stored pair `pair` in round `round` (a number; nil for none).
    /// Recording the same (pair, model, round) again returns the existing candidate's id and writes nothing.
    @discardableResult
    public func addCandidate(pair: Int64, model: String, round: Int? = nil, result: Image, run: Int64? = nil) throws -> Int64 {
        let modelID = try self.model(model).id
        let roundID: Int64? = try round.flatMap { try self.round($0).id }
        if let existing = try candidateID(pair: pair, model: modelID, round: roundID) { return existing }
        return try insertCandidate(pair: pair, model: modelID, round: roundID, result: result, run: run)
    }

    /// Writes the result's file, then its row (so a row never points at a missing file).
    func insertCandidate(pair: Int64, model modelID: Int64?, round roundID: Int64?, result: Image, run: Int64?) throws -> Int64 {
        let (hash, _) = try blobs.put(result)
        return try db.write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM pair WHERE id = ?", arguments: [pair]) != nil else {
                throw CurationError.notFound(what: "pair #\(pair)")
            }
            try Store.recordImage(db, hash: hash, width: result.width, height: result.height, channels: result.channels)
            try db.execute(sql: "INSERT INTO candidate (pair_id, model_id, round_id, result_hash, run_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [pair, modelID, roundID, hash, run, Store.now()])
            return db.lastInsertedRowID
        }
    }

    func candidateID(pair: Int64, model: Int64?, round: Int64?) throws -> Int64? {
        try db.read { db in
            try Int64.fetchOne(db, sql: "SELECT id FROM candidate WHERE pair_id = ? AND model_id = ? AND IFNULL(round_id, 0) = IFNULL(?, 0)",
                               arguments: [pair, model, round])
        }
    }

    /// Runs `remover` on every pair of stored dataset `dataset` that has no candidate yet from `model` in `round`,
    /// committing each result as it is made (an interrupted call resumes where it stopped). The language's `generate`.
    /// - Returns: the candidate ids for all the dataset's pairs, in the dataset's order.
    @discardableResult
    public func generate(dataset: String, model: String, round: Int? = nil, run: Int64? = nil,
                         remover: (Image, Mask) throws -> Image) throws -> [Int64] {
        let ds = try self.dataset(named: dataset)
        let modelID = try self.model(model).id
        let roundID: Int64? = try round.flatMap { try self.round($0).id }
        var ids: [Int64] = []
        for pair in ds {
            guard let pairID = pair.storeID else { throw CurationError.notFound(what: "pair '\(pair.name)'") }
            if let existing = try candidateID(pair: pairID, model: modelID, round: roundID) { ids.append(existing); continue }
            let source = try pair.loadSource(), mask = try pair.loadMask()
            let result = try remover(source, mask)
            guard result.width == source.width, result.height == source.height else {
                throw CurationError.invalidArgument("model '\(model)' returned \(result.summary) for pair '\(pair.name)' of \(source.summary)")
            }
            ids.append(try insertCandidate(pair: pairID, model: modelID, round: roundID, result: result, run: run))
        }
        return ids
    }

    static let candidateSelect = """
        SELECT c.id, c.pair_id, p.name AS pair_name, d.name AS dataset, m.name AS model, r.number AS round,
               p.source_hash, p.mask_hash, p.target_hash, c.result_hash, c.created_at
        FROM candidate c JOIN pair p ON p.id = c.pair_id JOIN dataset d ON d.id = p.dataset_id
        JOIN model m ON m.id = c.model_id LEFT JOIN round r ON r.id = c.round_id
        """

    func candidate(from row: Row) -> Candidate {
        let target: String? = row["target_hash"]
        return Candidate(id: row["id"], pairID: row["pair_id"], pairName: row["pair_name"], dataset: row["dataset"],
                         model: row["model"], round: row["round"],
                         source: .blob(hash: row["source_hash"], blobs: blobs), mask: .blob(hash: row["mask_hash"], blobs: blobs),
                         target: target.map { .blob(hash: $0, blobs: blobs) }, result: .blob(hash: row["result_hash"], blobs: blobs),
                         createdAt: row["created_at"])
    }

    /// Candidates, oldest first, optionally only those of round `round`, model `model` and/or dataset `dataset`.
    public func candidates(round: Int? = nil, model: String? = nil, dataset: String? = nil) throws -> [Candidate] {
        var clauses: [String] = [], args: [DatabaseValueConvertible?] = []
        if let round { clauses.append("r.number = ?"); args.append(round) }
        if let model { clauses.append("m.name = ?"); args.append(model) }
        if let dataset { clauses.append("d.name = ?"); args.append(dataset) }
        let sql = Store.candidateSelect + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")) + " ORDER BY c.id"
        return try db.read { db in
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
            var out: [Candidate] = []
            while let row = try cursor.next() { out.append(candidate(from: row)) }
            return out
        }
    }

    /// The candidate with row id `id`.
    public func candidate(_ id: Int64) throws -> Candidate {
        try db.read { db in
            guard let row = try Row.fetchOne(db, sql: Store.candidateSelect + " WHERE c.id = ?", arguments: [id]) else {
                throw CurationError.notFound(what: "candidate #\(id)")
            }
            return candidate(from: row)
        }
    }

    /// The candidates with the given ids, in that order.
    public func candidates(ids: [Int64]) throws -> [Candidate] {
        try ids.map { try candidate($0) }
    }
}
