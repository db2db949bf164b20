import Curation
import Diffusion
import Foundation
import Imaging
import Lang
import Learning
import Rounds

extension ModelPrimitives {
    static func registerTraining(in session: Session) {
        let dataType = ParamType.either([.object("dataset"), .object("candidates"), .list])
        session.interpreter.register(Primitive(
            "train",
            [Parameter("model", .either([.object("remover"), .object("discriminator")])), Parameter("data", dataType),
             Parameter("steps", .integer, default: .number(300)), Parameter("epochs", .integer, default: .nil),
             Parameter("batch", .integer, default: .nil), Parameter("lr", .number, default: .nil),
             Parameter("crop", .integer, default: .nil), Parameter("flips", .bool, default: .bool(true)),
             Parameter("turns", .bool, default: .bool(false)), Parameter("colors", .bool, default: .bool(false)),
             Parameter("seed", .integer, default: .number(0)), Parameter("by", .string, default: .string("oracle")),
             Parameter("store", .object("store"), default: .nil), Parameter("name", .string, default: .nil),
             Parameter("checkpoint", .string, default: .nil), Parameter("every", .integer, default: .number(0)),
             Parameter("mask_weight", .number, default: .number(6)), Parameter("warmup", .integer, default: .number(20)),
             Parameter("loss", .string, default: .string("mse")), Parameter("cache_latents", .bool, default: .bool(true))],
            summary: "Trains a learned remover or a discriminator in place (AdamW, warm-up + cosine, flips); returns the run with its loss per step.",
            help: """
            data for a remover: a dataset with targets, candidates (their results become the targets), or a list of those.
            data for a discriminator: candidates (or a list of them) with the decisions of annotator `by` (default oracle).
            steps or epochs; batch (default 8; RORem's discriminator 4); lr (peak learning rate; default 2e-3, RORem's
            discriminator 1e-4); crop: square training crops (default: 64, or the images' shorter side when smaller);
            flips: random left-right mirroring; seed: batch order and augmentation.
            discriminator only: turns: any of the 8 orientations (quarter turns and mirrorings) instead of flips;
            colors: random colour-channel permutations and inversion. The oracle's masked PSNR and L1 do not change
            under either, so its labels stay true.
            RORem's discriminator (load_model(DIR, base:) or discriminator(base:)): the LoRA and the head learn, the base
            stays frozen, with gradient checkpointing; loss: "mse" (RORem's, on the softplus score) or "bce" (on the
            logit); the sources and results are VAE-encoded once, then cached in STORE/latents/ (cache_latents: false
            keeps them in memory only). No augmentation (the latents are fixed). The checkpoint is a folder in RORem's
            layout: STORE/checkpoints/NAME/ with store: + name:, or checkpoint: DIR. RORem trained with lr 1e-5, batch 32,
            15000 steps on GPUs.
            store: + name: saves the checkpoint as STORE/checkpoints/NAME.safetensors and records it in the store;
            checkpoint: an explicit path instead; every: also save every that many steps.
            On a terminal a progress bar with the loss runs on standard error; Ctrl-C stops after the current step,
            keeping the weights learned so far. The result prints one line; plot(run) draws its loss curve.
            """,
            example: "let run = train(m, parts.train, steps: 500, batch: 8, lr: 2e-3, seed: 1)"
        ) { [unowned session] args in
            try train(args, session: session)
        })
    }

