import Curation
import Foundation
import Lang
import XCTest
@testable import Workbench

/// RORem's discriminator through the language, on the tiny random base of Tests/DiffusionTests/Fixtures: loaded from
/// RORem's layout with `load_model(DIR, base:)`, scoring and annotating candidates, trained on the oracle's labels with
/// its latents cached in the store, saved in RORem's layout and loaded back with the same scores.
final class RORemDiscriminatorPrimitiveTests: SessionTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../DiffusionTests/Fixtures/tiny-rorem-discriminator").standardized.path
    static let base = fixture + "/base", lora = fixture + "/lora"

    func testLoadScoreAnnotateTrainSaveAndReload() throws {
        let (s, out) = session()
        try s.interpreter.run("""
            let st = open_store("st")
            let pool = synth(6, width: 64, height: 64, seed: 4, name: "pool")
            let cands = generate(st, remover("telea"), pool, round: 1, model: "telea")
            let o = oracle(cands, min_psnr: 24, max_l1: 0.05)
            let d = load_model("\(Self.lora)", base: "\(Self.base)", variant: "fp16", resolution: 64, name: "rorem-d")
            let before = score(d, cands)
            let one = score(d, load("\(Self.fixture)/images/source_0.png"), load_mask("\(Self.fixture)/images/mask_0.png"), load("\(Self.fixture)/images/result_0.png"))
            let auto = annotate(d, cands, threshold: 0.5)
            let run = train(d, cands, by: "oracle", steps: 6, batch: 2, lr: 1e-3, store: st, name: "rorem-r1")
            let after = score(d, cands)
            let back = load_model(run.checkpoint, base: "\(Self.base)", variant: "fp16", resolution: 64)
            let again = score(back, cands)
            let run2 = train(d, cands, by: "oracle", steps: 2, batch: 2, lr: 1e-3, loss: "bce")
            """)
        func list(_ name: String) throws -> [Double] {
            guard case .list(let xs)? = s.interpreter.global(name) else { XCTFail("\(name) is not a list"); return [] }
            return xs.compactMap(\.number)
        }
        let before = try list("before"), after = try list("after"), again = try list("again")
        XCTAssertEqual(before.count, 6)
        XCTAssertTrue(before.allSatisfy { $0.isFinite && $0 >= 0 }, "softplus scores: \(before)")
        XCTAssertNotEqual(before, after, "training changed the scores")
        for (a, b) in zip(after, again) { XCTAssertEqual(a, b, accuracy: 1e-5, "saved and reloaded in RORem's layout") }
        guard case .number(let one)? = s.interpreter.global("one") else { return XCTFail("one is not a number") }
        XCTAssertTrue(one.isFinite)

        // The summary and fields say what it is.
        let d = try object(s, "d", as: DiscriminatorValue.self)
        XCTAssertTrue(d.summary.hasPrefix("<discriminator rorem-d rorem 64px lora rank 4"), d.summary)
        XCTAssertEqual(d.field("kind"), .string("rorem"))
        XCTAssertEqual(d.field("rank"), .number(4))

        // Annotations under discriminator:rorem-d, one per candidate, accept exactly at the threshold.
        let store = try Store.open(dir + "/st")
        let labels = try store.labels(by: .discriminator("rorem-d", threshold: 0.5))
        XCTAssertEqual(labels.count, 6)
        for l in labels { XCTAssertEqual(l.accept, (l.score ?? -1) >= 0.5) }

        // The checkpoint is RORem's layout in the store, recorded with its step; the latents were cached there once.
        let folder = dir + "/st/checkpoints/rorem-r1"
        for file in ["pytorch_lora_weights.safetensors", "cls_pred_branch.pt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/" + file), file)
        }
        let cached = try FileManager.default.subpathsOfDirectory(atPath: dir + "/st/latents").filter { $0.hasSuffix(".safetensors") }
        XCTAssertEqual(cached.count, 12, "6 sources and 6 results encoded once: \(cached)")
        XCTAssertTrue(out.text.contains("trained rorem-r1: 6/6 steps"), out.text)
        XCTAssertTrue(out.text.contains("trained rorem-d: 2/2 steps"), out.text)
    }

    func testBadRORemArgumentsAreNamed() throws {
        let (s, _) = session()
        // A RORem folder whose head pickle calls os.system: refused, naming the callable; nothing runs.
        let evil = dir + "/evil-disc"
        try FileManager.default.createDirectory(atPath: evil, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.lora + "/pytorch_lora_weights.safetensors", toPath: evil + "/pytorch_lora_weights.safetensors")
        try FileManager.default.copyItem(atPath: Self.fixture + "/evil/os_system.pt", toPath: evil + "/cls_pred_branch.pt")
        for (source, text) in [("load_model(\"\(Self.lora)\")", "base:"),
                               ("load_model(\"\(Self.lora)\", base: \"\(dir)\")", "unet"),
                               ("load_model(\"\(Self.lora)\", base: \"\(Self.base)\", dtype: \"f8\")", "f32, f16 or bf16"),
                               ("load_model(\"\(Self.lora)\", base: \"\(Self.base)\", resolution: 40)", "resolution"),
                               ("load_model(\"\(Self.fixture)/evil\", base: \"\(Self.base)\")", "cls_pred_branch.pt"),
                               ("load_model(\"\(evil)\", base: \"\(Self.base)\")", "system"),
                               ("discriminator(base: \"\(Self.base)\", rank: 0)", "rank"),
                               ("train(discriminator(), [], loss: \"hinge\")", "loss")] {
            let (status, report) = s.interpreter.runReporting(source)
            XCTAssertNotEqual(status, 0, source)
            XCTAssertTrue(report?.contains(text) ?? false, "\(source): \(report ?? "")")
        }
    }
}
