import Foundation
import Imaging
import NN
import Tensor

/// Trains a ``UNetRemover`` or a ``Discriminator`` with AdamW, warm-up + cosine learning rate, augmentation,
/// progress reports, cooperative stopping and checkpoints; runs are deterministic for a given seed.
///
/// `shouldStop` is polled between steps: when it returns true (for example after Ctrl-C set a flag) the run ends
/// after the current step, keeps the weights, writes a checkpoint when a path is configured, and reports
/// `stopped`.
public struct Trainer {
    /// The run's settings.
    public var config: TrainingConfig
    /// Called after every step (the caller draws the bar).
    public var progress: ((TrainingProgress) -> Void)?
    /// Polled between steps; true ends the run cleanly.
    public var shouldStop: () -> Bool

    /// A trainer with `config`, an optional progress callback and stop check.
    public init(config: TrainingConfig = TrainingConfig(), progress: ((TrainingProgress) -> Void)? = nil,
                shouldStop: @escaping () -> Bool = { false }) {
        self.config = config
        self.progress = progress
        self.shouldStop = shouldStop
    }

    /// Trains `remover` on paired samples: L1 over the whole raw prediction with masked pixels weighted
    /// `maskWeight` times (normalised by the total weight), on square crops of `cropSize`.
    public func train(_ remover: UNetRemover, on data: any RemovalDataSource) throws -> TrainingReport {
        let multiple = remover.config.sizeMultiple
        guard config.cropSize % multiple == 0 else {
            throw LearningError.invalidConfig(what: "TrainingConfig",
                                              reason: "cropSize \(config.cropSize) must be a multiple of \(multiple) for a \(remover.config.depth)-level UNet")
        }
        let cfg = config
        return try run(parameters: remover.network.parameters, count: data.count,
                       save: { path, extra in try remover.save(path: path, extra: extra) }) { indices, step in
            let (input, target, weight) = try removalBatch(data, indices: indices, step: step, config: cfg)
            let prediction = try remover.predict(input)                          // (B, 3, S, S)
            return try ((prediction - target).abs() * weight).mean()
        }
    }

    /// Trains `discriminator` on judged samples: MSE between its softplus output and the labels.
    public func train(_ discriminator: Discriminator, on data: any JudgedDataSource) throws -> TrainingReport {
        let cfg = config
        return try run(parameters: discriminator.network.parameters, count: data.count,
                       save: { path, extra in try discriminator.save(path: path, extra: extra) }) { indices, step in
            var inputs: [Tensor] = [], labels: [Float] = []
            for (slot, index) in indices.enumerated() {
                let s = try data.sample(index)
                let what = "judged sample \(index)"
                try Augmentation.checkSizes(s.source, s.mask, s.result, what: what)
                guard s.label.isFinite, (0...1).contains(s.label) else {
                    throw LearningError.invalidData(what: what, reason: "label \(s.label) must be in 0...1")
                }
                var rng = Augmentation.rng(seed: cfg.seed, step: step, slot: slot)
                let f = Augmentation.judged(s, config: cfg, rng: &rng)
                inputs.append(try discriminator.prepare(source: f.source, mask: f.mask, result: f.result))   // (1, C, R, R)
                labels.append(Float(f.label))
            }
            let output = try discriminator.forward(Tensor.concat(inputs, axis: 0))   // (B)
            return try Tensor.mseLoss(output, Tensor(labels, shape: [labels.count]))
        }
    }

