import Foundation
import GRDB
import Imaging
import XCTest
@testable import Curation

/// A store made by an older version opens and migrates; an interrupted transaction leaves no trace.
final class MigrationTests: XCTestCase {
    /// The v1 schema exactly as version 1 shipped it, frozen here so that later edits to ``Schema`` cannot make
    /// this test pass by accident.
    static let frozenV1 = """
        CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
        INSERT INTO grdb_migrations VALUES ('v1');
        CREATE TABLE image (hash TEXT PRIMARY KEY NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, channels INTEGER NOT NULL);
        CREATE TABLE dataset (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
        CREATE TABLE pair (id INTEGER PRIMARY KEY AUTOINCREMENT, dataset_id INTEGER NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
            position INTEGER NOT NULL, name TEXT NOT NULL, source_hash TEXT NOT NULL REFERENCES image(hash),
            mask_hash TEXT NOT NULL REFERENCES image(hash), target_hash TEXT REFERENCES image(hash), UNIQUE (dataset_id, position));
        CREATE TABLE model (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
        CREATE TABLE checkpoint (id INTEGER PRIMARY KEY AUTOINCREMENT, model_id INTEGER NOT NULL REFERENCES model(id) ON DELETE CASCADE,
            path TEXT NOT NULL, step INTEGER, hash TEXT, created_at REAL NOT NULL);
        CREATE TABLE round (id INTEGER PRIMARY KEY AUTOINCREMENT, number INTEGER NOT NULL UNIQUE, note TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
        CREATE TABLE run (id INTEGER PRIMARY KEY AUTOINCREMENT, script TEXT NOT NULL, args TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')), message TEXT, started_at REAL NOT NULL, finished_at REAL);
        CREATE TABLE candidate (id INTEGER PRIMARY KEY AUTOINCREMENT, pair_id INTEGER NOT NULL REFERENCES pair(id) ON DELETE CASCADE,
            model_id INTEGER NOT NULL REFERENCES model(id), round_id INTEGER REFERENCES round(id),
            result_hash TEXT NOT NULL REFERENCES image(hash), run_id INTEGER REFERENCES run(id) ON DELETE SET NULL, created_at REAL NOT NULL);
        CREATE UNIQUE INDEX candidate_once ON candidate(pair_id, model_id, IFNULL(round_id, 0));
        CREATE INDEX candidate_round ON candidate(round_id);
        CREATE TABLE label (id INTEGER PRIMARY KEY AUTOINCREMENT, candidate_id INTEGER NOT NULL REFERENCES candidate(id) ON DELETE CASCADE,
            annotator_kind TEXT NOT NULL CHECK (annotator_kind IN ('person', 'oracle', 'discriminator')), annotator_name TEXT NOT NULL,
            accept INTEGER, score REAL, threshold REAL, created_at REAL NOT NULL, UNIQUE (candidate_id, annotator_kind, annotator_name));
        CREATE INDEX label_annotator ON label(annotator_kind, annotator_name);
        CREATE TABLE evaluation (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, model_id INTEGER REFERENCES model(id),
            round_id INTEGER REFERENCES round(id), dataset_id INTEGER REFERENCES dataset(id), run_id INTEGER REFERENCES run(id) ON DELETE SET NULL,
            created_at REAL NOT NULL);
        CREATE TABLE metric (id INTEGER PRIMARY KEY AUTOINCREMENT, evaluation_id INTEGER NOT NULL REFERENCES evaluation(id) ON DELETE CASCADE,
            name TEXT NOT NULL, value REAL NOT NULL, pair_id INTEGER REFERENCES pair(id) ON DELETE CASCADE);
        CREATE INDEX metric_evaluation ON metric(evaluation_id);
        """

    func testV1StoreOpensAndMigratesKeepingItsData() throws {
        let folder = try temporaryFolder(self, "v1")
        // Build a v1 store by hand: schema, one image file, a dataset with a pair, a candidate and a label.
        let blobs = try BlobStore(root: folder + "/images")
        let image = try patternImage(seed: 5)
        let (hash, _) = try blobs.put(image)
        do {
            let queue = try DatabaseQueue(path: folder + "/" + Store.databaseName)
            try queue.write { db in
                try db.execute(sql: MigrationTests.frozenV1)
                try db.execute(sql: "INSERT INTO image VALUES (?, 8, 6, 3)", arguments: [hash])
                try db.execute(sql: "INSERT INTO dataset (name, kind, created_at) VALUES ('old', 'memory', 1.5)")
                try db.execute(sql: "INSERT INTO pair (dataset_id, position, name, source_hash, mask_hash) VALUES (1, 0, 'a', ?, ?)", arguments: [hash, hash])
                try db.execute(sql: "INSERT INTO model (name, kind, created_at) VALUES ('telea', 'remover', 2)")
                try db.execute(sql: "INSERT INTO candidate (pair_id, model_id, result_hash, created_at) VALUES (1, 1, ?, 3)", arguments: [hash])
                try db.execute(sql: "INSERT INTO label (candidate_id, annotator_kind, annotator_name, accept, created_at) VALUES (1, 'person', 'ann', 1, 4)")
            }
            try queue.close()
        }

        let store = try Store(path: folder, create: false)
        XCTAssertEqual(try store.appliedMigrations(), ["v1", "v2"])
        XCTAssertEqual(try store.integrityCheck(), "ok")
        let ds = try store.dataset(named: "old")
        XCTAssertEqual(ds.count, 1)
        XCTAssertNil(ds[0].score, "v2 adds pair.score; old rows read as nil")
        XCTAssertEqual(try ds[0].loadSource(), image)
        let labels = try store.labels(by: .person("ann"))
        XCTAssertEqual(labels.map(\.accept), [true])
        XCTAssertEqual(labels.first?.note, "", "v2 adds label.note with an empty default")
        // The v2 tables work on the migrated store.
        let session = try store.openReview(name: "after-migration", annotator: "ann", candidates: [1])
        XCTAssertEqual(session.progress.total, 1)
        // Opening again does not migrate twice.
        XCTAssertEqual(try Store(path: folder).appliedMigrations(), ["v1", "v2"])
    }

    func testStoreFromANewerVersionIsRefusedByName() throws {
        let folder = try temporaryFolder(self, "newer")
        _ = try Store(path: folder)
        let queue = try DatabaseQueue(path: folder + "/" + Store.databaseName)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v99')") }
        try queue.close()
        XCTAssertThrowsError(try Store(path: folder)) { error in
            XCTAssertTrue("\(error)".contains("newer rorem"), "\(error)")
            XCTAssertTrue("\(error)".contains(folder), "\(error)")
        }
    }

    func testUncommittedTransactionLeavesNoTraceAfterReopen() throws {
        let (original, ids) = try tinyStore(self, count: 2)
        let path = original.path
        // A second connection begins a transaction, writes, and is closed without committing (as a crash would).
        do {
            var config = Configuration()
            config.allowsUnsafeTransactions = true
            let queue = try DatabaseQueue(path: path + "/" + Store.databaseName, configuration: config)
            try queue.inDatabase { db in
                try db.execute(sql: "BEGIN")
                try db.execute(sql: "INSERT INTO label (candidate_id, annotator_kind, annotator_name, accept, created_at) VALUES (?, 'person', 'ghost', 1, 0)",
                               arguments: [ids[0]])
            }
            try queue.close()
        }
        let reopened = try Store(path: path)
        XCTAssertEqual(try reopened.integrityCheck(), "ok")
        XCTAssertEqual(try reopened.labels(by: .person("ghost")).count, 0)
        XCTAssertEqual(try reopened.candidates().count, 2)
    }
}
