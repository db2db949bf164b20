import Curation
import Diffusion
import Foundation
import Imaging
import Learning
import Support
import Tensor

/// Training RORem's discriminator on the store's labels: what `train(d, cands, by: ...)` runs for a discriminator
/// loaded with `load_model(DIR, base: BASE)`. The labels are an annotator's decisions (people, the oracle, a CSV
/// import); the candidates' sources and results are encoded by the base VAE once (cached in the store between
/// runs with `cacheLatents`), then the adapters and the head learn with `Trainer.run`'s loop: seeded batches,
/// AdamW with warm-up and cosine decay, progress, Ctrl-C after the current step, checkpoints in RORem's layout.
extension Rounds {
    /// What training RORem's discriminator needs beyond `TrainingConfig`.
    public struct RORemTrainingOptions: Sendable {
        /// MSE on the softplus score (RORem's) or BCE on the logit.
        public var loss: RORemDiscriminator.Loss = .mse
        /// Recompute the encoder's blocks in backward instead of keeping them (needed for 512 px batches).
        public var gradientCheckpointing = true
        /// Keep the VAE latents in `STORE/latents/` for the next epoch or round.
        public var cacheLatents = true
        /// The bar of the encoding phase.
        public var progress: ProgressBar.Mode = .terminalOnly

        public init(loss: RORemDiscriminator.Loss = .mse, gradientCheckpointing: Bool = true, cacheLatents: Bool = true,
                    progress: ProgressBar.Mode = .terminalOnly) {
            self.loss = loss; self.gradientCheckpointing = gradientCheckpointing
            self.cacheLatents = cacheLatents; self.progress = progress
        }
    }

    /// The latent cache of `store` for `d`'s VAE at its resolution.
    public static func latentCache(for d: RORemDiscriminator, store: Store) throws -> LatentCache {
        let vae = (d.base as NSString).appendingPathComponent("vae")
        return try LatentCache(store: store, namespace: LatentCache.namespace(vaeFolder: vae, resolution: d.settings.resolution))
    }

    /// The labelled examples, in latent space, of the `candidates` that `annotator` decided (1 accept, 0 reject), in
    /// the candidates' order; undecided ones are left out, none decided is an error. Each distinct image is encoded
    /// once, from `cache` when given. `stopRequested` is polled between candidates.
    public static func judgedExamples(_ d: RORemDiscriminator, _ candidates: [Candidate], store: Store, annotator: Annotator,
                                      cache: LatentCache? = nil, progress: ProgressBar.Mode = .terminalOnly,
                                      stopRequested: () -> Bool = { false }) throws -> [RORemDiscriminator.Example] {
        let decisions = try TrainingSources.decisions(store: store, annotator: annotator)
        let decided = candidates.filter { decisions[$0.id] != nil }
        guard !decided.isEmpty else {
            throw LearningError.invalidData(what: "judged data", reason: "none of the \(candidates.count) candidates has a decision by \(annotator)")
        }
        var disk = cache
        var memory: [String: Tensor] = [:]
        let side = d.settings.resolution / d.vaeScaleFactor
        let shape = [1, d.vae.config.latentChannels, side, side]
        func latents(_ source: PixelSource) throws -> Tensor {
            let image = try source.loadImage()
            let key = LatentCache.key(of: image, source: source)
            if let z = memory[key] { return z }
            let z: Tensor
            if disk != nil {
                z = try disk!.latents(key: key, shape: shape) { try d.latents(for: image) }
            } else {
                z = try d.latents(for: image)
            }
            memory[key] = z
            return z
        }
        let bar = ProgressBar(total: decided.count, label: "encode", unit: "cand", mode: progress)
        var out: [RORemDiscriminator.Example] = []
        out.reserveCapacity(decided.count)
        for c in decided {
            if stopRequested() { throw LearningError.invalidData(what: "training", reason: "stopped while encoding the candidates") }
            let what = "candidate #\(c.id) (\(c.pairName))"
            let source = try c.source.loadImage(), result = try c.result.loadImage(), mask = try c.mask.loadMask()
            guard source.width == result.width, source.height == result.height,
                  mask.width == source.width, mask.height == source.height else {
                throw LearningError.invalidData(what: what, reason: "source \(source.width)x\(source.height), mask \(mask.width)x\(mask.height) and result \(result.width)x\(result.height) differ in size")
            }
            out.append(RORemDiscriminator.Example(resultLatents: try latents(c.result), mask: try d.maskLatents(for: mask),
                                                  sourceLatents: try latents(c.source), label: decisions[c.id] == true ? 1 : 0))
            bar.step(note: what)
        }
        bar.finish()
        return out
    }

    /// Trains `d` in place on `candidates` labelled by `annotator` in `store`, with `trainer`'s settings
    /// (`config.checkpointPath` is a folder: RORem's layout is written there). Returns the run's report.
    public static func train(_ d: RORemDiscriminator, on candidates: [Candidate], store: Store, annotator: Annotator,
                             trainer: Trainer, options: RORemTrainingOptions = RORemTrainingOptions()) throws -> TrainingReport {
        let cache = options.cacheLatents ? try latentCache(for: d, store: store) : nil
        let examples = try judgedExamples(d, candidates, store: store, annotator: annotator, cache: cache,
                                          progress: options.progress, stopRequested: trainer.shouldStop)
        return try train(d, on: examples, trainer: trainer, options: options)
    }

    /// Trains `d` in place on labelled examples already in latent space (from `judgedExamples`, perhaps of several
    /// stores) with `trainer`'s loop.
    public static func train(_ d: RORemDiscriminator, on examples: [RORemDiscriminator.Example], trainer: Trainer,
                             options: RORemTrainingOptions = RORemTrainingOptions()) throws -> TrainingReport {
        try trainer.run(parameters: d.trainableParameters, count: examples.count,
                               save: { path, _ in try d.save(to: path) }) { indices, _ in
            try d.loss(batch: indices.map { examples[$0] }, loss: options.loss,
                       gradientCheckpointing: options.gradientCheckpointing)
        }
    }
}
