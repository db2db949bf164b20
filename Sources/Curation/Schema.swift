import GRDB

/// The store's schema as versioned migrations. A migration, once released, is never edited: a later version adds a
/// new one, so that a store made by an older rorem opens and is brought up to date (``Store/open(_:)``).
public enum Schema {
    /// Migration identifiers in order; the last one is the current version.
    public static let versions = ["v1", "v2"]

    /// The migrator that creates or upgrades a store's database.
    public static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in try db.execute(sql: v1) }
        m.registerMigration("v2") { db in try db.execute(sql: v2) }
        return m
    }

    /// v1: images, datasets and pairs, models and checkpoints, rounds, runs, candidates, labels, evaluations.
    /// Times are seconds since 1970 (REAL).
    static let v1 = """
        CREATE TABLE image (
            hash TEXT PRIMARY KEY NOT NULL,
            width INTEGER NOT NULL, height INTEGER NOT NULL, channels INTEGER NOT NULL);
        CREATE TABLE dataset (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
        CREATE TABLE pair (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            dataset_id INTEGER NOT NULL REFERENCES dataset(id) ON DELETE CASCADE,
            position INTEGER NOT NULL, name TEXT NOT NULL,
            source_hash TEXT NOT NULL REFERENCES image(hash),
            mask_hash TEXT NOT NULL REFERENCES image(hash),
            target_hash TEXT REFERENCES image(hash),
            UNIQUE (dataset_id, position));
        CREATE TABLE model (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL);
        CREATE TABLE checkpoint (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            model_id INTEGER NOT NULL REFERENCES model(id) ON DELETE CASCADE,
            path TEXT NOT NULL, step INTEGER, hash TEXT, created_at REAL NOT NULL);
        CREATE TABLE round (
            id INTEGER PRIMARY KEY AUTOINCREMENT, number INTEGER NOT NULL UNIQUE,
            note TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL);
        CREATE TABLE run (
            id INTEGER PRIMARY KEY AUTOINCREMENT, script TEXT NOT NULL, args TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
            message TEXT, started_at REAL NOT NULL, finished_at REAL);
        CREATE TABLE candidate (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            pair_id INTEGER NOT NULL REFERENCES pair(id) ON DELETE CASCADE,
            model_id INTEGER NOT NULL REFERENCES model(id),
            round_id INTEGER REFERENCES round(id),
            result_hash TEXT NOT NULL REFERENCES image(hash),
            run_id INTEGER REFERENCES run(id) ON DELETE SET NULL,
            created_at REAL NOT NULL);
        CREATE UNIQUE INDEX candidate_once ON candidate(pair_id, model_id, IFNULL(round_id, 0));
        CREATE INDEX candidate_round ON candidate(round_id);
        CREATE TABLE label (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            candidate_id INTEGER NOT NULL REFERENCES candidate(id) ON DELETE CASCADE,
            annotator_kind TEXT NOT NULL CHECK (annotator_kind IN ('person', 'oracle', 'discriminator')),
            annotator_name TEXT NOT NULL,
            accept INTEGER, score REAL, threshold REAL, created_at REAL NOT NULL,
            UNIQUE (candidate_id, annotator_kind, annotator_name));
        CREATE INDEX label_annotator ON label(annotator_kind, annotator_name);
        CREATE TABLE evaluation (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
            model_id INTEGER REFERENCES model(id), round_id INTEGER REFERENCES round(id),
            dataset_id INTEGER REFERENCES dataset(id), run_id INTEGER REFERENCES run(id) ON DELETE SET NULL,
            created_at REAL NOT NULL);
        CREATE TABLE metric (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            evaluation_id INTEGER NOT NULL REFERENCES evaluation(id) ON DELETE CASCADE,
            name TEXT NOT NULL, value REAL NOT NULL,
            pair_id INTEGER REFERENCES pair(id) ON DELETE CASCADE);
        CREATE INDEX metric_evaluation ON metric(evaluation_id);
        """

    /// v2: review sessions (the order of their items and every decision, with the label it replaced, for undo and
    /// resume), a note on labels,
    /// and a pair's score from RORem's discriminator data.
    static let v2 = """
        CREATE TABLE review_session (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, annotator TEXT NOT NULL,
            ordering TEXT NOT NULL, created_at REAL NOT NULL);
        CREATE TABLE review_item (
            session_id INTEGER NOT NULL REFERENCES review_session(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            candidate_id INTEGER NOT NULL REFERENCES candidate(id) ON DELETE CASCADE,
            PRIMARY KEY (session_id, position));
        CREATE TABLE review_event (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id INTEGER NOT NULL REFERENCES review_session(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            candidate_id INTEGER NOT NULL REFERENCES candidate(id) ON DELETE CASCADE,
            action TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'skip')),
            label_id INTEGER REFERENCES label(id) ON DELETE SET NULL,
            prev_accept INTEGER, prev_score REAL, prev_note TEXT, prev_created_at REAL,
            created_at REAL NOT NULL,
            UNIQUE (session_id, position));
        ALTER TABLE label ADD COLUMN note TEXT NOT NULL DEFAULT '';
        ALTER TABLE pair ADD COLUMN score REAL;
        """
}