    /// The loop every model trains with (the two above, and RORem's discriminator in Rounds): batches of
    /// `config.batchSize` indices into `0..<count` in a seeded order, AdamW over `parameters` with the warm-up +
    /// cosine schedule, clipping, progress, stopping, and `save(path, metadata)` at `config.checkpointPath` every
    /// `checkpointEvery` steps and at the end. `loss(indices, step)` builds the batch and returns the scalar loss
    /// with its graph.
    public func run(parameters: [Parameter], count: Int, save: (String, [String: String]) throws -> Void,
             loss: ([Int], Int) throws -> Tensor) throws -> TrainingReport {
        try config.validate()
        guard count > 0 else { throw LearningError.invalidData(what: "training data", reason: "the data source has no samples") }
        let total = config.totalSteps(count: count)
        let optimizer = Adam.adamW(parameters: parameters, learningRate: config.learningRate, weightDecay: config.weightDecay)
        var order = BatchOrder(count: count, seed: config.seed)
        var report = TrainingReport(losses: [], stepsCompleted: 0, totalSteps: total, stopped: false, seconds: 0, checkpointPath: nil)
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        func checkpoint(_ step: Int) throws {
            guard let path = config.checkpointPath else { return }
            let last = report.losses.last.map { String($0) } ?? ""
            try save(path, ["rorem.step": String(step), "rorem.loss": last])
            report.checkpointPath = path
        }

        for step in 0..<total {
            if shouldStop() { report.stopped = true; break }
            let lr = config.learningRate(step: step, total: total)
            optimizer.learningRate = lr
            optimizer.zeroGrad()
            let value = try loss(order.next(config.batchSize), step)
            let scalar = value.item
            guard scalar.isFinite else {
                throw LearningError.invalidData(what: "training step \(step + 1)",
                                                reason: "the loss became \(scalar); lower the learning rate (now \(lr))")
            }
            try value.backward()
            if let clip = config.gradientClip { GradientClipping.clipNorm(parameters, maxNorm: clip) }
            optimizer.step()
            report.losses.append(scalar)
            report.stepsCompleted = step + 1
            progress?(TrainingProgress(step: step + 1, total: total, loss: scalar, learningRate: lr, elapsed: elapsed()))
            if config.checkpointEvery > 0, (step + 1) % config.checkpointEvery == 0, step + 1 < total {
                try checkpoint(step + 1)
            }
        }
        optimizer.zeroGrad()
        try checkpoint(report.stepsCompleted)
        report.seconds = elapsed()
        return report
    }
}

/// A remover batch: zeroed inputs (B, 4, S, S), signed targets (B, 3, S, S) and loss weights (B, 3, S, S)
/// that are `maskWeight` inside the mask and 1 outside, scaled to average 1 over the batch.
func removalBatch(_ data: any RemovalDataSource, indices: [Int], step: Int,
                  config: TrainingConfig) throws -> (input: Tensor, target: Tensor, weight: Tensor) {
    var sources: [Image] = [], targets: [Image] = [], masks: [Mask] = []
    for (slot, index) in indices.enumerated() {
        let s = try data.sample(index)
        try Augmentation.checkSizes(s.source, s.mask, s.target, what: "removal sample \(index)")
        var rng = Augmentation.rng(seed: config.seed, step: step, slot: slot)
        let crop = try Augmentation.removalCrop(s, size: config.cropSize, horizontal: config.horizontalFlips,
                                                vertical: config.verticalFlips, rng: &rng)
        sources.append(crop.source); targets.append(crop.target); masks.append(crop.mask)
    }
    let input = try ImageTensor.zeroedInput(images: sources, masks: masks)     // (B, 4, S, S)
    let target = try ImageTensor.batch(targets, scale: .signed)                // (B, 3, S, S)
    let m = try ImageTensor.batch(masks, binary: true)                         // (B, 1, S, S)
    var weight = Tensor(zeros: target.shape)                                   // (B, 3, S, S)
    let (b, plane) = (target.shape[0], target.shape[2] * target.shape[3])
    let extra = config.maskWeight - 1
    var sum: Double = 0
    weight.withMutableValues { w in
        m.withValues { mv in
            for n in 0..<b {
                for i in 0..<plane {
                    let v = 1 + extra * mv[n * plane + i]
                    for c in 0..<3 { w[(n * 3 + c) * plane + i] = v }
                    sum += 3 * Double(v)
                }
            }
        }
    }
    let scale = Float(Double(weight.count) / max(sum, 1))
    weight.withMutableValues { w in for i in 0..<w.count { w[i] *= scale } }
    return (input, target, weight)
}

/// Sample indices in a seeded order: successive permutations of `0..<count`, consumed a batch at a time.
struct BatchOrder {
    private var rng: RNG
    private let count: Int
    private var queue: [Int] = []
    private var position = 0

    init(count: Int, seed: UInt64) {
        self.count = count
        rng = RNG(seed: seed)
    }

    /// The next `n` indices (a batch may span two permutations).
    mutating func next(_ n: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(n)
        while out.count < n {
            if position >= queue.count { queue = rng.batchOrder(count); position = 0 }
            out.append(queue[position])
            position += 1
        }
        return out
    }
}
