import Tensor

/// The one place where tensor names are converted between checkpoint layouts, driven by tables:
/// - the original single-file SDXL layout (Stability's SGM / LDM: `model.diffusion_model.input_blocks.4.1...`,
///   `first_stage_model.encoder.down.0.block.1...`, `conditioner.embedders.{0,1}...`) and diffusers' layout
///   (`down_blocks.1.attentions.0...`), for the UNet, the VAE and both CLIP text encoders, both ways;
/// - kohya LoRA module names (`lora_unet_down_blocks_0_..._to_q`, `lora_te1_...`) to diffusers module names;
/// - PEFT adapter names (`lora_A` / `lora_B`) to the canonical `lora.down` / `lora.up`.
///
/// Renames alone do not cover the single-file layout: the VAE stores attention projections as 1x1 convolutions
/// (diffusers as linear weights), OpenCLIP stores q, k and v as one `in_proj` and the text projection transposed.
/// A `Mapping` carries that `Transform`; `RemappedSource` applies it when a tensor is read.
///
/// Learned from diffusers' single-file loading (`convert_ldm_unet_checkpoint`, `convert_ldm_vae_checkpoint`,
/// `convert_open_clip_checkpoint`) and its kohya LoRA conversion; the tests check every name against those
/// converters' output on tiny random models (Scripts/fixtures/make_namemap_fixtures.py).
public enum NameMap {
    /// How a tensor changes on its way from the source layout to the target layout.
    public enum Transform: Hashable {
        case none
        /// (O, I, 1, 1) or (O, I, 1) -> (O, I): a 1x1 convolution read as a linear weight; `expand` the reverse.
        case squeezeToLinear
        case expandToConv
        /// A 2-D transpose.
        case transpose
        /// Rows `[part * n / parts, (part + 1) * n / parts)` of dimension 0 (one of q, k, v in a fused projection).
        case rows(part: Int, of: Int)
    }

    /// One target tensor: its name, the source tensor it comes from, and the transform.
    public struct Mapping: Hashable {
        public let target: String
        public let source: String
        public let transform: Transform
    }

    /// The parts of an SDXL single-file checkpoint.
    public enum Part: Hashable {
        /// The UNet under `model.diffusion_model.`.
        case unet(UNetLayout)
        /// The VAE under `first_stage_model.`.
        case vae(VAELayout)
        /// CLIP ViT-L (`text_encoder`) under `conditioner.embedders.0.transformer.`.
        case clipL
        /// OpenCLIP ViT-bigG (`text_encoder_2`) under `conditioner.embedders.1.model.`.
        case openCLIP
    }

    /// The block structure the UNet's numbering depends on (SDXL's by default).
    public struct UNetLayout: Hashable {
        /// Resnets per down block (up blocks have one more).
        public var layersPerBlock = 2
        /// Resolution levels (down blocks).
        public var levels = 3
        /// Up blocks that hold attentions (their upsampler is the third module of the last output block).
        public var upBlocksWithAttention: Set<Int> = [0, 1]
        public init() {}
    }

    /// The VAE's block structure (SDXL's by default).
    public struct VAELayout: Hashable {
        public var layersPerBlock = 2
        public var levels = 4
        public init() {}
    }

    /// The prefix of `part` in a single-file checkpoint.
    public static func singleFilePrefix(_ part: Part) -> String {
        switch part {
        case .unet: return "model.diffusion_model."
        case .vae: return "first_stage_model."
        case .clipL: return "conditioner.embedders.0.transformer."
        case .openCLIP: return "conditioner.embedders.1.model."
        }
    }

    // MARK: tables

    /// How the inside of a block is renamed.
    enum Inner { case same, unetResnet, vaeResnet, vaeAttention, openCLIPLayer }

