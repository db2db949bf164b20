import Foundation
import Imaging
import Lang
import Learning
import XCTest
@testable import Workbench

/// Script-level tests of the model primitives (unet, discriminator, train, save_model, load_model, score,
/// remover("unet", path)), plot and save_json, checked against the Learning API on tiny sizes.
final class ModelPrimitivesTests: SessionTestCase {
    private func number(_ s: Session, _ name: String) throws -> Double {
        guard let n = s.interpreter.global(name)?.number else { throw PrimitiveError("global \(name) is not a number") }
        return n
    }

    /// Error text of running `source`, or nil when it runs.
    private func failure(_ s: Session, _ source: String) -> String? {
        do { try s.interpreter.run(source); return nil } catch { return "\(error)" }
    }

    func testTrainingLowersTheLossIsSeededAndRoundTripsThroughACheckpoint() throws {
        let (s, out) = session()
        try s.interpreter.run("""
        let ds = synth(16, width: 16, height: 16, seed: 2, backgrounds: ["gradient"], textured: false)
        let m = unet(widths: [8, 16], groups: 4, seed: 3)
        let run = train(m, ds, steps: 40, batch: 4, lr: 0.003, seed: 5)
        let twin = unet(widths: [8, 16], groups: 4, seed: 3)
        let run2 = train(twin, ds, steps: 40, batch: 4, lr: 0.003, seed: 5)
        let first = run.losses[0]
        let last = run.final_loss
        let same = run.losses == run2.losses
        save_model(m, "ck/m.safetensors")
        let back = remover("unet", "ck/m.safetensors")
        let a = remove(ds[0].source, ds[0].mask, with: m)
        let b = remove(ds[0].source, ds[0].mask, with: back)
        let c = remove(ds[0].source, ds[0].mask, with: load_model("ck/m.safetensors"))
        print(len(run), run.steps, run.stopped, same, a == b, a == c)
        """)
        XCTAssertTrue(out.text.hasPrefix("trained unet: 40/40 steps, loss "), out.text)
        XCTAssertTrue(out.text.hasSuffix("40 40 false true true true\n"), out.text)
        // The loss of the first step is that of an untrained network; 40 steps must at least cut it by a third.
        XCTAssertLessThan(try number(s, "last"), 0.67 * (try number(s, "first")))
        // The language's model is Learning's UNetRemover and its checkpoint loads with the Swift API.
        let m = try object(s, "m", as: RemoverValue.self)
        XCTAssertTrue(m.remover is UNetRemover)
        let loaded = try UNetRemover.load(path: dir + "/ck/m.safetensors")
        XCTAssertEqual(loaded.config.widths, [8, 16])
    }

    func testScoreMatchesTheSwiftDiscriminatorAndTrainingSeparatesLabels() throws {
        let (s, _) = session()
        try s.interpreter.run("""
        let ds = synth(12, width: 24, height: 24, seed: 4)
        let st = open_store("st")
        let good = generate(st, remover("telea"), ds, round: 1)
        oracle(good, min_psnr: 0, max_l1: 1)
        let d = discriminator(widths: [8, 16], groups: 4, resolution: 16, seed: 1, name: "judge")
        let one = score(d, ds[0].source, ds[0].mask, ds[0].target)
        let many = score(d, good)
        """)
        let d = try object(s, "d", as: DiscriminatorValue.self)
        let ds = try object(s, "ds", as: DatasetValue.self).dataset
        let expected = try d.score(source: ds[0].loadSource(), mask: ds[0].loadMask(), result: XCTUnwrap(ds[0].loadTarget()))
        XCTAssertEqual(try number(s, "one"), expected, accuracy: 1e-12)
        guard case .list(let many)? = s.interpreter.global("many") else { return XCTFail("score of candidates is not a list") }
        XCTAssertEqual(many.count, 12)
        XCTAssertEqual(d.name, "judge")
        // Every candidate was accepted by the lenient oracle: training on all-accept labels pushes scores up.
        try s.interpreter.run("let run = train(d, good, steps: 30, batch: 6, lr: 0.005)\nlet after = score(d, good)")
        guard case .list(let after)? = s.interpreter.global("after") else { return XCTFail("no scores after training") }
        let meanAfter = after.compactMap(\.number).reduce(0, +) / Double(after.count)
        XCTAssertGreaterThan(meanAfter, 0.7)
    }

