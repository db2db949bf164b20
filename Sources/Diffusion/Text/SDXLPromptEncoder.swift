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
    /// `tokenizer_2/` (pads with `!`).
    public let tokenizer2: CLIPTokenizer
    /// `text_encoder/` (CLIP ViT-L at full size), loaded again from the folder when it was released.
    public var textEncoder: CLIPTextModel { get throws { try loadedEncoders().0 } }
    /// `text_encoder_2/` (OpenCLIP bigG at full size), loaded again from the folder when it was released.
    public var textEncoder2: CLIPTextModelWithProjection { get throws { try loadedEncoders().1 } }
    /// Whether both encoders are in memory now.
    public var encodersAreLoaded: Bool { encoderLock.withLock { encoders != nil } }
    /// Release both encoders after each new encoding, when they can be loaded again (an encoder made by
    /// `load(folder:)`): a run with a fixed prompt encodes it once, and the 0.8 billion text parameters then take
    /// no memory while the UNet and the VAE run. A new prompt loads them again (page faults on the mapped files).
    public var releasesEncodersAfterEncoding = false
    /// The pipeline's `force_zeros_for_empty_prompt`: with guidance and no negative prompt, the negative
    /// conditioning is zeros instead of the encoding of "".
    public let forceZerosForEmptyPrompt: Bool

    private var cache: [CacheKey: SDXLPromptEmbeddings] = [:]
    private let lock = NSLock()
    /// The encoders while loaded; guarded by `encoderLock`, which also serialises encoding.
    private var encoders: (CLIPTextModel, CLIPTextModelWithProjection)?
    private let encoderLock = NSRecursiveLock()
    /// Loads both encoders again in `dtype` (nil: as before); nil for encoders built from parts.
    private let reload: ((DType?) throws -> (CLIPTextModel, CLIPTextModelWithProjection))?
    /// The dtype `convertEncoders` asked for, applied to reloaded encoders too.
    private var encoderDType: DType?
    /// The most prompts kept in the cache (the oldest entries are dropped beyond it); set it before encoding from
    /// several threads.
    public var cacheLimit = 32
    private var cacheOrder: [CacheKey] = []

    /// An encoder over loaded parts. Throws when the tokenizers pad to different lengths (the states could not be
    /// concatenated).
    public convenience init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, tokenizer2: CLIPTokenizer,
                            textEncoder2: CLIPTextModelWithProjection, forceZerosForEmptyPrompt: Bool = true) throws {
        try self.init(tokenizer: tokenizer, tokenizer2: tokenizer2, encoders: (textEncoder, textEncoder2),
                      reload: nil, forceZerosForEmptyPrompt: forceZerosForEmptyPrompt)
    }

    private init(tokenizer: CLIPTokenizer, tokenizer2: CLIPTokenizer, encoders: (CLIPTextModel, CLIPTextModelWithProjection),
                 reload: ((DType?) throws -> (CLIPTextModel, CLIPTextModelWithProjection))?, forceZerosForEmptyPrompt: Bool) throws {
        guard tokenizer.maxLength == tokenizer2.maxLength else {
            throw TensorError("SDXL prompt encoder", "the tokenizers pad to \(tokenizer.maxLength) and \(tokenizer2.maxLength) tokens")
        }
        self.tokenizer = tokenizer
        self.tokenizer2 = tokenizer2
        self.encoders = encoders
        self.reload = reload
        self.forceZerosForEmptyPrompt = forceZerosForEmptyPrompt
    }

    /// Loads `tokenizer/`, `text_encoder/`, `tokenizer_2/` and `text_encoder_2/` of a diffusers SDXL folder, and
    /// `force_zeros_for_empty_prompt` from its `model_index.json` (true when absent, the pipeline's default). The
    /// encoders' weights are stored as `dtype`.
    public static func load(folder: String, dtype: DType? = .f32) throws -> SDXLPromptEncoder {
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
        let reload: (DType?) throws -> (CLIPTextModel, CLIPTextModelWithProjection) = { converted in
            // `converted` (set by convertEncoders) wins over the dtype loaded with.
            (try CLIPTextModel.load(folder: sub("text_encoder"), dtype: converted ?? dtype),
             try CLIPTextModelWithProjection.load(folder: sub("text_encoder_2"), dtype: converted ?? dtype))
        }
        return try SDXLPromptEncoder(tokenizer: CLIPTokenizer(folder: sub("tokenizer")),
                                     tokenizer2: CLIPTokenizer(folder: sub("tokenizer_2")), encoders: reload(nil),
                                     reload: reload, forceZerosForEmptyPrompt: forceZeros)
    }

    /// Drops both encoders when they can be loaded again (see `releasesEncodersAfterEncoding`); returns whether
    /// they were dropped. Cached encodings stay.
    @discardableResult
    public func releaseEncoders() -> Bool {
        encoderLock.withLock {
            guard reload != nil else { return false }
            encoders = nil
            return true
        }
    }

    /// The encoders, loaded again first when released.
    private func loadedEncoders() throws -> (CLIPTextModel, CLIPTextModelWithProjection) {
        try encoderLock.withLock {
            if let encoders { return encoders }
            guard let reload else { throw TensorError("SDXL prompt encoder", "the text encoders were released and cannot be loaded again") }
            let loaded = try reload(encoderDType)
            encoders = loaded
            return loaded
        }
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
        encoderLock.lock()
        defer {
            if releasesEncodersAfterEncoding { releaseEncoders() }
            encoderLock.unlock()
        }
        if let hit = lock.withLock({ cache[key] }) { return hit }          // encoded by another thread meanwhile

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
        encoderLock.withLock {
            encoderDType = dtype
            encoders?.0.convertParameters(to: dtype)
            encoders?.1.convertParameters(to: dtype)
        }
    }

    /// Drops the cached encodings.
    public func clearCache() {
        lock.withLock { cache.removeAll(); cacheOrder.removeAll() }
    }

    /// (1, L, D1 + D2) penultimate states and (1, P) pooled projection for the two encoders' prompts.
    private func states(_ first: String, _ second: String, skip: Int, maxLength: Int?) throws -> (Tensor, Tensor) {
        let (encoder1, encoder2) = try loadedEncoders()
        let out1 = try encoder1([tokenizer(first, maxLength: maxLength)])
        let out2 = try encoder2([tokenizer2(second, maxLength: maxLength)])
        guard let pooled = out2.textEmbeds else { throw TensorError("SDXL prompt encoder", "no projected output") }
        let embeds = try Tensor.concat([out1.penultimate(skip: skip), out2.penultimate(skip: skip)], axis: 2)
        return (embeds, pooled)
    }

    private struct CacheKey: Hashable {
        let prompt: String, prompt2: String?, negativePrompt: String?, negativePrompt2: String?
        let guidance: Bool, clipSkip: Int?
    }
}