    /// (single-file, diffusers) renames inside a block, matched on whole leading components.
    static let innerTables: [Inner: [(String, String)]] = [
        .same: [],
        .unetResnet: [("in_layers.0", "norm1"), ("in_layers.2", "conv1"), ("out_layers.0", "norm2"), ("out_layers.3", "conv2"),
                      ("emb_layers.1", "time_emb_proj"), ("skip_connection", "conv_shortcut")],
        .vaeResnet: [("nin_shortcut", "conv_shortcut")],
        .vaeAttention: [("norm", "group_norm"), ("q", "to_q"), ("k", "to_k"), ("v", "to_v"), ("proj_out", "to_out.0")],
        .openCLIPLayer: [("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2"),
                         ("attn.out_proj", "self_attn.out_proj")],
    ]

    /// One block: its prefix in each layout and how its inside is renamed.
    struct Block { let single: String; let diffusers: String; let inner: Inner }

    static func unetBlocks(_ l: UNetLayout) -> [Block] {
        var b: [Block] = [
            Block(single: "time_embed.0", diffusers: "time_embedding.linear_1", inner: .same),
            Block(single: "time_embed.2", diffusers: "time_embedding.linear_2", inner: .same),
            Block(single: "label_emb.0.0", diffusers: "add_embedding.linear_1", inner: .same),
            Block(single: "label_emb.0.2", diffusers: "add_embedding.linear_2", inner: .same),
            Block(single: "input_blocks.0.0", diffusers: "conv_in", inner: .same),
            Block(single: "out.0", diffusers: "conv_norm_out", inner: .same),
            Block(single: "out.2", diffusers: "conv_out", inner: .same),
            Block(single: "middle_block.0", diffusers: "mid_block.resnets.0", inner: .unetResnet),
            Block(single: "middle_block.1", diffusers: "mid_block.attentions.0", inner: .same),
            Block(single: "middle_block.2", diffusers: "mid_block.resnets.1", inner: .unetResnet),
        ]
        let n = l.layersPerBlock + 1
        for level in 0..<l.levels {
            for j in 0..<l.layersPerBlock {
                b.append(Block(single: "input_blocks.\(n * level + j + 1).0", diffusers: "down_blocks.\(level).resnets.\(j)", inner: .unetResnet))
                b.append(Block(single: "input_blocks.\(n * level + j + 1).1", diffusers: "down_blocks.\(level).attentions.\(j)", inner: .same))
            }
            if level < l.levels - 1 {
                b.append(Block(single: "input_blocks.\(n * (level + 1)).0.op", diffusers: "down_blocks.\(level).downsamplers.0.conv", inner: .same))
            }
            for j in 0..<n {
                b.append(Block(single: "output_blocks.\(n * level + j).0", diffusers: "up_blocks.\(level).resnets.\(j)", inner: .unetResnet))
                b.append(Block(single: "output_blocks.\(n * level + j).1", diffusers: "up_blocks.\(level).attentions.\(j)", inner: .same))
            }
            if level < l.levels - 1 {
                let slot = l.upBlocksWithAttention.contains(level) ? 2 : 1
                b.append(Block(single: "output_blocks.\(n * level + n - 1).\(slot).conv", diffusers: "up_blocks.\(level).upsamplers.0.conv", inner: .same))
            }
        }
        return b
    }

    static func vaeBlocks(_ l: VAELayout) -> [Block] {
        var b: [Block] = []
        for side in ["encoder", "decoder"] {
            b.append(Block(single: "\(side).norm_out", diffusers: "\(side).conv_norm_out", inner: .same))
            b.append(Block(single: "\(side).mid.block_1", diffusers: "\(side).mid_block.resnets.0", inner: .vaeResnet))
            b.append(Block(single: "\(side).mid.block_2", diffusers: "\(side).mid_block.resnets.1", inner: .vaeResnet))
            b.append(Block(single: "\(side).mid.attn_1", diffusers: "\(side).mid_block.attentions.0", inner: .vaeAttention))
        }
        for i in 0..<l.levels {
            for j in 0..<l.layersPerBlock {
                b.append(Block(single: "encoder.down.\(i).block.\(j)", diffusers: "encoder.down_blocks.\(i).resnets.\(j)", inner: .vaeResnet))
            }
            b.append(Block(single: "encoder.down.\(i).downsample", diffusers: "encoder.down_blocks.\(i).downsamplers.0", inner: .same))
            let up = l.levels - 1 - i
            for j in 0...l.layersPerBlock {
                b.append(Block(single: "decoder.up.\(up).block.\(j)", diffusers: "decoder.up_blocks.\(i).resnets.\(j)", inner: .vaeResnet))
            }
            b.append(Block(single: "decoder.up.\(up).upsample", diffusers: "decoder.up_blocks.\(i).upsamplers.0", inner: .same))
        }
        return b
    }

