import GRDB

/// Rows of the store's lineage tables as Codable records. Column names are the snake_case of the property names;
/// times are seconds since 1970.
public protocol StoreRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable {}

extension StoreRecord {
    /// Columns are snake_case (`created_at`), properties camelCase (`createdAt`).
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    /// Properties camelCase are written to snake_case columns.
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

/// A model (a remover or a discriminator) that made candidates or labels.
public struct ModelRecord: StoreRecord, Equatable {
    public static let databaseTableName = "model"
    /// Row id (nil before insertion).
    public var id: Int64?
    /// Unique name, e.g. `telea` or `unet-r2`.
    public var name: String
    /// What it is: `remover`, `discriminator`, ...
    public var kind: String
    /// Settings as JSON text.
    public var params: String
    /// When it was recorded.
    public var createdAt: Double

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A checkpoint file of a model.
public struct CheckpointRecord: StoreRecord, Equatable {
    public static let databaseTableName = "checkpoint"
    /// Row id (nil before insertion).
    public var id: Int64?
    /// The model it belongs to.
    public var modelId: Int64
    /// Where the weights are.
    public var path: String
    /// Training step, when known.
    public var step: Int?
    /// Hash of the file, when known.
    public var hash: String?
    /// When it was recorded (seconds since 1970).
    public var createdAt: Double

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A round of the human-in-the-loop cycle (generate, label, train).
public struct RoundRecord: StoreRecord, Equatable {
    public static let databaseTableName = "round"
    /// Row id (nil before insertion).
    public var id: Int64?
    /// Round number, unique (1, 2, 3, ...).
    public var number: Int
    /// Free text.
    public var note: String
    /// When it was recorded (seconds since 1970).
    public var createdAt: Double

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One run of a script or command that wrote to the store.
public struct RunRecord: StoreRecord, Equatable {
    public static let databaseTableName = "run"
    /// Row id (nil before insertion).
    public var id: Int64?
    /// The script's path or the command's name.
    public var script: String
    /// Its arguments, as text.
    public var args: String
    /// `running`, `done` or `failed` (a run left `running` was interrupted).
    public var status: String
    /// The error message of a failed run.
    public var message: String?
    /// When the run started.
    public var startedAt: Double
    /// When it finished (nil while running or after a crash).
    public var finishedAt: Double?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// An evaluation: a named set of metrics for a model, round or dataset.
public struct EvaluationRecord: StoreRecord, Equatable {
    public static let databaseTableName = "evaluation"
    /// Row id (nil before insertion).
    public var id: Int64?
    /// Its name.
    public var name: String
    /// The model evaluated, if one.
    public var modelId: Int64?
    /// The round evaluated, if one.
    public var roundId: Int64?
    /// The dataset evaluated, if one.
    public var datasetId: Int64?
    /// The run that computed it, if known.
    public var runId: Int64?
    /// When it was recorded (seconds since 1970).
    public var createdAt: Double

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// One number of an evaluation, overall (no pair) or for one pair.
public struct MetricRecord: StoreRecord, Equatable {
    public static let databaseTableName = "metric"
    /// Row id (nil before insertion).
    public var id: Int64?
    /// The evaluation it belongs to.
    public var evaluationId: Int64
    /// Metric name, e.g. `psnr_masked`, `success_rate`.
    public var name: String
    /// The number.
    public var value: Double
    /// The pair it measures; nil for an overall number.
    public var pairId: Int64?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
