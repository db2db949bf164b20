import Curation
import Foundation
import Imaging
import Lang
import Removal
import XCTest
@testable import Workbench

/// Script-level tests of the dataset, store and label primitives, checked against the Curation API and
/// hand-computed numbers.
final class CurationPrimitivesTests: SessionTestCase {

    private var evaluated = 0

    /// The value of expression `source` in session `s` (bound to a fresh global, then read back).
    private func evaluate(_ s: Session, _ source: String) throws -> Value {
        evaluated += 1
        let name = "result_\(evaluated)"
        try s.interpreter.run("let \(name) = \(source)")
        return s.interpreter.global(name) ?? .nil
    }

    func testSynthIsDeterministicAndPrefixStable() throws {
        let (s, out) = session()
        try s.interpreter.run("""
        let a = synth(6, seed: 3)
        print(a, len(a), a.paired, a[4], a == synth(6, seed: 3), a == synth(6, seed: 4))
        print(take(synth(10, seed: 3), 6)[5].source == a[5].source, a[5].mask == synth(6, seed: 3)[5].mask)
        print(synth(2, width: 40, height: 24, shadows: true, distractors: 2)[1].source)
        """)
        XCTAssertEqual(out.text, """
        <dataset synth-s3 6 pairs> 6 6 <pair synth-000004 with target> true false
        true true
        <image 40x24 rgb>

        """)
        // The language's dataset is exactly Curation's, pixel for pixel.
        let ds = try object(s, "a", as: DatasetValue.self).dataset
        let direct = try Synth.make(count: 6, seed: 3)
        for (x, y) in zip(ds, direct) {
            XCTAssertEqual(try x.loadSource(), try y.loadSource())
            XCTAssertEqual(try x.loadMask(), try y.loadMask())
        }
    }

    func testSplitTakeConcatLengthsAndIteration() throws {
        let (s, out) = session()
        try s.interpreter.run("""
        let ds = synth(10, seed: 1)
        let p = split(ds, 0.8, seed: 5)
        print(len(p.train), len(p.test), p.train.name, len(take(ds, 3)), len(take(ds, 50)), len(take(ds, 0)))
        let all = concat(p.train, p.test)
        print(len(all), len(concat(ds, ds, name: "twice")), concat(ds, ds, name: "twice").name, len(p.train + p.test + ds))
        let n = 0
        for pair in ds { n = n + 1 }
        print(n, ds[-1].name, shuffle(ds, seed: 2) == shuffle(ds, seed: 2))
        """)
        XCTAssertEqual(out.text, "8 2 synth-s1:train 3 10 0\n10 20 twice 20\n10 synth-000009 true\n")
        guard case .record(let parts)? = s.interpreter.global("p"), case .object(let tr as DatasetValue)? = parts["train"],
              case .object(let te as DatasetValue)? = parts["test"] else { return XCTFail("split must return {train, test}") }
        let names = tr.dataset.map(\.name) + te.dataset.map(\.name)
        XCTAssertEqual(Set(names).count, 10, "the parts are disjoint and cover the dataset")
        XCTAssertEqual(tr.dataset.map(\.name), tr.dataset.map(\.name).sorted(), "each part keeps the original order")
        // concat renames clashing pairs so names stay unique.
        guard case .object(let twice as DatasetValue) = try evaluate(s, "concat(ds, ds)") else { return XCTFail("concat gives a dataset") }
        XCTAssertEqual(Set(twice.dataset.map(\.name)).count, 20)
        guard case .object(let sum as DatasetValue)? = twice.adding(tr) else { return XCTFail("dataset + dataset is a dataset") }
        XCTAssertEqual(sum.dataset.count, 28)
        XCTAssertNil(twice.adding(AgreementValue(Agreement.compare([:], [:]))))
    }

