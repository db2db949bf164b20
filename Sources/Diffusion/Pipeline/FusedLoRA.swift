import Foundation
import NN
import Tensor

/// LoRA files fused into a built model's weights with a scale: W += scale * (alpha / rank) * up @ down.
///
/// Formats read: diffusers (`unet.<module>.lora.down.weight` / `lora.up.weight`), PEFT (`lora_A` / `lora_B`), with
/// or without the `unet.` prefix, and per-module `.alpha` (kohya writes one; without it alpha is the rank, as in
/// diffusers). Linear weights (out, in) take up (out, r) @ down (r, in); convolution weights (out, in, kh, kw)
/// take up (out, r, 1, 1) times down (r, in, kh, kw).
public enum FusedLoRA {
    /// One low-rank update found in a file: the module it targets and its factors.
    struct Update {
        var module: String
        var down: Tensor?
        var up: Tensor?
        var alpha: Float?
    }

    /// Fuses the LoRA at `path` into `module` (whose parameters are named as diffusers names them) with `scale`,
    /// returning the number of weights changed. Text-encoder entries (`text_encoder.`, `te_`) are skipped and
    /// counted in `skipped`. A target the model lacks, a factor without its pair or a shape that does not fit is an
    /// error naming the file and the tensor.
    @discardableResult
    public static func fuse(_ path: String, into module: Module, scale: Float, prefix: String = "unet.") throws -> (fused: Int, skipped: Int) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw PipelineError(path, "\(error)") }
        var updates: [String: Update] = [:]
        var skipped = 0
        for name in file.names {
            if name.hasPrefix("text_encoder") || name.hasPrefix("te_") || name.hasPrefix("lora_te") { skipped += 1; continue }
            var key = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
            var part: String
            if key.hasSuffix(".alpha") {
                part = "alpha"; key = String(key.dropLast(".alpha".count))
            } else if let r = ["lora.down.weight", "lora_A.weight", "lora_down.weight"].first(where: { key.hasSuffix("." + $0) }) {
                part = "down"; key = String(key.dropLast(r.count + 1))
            } else if let r = ["lora.up.weight", "lora_B.weight", "lora_up.weight"].first(where: { key.hasSuffix("." + $0) }) {
                part = "up"; key = String(key.dropLast(r.count + 1))
            } else {
                throw PipelineError(path, "tensor '\(name)' is not a LoRA factor (expected lora.down/lora.up, lora_A/lora_B or .alpha)")
            }
            // diffusers' older attention processor names: `processor.to_q_lora` -> `to_q`.
            key = key.replacingOccurrences(of: ".processor.", with: ".").replacingOccurrences(of: "_lora", with: "")
            var u = updates[key] ?? Update(module: key)
            let t = try file.tensor(name)
            switch part {
            case "down": u.down = t
            case "up": u.up = t
            default: u.alpha = t.item
            }
            updates[key] = u
        }
        let parameters = Dictionary(module.namedParameters().map { ($0.name, $0.parameter) }, uniquingKeysWith: { a, _ in a })
        var fused = 0
        for (key, u) in updates.sorted(by: { $0.key < $1.key }) {
            guard let down = u.down, let up = u.up else {
                throw PipelineError(path, "LoRA for '\(key)' has \(u.down == nil ? "no down (lora_A)" : "no up (lora_B)") factor")
            }
            guard let weight = parameters[key + ".weight"] else {
                throw PipelineError(path, "LoRA targets '\(key)', which the model does not have")
            }
            let rank = down.shape[0]
            let factor = scale * (u.alpha ?? Float(rank)) / Float(max(rank, 1))
            let w = weight.shape
            // delta (out, in * kh * kw) = up (out, r) @ down (r, in * kh * kw)
            guard up.shape.count >= 2, up.shape[1] == rank, up.shape[0] == w[0], down.count / max(rank, 1) == w.dropFirst().reduce(1, *) else {
                throw PipelineError(path, "LoRA for '\(key)': up \(up.shape) and down \(down.shape) do not fit the weight \(w)")
            }
            let delta = try GradMode.noGrad {
                try Tensor.matmul(up.to(.f32).reshaped([w[0], rank]), down.to(.f32).reshaped([rank, down.count / rank]))
            }
            var merged = weight.value.to(.f32).copy()
            merged.withMutableValues { m in
                delta.withValues { d in for i in 0..<m.count { m[i] += factor * d[i] } }
            }
            try weight.assign(merged, name: key + ".weight")
            fused += 1
        }
        return (fused, skipped)
    }
}
