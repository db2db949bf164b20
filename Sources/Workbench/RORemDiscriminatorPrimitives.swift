import Diffusion
import Foundation
import Lang
import Tensor

/// Recognising RORem's discriminator layout on disk.
enum RORemFolder {
    /// Whether `path` is a folder holding RORem's discriminator files (`pytorch_lora_weights.safetensors` and
    /// `cls_pred_branch.pt`; `load` names whichever is missing when only one is there).
    static func isDiscriminator(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return false }
        let fm = FileManager.default
        return [RORemDiscriminator.loraFile, RORemDiscriminator.headFile].contains {
            fm.fileExists(atPath: (path as NSString).appendingPathComponent($0))
        }
    }
}

extension DiscriminatorValue {
    /// Examples per forward pass when scoring many: the miniature judge's small inputs batch well; RORem's 512 px
    /// triplets are run a few at a time.
    var batchSize: Int {
        switch model {
        case .miniature: return 16
        case .rorem: return 2
        }
    }
}

extension ModelPrimitives {
    /// `dtype:` as a storage dtype, nil when not given.
    static func dtype(_ args: Arguments) throws -> DType? {
        guard let name = args["dtype"].string else { return nil }
        guard let d = DType(name: name) else {
            throw PrimitiveError("\(args.primitive.name)(): dtype must be f32, f16 or bf16, got \(Value.quote(name))")
        }
        return d
    }

    /// The scoring settings of RORem's discriminator from `resolution:`, `stochastic:` and `seed:`.
    static func roremSettings(_ args: Arguments, resolution: Int) throws -> RORemDiscriminator.Settings {
        RORemDiscriminator.Settings(resolution: resolution, stochastic: args["stochastic"] == .bool(true),
                                    seed: args["seed"] == .nil ? 0 : try seed(args))
    }

    /// `load_model(DIR, base: BASE, ...)`: RORem's discriminator from its folder over an SDXL-inpainting folder.
    static func loadRORem(_ args: Arguments, folder: String, session: Session) throws -> Value {
        guard let base = args["base"].string else {
            throw PrimitiveError("load_model(): '\(folder)' is a RORem discriminator folder; give the SDXL-inpainting folder it was trained over, e.g. load_model(\"\(folder)\", base: \"models/sdxl-inpainting\")")
        }
        let settings = try roremSettings(args, resolution: try args.int("resolution"))
        let dtype = try dtype(args), variant = args["variant"].string
        let name = args["name"].string ?? (folder as NSString).lastPathComponent
        guard !name.isEmpty else { throw PrimitiveError("load_model(): name must not be empty") }
        let model = try learning("load_model") {
            try RORemDiscriminator.load(folder: folder, base: URL(fileURLWithPath: session.resolve(base)).standardized.path,
                                        dtype: dtype, variant: variant, settings: settings)
        }
        return .object(DiscriminatorValue(model, name: name))
    }

    /// `discriminator(base: BASE, rank:, ...)`: RORem's discriminator with fresh adapters and head, to train.
    static func freshRORem(_ args: Arguments, base: String) throws -> Value {
        let rank = try args.int("rank")
        guard (1...256).contains(rank) else { throw PrimitiveError("discriminator(): rank must be in 1...256, got \(rank)") }
        // The miniature's default resolution (64) is not RORem's; 512 unless given.
        let given = args["resolution"] == .nil ? 512 : try args.int("resolution")
        let settings = try roremSettings(args, resolution: given)
        let name = try args.string("name")
        guard !name.isEmpty else { throw PrimitiveError("discriminator(): name must not be empty") }
        let s = try seed(args), dtype = try dtype(args), variant = args["variant"].string
        let model = try learning("discriminator") {
            try RORemDiscriminator.fresh(base: base, rank: rank, seed: s, dtype: dtype, variant: variant, settings: settings)
        }
        return .object(DiscriminatorValue(model, name: name))
    }
}