    func testRoremExportImportRoundTripAndFolderImport() throws {
        let (s, out) = session()
        for sub in ["photos", "masks"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        try s.interpreter.run("""
        let ds = synth(3, seed: 7)
        let meta = export_rorem(ds, "exported")
        let back = import_rorem(meta, name: "back")
        print(back, back[1].name, back[1].source == ds[1].source, back[1].mask == ds[1].mask, back[1].target == ds[1].target)
        save(ds[0].source, "photos/cat.png")
        save(ds[0].mask, "photos/cat_mask.png")
        save(ds[1].source, "photos/dog.png")
        save(ds[1].mask, "masks/dog.png")
        let folder = import_folder("photos", skip_unmatched: true)
        print(folder, folder[0].name, folder[0].target, folder[0].mask == ds[0].mask)
        """)
        let lines = out.text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "<dataset back 3 pairs> synth-000001 true true true")
        XCTAssertEqual(lines.last, "<dataset photos 1 pair> cat nil true")
        XCTAssertTrue(lines.contains { $0.contains("skipped 1 image without a mask: dog") }, out.text)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/exported/GT/synth-000002.png"))
        // A missing file is named, with the I/O status.
        let (status, report) = s.interpreter.runReporting("import_rorem(\"nowhere/meta.json\")")
        XCTAssertEqual(status, 74)
        XCTAssertTrue(report?.contains("import_rorem(): dataset '\(dir)/nowhere/meta.json'") ?? false, report ?? "")
    }

    func testOracleAcceptsPerfectResultsAndRejectsUntouchedOnes() throws {
        let (s, out) = session()
        try s.interpreter.run("""
        let ds = synth(5, seed: 11)
        let st = open_store("store")
        let telea = generate(st, remover("telea"), ds, round: 1)
        print(telea, st)
        """)
        XCTAssertEqual(out.text, "<candidates 5 round 1> <store \(dir)/store 1 dataset 5 candidates>\n")
        // Results that are the ground truth itself, and results that leave the object in place, made in Swift.
        let store = try Store.open(dir + "/store")
        for pair in try store.dataset(named: "synth-s11") {
            guard let id = pair.storeID, let target = try pair.loadTarget() else { return XCTFail("stored pairs have ids and targets") }
            try store.addCandidate(pair: id, model: "perfect", round: 2, result: target)
            try store.addCandidate(pair: id, model: "identity", round: 2, result: try pair.loadSource())
        }
        let report = try evaluate(s, """
        [oracle(candidates(st, model: "perfect")), oracle(candidates(st, model: "identity")), oracle(candidates(st, model: "perfect"))]
        """)
        XCTAssertEqual(report.printed, "[{labelled: 5, accepted: 5, accept_rate: 1, without_ground_truth: 0, already_labelled: 0}, "
                       + "{labelled: 5, accepted: 0, accept_rate: 0, without_ground_truth: 0, already_labelled: 0}, "
                       + "{labelled: 0, accepted: 0, accept_rate: nil, without_ground_truth: 0, already_labelled: 5}]")
        XCTAssertEqual(try store.accepted(by: .oracle(), round: 2).map(\.model), Array(repeating: "perfect", count: 5))
        // evaluate: the perfect results score PSNR 100 (capped) and L1 0; the oracle accepted all of them.
        let evaluation = try evaluate(s, "evaluate(candidates(st, model: \"perfect\"), \"perfect\", round: 2)")
        XCTAssertEqual(evaluation.printed, "{count: 5, with_ground_truth: 5, l1_masked: 0, psnr_masked: 100, "
                       + "ssim_masked: 1, success_rate:oracle:oracle: 1}")
        // generate again is a no-op that returns the same candidates (resumable).
        XCTAssertEqual(try evaluate(s, "generate(st, remover(\"telea\"), ds, round: 1).ids == telea.ids"), .bool(true))
        XCTAssertEqual(try store.count("candidate"), 15)
    }

