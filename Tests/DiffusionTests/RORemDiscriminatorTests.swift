import Diffusion
import Foundation
import Imaging
import NN
import Tensor
import XCTest

/// RORem's discriminator against RORem's own code (`model/unet_sdxl_discriminator.py` and its pipeline) on a tiny
/// random base, in RORem's file layout (Scripts/fixtures/make_rorem_discriminator_fixtures.py).
final class RORemDiscriminatorTests: XCTestCase {
    static let root = DiffusionFixtures.path("tiny-rorem-discriminator")
    static let base = root + "/base", lora = root + "/lora"
    static let settings = RORemDiscriminator.Settings(resolution: 64)

    func reference() throws -> SafeTensorsFile { try SafeTensorsFile(path: Self.root + "/reference.safetensors") }

    func triplet(_ k: Int) throws -> (source: Image, mask: Mask, result: Image) {
        let dir = Self.root + "/images/"
        return (try ImageIO.load(dir + "source_\(k).png"), try ImageIO.loadMask(dir + "mask_\(k).png"),
                try ImageIO.load(dir + "result_\(k).png"))
    }

    func load(_ folder: String = RORemDiscriminatorTests.lora) throws -> RORemDiscriminator {
        try RORemDiscriminator.load(folder: folder, base: Self.base, variant: "fp16", settings: Self.settings)
    }

