import Foundation
import NN
import Tensor

/// The conditioning SDXL's UNet takes from a prompt (batch 1).
public struct SDXLPromptEmbeddings {
    /// Both encoders' penultimate states, concatenated on the channel axis: (1, L, D1 + D2) (1, 77, 2048 at full size).
    public let promptEmbeds: Tensor
    /// The second encoder's projected pooled output: (1, P) (1, 1280).
    public let pooledPromptEmbeds: Tensor
    /// The same for the negative prompt (zeros where `force_zeros_for_empty_prompt` applies); nil without guidance.
    public let negativePromptEmbeds: Tensor?
    /// The negative prompt's pooled output; nil without guidance.
    public let negativePooledPromptEmbeds: Tensor?
}

/// diffusers' `StableDiffusionXL(Inpaint)Pipeline.encode_prompt` for one prompt with SDXL's two tokenizers and text
/// encoders (`tokenizer/` + `text_encoder/`, a CLIPTextModel; `tokenizer_2/` + `text_encoder_2/`, a
/// CLIPTextModelWithProjection). Results are cached per prompt, so a fixed prompt is encoded once.
///
/// ```swift
/// let encoder = try SDXLPromptEncoder.load(folder: "stable-diffusion-xl-1.0-inpainting-0.1")
/// let e = try encoder.encode(prompt: "4K, high quality, masterpiece", guidance: false)   // (1, 77, 2048), (1, 1280)
/// ```
public final class SDXLPromptEncoder {
    /// `tokenizer/` (pads with `<|endoftext|>`).
    public let tokenizer: CLIPTokenizer
    /// `text_encoder/` (CLIP ViT-L at full size).
    public let textEncoder: CLIPTextModel
    /// `tokenizer_2/` (pads with `!`).
    public let tokenizer2: CLIPTokenizer
    /// `text_encoder_2/` (OpenCLIP bigG at full size).
    public let textEncoder2: CLIPTextModelWithProjection
    /// The pipeline's `force_zeros_for_empty_prompt`: with guidance and no negative prompt, the negative
    /// conditioning is zeros instead of the encoding of "".
    public let forceZerosForEmptyPrompt: Bool

    private var cache: [CacheKey: SDXLPromptEmbeddings] = [:]
    private let lock = NSLock()
    /// The most prompts kept in the cache (the oldest entries are dropped beyond it); set it before encoding from
    /// several threads.
    public var cacheLimit = 32
    private var cacheOrder: [CacheKey] = []

