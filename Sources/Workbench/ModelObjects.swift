import Diffusion
import Foundation
import Imaging
import Lang
import Learning
import Rounds

/// A discriminator as a language value: the miniature judge trained here,
/// `<discriminator disc 64px widths [16, 32, 64]>` (with ` masked_mean` after the widths for that head,
/// ` shift_residual` when it sees that residual), or RORem's on the SDXL-inpainting UNet's encoder,
/// `<discriminator rorem-d rorem 512px lora rank 4 over models/sdxl-inpainting>`. Fields `name` (the annotator name
/// its labels carry), `kind` ("miniature" or "rorem"), `resolution`; the miniature's `widths`, `head`,
/// `shift_residual`; RORem's `rank`, `base`, `stochastic`.
///
/// The wrapped model is a reference type: training updates it in place, so every value that shares it sees the
/// new weights.
public struct DiscriminatorValue: LangObject {
    /// The two kinds of judge.
    public enum Model {
        /// The small convolutional judge of the miniature loop (Learning).
        case miniature(Discriminator)
        /// RORem's discriminator: the SDXL-inpainting UNet's encoder, a LoRA and `cls_pred_branch` (Diffusion).
        case rorem(RORemDiscriminator)
    }
    /// The wrapped model.
    public let model: Model
    /// The name its automatic labels are recorded under (`discriminator:NAME` in the store).
    public let name: String
    /// Wraps the miniature `model` under `name`.
    public init(_ model: Discriminator, name: String = "disc") {
        self.model = .miniature(model)
        self.name = name
    }
    /// Wraps RORem's `model` under `name`.
    public init(_ model: RORemDiscriminator, name: String = "rorem") {
        self.model = .rorem(model)
        self.name = name
    }
    init(model: Model, name: String) {
        self.model = model
        self.name = name
    }
    /// The miniature judge, when it is one.
    public var miniature: Discriminator? { if case .miniature(let d) = model { return d }; return nil }
    /// RORem's discriminator, when it is one.
    public var rorem: RORemDiscriminator? { if case .rorem(let d) = model { return d }; return nil }
    /// The model as the rounds' scorer.
    public var scorer: CandidateScorer {
        switch model {
        case .miniature(let d): return d
        case .rorem(let d): return d
        }
    }
    /// The score of one removal (the miniature's in [0, 1], RORem's unclamped softplus).
    public func score(source: Image, mask: Mask, result: Image) throws -> Double {
        switch model {
        case .miniature(let d): return try d.score(source: source, mask: mask, result: result)
        case .rorem(let d): return try d.score(source: source, mask: mask, result: result)
        }
    }
    public var typeName: String { "discriminator" }
    public var summary: String {
        switch model {
        case .miniature(let m):
            let head = m.config.head == .strided ? "" : " \(m.config.head.rawValue)"
            let shift = m.config.shiftResidual ? " shift_residual" : ""
            return "<discriminator \(name) \(m.config.resolution)px widths \(m.config.widths)\(head)\(shift)>"
        case .rorem(let r):
            let mode = r.settings.stochastic ? " stochastic seed \(r.settings.seed)" : ""
            return "<discriminator \(name) rorem \(r.settings.resolution)px lora rank \(r.loraRank)\(mode) over \(r.base)>"
        }
    }
    public var fieldNames: [String] {
        switch model {
        case .miniature: return ["name", "kind", "resolution", "widths", "head", "shift_residual"]
        case .rorem: return ["name", "kind", "resolution", "rank", "base", "stochastic"]
        }
    }
    public func field(_ field: String) -> Value? {
        switch (field, model) {
        case ("name", _): return .string(name)
        case ("kind", .miniature): return .string("miniature")
        case ("kind", .rorem): return .string("rorem")
        case ("resolution", .miniature(let m)): return .number(Double(m.config.resolution))
        case ("resolution", .rorem(let r)): return .number(Double(r.settings.resolution))
        case ("widths", .miniature(let m)): return .list(m.config.widths.map { .number(Double($0)) })
        case ("head", .miniature(let m)): return .string(m.config.head.rawValue)
        case ("shift_residual", .miniature(let m)): return .bool(m.config.shiftResidual)
        case ("rank", .rorem(let r)): return .number(Double(r.loraRank))
        case ("base", .rorem(let r)): return .string(r.base)
        case ("stochastic", .rorem(let r)): return .bool(r.settings.stochastic)
        default: return nil
        }
    }
    /// The same model under another name.
    func renamed(_ newName: String) -> DiscriminatorValue { DiscriminatorValue(model: model, name: newName) }
    public func isEqual(to other: any LangObject) -> Bool {
        guard let o = other as? DiscriminatorValue, o.name == name else { return false }
        switch (o.model, model) {
        case let (.miniature(a), .miniature(b)): return a === b
        case let (.rorem(a), .rorem(b)): return a === b
        default: return false
        }
    }
}

/// What one `train(...)` call did: `<training unet 300/300 steps loss 0.0412 in 21.3 s>`. Iterating it (or `len`,
/// `plot`) gives the loss of every step; fields `model`, `losses`, `steps`, `total`, `stopped`, `seconds`,
/// `final_loss` (mean of the last tenth of the steps), `checkpoint` (path or nil).
public struct TrainingValue: LangObject {
    /// What was trained (`unet`, or the discriminator's name).
    public let model: String
    /// The training loop's report.
    public let report: TrainingReport
    /// Wraps `report` of a run that trained `model`.
    public init(model: String, report: TrainingReport) {
        self.model = model
        self.report = report
    }
    /// Mean loss over the last tenth of the completed steps (at least one step); nil before any step.
    public var finalLoss: Double? {
        let losses = report.losses
        guard !losses.isEmpty else { return nil }
        let tail = losses.suffix(max(1, losses.count / 10))
        return tail.reduce(0.0) { $0 + Double($1) } / Double(tail.count)
    }
    public var typeName: String { "training" }
    public var summary: String {
        let loss = finalLoss.map { String(format: " loss %.4f", $0) } ?? ""
        return "<training \(model) \(report.stepsCompleted)/\(report.totalSteps) steps\(loss) in \(String(format: "%.1f", report.seconds)) s"
            + (report.stopped ? " (stopped)" : "") + ">"
    }
    public var fieldNames: [String] { ["model", "losses", "steps", "total", "stopped", "seconds", "final_loss", "checkpoint"] }
    public func field(_ name: String) -> Value? {
        switch name {
        case "model": return .string(model)
        case "losses": return .list(report.losses.map { .number(Double($0)) })
        case "steps": return .number(Double(report.stepsCompleted))
        case "total": return .number(Double(report.totalSteps))
        case "stopped": return .bool(report.stopped)
        case "seconds": return .number(report.seconds)
        case "final_loss": return finalLoss.map { .number($0) } ?? .nil
        case "checkpoint": return report.checkpointPath.map { .string($0) } ?? .nil
        default: return nil
        }
    }
    public func iterate() -> [Value]? { report.losses.map { .number(Double($0)) } }
    public var count: Int? { report.losses.count }
}