    func temporaryFolder(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rorem-disc-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    // Tolerances: float32 on both sides; latents and encoder output 1e-4 + 1e-3 relative, scores 2e-4 absolute
    // (triplet 2 is resized from 80 px by PIL's bicubic in RORem and by Imaging's here: 1e-3).

    func testDeterministicScoresAndIntermediatesMatchRORem() throws {
        let d = try load()
        let ref = try reference()
        assertClose(d.promptEmbeds, try ref.tensor("prompt_embeds"), atol: 1e-5, rtol: 1e-4, "prompt_embeds")
        assertClose(d.pooledPromptEmbeds, try ref.tensor("pooled_prompt_embeds"), atol: 1e-5, rtol: 1e-4, "pooled")
        XCTAssertEqual(d.network.adapters.count, 16, "to_q/k/v/out.0 of the 4 attentions")
        for k in 0..<3 {
            let t = try triplet(k)
            let resized = k == 2
            let tol: Float = resized ? 2e-3 : 1e-4
            let r = try d.latents(for: t.result), s = try d.latents(for: t.source), m = try d.maskLatents(for: t.mask)
            assertClose(r, try ref.tensor("result_latents.\(k)"), atol: tol, rtol: 1e-3, "result_latents.\(k)")
            assertClose(s, try ref.tensor("source_latents.\(k)"), atol: tol, rtol: 1e-3, "source_latents.\(k)")
            assertClose(m, try ref.tensor("mask_latents.\(k)"), atol: 0, rtol: 0, "mask_latents.\(k)")
            let input = try RORemDiscriminator.input(resultLatents: r, mask: m, sourceLatents: s)
            let (context, added) = try (d.promptEmbeds, AddedConditions(textEmbeds: d.pooledPromptEmbeds,
                                                                       timeIds: Tensor([512, 512, 0, 0, 512, 512], shape: [1, 6])))
            let mid = try d.network.encoder(input, timestep: 0, encoderHiddenStates: context, added: added).sample
            assertClose(mid, try ref.tensor("encoder.\(k)"), atol: resized ? 2e-3 : 1e-4, rtol: 1e-3, "encoder.\(k)")
            let score = try d.score(source: t.source, mask: t.mask, result: t.result)
            let want = try ref.tensor("score.\(k)").values[0]
            XCTAssertEqual(score, Double(want), accuracy: resized ? 1e-3 : 2e-4, "score of triplet \(k)")
        }
        // Batched, with the latent cache (triplets share nothing here, so this checks batching).
        let all = try (0..<3).map { try triplet($0) }
        let batched = try d.scores(all, batchSize: 2)
        for k in 0..<3 {
            XCTAssertEqual(batched[k], Double(try ref.tensor("score.\(k)").values[0]), accuracy: k == 2 ? 1e-3 : 2e-4)
        }
    }

    func testStochasticScoreMatchesRORemPipeline() throws {
        var settings = Self.settings
        settings.stochastic = true
        settings.seed = 7
        let d = try RORemDiscriminator.load(folder: Self.lora, base: Self.base, variant: "fp16", settings: settings)
        let t = try triplet(0)
        let score = try d.score(source: t.source, mask: t.mask, result: t.result)
        XCTAssertEqual(score, Double(try reference().tensor("stochastic_score.0").values[0]), accuracy: 2e-4)
        XCTAssertEqual(try d.score(source: t.source, mask: t.mask, result: t.result), score, "same seed, same score")
        d.settings.stochastic = false
        XCTAssertNotEqual(try d.score(source: t.source, mask: t.mask, result: t.result), score, accuracy: 1e-3)
    }

    func testLossAndGradientsMatchRORem() throws {
        let d = try load()
        let ref = try reference()
        let input = try ref.tensor("train.input"), labels = try ref.tensor("train.labels").values
        let batch = try (0..<2).map { i -> RORemDiscriminator.Example in
            let x = try input.slice(axis: 0, i, i + 1)
            return RORemDiscriminator.Example(resultLatents: try x.slice(axis: 1, 0, 4), mask: try x.slice(axis: 1, 4, 5),
                                              sourceLatents: try x.slice(axis: 1, 5, 9), label: labels[i])
        }
        let optimizer = d.makeOptimizer(learningRate: 1e-3)
        let loss = try d.trainStep(batch: batch, optimizer: optimizer)
        XCTAssertEqual(loss, try ref.tensor("train.loss").values[0], accuracy: 1e-5)
        let parameters = Dictionary(d.network.namedParameters().map { ($0.name, $0.parameter) }, uniquingKeysWith: { a, _ in a })
        var checked = 0
        for name in ref.names where name.hasPrefix("grad.") {
            let short = String(name.dropFirst(5))
            guard let p = parameters[short] else { XCTFail("no parameter \(short)"); continue }
            guard var g = p.grad else { XCTFail("no gradient for \(short)"); continue }
            if short == "cls_pred_branch.3.weight" { g = try g.slice(axis: 0, 0, 4) }
            // Scaled by the tensor's largest value: float32 itself moves the head's gradients by up to 4e-6 of it
            // (PyTorch float32 against float64), because the last GroupNorm sees two channels per group at 1x1.
            let want = try ref.tensor(name)
            let scale = want.values.map(abs).max() ?? 0
            assertClose(g, want, atol: max(1e-7, 2e-5 * scale), rtol: 2e-3, "grad \(short)")
            checked += 1
        }
        XCTAssertEqual(checked, 46, "32 LoRA factors and 14 head tensors")
        XCTAssertEqual(d.trainableParameters.count, 46)
        for name in ref.names where name.hasPrefix("adamw.") {
            let short = String(name.dropFirst(6))
            guard let p = parameters[short] else { XCTFail("no parameter \(short)"); continue }
            assertClose(p.value, try ref.tensor(name), atol: 1e-6, rtol: 1e-4, "after AdamW \(short)")
        }
        // The base stays frozen: no gradient anywhere else.
        for (name, p) in d.network.namedParameters() where !name.contains(".lora.") && !name.hasPrefix("cls_pred_branch.") {
            XCTAssertNil(p.grad, "\(name) is frozen")
        }
        // The fp16 base keeps no float32 copy of its weights through forward and backward.
        let shadowed = d.network.namedParameters().filter { $0.parameter.dtype != .f32 && $0.parameter.value.storage.hasFloat32Shadow }
        XCTAssertTrue(d.network.encoder.parameters.contains { $0.dtype == .f16 }, "the fixture's base is fp16")
        XCTAssertEqual(shadowed.map(\.name), [], "half weights kept in float32 after a training step")
    }

    func testSaveReloadRoundTripAndPEFTNames() throws {
        let d = try load()
        let examples = try (0..<3).map { try triplet($0) }
        let before = try d.scores(examples, batchSize: 3)
        let keep = ProcessInfo.processInfo.environment["RORAM_DISCRIMINATOR_SAVE_DIR"]
        let dir = try keep ?? temporaryFolder("saved")
        try d.save(to: dir)
        let reloaded = try load(dir)
        XCTAssertEqual(try reloaded.scores(examples, batchSize: 3), before, "save then load gives the same scores")
        if keep != nil {    // for make_rorem_discriminator_fixtures.py --verify DIR (RORem's code on rorem's files)
            try JSONSerialization.data(withJSONObject: before).write(to: URL(fileURLWithPath: dir + "/scores.json"))
        }
        // The files hold diffusers' names with the `unet.` prefix and torch.save's head names.
        let saved = try SafeTensorsFile(path: dir + "/" + RORemDiscriminator.loraFile)
        let original = try SafeTensorsFile(path: Self.lora + "/" + RORemDiscriminator.loraFile)
        XCTAssertEqual(Set(saved.names), Set(original.names))
        let head = try TorchCheckpoint(path: dir + "/" + RORemDiscriminator.headFile)
        XCTAssertEqual(Set(head.names), Set(try TorchCheckpoint(path: Self.lora + "/" + RORemDiscriminator.headFile).names))

        // PEFT names (lora_A / lora_B) without the `unet.` prefix load to the same model.
        let peft = try temporaryFolder("peft")
        var renamed: [(name: String, tensor: Tensor)] = []
        for name in original.names {
            let n = String(name.dropFirst(5)).replacingOccurrences(of: ".lora.down.weight", with: ".lora_A.weight")
                .replacingOccurrences(of: ".lora.up.weight", with: ".lora_B.weight")
            renamed.append((n, try original.tensor(name)))
        }
        try SafeTensors.write(renamed, to: peft + "/" + RORemDiscriminator.loraFile)
        try FileManager.default.copyItem(atPath: Self.lora + "/" + RORemDiscriminator.headFile, toPath: peft + "/" + RORemDiscriminator.headFile)
        XCTAssertEqual(try load(peft).scores(examples, batchSize: 3), before)
    }

    /// A folder with the fixture's files, `head` replacing cls_pred_branch.pt and `lora` the LoRA file when given.
    func folder(_ name: String, head: [UInt8]? = nil, lora: [(name: String, tensor: Tensor)]? = nil) throws -> String {
        let dir = try temporaryFolder(name)
        let headPath = dir + "/" + RORemDiscriminator.headFile, loraPath = dir + "/" + RORemDiscriminator.loraFile
        if let head { try Data(head).write(to: URL(fileURLWithPath: headPath)) } else {
            try FileManager.default.copyItem(atPath: Self.lora + "/" + RORemDiscriminator.headFile, toPath: headPath)
        }
        if let lora { try SafeTensors.write(lora, to: loraPath) } else {
            try FileManager.default.copyItem(atPath: Self.lora + "/" + RORemDiscriminator.loraFile, toPath: loraPath)
        }
        return dir
    }

    func assertLoadFails(_ folder: String, mentions parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(folder), file: file, line: line) { error in
            let text = "\(error)"
            for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' should mention '\(p)'", file: file, line: line) }
        }
    }

