import Tensor

/// Merging a LoRA file into a built model by module name: W += scale * (alpha / rank) * up @ down for every
/// adapted `Linear` or `Conv2d`, keeping each weight's dtype. Names may be kohya's, PEFT's or canonical
/// (`NameMap.loraName` reads them all); modules are found through `Module.module(named:)`.
public enum LoRAMerge {
    /// Merges every adapter of `source` into `model` and returns the module names merged, in order.
    ///
    /// Kohya names are resolved against `model`'s own module names as the model `kohyaModel` (`unet`,
    /// `text_encoder`, `text_encoder_2`); others have `prefix` removed first (e.g. `unet.` for a diffusers LoRA
    /// covering several models; names without it are skipped). Throws an error naming the LoRA file and the module when a module is missing,
    /// is not a Linear or Conv2d, or when the down/up shapes do not fit its weight (giving the shapes); nothing is
    /// changed then.
    @discardableResult
    public static func merge(_ source: TensorSource, into model: Module, prefix: String = "", scale: Float = 1,
                             kohyaModel: String = "unet") throws -> [String] {
        let own = model.namedModules().map(\.name).filter { !$0.isEmpty }
        let modules: NameMap.KohyaModules
        switch kohyaModel {
        case "text_encoder": modules = NameMap.KohyaModules(unet: [], textEncoder: own)
        case "text_encoder_2": modules = NameMap.KohyaModules(unet: [], textEncoder2: own)
        default: modules = NameMap.KohyaModules(unet: own)
        }
        // module -> (down, up, alpha) source names
        var parts: [String: (down: String?, up: String?, alpha: String?)] = [:]
        var order: [String] = []
        for name in source.names {
            guard var canonical = NameMap.loraName(name, modules: modules) else { continue }
            if name.hasPrefix("lora_") {
                guard canonical.hasPrefix(kohyaModel + ".") else { continue }
                canonical = String(canonical.dropFirst(kohyaModel.count + 1))
            } else if !prefix.isEmpty {
                guard canonical.hasPrefix(prefix) else { continue }
                canonical = String(canonical.dropFirst(prefix.count))
            }
            for (suffix, slot) in [(".lora.down.weight", 0), (".lora.up.weight", 1), (".alpha", 2)] where canonical.hasSuffix(suffix) {
                let module = String(canonical.dropLast(suffix.count))
                if parts[module] == nil { parts[module] = (nil, nil, nil); order.append(module) }
                switch slot {
                case 0: parts[module]?.down = name
                case 1: parts[module]?.up = name
                default: parts[module]?.alpha = name
                }
            }
        }
        // Compute every merged weight first, so a bad adapter changes nothing.
        var updates: [(Parameter, Tensor)] = []
        for module in order {
            guard let p = parts[module], let downName = p.down, let upName = p.up else {
                throw TensorError(source.label, "LoRA for '\(module)' lacks its \(parts[module]?.down == nil ? "down" : "up") weight")
            }
            guard let target = model.module(named: module) else { throw TensorError(source.label, "LoRA module '\(module)' is not in the model") }
            let weight: Parameter
            switch target {
            case let l as Linear: weight = l.weight
            case let c as Conv2d: weight = c.weight
            case let l as LoRALinear: weight = l.base.weight
            case let c as LoRAConv2d: weight = c.base.weight
            default: throw TensorError(source.label, "LoRA module '\(module)' is a \(type(of: target)), not a Linear or Conv2d")
            }
            let down = try source.tensor(downName, dtype: .f32), up = try source.tensor(upName, dtype: .f32)
            let rank = down.shape.first ?? 0
            let w = weight.shape
            // up (out, r[, 1, 1]), down (r, in[, kh, kw]) against the weight (out, in[, kh, kw]).
            guard rank > 0, up.rank >= 2, up.shape[0] == w[0], up.shape[1] == rank, up.shape.dropFirst(2).allSatisfy({ $0 == 1 }),
                  Array(down.shape.dropFirst()) == Array(w.dropFirst()) else {
                throw TensorError(source.label, "LoRA '\(module)': down \(shapeString(down.shape)) and up \(shapeString(up.shape)) do not fit weight \(shapeString(w))")
            }
            var factor = scale
            if let a = p.alpha { factor *= try source.tensor(a, dtype: .f32).item / Float(rank) }
            let merged: Tensor = try GradMode.noGrad {
                let delta = try Tensor.matmul(up.reshaped([w[0], rank]), down.reshaped([rank, -1]))   // (out, in * kh * kw)
                let base = weight.value.detached.to(.f32)
                return try (base + delta.reshaped(w) * factor).to(weight.dtype)
            }
            updates.append((weight, merged))
        }
        for (p, t) in updates { try p.replace(with: t, name: "LoRA merge") }
        return order
    }
}