    /// An encoder over loaded parts. Throws when the tokenizers pad to different lengths (the states could not be
    /// concatenated).
    public init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, tokenizer2: CLIPTokenizer,
                textEncoder2: CLIPTextModelWithProjection, forceZerosForEmptyPrompt: Bool = true) throws {
        guard tokenizer.maxLength == tokenizer2.maxLength else {
            throw TensorError("SDXL prompt encoder", "the tokenizers pad to \(tokenizer.maxLength) and \(tokenizer2.maxLength) tokens")
        }
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.tokenizer2 = tokenizer2
        self.textEncoder2 = textEncoder2
        self.forceZerosForEmptyPrompt = forceZerosForEmptyPrompt
    }

    /// Loads `tokenizer/`, `text_encoder/`, `tokenizer_2/` and `text_encoder_2/` of a diffusers SDXL folder, and
    /// `force_zeros_for_empty_prompt` from its `model_index.json` (true when absent, the pipeline's default). The
    /// encoders' weights are stored as `dtype`.
    public static func load(folder: String, dtype: DType = .f32) throws -> SDXLPromptEncoder {
        let dir = URL(fileURLWithPath: folder)
        func sub(_ name: String) -> String { dir.appendingPathComponent(name).path }
        var forceZeros = true
        let index = sub("model_index.json")
        if FileManager.default.fileExists(atPath: index) {
            let json = try TextFolderJSON.object(at: index)
            if let v = json["force_zeros_for_empty_prompt"] {
                guard let b = v as? Bool else {
                    throw TextFolderError(index, "force_zeros_for_empty_prompt = \(v) is not true or false")
                }
                forceZeros = b
            }
        }
        return try SDXLPromptEncoder(tokenizer: CLIPTokenizer(folder: sub("tokenizer")),
                                     textEncoder: CLIPTextModel.load(folder: sub("text_encoder"), dtype: dtype),
                                     tokenizer2: CLIPTokenizer(folder: sub("tokenizer_2")),
                                     textEncoder2: CLIPTextModelWithProjection.load(folder: sub("text_encoder_2"), dtype: dtype),
                                     forceZerosForEmptyPrompt: forceZeros)
    }

    /// Encodes as diffusers does: `prompt2` (the second encoder's prompt) falls back to `prompt` when nil or empty.
    /// With `guidance` (classifier-free guidance, scale > 1) the negative conditioning is zeros when
    /// `negativePrompt` is nil and `forceZerosForEmptyPrompt` is set, else the encoding of `negativePrompt ?? ""`
    /// (and `negativePrompt2`, which falls back to it). `clipSkip` picks `hidden_states[-(clipSkip + 2)]` for the
    /// prompt; the negative prompt always uses `hidden_states[-2]`, as diffusers does.
    public func encode(prompt: String, prompt2: String? = nil, negativePrompt: String? = nil,
                       negativePrompt2: String? = nil, guidance: Bool, clipSkip: Int? = nil) throws -> SDXLPromptEmbeddings {
        let key = CacheKey(prompt: prompt, prompt2: prompt2, negativePrompt: negativePrompt,
                           negativePrompt2: negativePrompt2, guidance: guidance, clipSkip: clipSkip)
        if let hit = lock.withLock({ cache[key] }) { return hit }

        let second = (prompt2?.isEmpty ?? true) ? prompt : prompt2!
        let (embeds, pooled) = try states(prompt, second, skip: clipSkip ?? 0, maxLength: nil)
        var negative: Tensor? = nil, negativePooled: Tensor? = nil
        if guidance {
            if negativePrompt == nil && forceZerosForEmptyPrompt {
                negative = Tensor(zeros: embeds.shape)
                negativePooled = Tensor(zeros: pooled.shape)
            } else {
                let first = negativePrompt ?? ""
                let secondNegative = (negativePrompt2?.isEmpty ?? true) ? first : negativePrompt2!
                (negative, negativePooled) = try states(first, secondNegative, skip: 0, maxLength: embeds.shape[1])
            }
        }
        let result = SDXLPromptEmbeddings(promptEmbeds: embeds, pooledPromptEmbeds: pooled,
                                          negativePromptEmbeds: negative, negativePooledPromptEmbeds: negativePooled)
        lock.withLock {
            if cache[key] == nil {
                cache[key] = result
                cacheOrder.append(key)
                while cacheOrder.count > Swift.max(cacheLimit, 0) { cache[cacheOrder.removeFirst()] = nil }
            }
        }
        return result
    }

    /// Stores both encoders' weights as `dtype` (bf16 keeps them at half the memory once the prompt is encoded).
    public func convertEncoders(to dtype: DType) {
        textEncoder.convertParameters(to: dtype)
        textEncoder2.convertParameters(to: dtype)
    }

    /// Drops the cached encodings.
    public func clearCache() {
        lock.withLock { cache.removeAll(); cacheOrder.removeAll() }
    }

    /// (1, L, D1 + D2) penultimate states and (1, P) pooled projection for the two encoders' prompts.
    private func states(_ first: String, _ second: String, skip: Int, maxLength: Int?) throws -> (Tensor, Tensor) {
        let out1 = try textEncoder([tokenizer(first, maxLength: maxLength)])
        let out2 = try textEncoder2([tokenizer2(second, maxLength: maxLength)])
        guard let pooled = out2.textEmbeds else { throw TensorError("SDXL prompt encoder", "no projected output") }
        let embeds = try Tensor.concat([out1.penultimate(skip: skip), out2.penultimate(skip: skip)], axis: 2)
        return (embeds, pooled)
    }

    private struct CacheKey: Hashable {
        let prompt: String, prompt2: String?, negativePrompt: String?, negativePrompt2: String?
        let guidance: Bool, clipSkip: Int?
    }
}
