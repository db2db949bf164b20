import Foundation
import GRDB
import Imaging

/// An experiment store: a folder holding `store.sqlite` (SQLite in WAL mode, foreign keys on, versioned migrations)
/// and `images/`, the content-addressed image files (``BlobStore``).
///
/// Every write is a short transaction committed before the call returns, so killing the process at any moment
/// loses at most the item in flight, and work that is resumable (saving a dataset, generating candidates, a review
/// session) picks up where it stopped. Open the same folder again to continue.
public final class Store {
    /// The store's folder.
    public let path: String
    /// The database, shared by readers and one writer at a time.
    public let db: DatabasePool
    /// The image files.
    public let blobs: BlobStore

    /// The database file inside a store folder.
    public static let databaseName = "store.sqlite"

    /// Opens the store in folder `path`, creating it (and the folder) when `create` is true and it does not exist,
    /// and migrating a store made by an older version to the current schema.
    public init(path: String, create: Bool = true) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw CurationError.storeUnavailable(path: path, reason: "is a file, not a store folder") }
        } else {
            guard create else { throw CurationError.storeUnavailable(path: path, reason: "no such folder") }
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw CurationError.storeUnavailable(path: path, reason: "cannot create the folder: \(error.localizedDescription)")
            }
        }
        let dbPath = path + "/" + Store.databaseName
        if !create && !fm.fileExists(atPath: dbPath) {
            throw CurationError.storeUnavailable(path: path, reason: "no \(Store.databaseName) in the folder")
        }
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // WAL with synchronous NORMAL: a committed transaction survives a killed process.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            db = try DatabasePool(path: dbPath, configuration: config)
            if try db.read({ try Schema.migrator.hasBeenSuperseded($0) }) {
                throw CurationError.storeUnavailable(path: path, reason: "the store was made by a newer rorem (its schema has migrations this version does not know: it knows \(Schema.versions.joined(separator: ", ")))")
            }
            try Schema.migrator.migrate(db)
        } catch let error as DatabaseError {
            throw CurationError.storeUnavailable(path: path, reason: error.message ?? "\(error)")
        }
        self.path = path
        self.blobs = try BlobStore(root: path + "/images")
    }

    /// Opens (or creates) the store in folder `path`; the language's `open_store`.
    public static func open(_ path: String) throws -> Store { try Store(path: path) }

    /// The migrations applied to this store, oldest first.
    public func appliedMigrations() throws -> [String] {
        try db.read { db in try Schema.migrator.appliedMigrations(db) }
    }

    /// The result of `PRAGMA integrity_check` ("ok" for a healthy database).
    public func integrityCheck() throws -> String {
        try db.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// The number of rows in `table` (one of the store's tables).
    public func count(_ table: String) throws -> Int {
        guard Store.tables.contains(table) else { throw CurationError.invalidArgument("no table '\(table)' in the store; tables: \(Store.tables.sorted().joined(separator: ", "))") }
        return try db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    static let tables: Set<String> = ["image", "dataset", "pair", "model", "checkpoint", "round", "run", "candidate",
                                      "label", "evaluation", "metric", "review_session", "review_item", "review_event"]

    /// Seconds since 1970, the store's clock.
    static func now() -> Double { Date().timeIntervalSince1970 }

    // MARK: Images

    /// Writes `image` to the blob folder (once) and records it; returns its hash.
    @discardableResult
    public func putImage(_ image: Image) throws -> String {
        let (hash, _) = try blobs.put(image)
        try db.write { db in try Store.recordImage(db, hash: hash, width: image.width, height: image.height, channels: image.channels) }
        return hash
    }

    /// Writes `mask` to the blob folder (once, as a gray PNG) and records it; returns its hash.
    @discardableResult
    public func putMask(_ mask: Mask) throws -> String {
        try putImage(mask.asImage())
    }

    /// Records an image row (idempotent). The file must already be in place: rows never point at missing files.
    static func recordImage(_ db: Database, hash: String, width: Int, height: Int, channels: Int) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO image (hash, width, height, channels) VALUES (?, ?, ?, ?)",
                       arguments: [hash, width, height, channels])
    }
}