    func testModelErrorsNameTheProblem() throws {
        let (s, _) = session()
        try s.interpreter.run("let ds = synth(4, width: 16, height: 16)")
        XCTAssertEqual(failure(s, "remover(\"unet\")")?.contains("needs the checkpoint's path"), true)
        XCTAssertEqual(failure(s, "remover(\"telea\", \"x.safetensors\")")?.contains("takes no checkpoint path"), true)
        XCTAssertEqual(failure(s, "train(remover(\"telea\"), ds)")?.contains("has nothing to learn"), true)
        XCTAssertEqual(failure(s, "unet(widths: [6, 12], groups: 4)")?.contains("divisible by groups"), true)
        XCTAssertEqual(failure(s, "train(unet(widths: [8, 16], groups: 4), ds, crop: 15)")?.contains("multiple of 2"), true)
        XCTAssertEqual(failure(s, "save_model(remover(\"telea\"), \"t.safetensors\")")?.contains("no weights to save"), true)
        let missing = failure(s, "load_model(\"nope.safetensors\")") ?? ""
        XCTAssertTrue(missing.contains("nope.safetensors") && missing.contains("load_model()"), missing)
        XCTAssertEqual(failure(s, "train(discriminator(), ds)")?.contains("trains on candidates"), true)
        let head = failure(s, "discriminator(head: \"global\")") ?? ""
        XCTAssertTrue(head.contains("\"masked_mean\"") && head.contains("\"global\""), head)
        try s.interpreter.run("let mm = discriminator(widths: [8, 8], groups: 4, resolution: 16, head: \"masked_mean\")")
        let mm = try object(s, "mm", as: DiscriminatorValue.self)
        XCTAssertEqual(try XCTUnwrap(mm.miniature).config.head, .maskedMean)
        XCTAssertEqual(mm.summary, "<discriminator disc 16px widths [8, 8] masked_mean>")
        XCTAssertEqual(mm.field("head"), .string("masked_mean"))
        XCTAssertEqual(mm.field("shift_residual"), .bool(false))
        try s.interpreter.run("let sh = discriminator(widths: [8, 8], groups: 4, resolution: 16, head: \"masked_mean\", shift_residual: true)")
        let sh = try object(s, "sh", as: DiscriminatorValue.self)
        XCTAssertEqual(try XCTUnwrap(sh.miniature).config.inputChannels, 13)
        XCTAssertEqual(sh.summary, "<discriminator disc 16px widths [8, 8] masked_mean shift_residual>")
        XCTAssertEqual(sh.field("shift_residual"), .bool(true))
        XCTAssertNotNil(failure(s, "discriminator(shift_residual: 1)"))
        XCTAssertEqual(try object(s, "mm", as: DiscriminatorValue.self).field("widths"), .list([.number(8), .number(8)]))
        XCTAssertEqual(failure(s, "unet(widths: [4096, 4096])")?.contains("MB of weights"), true)
        XCTAssertEqual(failure(s, "train(unet(widths: [8, 16], groups: 4), ds, crop: 4096)")?.contains("at most 1024"), true)
        // A remover that still works after the override: classical names and options.
        XCTAssertNil(failure(s, "remove(ds[0].source, ds[0].mask, with: remover(\"patchmatch\", patch: 5))"))
    }