    static let openCLIPFixed: [(String, String, Transform)] = [
        ("positional_embedding", "text_model.embeddings.position_embedding.weight", .none),
        ("token_embedding.weight", "text_model.embeddings.token_embedding.weight", .none),
        ("ln_final.weight", "text_model.final_layer_norm.weight", .none),
        ("ln_final.bias", "text_model.final_layer_norm.bias", .none),
        ("text_projection", "text_projection.weight", .transpose),
    ]

    // MARK: renaming

    private static func blocks(_ part: Part) -> [Block] {
        switch part {
        case .unet(let l): return unetBlocks(l).sorted { $0.single.count > $1.single.count }
        case .vae(let l): return vaeBlocks(l).sorted { $0.single.count > $1.single.count }
        case .clipL, .openCLIP: return []
        }
    }

    /// `name` with `table`'s leading components swapped (`from` side to `to` side).
    private static func renameInner(_ rest: String, _ inner: Inner, toDiffusers: Bool) -> String {
        for (s, d) in innerTables[inner] ?? [] {
            let (from, to) = toDiffusers ? (s, d) : (d, s)
            if rest.hasPrefix(from + ".") { return to + rest.dropFirst(from.count) }
        }
        return rest
    }

    /// The diffusers mappings for the single-file tensors `names` of `part`. When any name carries the part's
    /// prefix, only those are taken (a whole single-file checkpoint); otherwise the names are the part's own.
    public static func diffusersMappings(singleFile names: [String], part: Part) -> [Mapping] {
        let prefix = singleFilePrefix(part)
        let table = blocks(part)
        let prefixed = names.contains { $0.hasPrefix(prefix) }
        var out: [Mapping] = []
        for full in names {
            if prefixed && !full.hasPrefix(prefix) { continue }
            let name = prefixed ? String(full.dropFirst(prefix.count)) : full
            switch part {
            case .clipL:
                out.append(Mapping(target: name, source: full, transform: .none))
            case .openCLIP:
                if let f = openCLIPFixed.first(where: { $0.0 == name }) {
                    out.append(Mapping(target: f.1, source: full, transform: f.2))
                } else if name.hasPrefix("transformer.resblocks.") {
                    let rest = name.dropFirst("transformer.resblocks.".count)
                    guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { continue }
                    let inner = String(rest[rest.index(after: dot)...])
                    let base = "text_model.encoder.layers.\(layer)."
                    if inner == "attn.in_proj_weight" || inner == "attn.in_proj_bias" {
                        let leaf = inner.hasSuffix("weight") ? "weight" : "bias"
                        for (k, x) in ["q", "k", "v"].enumerated() {
                            out.append(Mapping(target: base + "self_attn.\(x)_proj.\(leaf)", source: full, transform: .rows(part: k, of: 3)))
                        }
                    } else {
                        out.append(Mapping(target: base + renameInner(inner, .openCLIPLayer, toDiffusers: true), source: full, transform: .none))
                    }
                }
            case .unet, .vae:
                var target = name
                var transform = Transform.none
                if let b = table.first(where: { name.hasPrefix($0.single + ".") }) {
                    let rest = String(name.dropFirst(b.single.count + 1))
                    target = b.diffusers + "." + renameInner(rest, b.inner, toDiffusers: true)
                    if b.inner == .vaeAttention, rest.hasSuffix(".weight"), !rest.hasPrefix("norm.") { transform = .squeezeToLinear }
                }
                out.append(Mapping(target: target, source: full, transform: transform))
            }
        }
        return out
    }