    func testGenerateWithSamplesRunsTheRemoverOnViewsOfEachImage() throws {
        let (s, _) = session()
        try s.interpreter.run("""
        let ds = synth(3, width: 24, height: 24, seed: 5)
        let st = open_store("store")
        let c = generate(st, remover("patchmatch", iterations: 1), ds, round: 1, model: "pm", samples: 3)
        """)
        XCTAssertEqual(try evaluate(s, "[len(c), c.models]").printed, "[9, [\"pm\", \"pm@2\", \"pm@3\"]]")
        // Sample k is the remover on view k: the same as generating with oriented(remover, k).
        let store = try Store.open(dir + "/store")
        try s.interpreter.run("generate(st, oriented(remover(\"patchmatch\", iterations: 1), 3), ds, round: 2, model: \"pm-view3\")")
        let sample3 = try store.candidates(round: 1, model: "pm@3").map { try $0.result.loadImage() }
        let view3 = try store.candidates(round: 2, model: "pm-view3").map { try $0.result.loadImage() }
        XCTAssertEqual(sample3, view3)
        XCTAssertNotEqual(sample3, try store.candidates(round: 1, model: "pm").map { try $0.result.loadImage() })
        // Calling it again makes nothing new; more samples add only the missing views.
        XCTAssertEqual(try evaluate(s, "generate(st, remover(\"patchmatch\", iterations: 1), ds, round: 1, model: \"pm\", samples: 3).ids == c.ids"),
                       .bool(true))
        XCTAssertEqual(try evaluate(s, "len(generate(st, remover(\"patchmatch\", iterations: 1), ds, round: 1, model: \"pm\", samples: 4))"),
                       .number(12))
        XCTAssertEqual(try store.candidates(round: 1).count, 12)
        let (status, report) = s.interpreter.runReporting("generate(st, remover(\"telea\"), ds, samples: 9)")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(report?.contains("samples must be in 1...8") ?? false, report ?? "")
    }

    func testGenerateStopsOnCtrlCAndResumesWithoutRedoingWork() throws {
        let store = try Store.open(dir + "/store")
        let ds = try Synth.make(count: 4, width: 24, height: 24, seed: 6)
        let stopper = InterruptingRemover(after: 2)
        defer { Interrupt.clear() }
        XCTAssertThrowsError(try CurationPrimitives.generate(store: store, remover: stopper, model: "blank", dataset: ds, round: 1,
                                                             output: CapturedOutput())) { error in
            XCTAssertEqual((error as? PrimitiveError)?.kind, .interrupted)
            XCTAssertTrue("\(error)".contains("interrupted after 2 new candidates (all committed)"), "\(error)")
        }
        let kept = try store.candidates(round: 1).map(\.id)
        XCTAssertEqual(kept.count, 2, "the two results made before Ctrl-C are committed")
        Interrupt.clear()
        let all = try CurationPrimitives.generate(store: store, remover: stopper, model: "blank", dataset: ds, round: 1, output: CapturedOutput())
        XCTAssertEqual(all.candidates.count, 4)
        XCTAssertEqual(Array(all.candidates.map(\.id).prefix(2)), kept, "the first two are not made again")
        XCTAssertEqual(stopper.calls, 4, "2 before the stop, 2 after it")
    }

    func testAgreementFromDecisionListsMatchesHandComputedKappa() throws {
        let (s, _) = session()
        // a accepts 6 of 10, b 5 of 10; table: both accept 4, only a 2, only b 1, both reject 3.
        // po = 0.7, pe = 0.6 * 0.5 + 0.4 * 0.5 = 0.5, kappa = (0.7 - 0.5) / 0.5 = 0.4; gap = 60% - 50% = 10 points.
        try s.interpreter.run("""
        let a = [true, true, true, true, false, false, false, false, true, true]
        let b = [true, true, true, false, false, false, false, true, true, false]
        let g = agreement(a, b)
        """)
        let g = try object(s, "g", as: AgreementValue.self)
        XCTAssertEqual(g.summary, "<agreement n 10 70.0% kappa 0.40 gap +10.0 points>")
        XCTAssertEqual(try evaluate(s, "[g.n, g.percent, g.first_rate, g.second_rate, g.table]").printed,
                       "[10, 70, 0.6, 0.5, {both_accept: 4, only_first: 2, only_second: 1, both_reject: 3}]")
        XCTAssertEqual(try XCTUnwrap(evaluate(s, "g.kappa").number), 0.4, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(evaluate(s, "g.gap").number), 10, accuracy: 1e-9)
        // Everyone accepting everything: kappa is undefined (nil), agreement 100%.
        XCTAssertEqual(try evaluate(s, "agreement([true, true], [true, true]).kappa"), .nil)
    }