    func testPlotDrawsEachSeriesInItsColourAndSavesAPNG() throws {
        let (s, _) = session()
        try s.interpreter.run("""
        let table = [{stage: "r0", a: 0.2, b: 0.3}, {stage: "r1", a: 0.5, b: nil}, {stage: "r2", a: 0.7, b: 0.6}]
        let img = plot(table, y: ["a", "b"], x: "stage", title: "success", path: "out/p.png", width: 200, height: 120)
        """)
        let image = try object(s, "img", as: ImageValue.self).image
        XCTAssertEqual([image.width, image.height], [200, 120])
        func count(_ rgb: [Float]) -> Int {
            (0..<(image.width * image.height)).filter { p in (0..<3).allSatisfy { abs(image.pixels[p * 3 + $0] - rgb[$0]) < 1e-6 } }.count
        }
        XCTAssertGreaterThan(count(LinePlot.palette[0]), 30)   // series a: lines and markers
        XCTAssertGreaterThan(count(LinePlot.palette[1]), 20)   // series b: two markers and its legend, no line across the gap
        XCTAssertEqual(try ImageIO.load(dir + "/out/p.png").width, 200)
        // The y ticks are round numbers spanning the data.
        XCTAssertEqual(LinePlot.ticks(0.175, 0.725, count: 5), [0.2, 0.4, 0.6])     // raw step 0.1375 -> 0.2
        XCTAssertEqual(LinePlot.ticks(-0.05, 1.05, count: 5), [0, 0.5, 1])          // raw step 0.275 -> 0.5
        XCTAssertEqual(LinePlot.ticks(0, 300, count: 6), [0, 100, 200, 300])
        XCTAssertEqual(PlotPrimitives.movingAverage([1, 3, 5, .nan, 9], window: 2), [1, 2, 4, 5, 9])
        XCTAssertEqual(failure(s, "plot([1, \"x\"])")?.contains("element 0"), true)
        XCTAssertEqual(failure(s, "plot(table, y: \"c\")")?.contains("has no column 'c'"), true)
    }

    func testSaveJSONKeepsFieldOrderAndWritesNullForNil() throws {
        let (s, _) = session()
        try s.interpreter.run("save_json([{stage: \"r\\\"0\", n: 3, sr: 0.25, d: nil, ok: true, xs: [1, 2.5]}], \"o/t.json\")")
        let text = try String(contentsOfFile: dir + "/o/t.json", encoding: .utf8)
        XCTAssertEqual(text, """
        [
          {
            "stage": "r\\"0",
            "n": 3,
            "sr": 0.25,
            "d": null,
            "ok": true,
            "xs": [1, 2.5]
          }
        ]

        """)
        let decoded = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        XCTAssertEqual(decoded?.first?["sr"] as? Double, 0.25)
    }

    func testRandomMasksKeepTheImageAsTargetAndAreSeeded() throws {
        let (s, _) = session()
        try s.interpreter.run("""
        let ds = synth(3, width: 24, height: 20, seed: 1)
        let a = random_masks(ds, per_image: 2, seed: 7)
        let b = random_masks(ds, per_image: 2, seed: 7)
        let c = random_masks(ds, per_image: 2, seed: 8)
        """)
        let ds = try object(s, "ds", as: DatasetValue.self).dataset
        let a = try object(s, "a", as: DatasetValue.self).dataset
        let b = try object(s, "b", as: DatasetValue.self).dataset
        let c = try object(s, "c", as: DatasetValue.self).dataset
        XCTAssertEqual(a.count, 6)
        for (k, pair) in a.pairs.enumerated() {
            let source = try ds[k / 2].loadSource()
            XCTAssertEqual(try pair.loadSource(), source)
            XCTAssertEqual(try pair.loadTarget(), source)
            let mask = try pair.loadMask()
            XCTAssertEqual([mask.width, mask.height], [24, 20])
            XCTAssertGreaterThan(mask.maskedCount, 0)
            XCTAssertEqual(try b[k].loadMask(), mask)
        }
        XCTAssertNotEqual(try a[0].loadMask(), try c[0].loadMask())
        XCTAssertNotNil(failure(s, "random_masks(ds, scale: [0.5, 0.2])"))
    }

    func testTableAlignsColumnsAndFormatsNumbers() throws {
        let (s, out) = session()
        try s.interpreter.run("print(table([{stage: \"initial\", n: 12, sr: 0.25}, {stage: \"round 1\", n: 3, sr: nil}], digits: 2))")
        XCTAssertEqual(out.text, """
        stage     n    sr
        initial  12  0.25
        round 1   3     -

        """)
    }
}