    /// The diffusers name of one single-file tensor of `part` (with or without the part's prefix); nil for a
    /// tensor that splits into several (OpenCLIP's `in_proj`) or that the part does not know.
    public static func diffusersName(singleFile name: String, part: Part) -> String? {
        let m = diffusersMappings(singleFile: [name], part: part)
        return m.count == 1 ? m[0].target : nil
    }

    /// The single-file name (with the part's prefix) of a diffusers tensor of the UNet, the VAE or CLIP-L.
    public static func singleFileName(diffusers name: String, part: Part) -> String? {
        let prefix = singleFilePrefix(part)
        switch part {
        case .clipL: return prefix + name
        case .openCLIP:
            if let f = openCLIPFixed.first(where: { $0.1 == name }) { return prefix + f.0 }
            let head = "text_model.encoder.layers."
            guard name.hasPrefix(head) else { return nil }
            let rest = name.dropFirst(head.count)
            guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return nil }
            let inner = String(rest[rest.index(after: dot)...])
            if inner.hasPrefix("self_attn.q_proj.") || inner.hasPrefix("self_attn.k_proj.") || inner.hasPrefix("self_attn.v_proj.") { return nil }
            return prefix + "transformer.resblocks.\(layer)." + renameInner(inner, .openCLIPLayer, toDiffusers: false)
        case .unet, .vae:
            let table = blocks(part).sorted { $0.diffusers.count > $1.diffusers.count }
            guard let b = table.first(where: { name.hasPrefix($0.diffusers + ".") }) else { return prefix + name }
            let rest = String(name.dropFirst(b.diffusers.count + 1))
            return prefix + b.single + "." + renameInner(rest, b.inner, toDiffusers: false)
        }
    }

    // MARK: LoRA names

    /// The diffusers module a kohya LoRA module name stands for (`lora_unet_down_blocks_0_attentions_0_proj_in`
    /// -> `unet.down_blocks.0.attentions.0.proj_in`), given the module names of each model (kohya turns every `.`
    /// into `_`, so the names are recovered by lookup, not by guessing). Prefixes: `lora_unet_` -> `unet`,
    /// `lora_te1_` / `lora_te_` -> `text_encoder`, `lora_te2_` -> `text_encoder_2`.
    public static func kohyaModule(_ kohya: String, modules: KohyaModules) -> String? {
        for (prefix, model, table) in [("lora_unet_", "unet", modules.unet), ("lora_te1_", "text_encoder", modules.textEncoder),
                                       ("lora_te_", "text_encoder", modules.textEncoder), ("lora_te2_", "text_encoder_2", modules.textEncoder2)]
        where kohya.hasPrefix(prefix) {
            if let m = table[String(kohya.dropFirst(prefix.count))] { return model + "." + m }
        }
        return nil
    }

    /// Module names of the models a kohya LoRA may address, indexed by their underscored form.
    public struct KohyaModules {
        let unet: [String: String], textEncoder: [String: String], textEncoder2: [String: String]

        /// Indexes the given dotted module names (e.g. a built model's `namedModules()` names).
        public init(unet: [String], textEncoder: [String] = [], textEncoder2: [String] = []) {
            func index(_ names: [String]) -> [String: String] {
                Dictionary(names.map { ($0.replacingOccurrences(of: ".", with: "_"), $0) }, uniquingKeysWith: { a, _ in a })
            }
            self.unet = index(unet); self.textEncoder = index(textEncoder); self.textEncoder2 = index(textEncoder2)
        }
    }

    /// The canonical name of one LoRA tensor: `<module>.lora.down.weight`, `<module>.lora.up.weight` or
    /// `<module>.alpha`, from kohya (`<kohya>.lora_down.weight`, `.lora_up.weight`, `.alpha`), PEFT
    /// (`<module>.lora_A.weight`, `.lora_B.weight`, optionally under `base_model.model.`) or already canonical
    /// names. nil for names that are not LoRA tensors, or kohya modules `modules` does not know.
    public static func loraName(_ name: String, modules: KohyaModules? = nil) -> String? {
        let suffixes: [(String, String)] = [(".lora_down.weight", ".lora.down.weight"), (".lora_up.weight", ".lora.up.weight"),
                                            (".lora_A.weight", ".lora.down.weight"), (".lora_B.weight", ".lora.up.weight"),
                                            (".lora.down.weight", ".lora.down.weight"), (".lora.up.weight", ".lora.up.weight"),
                                            (".alpha", ".alpha")]
        guard let (from, to) = suffixes.first(where: { name.hasSuffix($0.0) }) else { return nil }
        var module = String(name.dropLast(from.count))
        if module.hasPrefix("lora_") {
            guard let modules, let m = kohyaModule(module, modules: modules) else { return nil }
            module = m
        }
        if module.hasPrefix("base_model.model.") { module = String(module.dropFirst("base_model.model.".count)) }
        return module + to
    }
}

