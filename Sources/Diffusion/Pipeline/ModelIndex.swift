import Foundation

/// A diffusers pipeline folder's `model_index.json`: which component lives in which subfolder, and the pipeline's
/// own settings (`force_zeros_for_empty_prompt`, `requires_aesthetics_score`).
public struct ModelIndex: Equatable {
    /// The pipeline class, e.g. `StableDiffusionXLInpaintPipeline`.
    public var className: String?
    /// Component name -> (library, class), e.g. `unet` -> (`diffusers`, `UNet2DConditionModel`); absent ones are null
    /// in the file and left out here.
    public var components: [String: (library: String, className: String)]
    /// SDXL img2img/inpaint conditioning with an aesthetic score instead of the target size.
    public var requiresAestheticsScore: Bool
    /// Zeros instead of the encoded empty prompt as the negative conditioning when none is given.
    public var forceZerosForEmptyPrompt: Bool

    public static func == (a: ModelIndex, b: ModelIndex) -> Bool {
        a.className == b.className && a.requiresAestheticsScore == b.requiresAestheticsScore
            && a.forceZerosForEmptyPrompt == b.forceZerosForEmptyPrompt
            && a.components.mapValues { "\($0.library).\($0.className)" } == b.components.mapValues { "\($0.library).\($0.className)" }
    }

    /// The components an SDXL inpainting pipeline needs, with the classes it accepts for each.
    public static let sdxlComponents: [(name: String, classes: [String])] = [
        ("unet", ["UNet2DConditionModel"]), ("vae", ["AutoencoderKL"]),
        ("text_encoder", ["CLIPTextModel"]), ("text_encoder_2", ["CLIPTextModelWithProjection"]),
        ("tokenizer", ["CLIPTokenizer", "CLIPTokenizerFast"]), ("tokenizer_2", ["CLIPTokenizer", "CLIPTokenizerFast"]),
        ("scheduler", ["EulerDiscreteScheduler", "DDIMScheduler", "LCMScheduler", "DPMSolverMultistepScheduler",
                       "EulerAncestralDiscreteScheduler"]),
    ]

    /// Reads `folder/model_index.json`; errors name the file and the key.
    public static func load(folder: String) throws -> ModelIndex {
        let path = URL(fileURLWithPath: folder).appendingPathComponent("model_index.json").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw PipelineError(path, "missing: '\(folder)' is not a diffusers pipeline folder (expected model_index.json beside unet/, vae/, ...)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw PipelineError(path, "cannot be read") }
        guard let json = try? JSONSerialization.jsonObject(with: data), let object = json as? [String: Any] else {
            throw PipelineError(path, "is not a JSON object")
        }
        var index = ModelIndex(className: object["_class_name"] as? String, components: [:], requiresAestheticsScore: false,
                               forceZerosForEmptyPrompt: true)
        for (key, value) in object {
            switch key {
            case "requires_aesthetics_score", "force_zeros_for_empty_prompt":
                guard let flag = value as? Bool else { throw PipelineError(path, "'\(key)' = \(value) is not true or false") }
                if key == "requires_aesthetics_score" { index.requiresAestheticsScore = flag } else { index.forceZerosForEmptyPrompt = flag }
            case _ where key.hasPrefix("_"):
                continue
            default:
                guard let pair = value as? [Any], pair.count == 2 else {
                    if value is Bool || value is NSNumber || value is String { continue }    // other pipeline settings
                    throw PipelineError(path, "component '\(key)' is not a [library, class] pair")
                }
                if pair[0] is NSNull || pair[1] is NSNull { continue }
                guard let library = pair[0] as? String, let cls = pair[1] as? String else {
                    throw PipelineError(path, "component '\(key)' is not a [library, class] pair of strings")
                }
                index.components[key] = (library, cls)
            }
        }
        return index
    }

    /// Checks that every component SDXL inpainting needs is named, with a class implemented here, and that its
    /// subfolder exists (`replaced` components, such as a separate UNet folder, are not looked for).
    public func validateSDXL(folder: String, replaced: Set<String> = []) throws {
        let path = URL(fileURLWithPath: folder).appendingPathComponent("model_index.json").path
        for (name, classes) in Self.sdxlComponents where !replaced.contains(name) {
            guard let component = components[name] else {
                throw PipelineError(path, "names no '\(name)' component; an SDXL inpainting folder needs \(Self.sdxlComponents.map(\.name).joined(separator: ", "))")
            }
            guard classes.contains(component.className) else {
                throw PipelineError(path, "'\(name)' is a \(component.className); supported: \(classes.joined(separator: ", "))")
            }
            var isDirectory: ObjCBool = false
            let sub = URL(fileURLWithPath: folder).appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: sub, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw PipelineError(sub, "missing: model_index.json names the '\(name)' component but its folder is not there")
            }
        }
    }
}