    /// The body of `train(...)`.
    static func train(_ args: Arguments, session: Session) throws -> Value {
        var config = TrainingConfig()
        config.steps = try args.int("steps")
        if args["epochs"].number != nil { config.epochs = try args.int("epochs") }
        let rorem: RORemDiscriminator?
        if case .object(let d as DiscriminatorValue) = args["model"], case .rorem(let r) = d.model { rorem = r } else { rorem = nil }
        config.batchSize = args["batch"] == .nil ? (rorem == nil ? 8 : 4) : try args.int("batch")
        config.learningRate = Float(args["lr"] == .nil ? (rorem == nil ? 2e-3 : 1e-4) : try args.number("lr"))
        config.horizontalFlips = args["flips"] == .bool(true)
        config.quarterTurns = args["turns"] == .bool(true)
        config.colorAugmentation = args["colors"] == .bool(true)
        config.seed = try seed(args)
        config.maskWeight = Float(try args.number("mask_weight"))
        config.warmupSteps = try args.int("warmup")
        config.checkpointEvery = try args.int("every")
        let store = (args["store"] == .nil) ? nil : try args.object("store", as: StoreValue.self).store

        let items: [Value]
        if case .list(let xs) = args["data"] { items = xs } else { items = [args["data"]] }
        guard !items.isEmpty else { throw PrimitiveError("train(): data is an empty list") }

        let lossName = try args.string("loss")
        guard let loss = RORemDiscriminator.Loss(rawValue: lossName) else {
            throw PrimitiveError("train(): loss must be \"mse\" or \"bce\", got \(Value.quote(lossName))")
        }
        if rorem == nil, loss != .mse {
            throw PrimitiveError("train(): loss: is for RORem's discriminator; the miniature models train with their own loss")
        }

        switch args["model"] {
        case .object(let d as DiscriminatorValue):
            if let rorem {
                return try trainRORem(rorem, name: args["name"].string ?? d.name, items: items, config: config, loss: loss,
                                      store: store, args: args, session: session)
            }
            guard case .miniature(let miniature) = d.model else { throw PrimitiveError("train(): unknown discriminator kind") }
            let annotator = try CurationPrimitives.annotator(try args.string("by"), for: "train")
            var samples: [JudgedSample] = []
            for (k, item) in items.enumerated() {
                guard case .object(let c as CandidatesValue) = item else {
                    throw PrimitiveError("train(): a discriminator trains on candidates with labels; data element \(k) is \(item.typeName)")
                }
                samples += try learning("train") { try TrainingSources.judged(c.candidates, store: c.store, annotator: annotator).samples }
            }
            let name = args["name"].string ?? d.name
            config.checkpointPath = try checkpointPath(args, store: store, name: name, session: session)
            let report = try run(config, model: name, kind: "discriminator", store: store, output: args.interpreter.output) { trainer in
                try trainer.train(miniature, on: InMemoryJudgedData(samples))
            }
            return .object(TrainingValue(model: name, report: report))
        case .object(let r as RemoverValue):
            guard let unet = r.remover as? UNetRemover else {
                throw PrimitiveError("train(): the \(r.remover.name) remover has nothing to learn; make a learned one with unet(...)")
            }
            var samples: [RemovalSample] = []
            for (k, item) in items.enumerated() {
                switch item {
                case .object(let ds as DatasetValue): samples += try learning("train") { try TrainingSources.removal(ds.dataset).samples }
                case .object(let c as CandidatesValue): samples += try learning("train") { try TrainingSources.removal(c.candidates).samples }
                default: throw PrimitiveError("train(): a remover trains on datasets or candidates; data element \(k) is \(item.typeName)")
                }
            }
            guard !samples.isEmpty else { throw PrimitiveError("train(): the data holds no samples") }
            config.cropSize = try cropSize(args, samples: samples, multiple: unet.config.sizeMultiple)
            let name = args["name"].string ?? "unet"
            config.checkpointPath = try checkpointPath(args, store: store, name: name, session: session)
            let report = try run(config, model: name, kind: "remover", store: store, output: args.interpreter.output) { trainer in
                try trainer.train(unet, on: InMemoryRemovalData(samples))
            }
            return .object(TrainingValue(model: name, report: report))
        default:
            throw PrimitiveError("train(): model must be a learned remover (unet) or a discriminator, got \(args["model"].typeName)")
        }
    }

    /// The crop side: `crop:` if given (a multiple of the network's `multiple`), else 64 or the smallest image side
    /// when that is smaller, rounded down to a multiple.
    static func cropSize(_ args: Arguments, samples: [RemovalSample], multiple: Int) throws -> Int {
        if args["crop"].number != nil {
            let c = try args.int("crop")
            guard c >= multiple, c % multiple == 0, c <= 1024 else {
                throw PrimitiveError("train(): crop must be a multiple of \(multiple) for this network, at most 1024, got \(c)")
            }
            return c
        }
        let shortest = samples.map { min($0.source.width, $0.source.height) }.min() ?? 64
        return max(multiple, min(64, shortest) / multiple * multiple)
    }