/// A source seen through a name map: `names` are the mappings' targets and each tensor is its source tensor
/// transformed (a reshape or a row slice stays a view; a transpose is copied).
public final class RemappedSource: TensorSource {
    public let label: String
    public let names: [String]
    public var metadata: [String: String] { base.metadata }
    public let base: TensorSource
    private let mappings: [String: NameMap.Mapping]

    /// `base` under the names of `mappings` (a target named twice is an error naming both sources).
    public init(_ base: TensorSource, mappings: [NameMap.Mapping]) throws {
        self.base = base
        label = base.label
        var byTarget: [String: NameMap.Mapping] = [:]
        var names: [String] = []
        for m in mappings {
            if let other = byTarget[m.target] {
                throw TensorError(base.label, "tensors '\(other.source)' and '\(m.source)' both map to '\(m.target)'")
            }
            guard base.info(m.source) != nil else { throw TensorError(base.label, "no tensor named '\(m.source)'") }
            byTarget[m.target] = m
            names.append(m.target)
        }
        self.mappings = byTarget
        self.names = names
    }

    /// `source`'s single-file `part` with diffusers names.
    public convenience init(singleFile source: TensorSource, part: NameMap.Part) throws {
        try self.init(source, mappings: NameMap.diffusersMappings(singleFile: source.names, part: part))
    }

    public func info(_ name: String) -> TensorInfo? {
        guard let m = mappings[name], let i = base.info(m.source) else { return nil }
        guard let shape = Self.shape(i.shape, m.transform) else { return nil }
        return TensorInfo(elementType: i.elementType, shape: shape)
    }

    static func shape(_ s: [Int], _ t: NameMap.Transform) -> [Int]? {
        switch t {
        case .none: return s
        case .squeezeToLinear:
            guard s.count >= 2, s.dropFirst(2).allSatisfy({ $0 == 1 }) else { return nil }
            return [s[0], s[1]]
        case .expandToConv: return s.count == 2 ? s + [1, 1] : nil
        case .transpose: return s.count == 2 ? [s[1], s[0]] : nil
        case .rows(let part, let parts):
            guard let first = s.first, parts > 0, first % parts == 0, part >= 0, part < parts else { return nil }
            return [first / parts] + s.dropFirst()
        }
    }

    public func tensor(_ name: String, dtype: DType?) throws -> Tensor {
        guard let m = mappings[name], let i = base.info(m.source) else { throw TensorError(label, "no tensor named '\(name)'") }
        guard let shape = Self.shape(i.shape, m.transform) else {
            throw TensorError(label, "tensor '\(m.source)' of shape \(shapeString(i.shape)) cannot be read as '\(name)'")
        }
        let t = try base.tensor(m.source, dtype: dtype)
        switch m.transform {
        case .none: return t
        case .squeezeToLinear, .expandToConv: return try t.reshaped(shape)
        case .transpose:
            let d = t.dtype
            return try t.detached.to(.f32).permuted([1, 0]).to(d)
        case .rows(let part, _):
            let bytes = shape.reduce(1, *) * t.dtype.size
            let storage = t.storage
            return try t.withRawBytes { raw in
                try Tensor(viewing: raw.baseAddress! + part * bytes, dtype: t.dtype, shape: shape, owner: storage)
            }
        }
    }
}
