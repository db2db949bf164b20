import Support
import Foundation

/// Settings of a training run, shared by the remover and the discriminator (fields that apply to one only say so).
public struct TrainingConfig: Hashable, Codable, Sendable {
    /// Optimizer steps (one batch each); ignored when `epochs` is set.
    public var steps: Int
    /// Passes over the data; when set, steps = epochs * ceil(count / batchSize).
    public var epochs: Int?
    /// Samples per step.
    public var batchSize: Int
    /// Peak AdamW learning rate, reached after the warm-up.
    public var learningRate: Float
    /// Steps of linear warm-up from 0 (clamped to the run's length).
    public var warmupSteps: Int
    /// The cosine decay ends at `learningRate * finalLearningRateFraction`.
    public var finalLearningRateFraction: Float
    /// AdamW's decoupled weight decay.
    public var weightDecay: Float
    /// Gradients are scaled so their joint L2 norm is at most this (nil: no clipping).
    public var gradientClip: Float?
    /// Remover only: side of the square training crops; a multiple of the network's 2^(depth-1). Images with
    /// a shorter side are first enlarged to it.
    public var cropSize: Int
    /// Mirror samples left-right with probability 1/2.
    public var horizontalFlips: Bool
    /// Mirror samples top-bottom with probability 1/2 (off by default: photos have an up).
    public var verticalFlips: Bool
    /// Discriminator only: draw each sample's orientation from all eight (quarter turns and mirrorings) instead
    /// of the flips above.
    public var quarterTurns: Bool
    /// Discriminator only: permute the colour channels at random and invert them with probability 1/2 (the same
    /// transform for source and result).
    public var colorAugmentation: Bool
    /// Remover only: weight of masked pixels in the L1 loss relative to unmasked ones (see Docs/learning.md).
    public var maskWeight: Float
    /// Seeds the batch order and the augmentation (model weights are seeded when the model is built).
    public var seed: UInt64
    /// Where checkpoints go (nil: none are written).
    public var checkpointPath: String?
    /// Write a checkpoint every this many steps as well as at the end (0: only at the end or when stopped).
    public var checkpointEvery: Int

    /// A configuration with defaults tuned for small images on a CPU.
    public init(steps: Int = 500, epochs: Int? = nil, batchSize: Int = 8, learningRate: Float = 2e-3,
                warmupSteps: Int = 20, finalLearningRateFraction: Float = 0.1, weightDecay: Float = 0.01,
                gradientClip: Float? = 1, cropSize: Int = 64, horizontalFlips: Bool = true, verticalFlips: Bool = false,
                quarterTurns: Bool = false, colorAugmentation: Bool = false, maskWeight: Float = 6, seed: UInt64 = 0, checkpointPath: String? = nil, checkpointEvery: Int = 0) {
        self.steps = steps; self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
        self.warmupSteps = warmupSteps; self.finalLearningRateFraction = finalLearningRateFraction
        self.weightDecay = weightDecay; self.gradientClip = gradientClip; self.cropSize = cropSize
        self.horizontalFlips = horizontalFlips; self.verticalFlips = verticalFlips
        self.quarterTurns = quarterTurns; self.colorAugmentation = colorAugmentation; self.maskWeight = maskWeight
        self.seed = seed; self.checkpointPath = checkpointPath; self.checkpointEvery = checkpointEvery
    }

    /// Steps a run over `count` samples takes.
    public func totalSteps(count: Int) -> Int {
        guard let epochs else { return steps }
        return epochs * ((count + batchSize - 1) / max(1, batchSize))
    }

    /// The learning rate at 0-based `step` of `total`: linear warm-up, then cosine decay.
    public func learningRate(step: Int, total: Int) -> Float {
        let warm = min(warmupSteps, max(0, total - 1))
        if warm > 0 && step < warm { return learningRate * Float(step + 1) / Float(warm) }
        let span = max(1, total - warm)
        let progress = Float(min(step - warm, span)) / Float(span)
        let minimum = learningRate * finalLearningRateFraction
        return minimum + 0.5 * (learningRate - minimum) * (1 + cosf(Float.pi * progress))
    }

    /// Throws an error naming the field when a value is out of range.
    public func validate() throws {
        func bad(_ reason: String) -> LearningError { .invalidConfig(what: "TrainingConfig", reason: reason) }
        if let epochs { guard epochs >= 1 else { throw bad("epochs must be at least 1, got \(epochs)") } } else {
            guard steps >= 1 else { throw bad("steps must be at least 1, got \(steps)") }
        }
        guard batchSize >= 1, batchSize <= 4096 else { throw bad("batchSize must be in 1...4096, got \(batchSize)") }
        guard learningRate.isFinite, learningRate > 0, learningRate < 10 else { throw bad("learningRate must be in (0, 10), got \(learningRate)") }
        guard warmupSteps >= 0 else { throw bad("warmupSteps must not be negative, got \(warmupSteps)") }
        guard finalLearningRateFraction.isFinite, (0...1).contains(finalLearningRateFraction) else {
            throw bad("finalLearningRateFraction must be in 0...1, got \(finalLearningRateFraction)")
        }
        guard weightDecay.isFinite, weightDecay >= 0, weightDecay < 1 else { throw bad("weightDecay must be in [0, 1), got \(weightDecay)") }
        if let clip = gradientClip { guard clip.isFinite, clip > 0 else { throw bad("gradientClip must be positive, got \(clip)") } }
        guard cropSize >= 4, cropSize <= 4096 else { throw bad("cropSize must be in 4...4096, got \(cropSize)") }
        guard maskWeight.isFinite, maskWeight >= 1, maskWeight <= 1000 else { throw bad("maskWeight must be in 1...1000, got \(maskWeight)") }
        guard checkpointEvery >= 0 else { throw bad("checkpointEvery must not be negative, got \(checkpointEvery)") }
    }
}

/// Where a run stands, passed to the progress callback after every step (the caller draws the bar).
public struct TrainingProgress: Sendable {
    /// Steps done so far (1-based: 1 after the first step).
    public var step: Int
    /// Steps the run will take.
    public var total: Int
    /// This step's loss.
    public var loss: Float
    /// This step's learning rate.
    public var learningRate: Float
    /// Seconds since the run started.
    public var elapsed: Double

    /// A progress report.
    public init(step: Int, total: Int, loss: Float, learningRate: Float, elapsed: Double) {
        self.step = step; self.total = total; self.loss = loss; self.learningRate = learningRate; self.elapsed = elapsed
    }

    /// A one-line bar such as `[#####-----] 5/10 2.5 step/s eta 2.0s loss 0.1234` (Support's `ProgressBar`).
    public func bar(width: Int = 20) -> String {
        ProgressBar.line(label: "", done: step, total: total, elapsed: elapsed, unit: "step",
                         note: String(format: "loss %.4f", Double(loss)), width: width)
    }
}

/// What a run did.
public struct TrainingReport: Sendable {
    /// Loss of every completed step, in order.
    public var losses: [Float]
    /// Steps completed (fewer than `totalSteps` when stopped).
    public var stepsCompleted: Int
    /// Steps the run was set to take.
    public var totalSteps: Int
    /// True when the stop check ended the run early.
    public var stopped: Bool
    /// Wall time of the run in seconds.
    public var seconds: Double
    /// The last checkpoint written, if any.
    public var checkpointPath: String?

    /// Completed steps per second of wall time.
    public var stepsPerSecond: Double { seconds > 0 ? Double(stepsCompleted) / seconds : 0 }
}
