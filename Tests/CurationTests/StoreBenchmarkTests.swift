import Foundation
import GRDB
import Imaging
import XCTest
@testable import Curation

/// Store throughput at scale. Checks only correctness (counts); the timings are printed for the report, never
/// asserted. Sizes: `ROREM_BENCH_LABELS` labels (default 20,000) and `ROREM_BENCH_PAIRS` pairs (default 20,000);
/// Scripts/bench/store.sh runs it at 100,000 labels and 200,000 pairs.
final class StoreBenchmarkTests: XCTestCase {
    static func size(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = Date()
        try body()
        return Date().timeIntervalSince(start)
    }

    func testLabelsAndCandidatesAtScale() throws {
        let n = StoreBenchmarkTests.size("ROREM_BENCH_LABELS", 20_000)
        let store = try Store(path: try temporaryFolder(self, "bench-labels"))
        let hash = try store.putImage(try patternImage())
        // n pairs and n round-1 candidates sharing one image, inserted directly (the setup is not what is measured).
        try store.db.write { db in
            try db.execute(sql: "INSERT INTO dataset (name, kind, created_at) VALUES ('bench', 'memory', 0)")
            try db.execute(sql: "INSERT INTO model (name, kind, created_at) VALUES ('m', 'remover', 0)")
            try db.execute(sql: "INSERT INTO round (number, created_at) VALUES (1, 0)")
            let pair = try db.makeStatement(sql: "INSERT INTO pair (dataset_id, position, name, source_hash, mask_hash) VALUES (1, ?, ?, ?, ?)")
            let cand = try db.makeStatement(sql: "INSERT INTO candidate (pair_id, model_id, round_id, result_hash, created_at) VALUES (?, 1, 1, ?, 0)")
            for i in 0..<n {
                try pair.execute(arguments: [i, "p\(i)", hash, hash])
                try cand.execute(arguments: [db.lastInsertedRowID, hash])
            }
        }
        let ids = try store.db.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM candidate ORDER BY id") }
        XCTAssertEqual(ids.count, n)

        let bulk = try StoreBenchmarkTests.seconds {
            try store.addLabels(ids.enumerated().map { LabelInput(candidateID: $1, score: Double($0 % 100) / 100) },
                                by: .discriminator("d", threshold: 0.9))
        }
        let single = min(1000, n)
        let oneByOne = try StoreBenchmarkTests.seconds {
            for id in ids.prefix(single) { try store.label(id, by: .person("ann"), accept: id % 2 == 0) }
        }
        var round: [Candidate] = []
        let read = try StoreBenchmarkTests.seconds { round = try store.candidates(round: 1) }
        var accepted: [Candidate] = []
        let acceptedTime = try StoreBenchmarkTests.seconds { accepted = try store.accepted(by: .discriminator("d"), round: 1) }
        var agreement: AgreementReport?
        let agreementTime = try StoreBenchmarkTests.seconds { agreement = try store.agreement(.person("ann"), .discriminator("d")) }

        XCTAssertEqual(round.count, n)
        XCTAssertEqual(accepted.count, n / 100 * 10 + max(0, n % 100 - 90), "scores 0.90 ... 0.99 of every hundred pass 0.9")
        XCTAssertEqual(try store.count("label"), n + single)
        XCTAssertEqual(agreement?.count, single)
        XCTAssertEqual(try store.integrityCheck(), "ok")
        print(String(format: "bench labels: %d labels in one transaction %.3f s (%.4f s per 1000); %d labels committed one by one %.3f s (%.3f ms each); read round of %d candidates %.3f s (%.4f s per 1000); accepted %.3f s; agreement %.3f s",
                     n, bulk, bulk / Double(n) * 1000, single, oneByOne, oneByOne / Double(single) * 1000, n, read, read / Double(n) * 1000, acceptedTime, agreementTime))
    }

    func testSavingAndGeneratingPairs() throws {
        let n = StoreBenchmarkTests.size("ROREM_BENCH_SAVE", 100)
        let store = try Store(path: try temporaryFolder(self, "bench-save"))
        let ds = try Synth.make(count: n, width: 64, height: 64, seed: 1)
        let save = try StoreBenchmarkTests.seconds { try store.saveDataset(ds) }
        var ids: [Int64] = []
        let generate = try StoreBenchmarkTests.seconds {
            ids = try store.generate(dataset: ds.name, model: "flip") { image, _ in
                var out = image
                out.pixels.reverse()
                return out
            }
        }
        XCTAssertEqual(ids.count, n)
        XCTAssertEqual(try store.count("image"), 4 * n, "source, mask, target and result are distinct for every pair")
        print(String(format: "bench save: %d synthetic 64x64 pairs saved %.3f s (%.2f ms each); generate %.3f s (%.2f ms each)",
                     n, save, save / Double(n) * 1000, generate, generate / Double(n) * 1000))
    }

    func testLargeStoreOpensInstantly() throws {
        let n = StoreBenchmarkTests.size("ROREM_BENCH_PAIRS", 20_000)
        let folder = try temporaryFolder(self, "bench-pairs")
        do {
            let store = try Store(path: folder)
            let hash = try store.putImage(try patternImage())
            try store.db.write { db in
                try db.execute(sql: "INSERT INTO dataset (name, kind, created_at) VALUES ('big', 'memory', 0)")
                let pair = try db.makeStatement(sql: "INSERT INTO pair (dataset_id, position, name, source_hash, mask_hash, target_hash) VALUES (1, ?, ?, ?, ?, ?)")
                for i in 0..<n { try pair.execute(arguments: [i, String(format: "pair-%07d", i), hash, hash, hash]) }
            }
        }
        var store: Store?
        let open = try StoreBenchmarkTests.seconds { store = try Store(path: folder) }
        let opened = try XCTUnwrap(store)
        var count = 0
        let countTime = try StoreBenchmarkTests.seconds { count = try opened.pairCount(dataset: "big") }
        var ds: Dataset?
        let load = try StoreBenchmarkTests.seconds { ds = try opened.dataset(named: "big") }
        XCTAssertEqual(count, n)
        XCTAssertEqual(ds?.count, n)
        XCTAssertEqual(ds?.last?.name, String(format: "pair-%07d", n - 1))
        XCTAssertEqual(try ds?[n / 2].loadSource(), try patternImage())
        print(String(format: "bench pairs: open a store of %d pairs %.4f s; count %.4f s; list the dataset lazily %.3f s", n, open, countTime, load))
    }
}
