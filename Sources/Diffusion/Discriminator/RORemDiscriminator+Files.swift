import Foundation
import NN
import Support
import Tensor

/// RORem's discriminator layout: a folder with `pytorch_lora_weights.safetensors` (the adapters, diffusers names
/// `unet.<module>.lora.down.weight` / `.lora.up.weight`, as diffusers' `save_lora_weights` writes them) and
/// `cls_pred_branch.pt` (`torch.save` of the head's state dict), over a diffusers SDXL-inpainting folder.
extension RORemDiscriminator {
    /// The adapters' file name in a RORem discriminator folder.
    public static let loraFile = "pytorch_lora_weights.safetensors"
    /// The head's file name in a RORem discriminator folder.
    public static let headFile = "cls_pred_branch.pt"

    /// Loads RORem's discriminator from `folder` over the SDXL-inpainting folder `base` (its `unet/`, `vae/`,
    /// `text_encoder(_2)/`, `tokenizer(_2)/`, `scheduler/`). The base UNet loads strictly into the encoder (its up
    /// path is dropped); `variant: "fp16"` prefers the fp16 files; `dtype` stores the frozen base weights as f32, f16
    /// or bf16 (nil: as the files store them); the adapters and the head are float32. The empty prompt is encoded
    /// once and the text encoders released. Errors name the file and the tensor.
    public static func load(folder: String, base: String, dtype: DType? = nil, variant: String? = nil,
                            settings: Settings = Settings()) throws -> RORemDiscriminator {
        let dir = URL(fileURLWithPath: folder)
        let loraPath = dir.appendingPathComponent(loraFile).path, headPath = dir.appendingPathComponent(headFile).path
        for path in [loraPath, headPath] where !FileManager.default.fileExists(atPath: path) {
            throw PipelineError(path, "missing: a RORem discriminator folder holds \(loraFile) and \(headFile)")
        }
        let encoder = try loadEncoder(base: base, dtype: dtype, variant: variant)
        let head = try loadHead(headPath, inChannels: encoder.config.blockOutChannels.last ?? 0)
        let network = try RORemDiscriminatorNetwork(encoder: encoder, head: head)
        try loadLoRA(loraPath, into: network)
        return try RORemDiscriminator(network: network, base: base, dtype: dtype, variant: variant, settings: settings)
    }

    /// A new discriminator over `base` for training from scratch, as RORem's training script starts one: adapters
    /// of `rank` (alpha = rank) with PEFT's gaussian initialisation and a head of `headWidth` hidden channels (nil:
    /// the mid block's width, 1280 for SDXL) initialised as PyTorch does, all drawn from `seed`.
    public static func fresh(base: String, rank: Int = 4, headWidth: Int? = nil, seed: UInt64 = 0, dtype: DType? = nil,
                             variant: String? = nil, settings: Settings = Settings()) throws -> RORemDiscriminator {
        let encoder = try loadEncoder(base: base, dtype: dtype, variant: variant)
        let channels = encoder.config.blockOutChannels.last ?? 0
        var rng = RNG(seed: seed)
        let head = try DiscriminatorHead(inChannels: channels, width: headWidth ?? channels, rng: &rng)
        let network = try RORemDiscriminatorNetwork(encoder: encoder, head: head)
        try network.attachLoRA(rank: rank, rng: &rng)
        return try RORemDiscriminator(network: network, base: base, dtype: dtype, variant: variant, settings: settings)
    }

    /// Writes `folder/pytorch_lora_weights.safetensors` (diffusers names with the `unet.` prefix, float32, `.alpha`
    /// only where alpha differs from the rank) and `folder/cls_pred_branch.pt` (`torch.save` format, float32), each
    /// to a temporary file renamed into place. RORem's scripts load them (Scripts/fixtures/make_rorem_discriminator_
    /// fixtures.py --verify checks that with RORem's own code).
    public func save(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let dir = URL(fileURLWithPath: folder)
        var lora: [(name: String, tensor: Tensor)] = []
        for (name, _, adapter) in network.adapters.sorted(by: { $0.name < $1.name }) {
            lora.append(("unet.\(name).lora.down.weight", adapter.down.value.detached))
            lora.append(("unet.\(name).lora.up.weight", adapter.up.value.detached))
            let rank = Float(adapter.down.shape[0])
            if abs(adapter.scale * rank - rank) > 1e-6 * rank {
                lora.append(("unet.\(name).alpha", Tensor(repeating: adapter.scale * rank, shape: [1])))
            }
        }
        try SafeTensors.write(lora, metadata: ["format": "pt"], to: dir.appendingPathComponent(Self.loraFile).path)
        let head = network.head.namedParameters().map { (name: "cls_pred_branch.\($0.name)", tensor: $0.parameter.value.detached) }
        try TorchWriter.write(head, to: dir.appendingPathComponent(Self.headFile).path)
    }

    /// The base folder's UNet as an encoder, loaded strictly without its up path.
    static func loadEncoder(base: String, dtype: DType?, variant: String?) throws -> UNetEncoder {
        let unetDir = URL(fileURLWithPath: base).appendingPathComponent("unet").path
        let config = try ConfigFile.load(UNetConfig.self, path: URL(fileURLWithPath: unetDir).appendingPathComponent("config.json").path)
        var rng = RNG(seed: 0)
        let encoder = try Initializer.deferred { try UNetEncoder(config: config, rng: &rng) }
        let path = try ComponentWeights.file(in: unetDir, variant: variant)
        let source: TensorSource
        do { source = try Checkpoint.open(path) } catch { throw PipelineError(path, "\(error)") }
        do {
            try encoder.load(from: source, strict: true, rename: { UNetEncoder.isUpPath($0) ? nil : $0 }, dtype: dtype)
        } catch {
            throw PipelineError(path, "\(error) (does this file belong to the config.json beside it?)")
        }
        return encoder
    }