    /// Where the checkpoint goes: `checkpoint:` resolved, or `STORE/checkpoints/NAME.safetensors` with `store:`, or nil.
    static func checkpointPath(_ args: Arguments, store: Store?, name: String, session: Session, folder: Bool = false) throws -> String? {
        if let path = args["checkpoint"].string { return session.resolve(path) }
        guard let store else { return nil }
        guard !name.isEmpty, !name.contains("/") else { throw PrimitiveError("train(): name must be a plain file name, got \(Value.quote(name))") }
        let dir = (store.path as NSString).appendingPathComponent("checkpoints")
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw PrimitiveError.io("train(): cannot create the checkpoint folder '\(dir)': \(error.localizedDescription)")
        }
        return (dir as NSString).appendingPathComponent(folder ? name : name + ".safetensors")
    }

    /// `train(d, cands, ...)` for RORem's discriminator: the store's labels by `by:`, latents cached in the store.
    static func trainRORem(_ d: RORemDiscriminator, name: String, items: [Value], config: TrainingConfig,
                           loss: RORemDiscriminator.Loss, store: Store?, args: Arguments, session: Session) throws -> Value {
        let annotator = try CurationPrimitives.annotator(try args.string("by"), for: "train")
        var config = config
        config.checkpointPath = try checkpointPath(args, store: store, name: name, session: session, folder: true)
        var groups: [(candidates: [Candidate], store: Store)] = []
        for (k, item) in items.enumerated() {
            guard case .object(let c as CandidatesValue) = item else {
                throw PrimitiveError("train(): a discriminator trains on candidates with labels; data element \(k) is \(item.typeName)")
            }
            groups.append((c.candidates, c.store))
        }
        let quiet = !(args.interpreter.output is StandardOutput)
        let options = Rounds.RORemTrainingOptions(loss: loss, cacheLatents: args["cache_latents"] != .bool(false),
                                                  progress: quiet ? .silent : .terminalOnly)
        let report = try run(config, model: name, kind: "discriminator", store: store, output: args.interpreter.output) { trainer in
            // One run over every group's examples: encode each group from its own store, then train once.
            if groups.count == 1 {
                return try Rounds.train(d, on: groups[0].candidates, store: groups[0].store, annotator: annotator, trainer: trainer, options: options)
            }
            var examples: [RORemDiscriminator.Example] = []
            for g in groups {
                let cache = options.cacheLatents ? try Rounds.latentCache(for: d, store: g.store) : nil
                examples += try Rounds.judgedExamples(d, g.candidates, store: g.store, annotator: annotator, cache: cache,
                                                      progress: options.progress, stopRequested: trainer.shouldStop)
            }
            return try Rounds.train(d, on: examples, trainer: trainer, options: options)
        }
        return .object(TrainingValue(model: name, report: report))
    }

    /// Runs `body` with a trainer that draws a bar on a terminal's standard error and stops on Ctrl-C, prints the
    /// final line, and records the checkpoint in `store`.
    static func run(_ config: TrainingConfig, model: String, kind: String, store: Store?, output: OutputSink,
                    _ body: (Trainer) throws -> TrainingReport) throws -> TrainingReport {
        let bar = output is StandardOutput && isatty(STDERR_FILENO) != 0
        var lastDrawn = -1.0
        let trainer = Trainer(config: config, progress: { p in
            guard bar, p.step == p.total || p.elapsed - lastDrawn >= 0.1 else { return }
            lastDrawn = p.elapsed
            FileHandle.standardError.write(Data(("\r" + p.bar() + "  ").utf8))
        }, shouldStop: { Interrupt.isRequested })
        let report = try learning("train") { try body(trainer) }
        if bar { FileHandle.standardError.write(Data("\n".utf8)) }
        if let store, let path = report.checkpointPath {
            try learning("train") {
                let record = try store.model(model, kind: kind)
                if let id = record.id { try store.addCheckpoint(model: id, path: path, step: report.stepsCompleted) }
            }
        }
        output.write(finalLine(model: model, report: report) + "\n")
        return report
    }

    /// `trained unet: 300/300 steps, loss 0.2112 -> 0.0412, 21.3 s (14.1 steps/s)`.
    static func finalLine(model: String, report: TrainingReport) -> String {
        let value = TrainingValue(model: model, report: report)
        let first = report.losses.first.map { String(format: "%.4f", Double($0)) } ?? "-"
        let last = value.finalLoss.map { String(format: "%.4f", $0) } ?? "-"
        var line = "trained \(model): \(report.stepsCompleted)/\(report.totalSteps) steps, loss \(first) -> \(last), "
            + String(format: "%.1f s (%.1f steps/s)", report.seconds, report.stepsPerSecond)
        if report.stopped { line += "; stopped early, weights kept" }
        return line
    }
}
