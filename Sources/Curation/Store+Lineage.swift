import GRDB

extension Store {
    /// The model named `name`, recorded now when it is new.
    @discardableResult
    public func model(_ name: String, kind: String = "remover", params: String = "{}") throws -> ModelRecord {
        if let found = try db.read({ db in try ModelRecord.filter(Column("name") == name).fetchOne(db) }) { return found }
        return try db.write { db in
            if let found = try ModelRecord.filter(Column("name") == name).fetchOne(db) { return found }
            var record = ModelRecord(id: nil, name: name, kind: kind, params: params, createdAt: Store.now())
            try record.insert(db)
            return record
        }
    }

    /// All recorded models, oldest first.
    public func models() throws -> [ModelRecord] {
        try db.read { db in try ModelRecord.order(Column("id")).fetchAll(db) }
    }

    /// Records a checkpoint file of model `modelID`.
    @discardableResult
    public func addCheckpoint(model modelID: Int64, path: String, step: Int? = nil, hash: String? = nil) throws -> CheckpointRecord {
        try db.write { db in
            guard try ModelRecord.fetchOne(db, key: modelID) != nil else { throw CurationError.notFound(what: "model #\(modelID)") }
            var record = CheckpointRecord(id: nil, modelId: modelID, path: path, step: step, hash: hash, createdAt: Store.now())
            try record.insert(db)
            return record
        }
    }

    /// The checkpoints of model `modelID`, oldest first.
    public func checkpoints(model modelID: Int64) throws -> [CheckpointRecord] {
        try db.read { db in try CheckpointRecord.filter(Column("model_id") == modelID).order(Column("id")).fetchAll(db) }
    }

    /// Round `number`, recorded now when it is new.
    @discardableResult
    public func round(_ number: Int, note: String = "") throws -> RoundRecord {
        if let found = try db.read({ db in try RoundRecord.filter(Column("number") == number).fetchOne(db) }) { return found }
        return try db.write { db in
            if let found = try RoundRecord.filter(Column("number") == number).fetchOne(db) { return found }
            var record = RoundRecord(id: nil, number: number, note: note, createdAt: Store.now())
            try record.insert(db)
            return record
        }
    }

    /// Records the start of a run of `script`; finish it with ``finishRun(_:error:)``.
    public func beginRun(script: String, args: String = "") throws -> RunRecord {
        try db.write { db in
            var record = RunRecord(id: nil, script: script, args: args, status: "running", message: nil, startedAt: Store.now(), finishedAt: nil)
            try record.insert(db)
            return record
        }
    }

    /// Marks run `id` done, or failed with `error`'s message.
    public func finishRun(_ id: Int64, error: Error? = nil) throws {
        try db.write { db in
            guard var record = try RunRecord.fetchOne(db, key: id) else { throw CurationError.notFound(what: "run #\(id)") }
            record.status = error == nil ? "done" : "failed"
            record.message = error.map { "\($0)" }
            record.finishedAt = Store.now()
            try record.update(db)
        }
    }

    /// All runs, oldest first.
    public func runs() throws -> [RunRecord] {
        try db.read { db in try RunRecord.order(Column("id")).fetchAll(db) }
    }

    /// Records an evaluation with overall `metrics` and optional per-pair ones, in one transaction.
    @discardableResult
    public func addEvaluation(_ name: String, model: Int64? = nil, round: Int64? = nil, dataset: Int64? = nil, run: Int64? = nil,
                              metrics: [String: Double], perPair: [(pair: Int64, name: String, value: Double)] = []) throws -> EvaluationRecord {
        try db.write { db in
            var evaluation = EvaluationRecord(id: nil, name: name, modelId: model, roundId: round, datasetId: dataset, runId: run, createdAt: Store.now())
            try evaluation.insert(db)
            guard let eid = evaluation.id else { throw CurationError.conflict("evaluation '\(name)' got no row id") }
            for (key, value) in metrics.sorted(by: { $0.key < $1.key }) {
                var m = MetricRecord(id: nil, evaluationId: eid, name: key, value: value, pairId: nil)
                try m.insert(db)
            }
            for entry in perPair {
                var m = MetricRecord(id: nil, evaluationId: eid, name: entry.name, value: entry.value, pairId: entry.pair)
                try m.insert(db)
            }
            return evaluation
        }
    }

    /// The overall metrics of evaluation `id`, by name.
    public func metrics(evaluation id: Int64) throws -> [String: Double] {
        try db.read { db in
            let rows = try MetricRecord.filter(Column("evaluation_id") == id && Column("pair_id") == nil).fetchAll(db)
            return Dictionary(rows.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
        }
    }
}