    func testOfflineReviewRoundTripAndAgreementWithTheOracle() throws {
        let (s, _) = session()
        try s.interpreter.run("""
        let st = open_store("store")
        let c = generate(st, remover("telea", radius: 2), synth(6, seed: 4), round: 1)
        let batch = export_review(c, "review", rows: 4, thumbnail: 32)
        let o = oracle(c)
        """)
        guard case .record(let batch)? = s.interpreter.global("batch"), case .list(let sheets)? = batch["sheets"],
              let csvPath = batch["csv"]?.string else { return XCTFail("export_review returns {sheets, csv}") }
        XCTAssertEqual(sheets.count, 2, "6 candidates at 4 rows per sheet")
        // Alice agrees with the oracle except on the first candidate.
        let store = try Store.open(dir + "/store")
        let oracle = Dictionary(uniqueKeysWithValues: try store.labels(by: .oracle()).map { ($0.candidateID, $0.accept ?? false) })
        let lines = try String(contentsOfFile: csvPath, encoding: .utf8).split(separator: "\n").map(String.init)
        var filled = [lines[0]]
        for (k, line) in lines.dropFirst().enumerated() {
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let id = try XCTUnwrap(Int64(fields[0]))
            let accept = k == 0 ? !(oracle[id] ?? false) : (oracle[id] ?? false)
            fields[6] = accept ? "a" : "r"
            filled.append(fields.joined(separator: ","))
        }
        try (filled.joined(separator: "\n") + "\n").write(toFile: csvPath, atomically: true, encoding: .utf8)
        let accepted = oracle.values.filter { $0 }.count
        let firstFlips = oracle[try XCTUnwrap(store.candidates(round: 1).first).id] ?? false
        let aliceAccepts = accepted + (firstFlips ? -1 : 1)
        XCTAssertEqual(try evaluate(s, "import_review(st, batch.csv, person: \"alice\")").printed,
                       "{accepted: \(aliceAccepts), rejected: \(6 - aliceAccepts), blank: 0}")
        XCTAssertEqual(try evaluate(s, "len(labels(st, by: \"alice\"))"), .number(6))
        let viaNames = try XCTUnwrap(evaluate(s, "agreement(\"alice\", \"oracle\", store: st, round: 1)").printed)
        let viaLists = try XCTUnwrap(evaluate(s, "agreement(labels(st, by: \"alice\"), labels(st, by: \"oracle\"))").printed)
        XCTAssertEqual(viaNames, viaLists)
        XCTAssertTrue(viaNames.hasPrefix("<agreement n 6 83.3% kappa"), viaNames)
        XCTAssertEqual(try evaluate(s, "len(accepted(st, \"alice\", round: 1))"), .number(Double(aliceAccepts)))
    }

