import Diffusion
import Foundation
import Lang

extension ModelPrimitives {
    /// `remover("diffusion", FOLDER, ...)`: the SDXL inpainting pipeline (SDXL-inpainting, RORem, RORem-4S) from a
    /// diffusers folder, as a remover. Relative folders and files resolve against the script's folder.
    static func diffusionRemover(_ args: Arguments, session: Session) throws -> Value {
        guard let folder = args["path"].string else {
            throw PrimitiveError("remover(\"diffusion\"): give the diffusers folder, e.g. remover(\"diffusion\", \"models/RORem\")")
        }
        var o = DiffusionOptions(folder: session.resolve(folder))
        for (key, v) in args.options {
            let text: String
            switch v {
            case .string(let t): text = ["unet", "lora"].contains(key) ? session.resolve(t) : t
            case .number(let n): text = Value.format(n)
            case .nil: continue
            default: throw PrimitiveError("remover(\"diffusion\"): option '\(key)' must be a string or number, got \(v.typeName)")
            }
            do { try o.set(key, text) } catch { throw PrimitiveError("remover(\"diffusion\"): \(error)") }
        }
        let quiet = !(args.interpreter.output is StandardOutput)
        return .object(RemoverValue(try DomainPrimitives.domain("remover") {
            try DiffusionRemovers.make(o, progress: quiet ? .silent : .terminalOnly, shouldStop: { Interrupt.isRequested })
        }))
    }
}