    /// The head from `cls_pred_branch.pt`, through the restricted pickle reader, its widths from the tensors.
    static func loadHead(_ path: String, inChannels: Int) throws -> DiscriminatorHead {
        let source: TensorSource
        do { source = try TorchCheckpoint(path: path) } catch { throw PipelineError(path, "\(error)") }
        let first = "cls_pred_branch.0.weight"
        guard let info = source.info(first) else {
            throw PipelineError(path, "no tensor '\(first)' (found \(source.names.prefix(4).joined(separator: ", "))); is this RORem's cls_pred_branch.pt?")
        }
        guard info.shape.count == 4, info.shape[2] == 4, info.shape[3] == 4, info.shape[1] == inChannels else {
            throw PipelineError(path, "tensor '\(first)' has shape \(info.shape) but the head needs (W, \(inChannels), 4, 4) for the UNet's \(inChannels)-channel mid block")
        }
        var rng = RNG(seed: 0)
        let head: DiscriminatorHead
        do {
            head = try Initializer.deferred { try DiscriminatorHead(inChannels: inChannels, width: info.shape[0], rng: &rng) }
        } catch { throw PipelineError(path, "tensor '\(first)' of shape \(info.shape): \(error)") }
        do {
            try head.load(from: source, strict: true, prefix: "cls_pred_branch.", dtype: .f32)
        } catch { throw PipelineError(path, "\(error)") }
        if let stray = source.names.first(where: { !$0.hasPrefix("cls_pred_branch.") }) {
            throw PipelineError(path, "unexpected tensor '\(stray)' (only cls_pred_branch.* belongs here)")
        }
        return head
    }

    /// Attaches and fills the adapters of the LoRA file at `path`: diffusers (`lora.down` / `lora.up`) or PEFT
    /// (`lora_A` / `lora_B`) names, with or without the `unet.` prefix, rank from the shapes and alpha from `.alpha`
    /// tensors (default: the rank, scale 1, as RORem trains). A tensor that matches no projection, a factor without
    /// its pair or a shape that does not fit is an error naming the file and the tensor.
    static func loadLoRA(_ path: String, into network: RORemDiscriminatorNetwork) throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw PipelineError(path, "\(error)") }
        struct Factors { var down: (String, Tensor)?; var up: (String, Tensor)?; var alpha: Float? }
        var byModule: [String: Factors] = [:]
        for name in file.names {
            let key = name.hasPrefix("unet.") ? String(name.dropFirst(5)) : name
            guard let canonical = NameMap.loraName(key) else {
                throw PipelineError(path, "tensor '\(name)' is not a LoRA factor (expected lora.down/lora.up, lora_A/lora_B or .alpha)")
            }
            let t: Tensor
            do { t = try file.tensor(name, dtype: .f32) } catch { throw PipelineError(path, "\(error)") }
            for (suffix, part) in [(".lora.down.weight", 0), (".lora.up.weight", 1), (".alpha", 2)] where canonical.hasSuffix(suffix) {
                let module = String(canonical.dropLast(suffix.count))
                var f = byModule[module] ?? Factors()
                switch part {
                case 0: f.down = (name, t)
                case 1: f.up = (name, t)
                default:
                    guard t.count == 1, t.values[0].isFinite, t.values[0] > 0 else {
                        throw PipelineError(path, "tensor '\(name)' should hold one positive alpha, has shape \(t.shape)")
                    }
                    f.alpha = t.values[0]
                }
                byModule[module] = f
            }
        }
        guard !byModule.isEmpty else { throw PipelineError(path, "holds no LoRA tensors") }
        let linears = Dictionary(network.encoder.namedModules().compactMap { e in (e.module as? Linear).map { (e.name, $0) } },
                                 uniquingKeysWith: { a, _ in a })
        for (module, f) in byModule.sorted(by: { $0.key < $1.key }) {
            guard let (downName, down) = f.down, let (upName, up) = f.up else {
                throw PipelineError(path, "LoRA for '\(module)' has \(f.down == nil ? "no down (lora_A)" : "no up (lora_B)") factor")
            }
            guard let layer = linears[module] else {
                throw PipelineError(path, "tensor '\(downName)' targets '\(module)', which matches no linear layer of the discriminator's UNet")
            }
            let (out, inF) = (layer.weight.shape[0], layer.weight.shape[1])
            let rank = down.shape.first ?? 0
            guard down.shape.count == 2, rank > 0, down.shape[1] == inF else {
                throw PipelineError(path, "tensor '\(downName)' has shape \(down.shape) but '\(module)' needs (rank, \(inF))")
            }
            guard up.shape == [out, rank] else {
                throw PipelineError(path, "tensor '\(upName)' has shape \(up.shape) but '\(module)' needs [\(out), \(rank)]")
            }
            var rng = RNG(seed: 0)
            let adapter = LoRAAdapter(weightShape: layer.weight.shape, rank: rank, alpha: f.alpha, rng: &rng)
            try adapter.down.assign(down, name: downName)
            try adapter.up.assign(up, name: upName)
            layer.lora = adapter
        }
    }
}