    func testErrorsNameTheProblem() throws {
        let (s, _) = session()
        try s.interpreter.run("let st = open_store(\"store\")\nlet c = candidates(st)")
        let cases: [(String, String)] = [
            ("synth(4, shadow: true)", "synth(): unknown option 'shadow' (did you mean 'shadows'?); valid options: shadows"),
            ("synth(4, shapes: [\"star\"])", "synth(): unknown shape \"star\"; valid: disc, box, triangle, ring"),
            ("synth(4, width: 2)", "synth(): synth: width and height must be in 8...4096, got 2x64"),
            ("synth(4, light: \"below\")", "synth(): option 'light' must be one of \"above\", \"any\", got \"below\""),
            ("synth(4, stripe_angles: [30, -30])", "synth(): option 'stripe_angles' must be [min, max] in degrees with min <= max"),
            ("take(synth(2), -1)", "take(): n must be >= 0, got -1"),
            ("split(synth(2), 1.5)", "split(): split fraction must be in [0, 1], got 1.5"),
            ("agreement(\"alice\", \"bob\")", "agreement(): comparing annotators \"alice\" and \"bob\" needs store:"),
            ("agreement([true], [true, false])", "agreement needs two lists of the same length, got 1 and 2"),
            ("agreement(\"alice\", \"bob\", store: st)", "a candidate decided by both person:alice and person:bob is not in the store"),
            ("review(c, order: \"margins\")", "review(): unknown order \"margins\" (did you mean 'margin'?)"),
            ("review(c, order: \"margin\")", "review(): order \"margin\" needs discriminator:"),
            ("review(c)", "review() needs an interactive terminal (run it in the REPL); in a script or notebook use offline review: export_review"),
            ("labels(st, by: \"robot:x\")", "labels(): unknown annotator kind 'robot'"),
        ]
        for (source, message) in cases {
            let (status, report) = s.interpreter.runReporting(source)
            XCTAssertEqual(status, 70, source)
            XCTAssertTrue(report?.contains(message) ?? false, "\(source):\n\(report ?? "no error")")
        }
    }

    func testAwkwardArgumentsEndInValuesOrErrors() throws {
        let (s, _) = session()
        try s.interpreter.run("let ds = synth(3, width: 16, height: 16)")
        let values = ["-1e12", "-1", "0", "1", "3", "9", "1e12", "2.5", "\"s\"", "nil", "[true]", "ds"]
        let calls = ["synth(A, B, C, seed: D)", "take(ds, A)", "split(ds, A, seed: B)", "shuffle(ds, seed: A)", "agreement(A, B)",
                     "ds[A]", "concat(ds, A)", "synth(2, width: 16, height: 16, distractors: A, mask_dilation: B)"]
        var g: UInt64 = 7
        func pick() -> String {
            g = g &* 6364136223846793005 &+ 1442695040888963407
            return values[Int((g >> 33) % UInt64(values.count))]
        }
        var errors = 0
        for call in calls {
            for _ in 0..<25 {
                var source = call
                for slot in ["A", "B", "C", "D"] { source = source.replacingOccurrences(of: slot, with: pick()) }
                if s.interpreter.runReporting(source).status != 0 { errors += 1 }
            }
        }
        XCTAssertGreaterThan(errors, 100, "most awkward calls should be errors")
        let (status, report) = s.interpreter.runReporting("synth(1e12)")
        XCTAssertEqual(status, 70)
        XCTAssertTrue(report?.contains("synth(): 1000000000000 scenes of 64x64 are") ?? false, report ?? "")
    }

    func testAnnotatorTextForms() throws {
        XCTAssertEqual(try CurationPrimitives.annotator("alice", for: "t"), .person("alice"))
        XCTAssertEqual(try CurationPrimitives.annotator("oracle", for: "t"), .oracle())
        XCTAssertEqual(try CurationPrimitives.annotator("person:oracle", for: "t"), .person("oracle"))
        XCTAssertEqual(try CurationPrimitives.annotator("discriminator:d1@0.8", for: "t"), .discriminator("d1", threshold: 0.8))
        XCTAssertThrowsError(try CurationPrimitives.annotator("discriminator:d1@high", for: "t"))
    }
}

/// A remover that fills the mask with mid gray and asks for an interrupt (as Ctrl-C would) during call number `after`.
final class InterruptingRemover: Remover, @unchecked Sendable {
    let after: Int
    private(set) var calls = 0
    init(after: Int) { self.after = after }
    var name: String { "blank" }
    var workingSize: Int? { nil }
    func inpaint(_ image: Image, mask: Mask) throws -> Image {
        calls += 1
        if calls == after { Interrupt.request() }
        var out = image
        for p in 0..<(image.width * image.height) where mask.isMasked(p) {
            for c in 0..<image.channels { out.pixels[p * image.channels + c] = 0.5 }
        }
        return out
    }
}
