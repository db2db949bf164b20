import Foundation
import GRDB
import Imaging
import XCTest
@testable import Curation

final class StoreTests: XCTestCase {
    func testNewStoreHasCurrentSchemaWALAndForeignKeys() throws {
        let folder = try temporaryFolder(self)
        let store = try Store(path: folder + "/s")
        XCTAssertEqual(try store.appliedMigrations(), Schema.versions)
        XCTAssertEqual(try store.integrityCheck(), "ok")
        let (mode, fk) = try store.db.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        XCTAssertEqual(mode, "wal")
        XCTAssertEqual(fk, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/s/store.sqlite"))
        // A foreign key that points nowhere is refused.
        XCTAssertThrowsError(try store.label(999, by: .person("ann"), accept: true)) { error in
            XCTAssertEqual(error as? CurationError, .notFound(what: "candidate #999"))
        }
    }

    func testOpenWithoutCreateNamesTheFolder() throws {
        let folder = try temporaryFolder(self) + "/absent"
        XCTAssertThrowsError(try Store(path: folder, create: false)) { error in
            XCTAssertTrue("\(error)".contains(folder), "\(error)")
        }
    }

    func testContentAddressingWritesSamePixelsOnce() throws {
        let store = try Store(path: try temporaryFolder(self))
        let a = try patternImage(seed: 1), b = try patternImage(seed: 2)
        let first = try store.blobs.put(a)
        XCTAssertTrue(first.written)
        let path = store.blobs.path(for: first.hash)
        let before = try FileManager.default.attributesOfItem(atPath: path)
        let again = try store.blobs.put(a)
        XCTAssertEqual(again.hash, first.hash)
        XCTAssertFalse(again.written)
        let after = try FileManager.default.attributesOfItem(atPath: path)
        XCTAssertEqual(before[.modificationDate] as? Date, after[.modificationDate] as? Date)
        XCTAssertEqual(before[.systemFileNumber] as? Int, after[.systemFileNumber] as? Int)
        XCTAssertNotEqual(try store.blobs.put(b).hash, first.hash)
        // Named by the SHA-256 of the PNG bytes, under a two-character folder.
        XCTAssertEqual(first.hash, SHA256.hex(try ImageIO.encodePNG(a)))
        XCTAssertTrue(path.hasSuffix("/images/\(first.hash.prefix(2))/\(first.hash.dropFirst(2)).png"), path)
        XCTAssertTrue(store.blobs.verify(first.hash))
        XCTAssertEqual(try store.blobs.image(first.hash), a)
        // Exactly two files: no temporary leftovers.
        let files = try FileManager.default.subpathsOfDirectory(atPath: store.blobs.root).filter { $0.hasSuffix(".png") || $0.hasSuffix(".tmp") }
        XCTAssertEqual(files.count, 2, "\(files)")
    }

    func testPutImageRecordsRowOnceAndMissingBlobIsNamed() throws {
        let store = try Store(path: try temporaryFolder(self))
        let hash = try store.putImage(try patternImage())
        try store.putImage(try patternImage())
        XCTAssertEqual(try store.count("image"), 1)
        try FileManager.default.removeItem(atPath: store.blobs.path(for: hash))
        XCTAssertThrowsError(try store.blobs.image(hash)) { error in
            XCTAssertTrue("\(error)".contains(hash), "\(error)")
        }
        XCTAssertThrowsError(try store.count("nope"))
    }

    func testDatasetSavesAndReadsBackPixelExactAndSharesBlobs() throws {
        let (store, ids) = try tinyStore(self, count: 3)
        XCTAssertEqual(ids.count, 3)
        let ds = try store.dataset(named: "tiny")
        XCTAssertEqual(ds.map(\.name), ["p0", "p1", "p2"])
        XCTAssertEqual(try ds[1].loadSource(), try patternImage(seed: 1))
        XCTAssertEqual(try ds[2].loadTarget(), try patternImage(seed: 102))
        XCTAssertEqual(try ds[0].loadMask().maskedCount, 9)
        // 3 sources + 3 targets + 1 shared mask; results equal sources so add no image.
        XCTAssertEqual(try store.count("image"), 7)
        // Saving again is a no-op (resume of a complete dataset).
        try store.saveDataset(Dataset(name: "tiny", pairs: ds.pairs))
        XCTAssertEqual(try store.pairCount(dataset: "tiny"), 3)
        // A different dataset under the same name is a conflict that names it.
        let other = Dataset(name: "tiny", pairs: [Pair(name: "zz", source: .image(try patternImage()), mask: .mask(try Mask(width: 8, height: 6)))])
        XCTAssertThrowsError(try store.saveDataset(other)) { XCTAssertTrue("\($0)".contains("'tiny'"), "\($0)") }
        XCTAssertThrowsError(try store.dataset(named: "nope")) { XCTAssertEqual($0 as? CurationError, .notFound(what: "dataset 'nope'")) }
    }

    func testGenerateIsResumableAndCandidatesCarryLineage() throws {
        let (store, ids) = try tinyStore(self, count: 4)
        var calls = 0
        let again = try store.generate(dataset: "tiny", model: "m", round: 1) { s, _ in calls += 1; return s }
        XCTAssertEqual(again, ids)
        XCTAssertEqual(calls, 0, "existing candidates are not made again")
        let round2 = try store.generate(dataset: "tiny", model: "m", round: 2) { s, _ in calls += 1; return s }
        XCTAssertEqual(calls, 4)
        XCTAssertEqual(Set(round2).intersection(ids).count, 0)
        let c = try store.candidate(ids[2])
        XCTAssertEqual(c.pairName, "p2")
        XCTAssertEqual(c.model, "m")
        XCTAssertEqual(c.round, 1)
        XCTAssertEqual(c.dataset, "tiny")
        XCTAssertEqual(try c.result.loadImage(), try patternImage(seed: 2))
        XCTAssertEqual(try store.candidates(round: 1).map(\.id), ids)
        XCTAssertEqual(try store.candidates(round: 2).count, 4)
        XCTAssertEqual(try store.candidates(model: "other").count, 0)
    }

    func testLabelsUpsertDeriveDiscriminatorDecisionsAndFilter() throws {
        let (store, ids) = try tinyStore(self, count: 3)
        try store.label(ids[0], by: .person("ann"), accept: true)
        try store.label(ids[0], by: .person("ann"), accept: false, note: "seam")
        try store.label(ids[1], by: .person("ann"), accept: true)
        try store.addLabels([LabelInput(candidateID: ids[0], score: 0.95), LabelInput(candidateID: ids[1], score: 0.5)],
                            by: .discriminator("d", threshold: 0.9))
        let ann = try store.labels(by: .person("ann"))
        XCTAssertEqual(ann.count, 2)
        XCTAssertEqual(ann.first { $0.candidateID == ids[0] }?.accept, false)
        XCTAssertEqual(ann.first { $0.candidateID == ids[0] }?.note, "seam")
        let d = try store.labels(by: .discriminator("d"))
        XCTAssertEqual(d.map(\.accept), [true, false])
        XCTAssertEqual(d.first?.annotator.threshold, 0.9)
        XCTAssertEqual(try store.accepted(by: .person("ann")).map(\.id), [ids[1]])
        XCTAssertEqual(try store.accepted(by: .discriminator("d"), round: 1).map(\.id), [ids[0]])
        XCTAssertEqual(try store.accepted(by: .discriminator("d"), round: 2).count, 0)
        XCTAssertEqual(try store.annotators().map(\.description), ["person:ann", "discriminator:d@0.9"])
        let acceptedSet = try store.acceptedDataset(by: .person("ann"), name: "r1-accepted")
        XCTAssertEqual(acceptedSet.count, 1)
        XCTAssertEqual(try acceptedSet[0].loadTarget(), try patternImage(seed: 1))
        XCTAssertThrowsError(try store.label(ids[0], by: .person("ann"), score: .nan))
        try store.label(ids[2], by: .person("ann"), score: 0.7)
        XCTAssertEqual(try store.undecided(ids, by: .person("ann")), [ids[2]], "a bare score is not a decision")
        XCTAssertEqual(try store.undecided(ids, by: .person("bob")), ids)
    }

    func testLineageModelsRoundsRunsEvaluations() throws {
        let store = try Store(path: try temporaryFolder(self))
        let model = try store.model("unet", kind: "remover", params: "{\"width\":32}")
        XCTAssertEqual(try store.model("unet").id, model.id)
        let modelID = try XCTUnwrap(model.id)
        try store.addCheckpoint(model: modelID, path: "ckpt/unet-100.safetensors", step: 100)
        XCTAssertEqual(try store.checkpoints(model: modelID).map(\.step), [100])
        XCTAssertThrowsError(try store.addCheckpoint(model: 42, path: "x"))
        let r = try store.round(3, note: "third")
        XCTAssertEqual(try store.round(3).id, r.id)
        let run = try store.beginRun(script: "round.rr", args: "--seed 1")
        let runID = try XCTUnwrap(run.id)
        try store.finishRun(runID, error: CurationError.invalidArgument("boom"))
        XCTAssertEqual(try store.runs().map(\.status), ["failed"])
        XCTAssertEqual(try store.runs().first?.message, "boom")
        let e = try store.addEvaluation("eval-r3", model: modelID, round: r.id, run: runID, metrics: ["psnr": 31.5, "success": 0.75])
        XCTAssertEqual(try store.metrics(evaluation: try XCTUnwrap(e.id)), ["psnr": 31.5, "success": 0.75])
    }
}
