import Diffusion
import Curation
import Foundation
import Imaging
import Lang
import Learning
import Removal
import Rounds

/// The primitives over Learning: making, loading, saving and scoring models (this file), training
/// (`TrainPrimitive.swift`), and the round primitives that join models to the store (`RoundPrimitives.swift`).
/// Each is a thin binding over a public Learning or Curation API.
enum ModelPrimitives {
    static func register(in session: Session) {
        registerModels(in: session)
        registerFiles(in: session)
        registerTraining(in: session)
        RoundPrimitives.register(in: session)
        PlotPrimitives.register(in: session)
        TablePrimitive.register(in: session)
        RandomMasks.register(in: session)
    }

    /// Runs `body`, turning Learning errors (and Curation, Imaging, Removal ones) into primitive errors that name
    /// the primitive; checkpoint files that cannot be read or written are I/O errors (status 74).
    static func learning<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try CurationPrimitives.curation(name, body)
        } catch let e as LearningError {
            if case .checkpoint = e { throw PrimitiveError.io("\(name)(): \(e)") }
            throw PrimitiveError("\(name)(): \(e)")
        }
    }

    /// A list of positive whole numbers from parameter `name` (e.g. `widths: [16, 32]`).
    static func integers(_ args: Arguments, _ name: String) throws -> [Int] {
        try args[name].elements(for: args.primitive.name).map { v in
            guard let n = v.number, n == n.rounded(), n >= 1, n <= 4096 else {
                throw PrimitiveError("\(args.primitive.name)(): '\(name)' must be a list of whole numbers in 1...4096, got \(v.printed)")
            }
            return Int(n)
        }
    }

    /// Throws unless the convolution weights of a network with `widths` stay below about 400 MB (a few 3x3
    /// convolutions per level): memory a user's typo could otherwise exhaust, ending the process.
    static func checkSize(_ widths: [Int], for primitive: String) throws {
        let weights = widths.reduce(0.0) { $0 + 6 * 9 * Double($1) * Double($1) }
        guard weights <= 1e8 else {
            throw PrimitiveError("\(primitive)(): widths \(widths) would need about \(Int(weights * 4 / 1e6)) MB of weights; keep it under 400 MB")
        }
    }

    /// A seed from parameter `name`: a whole number that is not negative.
    static func seed(_ args: Arguments, _ name: String = "seed") throws -> UInt64 {
        let s = try args.int(name)
        guard s >= 0 else { throw PrimitiveError("\(args.primitive.name)(): '\(name)' must not be negative, got \(s)") }
        return UInt64(s)
    }

    static func registerModels(in session: Session) {
        let i = session.interpreter
        i.register(Primitive("unet", [Parameter("widths", .list, default: .list([16, 32, 64].map { .number($0) })),
                                      Parameter("groups", .integer, default: .number(8)), Parameter("working_size", .integer, default: .number(128)),
                                      Parameter("seed", .integer, default: .number(0))],
                             summary: "A new learned remover (a small UNet) with weights drawn from seed; train it with train(...).",
                             help: "widths: channels per level, finest first (1 to 6 levels); groups must divide every width.\nworking_size: the largest side it works at; larger crops around the mask are downsampled to it.\nIt is a remover: use it with remove(..., with: m) and generate(store, m, ds).",
                             example: "let m = unet(widths: [16, 32, 64], seed: 1)") { args in
            let config = UNetRemoverConfig(widths: try integers(args, "widths"), groups: try args.int("groups"),
                                           workingSize: try args.int("working_size"))
            try checkSize(config.widths, for: "unet")
            let s = try seed(args)
            return .object(RemoverValue(try learning("unet") { try UNetRemover(config: config, seed: s) }))
        })
        i.register(Primitive("discriminator", [Parameter("widths", .list, default: .list([16, 32, 64].map { .number($0) })),
                                               Parameter("groups", .integer, default: .number(8)), Parameter("resolution", .integer, default: .nil),
                                               Parameter("seed", .integer, default: .number(0)), Parameter("name", .string, default: .string("disc")),
                                               Parameter("head", .string, default: .string(DiscriminatorHead.strided.rawValue)),
                                               Parameter("shift_residual", .bool, default: .bool(false)),
                                               Parameter("base", .string, default: .nil), Parameter("rank", .integer, default: .number(4)),
                                               Parameter("dtype", .string, default: .nil), Parameter("variant", .string, default: .nil)],
                             summary: "A new removal judge: the miniature one in RORem's shape (scores in [0, 1]), or with base: RORem's own on an SDXL-inpainting UNet.",
                             help: """
                             It looks at a square around the mask (with context) resized to resolution (a power of two; default 64).
                             name: the annotator name its labels get in the store (discriminator:NAME).
                             head: "strided" (RORem's: the encoder and stride-2 stages down to one value) or "masked_mean" (a
                             full-resolution quality map, one 3x3 stage per width, averaged over the mask: it learns from a few
                             hundred labelled images where the strided head memorises them; Docs/learning.md).
                             shift_residual: also show it how far the fill is from a shifted copy of the surroundings, which
                             continues bands and lines a smooth prediction blurs (for striped or structured backgrounds).
                             base: an SDXL-inpainting diffusers folder: RORem's discriminator (its UNet's encoder, a LoRA of rank on
                             to_q/to_k/to_v/to_out.0, and cls_pred_branch) with fresh adapters and head drawn from seed, to train on
                             people's labels; resolution then defaults to 512 (RORem's). dtype: f32, f16 or bf16 for the frozen
                             base weights (default: as the files store them); variant: "fp16" prefers *.fp16.safetensors.
                             """,
                             example: "let d = discriminator(resolution: 32, name: \"disc-r1\")") { [unowned session] args in
            if let base = args["base"].string { return try freshRORem(args, base: URL(fileURLWithPath: session.resolve(base)).standardized.path) }
            let headName = try args.string("head")
            guard let head = DiscriminatorHead(rawValue: headName) else {
                throw PrimitiveError("discriminator(): head must be one of \(DiscriminatorHead.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(headName)\"")
            }
            let config = DiscriminatorConfig(widths: try integers(args, "widths"), groups: try args.int("groups"),
                                             resolution: args["resolution"] == .nil ? 64 : try args.int("resolution"),
                                             shiftResidual: args["shift_residual"] == .bool(true), head: head)
            try checkSize(config.widths, for: "discriminator")
            guard config.resolution <= 1024 else { throw PrimitiveError("discriminator(): resolution must be at most 1024, got \(config.resolution)") }
            let s = try seed(args)
            let name = try args.string("name")
            guard !name.isEmpty else { throw PrimitiveError("discriminator(): name must not be empty") }
            return .object(DiscriminatorValue(try learning("discriminator") { try Discriminator(config: config, seed: s) }, name: name))
        })
        // Replaces the classical-only `remover` of DomainPrimitives with one that also loads learned removers.
        i.register(Primitive("remover", [Parameter("name", .string, default: .string(Removers.defaultName)), Parameter("path", .string, default: .nil)],
                             acceptsOptions: true,
                             summary: "A configured object remover: \((Removers.names + LearnedRemovers.names).joined(separator: ", ")), or diffusion (SDXL-inpainting, RORem, RORem-4S from a diffusers folder).",
                             help: (Removers.names.map { "\($0) options: \((Removers.options[$0] ?? []).joined(separator: ", "))" }
                                    + LearnedRemovers.names.map { "\($0): a learned remover; path: its checkpoint (from save_model or train)" }
                                    + ["diffusion: path is a diffusers folder; options: \(DiffusionOptions.names.joined(separator: ", "))",
                                       "  RORem-4S: lora: FILE, scheduler: \"lcm\", steps: 4; defaults: 512 px crop, guidance 1, strength 0.99, 50 steps, seed 0"]).joined(separator: "\n"),
                             example: "let m = remover(\"unet\", \"runs/unet.safetensors\")") { [unowned session] args in
            let name = try args.string("name")
            if name.lowercased() == "diffusion" { return try diffusionRemover(args, session: session) }
            if LearnedRemovers.names.contains(name.lowercased()) {
                guard let path = args["path"].string else {
                    throw PrimitiveError("remover(): '\(name)' is a learned remover and needs the checkpoint's path, e.g. remover(\"\(name)\", \"unet.safetensors\")")
                }
                let resolved = session.resolve(path)
                return .object(RemoverValue(try learning("remover") { try LearnedRemovers.make(name, path: resolved) }))
            }
            if args["path"].string != nil {
                throw PrimitiveError("remover(): '\(name)' takes no checkpoint path (only \(LearnedRemovers.names.joined(separator: ", ")) and the diffusion remover's folder do)")
            }
            var options: [String: Double] = [:]
            for (key, v) in args.options {
                guard case .number(let n) = v else { throw PrimitiveError("remover(): option '\(key)' must be a number, got \(v.typeName)") }
                options[key] = n
            }
            return .object(RemoverValue(try learning("remover") { try Removers.make(name, options: options) }))
        })
    }

    static func registerFiles(in session: Session) {
        let i = session.interpreter
        i.register(Primitive("save_model", [Parameter("model", .either([.object("remover"), .object("discriminator")])), Parameter("path", .string)],
                             summary: "Writes a learned remover or discriminator to a safetensors checkpoint (RORem's discriminator: a folder in RORem's layout); returns the path.",
                             help: "RORem's discriminator writes PATH/pytorch_lora_weights.safetensors and PATH/cls_pred_branch.pt, which RORem's own scripts load.",
                             example: "save_model(m, \"runs/unet-r1.safetensors\")") { [unowned session] args in
            let path = session.resolve(try args.string("path"))
            try learning("save_model") {
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                switch args["model"] {
                case .object(let d as DiscriminatorValue):
                    switch d.model {
                    case .miniature(let m): try m.save(path: path, extra: ["rorem.name": d.name])
                    case .rorem(let r): try r.save(to: path)
                    }
                case .object(let r as RemoverValue):
                    guard let unet = r.remover as? UNetRemover else {
                        throw PrimitiveError("save_model(): the \(r.remover.name) remover has no weights to save; only learned removers (unet) do")
                    }
                    try unet.save(path: path)
                default: break
                }
            }
            return .string(path)
        })
        i.register(Primitive("load_model", [Parameter("path", .string), Parameter("name", .string, default: .nil),
                                            Parameter("base", .string, default: .nil), Parameter("dtype", .string, default: .nil),
                                            Parameter("variant", .string, default: .nil), Parameter("resolution", .integer, default: .number(512)),
                                            Parameter("stochastic", .bool, default: .bool(false)), Parameter("seed", .integer, default: .number(0))],
                             summary: "Loads a checkpoint written by save_model or train: a remover or a discriminator, whichever it holds; a RORem discriminator folder with base:.",
                             help: """
                             name: for a discriminator, the annotator name its labels get (default: the name it was saved with).
                             A folder with pytorch_lora_weights.safetensors and cls_pred_branch.pt (RORem-Discriminator) loads RORem's
                             discriminator over base: (the SDXL-inpainting diffusers folder). Its options: dtype (f32, f16, bf16 for the
                             base weights), variant ("fp16"), resolution (512), stochastic: true with seed: samples the VAE posterior and
                             adds timestep-0 noise as RORem's pipeline does (default: the posterior mean, no noise). Its scores are
                             RORem's softplus values, which can pass 1; RORem keeps results scoring 0.9 and above.
                             """,
                             example: "let d = load_model(\"runs/disc-r1.safetensors\")") { [unowned session] args in
            let path = session.resolve(try args.string("path"))
            if RORemFolder.isDiscriminator(path) { return try loadRORem(args, folder: path, session: session) }
            if args["base"] != .nil {
                throw PrimitiveError("load_model(): base: is for a RORem discriminator folder (with \(RORemDiscriminator.loraFile) and \(RORemDiscriminator.headFile)); '\(path)' is not one")
            }
            return try learning("load_model") {
                let (file, kind) = try ModelCheckpoint.open(path)
                if kind == Discriminator.kind {
                    let name = args["name"].string ?? file.metadata["rorem.name"] ?? "disc"
                    return .object(DiscriminatorValue(try Discriminator.load(path: path), name: name))
                }
                return .object(RemoverValue(try LearnedRemovers.load(path)))
            }
        })
        i.register(Primitive("score", [Parameter("disc", .object("discriminator")), Parameter("source", .either([.object("image"), .object("candidates")])),
                                       Parameter("mask", .object("mask"), default: .nil), Parameter("result", .object("image"), default: .nil)],
                             summary: "A discriminator's estimate that a removal succeeded (the miniature's in [0, 1], RORem's softplus): one number, or a list for candidates.",
                             help: "score(disc, source, mask, result) for one removal; score(disc, cands) for every candidate, in order.",
                             example: "score(d, img, mask, remove(img, mask)) >= 0.9") { args in
            let d = try args.object("disc", as: DiscriminatorValue.self)
            if case .object(let c as CandidatesValue) = args["source"] {
                return .list(try learning("score") { try Rounds.scores(d.scorer, c.candidates, batchSize: d.batchSize) }.map { .number($0) })
            }
            guard case .object(let m as MaskValue) = args["mask"], case .object(let r as ImageValue) = args["result"] else {
                throw PrimitiveError("score(): scoring one image needs mask and result: score(disc, source, mask, result)")
            }
            let source = try args.object("source", as: ImageValue.self).image
            return .number(try learning("score") { try d.score(source: source, mask: m.mask, result: r.image) })
        })
    }
}
