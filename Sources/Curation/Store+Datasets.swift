import Foundation
import GRDB
import Imaging

extension Store {
    /// Saves `dataset` under its name, writing each pair's images once and committing pair by pair.
    ///
    /// Resumable: when a dataset of that name is already stored with a prefix of these pairs (an earlier call that
    /// was interrupted), only the missing pairs are added. A stored dataset whose pairs differ is a conflict.
    /// - Returns: the dataset's row id.
    @discardableResult
    public func saveDataset(_ dataset: Dataset, kind: String = "memory", params: String = "{}") throws -> Int64 {
        let name = dataset.name
        let (id, stored, lastName): (Int64, Int, String?) = try db.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT id FROM dataset WHERE name = ?", arguments: [name]) {
                let id: Int64 = row["id"]
                let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pair WHERE dataset_id = ?", arguments: [id]) ?? 0
                let last = try String.fetchOne(db, sql: "SELECT name FROM pair WHERE dataset_id = ? ORDER BY position DESC LIMIT 1", arguments: [id])
                return (id, n, last)
            }
            try db.execute(sql: "INSERT INTO dataset (name, kind, params, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, kind, params, Store.now()])
            return (db.lastInsertedRowID, 0, nil)
        }
        if stored > dataset.count || (stored > 0 && lastName != dataset[stored - 1].name) {
            throw CurationError.conflict("dataset '\(name)' is already in the store with \(stored) different pairs; choose another name")
        }
        for position in stored..<dataset.count {
            let pair = dataset[position]
            let source = try storeSource(pair.source, mask: false, what: "\(name)[\(position)] '\(pair.name)' source")
            let mask = try storeSource(pair.mask, mask: true, what: "\(name)[\(position)] '\(pair.name)' mask")
            let target = try pair.target.map { try storeSource($0, mask: false, what: "\(name)[\(position)] '\(pair.name)' target") }
            try db.write { db in
                for entry in [source, mask] + (target.map { [$0] } ?? []) {
                    try Store.recordImage(db, hash: entry.hash, width: entry.width, height: entry.height, channels: entry.channels)
                }
                try db.execute(sql: """
                    INSERT INTO pair (dataset_id, position, name, source_hash, mask_hash, target_hash, score)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, position, pair.name, source.hash, mask.hash, target?.hash, pair.score])
            }
        }
        return id
    }

    /// A stored image's hash and size.
    struct StoredImage { var hash: String; var width: Int; var height: Int; var channels: Int }

    /// Puts the pixels of `source` in this store's blob folder (reusing them when they already live here).
    func storeSource(_ source: PixelSource, mask: Bool, what: String) throws -> StoredImage {
        if case let .blob(hash, blobs) = source, blobs == self.blobs {
            if let row = try db.read({ db in try Row.fetchOne(db, sql: "SELECT width, height, channels FROM image WHERE hash = ?", arguments: [hash]) }) {
                return StoredImage(hash: hash, width: row["width"], height: row["height"], channels: row["channels"])
            }
        }
        let image: Image
        do {
            image = mask ? try source.loadMask().asImage() : try source.loadImage()
        } catch {
            throw CurationError.badDataset(path: source.filePath ?? source.hash ?? "<memory>", reason: "\(what): \(error)")
        }
        let (hash, _) = try blobs.put(image)
        return StoredImage(hash: hash, width: image.width, height: image.height, channels: image.channels)
    }

    /// The stored dataset `name`, its pairs reading their images lazily from the store.
    public func dataset(named name: String) throws -> Dataset {
        let blobs = self.blobs
        return try db.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM dataset WHERE name = ?", arguments: [name]) else {
                throw CurationError.notFound(what: "dataset '\(name)'")
            }
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, name, source_hash, mask_hash, target_hash, score FROM pair WHERE dataset_id = ? ORDER BY position
                """, arguments: [id])
            var pairs: [Pair] = []
            while let row = try rows.next() {
                let target: String? = row["target_hash"]
                pairs.append(Pair(name: row["name"], source: .blob(hash: row["source_hash"], blobs: blobs),
                                  mask: .blob(hash: row["mask_hash"], blobs: blobs),
                                  target: target.map { .blob(hash: $0, blobs: blobs) }, score: row["score"], storeID: row["id"]))
            }
            return Dataset(name: name, pairs: pairs)
        }
    }

    /// The names of the stored datasets, oldest first.
    public func datasetNames() throws -> [String] {
        try db.read { db in try String.fetchAll(db, sql: "SELECT name FROM dataset ORDER BY id") }
    }

    /// The number of pairs in stored dataset `name`.
    public func pairCount(dataset name: String) throws -> Int {
        try db.read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM dataset WHERE name = ?", arguments: [name]) else {
                throw CurationError.notFound(what: "dataset '\(name)'")
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pair WHERE dataset_id = ?", arguments: [id]) ?? 0
        }
    }
}
