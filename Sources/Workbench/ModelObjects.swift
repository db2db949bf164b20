import Foundation
import Lang
import Learning

/// A learned discriminator as a language value: `<discriminator disc 64px widths [16, 32, 64]>` (with
/// ` masked_mean` after the widths for that head, ` shift_residual` when it sees that residual); fields `name` (the
/// annotator name its labels carry), `resolution`, `widths`, `head`, `shift_residual`.
///
/// The wrapped `Discriminator` is a reference type: training updates it in place, so every value that shares it
/// sees the new weights.
public struct DiscriminatorValue: LangObject {
    /// The wrapped model.
    public let model: Discriminator
    /// The name its automatic labels are recorded under (`discriminator:NAME` in the store).
    public let name: String
    /// Wraps `model` under `name`.
    public init(_ model: Discriminator, name: String = "disc") {
        self.model = model
        self.name = name
    }
    public var typeName: String { "discriminator" }
    public var summary: String {
        let head = model.config.head == .strided ? "" : " \(model.config.head.rawValue)"
        let shift = model.config.shiftResidual ? " shift_residual" : ""
        return "<discriminator \(name) \(model.config.resolution)px widths \(model.config.widths)\(head)\(shift)>"
    }
    public var fieldNames: [String] { ["name", "resolution", "widths", "head", "shift_residual"] }
    public func field(_ field: String) -> Value? {
        switch field {
        case "name": return .string(name)
        case "resolution": return .number(Double(model.config.resolution))
        case "widths": return .list(model.config.widths.map { .number(Double($0)) })
        case "head": return .string(model.config.head.rawValue)
        case "shift_residual": return .bool(model.config.shiftResidual)
        default: return nil
        }
    }
    /// The same model under another name.
    func renamed(_ newName: String) -> DiscriminatorValue { DiscriminatorValue(model, name: newName) }
    public func isEqual(to other: any LangObject) -> Bool {
        guard let o = other as? DiscriminatorValue else { return false }
        return o.model === model && o.name == name
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