    func testMaliciousHeadPicklesAreRefusedNamingTheCallable() throws {
        try? FileManager.default.removeItem(atPath: "/tmp/rorem-pwned")
        for (file, callable) in [("os_system.pt", "os.system"), ("builtins_eval.pt", "builtins.eval")] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.root + "/evil/" + file)))
            let dir = try folder("evil-\(file)", head: bytes)
            assertLoadFails(dir, mentions: [RORemDiscriminator.headFile, callable])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/rorem-pwned"), "nothing was run")
    }

    func testMissingTruncatedAndMisshapenFilesAreNamed() throws {
        let original = try SafeTensorsFile(path: Self.lora + "/" + RORemDiscriminator.loraFile)
        var tensors = try original.names.map { (name: $0, tensor: try original.tensor($0)) }

        let missing = try temporaryFolder("missing")
        try FileManager.default.copyItem(atPath: Self.lora + "/" + RORemDiscriminator.headFile, toPath: missing + "/" + RORemDiscriminator.headFile)
        assertLoadFails(missing, mentions: [RORemDiscriminator.loraFile, "missing"])

        let head = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.lora + "/" + RORemDiscriminator.headFile)))
        assertLoadFails(try folder("truncated-head", head: Array(head.prefix(head.count / 2))), mentions: [RORemDiscriminator.headFile])
        let loraBytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.lora + "/" + RORemDiscriminator.loraFile)))
        let truncated = try folder("truncated-lora")
        try Data(loraBytes.prefix(loraBytes.count - 100)).write(to: URL(fileURLWithPath: truncated + "/" + RORemDiscriminator.loraFile))
        assertLoadFails(truncated, mentions: [RORemDiscriminator.loraFile])

        // A factor of the wrong shape: the file, the tensor and both shapes.
        let i = try XCTUnwrap(tensors.firstIndex { $0.name.hasSuffix("to_q.lora.up.weight") })
        let wrongName = tensors[i].name
        tensors[i].tensor = Tensor(zeros: [tensors[i].tensor.shape[0] + 1, tensors[i].tensor.shape[1]])
        assertLoadFails(try folder("misshapen", lora: tensors), mentions: [RORemDiscriminator.loraFile, wrongName, "needs"])

        // A tensor that targets no layer.
        tensors = try original.names.map { (name: $0, tensor: try original.tensor($0)) }
        tensors.append(("unet.up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora.down.weight", Tensor(zeros: [4, 32])))
        tensors.append(("unet.up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora.up.weight", Tensor(zeros: [32, 4])))
        assertLoadFails(try folder("stray", lora: tensors), mentions: ["up_blocks.0.attentions.0", "matches no linear layer"])

        // A head tensor of the wrong shape.
        let headSource = try TorchCheckpoint(path: Self.lora + "/" + RORemDiscriminator.headFile)
        var headTensors = try headSource.names.map { (name: $0, tensor: try headSource.tensor($0)) }
        let j = try XCTUnwrap(headTensors.firstIndex { $0.name == "cls_pred_branch.4.weight" })
        headTensors[j].tensor = Tensor(zeros: [3])
        let badHead = try temporaryFolder("bad-head-src")
        try TorchWriter.write(headTensors, to: badHead + "/h.pt")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: badHead + "/h.pt")))
        assertLoadFails(try folder("bad-head", head: bytes), mentions: [RORemDiscriminator.headFile, "cls_pred_branch.4.weight", "[3]", "[64]"])
    }

    /// Same inputs, same scores and gradients, whatever the number of threads.
    func testScoresAndGradientsDoNotDependOnTheThreadCount() throws {
        let d = try load()
        let examples = try (0..<3).map { try triplet($0) }
        let batch = try examples.prefix(2).enumerated().map { i, t in
            try d.example(source: t.source, mask: t.mask, result: t.result, label: Float(i % 2))
        }
        func run() throws -> ([Double], [[Float]]) {
            let scores = try d.scores(examples, batchSize: 2)
            for p in d.trainableParameters { p.zeroGrad() }
            try d.lossAndGradients(batch: batch)
            return (scores, d.trainableParameters.map { $0.grad?.values ?? [] })
        }
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        let one = try run()
        Parallel.threads = 3
        let three = try run()
        XCTAssertEqual(one.0, three.0)
        XCTAssertTrue(one.1 == three.1, "gradients differ between 1 and 3 threads")
    }

    func testResolutionThatTheHeadCannotReduceIsRefused() throws {
        XCTAssertThrowsError(try RORemDiscriminator.load(folder: Self.lora, base: Self.base, variant: "fp16",
                                                          settings: .init(resolution: 32))) { error in
            XCTAssertTrue("\(error)".contains("8x8 mid block"), "\(error)")
        }
    }

    /// A fresh discriminator learns to tell clean fills from fills that left the object or noise.
    func testTrainingOnTinyDataLowersTheLossAndSeparatesTheClasses() throws {
        let d = try RORemDiscriminator.fresh(base: Self.base, rank: 4, headWidth: 256, seed: 3, variant: "fp16", settings: Self.settings)
        var examples: [RORemDiscriminator.Example] = []
        for k in 0..<4 {
            let (source, mask, clean) = try synthetic(k)
            var bad = source
            if k % 2 == 1 {   // a noisy fill instead of the object
                var rng = RNG(seed: UInt64(k))
                bad = try Image(width: 64, height: 64, channels: 3, pixels: zip(source.pixels, clean.pixels).enumerated().map { i, p in
                    mask.values[i / 3] >= 0.5 ? rng.nextFloat() : p.1
                })
            }
            examples.append(try d.example(source: source, mask: mask, result: clean, label: 1))
            examples.append(try d.example(source: source, mask: mask, result: bad, label: 0))
        }
        func meanScores() throws -> (accepted: Double, rejected: Double, loss: Double) {
            let input = try Tensor.concat(examples.map {
                try RORemDiscriminator.input(resultLatents: $0.resultLatents, mask: $0.mask, sourceLatents: $0.sourceLatents)
            }, axis: 0)
            let values: [Float] = try GradMode.noGrad { try d.forward(input) }.values
            var loss = 0.0, acc: [Double] = [], rej: [Double] = []
            for (v, e) in zip(values, examples) {
                let s = Double(v), y = Double(e.label)
                loss += (s - y) * (s - y) / Double(values.count)
                if e.label == 1 { acc.append(s) } else { rej.append(s) }
            }
            return (acc.reduce(0, +) / Double(acc.count), rej.reduce(0, +) / Double(rej.count), loss)
        }
        let start = try meanScores()
        let optimizer = d.makeOptimizer(learningRate: 1e-3)     // 1e-2 collapses to the mean, in PyTorch too
        for _ in 0..<40 { _ = try d.trainStep(batch: examples, optimizer: optimizer) }
        let end = try meanScores()
        XCTAssertLessThan(end.loss, start.loss * 0.5, "loss \(start.loss) -> \(end.loss)")
        XCTAssertGreaterThan(end.accepted - end.rejected, 0.4, "accepted \(end.accepted), rejected \(end.rejected)")
    }

    /// A (source with an object, mask, clean background) triplet at 64 px; `k` moves the object.
    func synthetic(_ k: Int) throws -> (Image, Mask, Image) {
        let n = 64
        let cx = 20 + Double(k % 4) * 8, cy = 24 + Double(k / 4) * 12
        var bg: [Float] = [], src: [Float] = [], m: [Float] = []
        for y in 0..<n {
            for x in 0..<n {
                let u = Double(x) / Double(n), v = Double(y) / Double(n)
                let r = Float(0.3 + 0.4 * u), g = Float(0.5 + 0.3 * sin(6 * v + Double(k))), b = Float(0.6 - 0.3 * u * v)
                let dx = Double(x) - cx, dy = Double(y) - cy
                let d2 = dx * dx + dy * dy
                bg += [r, g, b]
                src += d2 < 64 ? [0.9, 0.1, 0.1] : [r, g, b]
                m.append(d2 < 100 ? 1 : 0)
            }
        }
        return (try Image(width: n, height: n, channels: 3, pixels: src), try Mask(width: n, height: n, values: m),
                try Image(width: n, height: n, channels: 3, pixels: bg))
    }
}
