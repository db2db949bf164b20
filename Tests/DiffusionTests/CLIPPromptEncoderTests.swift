import NN
import Foundation
import Tensor
import XCTest
@testable import Diffusion

/// SDXLPromptEncoder against diffusers' StableDiffusionXLInpaintPipeline.encode_prompt on the tiny text stack.
final class CLIPPromptEncoderTests: XCTestCase {
    struct Case {
        let name: String
        let prompt: String, prompt2: String?, negative: String?, negative2: String?
    }

    static func cases(_ ref: SafeTensorsFile) throws -> [Case] {
        let data = Data((ref.metadata["cases"] ?? "{}").utf8)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        return try json.keys.sorted().map { name in
            let c = json[name]!
            return Case(name: name, prompt: try XCTUnwrap(c["prompt"] as? String), prompt2: c["prompt_2"] as? String,
                        negative: c["negative_prompt"] as? String, negative2: c["negative_prompt_2"] as? String)
        }
    }

    func testEncodePromptMatchesDiffusers() throws {
        let ref = try CLIPFixtures.reference()
        let encoder = try SDXLPromptEncoder.load(folder: CLIPFixtures.tinyFolder)
        XCTAssertTrue(encoder.forceZerosForEmptyPrompt)
        let cases = try Self.cases(ref)
        XCTAssertEqual(cases.map(\.name), ["empty_negative", "negative", "second_prompt", "zeros"])
        for c in cases {
            let e = try encoder.encode(prompt: c.prompt, prompt2: c.prompt2, negativePrompt: c.negative,
                                       negativePrompt2: c.negative2, guidance: true)
            XCTAssertEqual(e.promptEmbeds.shape, [1, 20, 16 + 32])
            assertTensorClose(e.promptEmbeds, try ref.tensor("encode.\(c.name).prompt_embeds"), "\(c.name) prompt_embeds")
            assertTensorClose(e.pooledPromptEmbeds, try ref.tensor("encode.\(c.name).pooled_prompt_embeds"), "\(c.name) pooled")
            assertTensorClose(try XCTUnwrap(e.negativePromptEmbeds), try ref.tensor("encode.\(c.name).negative_prompt_embeds"),
                              "\(c.name) negative_prompt_embeds")
            assertTensorClose(try XCTUnwrap(e.negativePooledPromptEmbeds),
                              try ref.tensor("encode.\(c.name).negative_pooled_prompt_embeds"), "\(c.name) negative pooled")
        }
    }

    func testZerosForAMissingNegativePromptOnly() throws {
        let encoder = try SDXLPromptEncoder.load(folder: CLIPFixtures.tinyFolder)
        let missing = try encoder.encode(prompt: "a stem", guidance: true)
        XCTAssertEqual(Set(try XCTUnwrap(missing.negativePromptEmbeds).values), [0])
        XCTAssertEqual(Set(try XCTUnwrap(missing.negativePooledPromptEmbeds).values), [0])
        let empty = try encoder.encode(prompt: "a stem", negativePrompt: "", guidance: true)
        XCTAssertNotEqual(Set(try XCTUnwrap(empty.negativePromptEmbeds).values), [0])
        let noGuidance = try encoder.encode(prompt: "a stem", negativePrompt: "bad", guidance: false)
        XCTAssertNil(noGuidance.negativePromptEmbeds)
        XCTAssertNil(noGuidance.negativePooledPromptEmbeds)
        XCTAssertEqual(noGuidance.promptEmbeds.values, missing.promptEmbeds.values)

        let tokenizer = try CLIPTokenizer(folder: CLIPFixtures.tinyFolder + "/tokenizer")
        let tokenizer2 = try CLIPTokenizer(folder: CLIPFixtures.tinyFolder + "/tokenizer_2")
        let plain = try SDXLPromptEncoder(
            tokenizer: tokenizer, textEncoder: encoder.textEncoder, tokenizer2: tokenizer2,
            textEncoder2: encoder.textEncoder2, forceZerosForEmptyPrompt: false)
        let encoded = try plain.encode(prompt: "a stem", guidance: true)
        XCTAssertEqual(try XCTUnwrap(encoded.negativePromptEmbeds).values, try XCTUnwrap(empty.negativePromptEmbeds).values)
    }

    func testCacheReturnsTheSameEmbeddings() throws {
        let encoder = try SDXLPromptEncoder.load(folder: CLIPFixtures.tinyFolder)
        let a = try encoder.encode(prompt: "4K, high quality", guidance: false)
        // Changing the weights would show if the second call recomputed; a cached call returns the first result.
        encoder.convertEncoders(to: .bf16)
        let b = try encoder.encode(prompt: "4K, high quality", guidance: false)
        XCTAssertEqual(a.promptEmbeds.values, b.promptEmbeds.values)
        encoder.clearCache()
        let c = try encoder.encode(prompt: "4K, high quality", guidance: false)
        XCTAssertNotEqual(a.promptEmbeds.values, c.promptEmbeds.values)
        assertTensorClose(c.promptEmbeds, a.promptEmbeds, atol: 0.05, rtol: 0.05, "bf16 prompt embeds")
    }

    /// With `releasesEncodersAfterEncoding`, the encoders leave memory once a prompt is encoded and come back (in
    /// the dtype asked for) for a new prompt, with the same numbers; encoders built from parts cannot be released.
    func testEncodersAreReleasedAfterEncodingAndReloaded() throws {
        let encoder = try SDXLPromptEncoder.load(folder: CLIPFixtures.tinyFolder)
        let kept = try encoder.encode(prompt: "a ladybird", guidance: false)
        encoder.clearCache()
        encoder.releasesEncodersAfterEncoding = true
        XCTAssertTrue(encoder.encodersAreLoaded)
        let first = try encoder.encode(prompt: "a ladybird", guidance: false)
        XCTAssertFalse(encoder.encodersAreLoaded)
        XCTAssertEqual(first.promptEmbeds.values, kept.promptEmbeds.values)
        XCTAssertEqual(try encoder.encode(prompt: "a ladybird", guidance: false).promptEmbeds.values, kept.promptEmbeds.values)
        XCTAssertFalse(encoder.encodersAreLoaded, "a cached prompt loads nothing")
        encoder.convertEncoders(to: .bf16)
        let other = try encoder.encode(prompt: "a stem", guidance: true)
        XCTAssertFalse(encoder.encodersAreLoaded)
        XCTAssertNotNil(other.negativePromptEmbeds)
        XCTAssertTrue(try encoder.textEncoder.parameters.allSatisfy { $0.dtype == .bf16 }, "reloaded in the dtype asked for")

        let parts = try SDXLPromptEncoder(tokenizer: encoder.tokenizer, textEncoder: encoder.textEncoder,
                                          tokenizer2: encoder.tokenizer2, textEncoder2: encoder.textEncoder2)
        XCTAssertFalse(parts.releaseEncoders())
        parts.releasesEncodersAfterEncoding = true
        _ = try parts.encode(prompt: "a stem", guidance: false)
        XCTAssertTrue(parts.encodersAreLoaded)
    }

    func testMismatchedTokenizerLengthsAreRefused() throws {
        let dir = try CLIPFixtures.copy("tiny_sdxl_text", self)
        let config = dir.appendingPathComponent("tokenizer_2/tokenizer_config.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
        json["model_max_length"] = 16
        try JSONSerialization.data(withJSONObject: json).write(to: config)
        XCTAssertTrue(errorText { _ = try SDXLPromptEncoder.load(folder: dir.path) }.contains("20 and 16"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent("text_encoder_2"))
        XCTAssertTrue(errorText { _ = try SDXLPromptEncoder.load(folder: dir.path) }.contains("text_encoder_2"))
    }

    /// The tiny SDXL-inpainting folder (saved by transformers 5: tokenizer.json, weights without `text_model.`)
    /// loads, in bf16 too, and encodes to the UNet's cross-attention width.
    func testTinyInpaintingFolderLoads() throws {
        let folder = DiffusionFixtures.path("tiny-sdxl-inpaint")
        let encoder = try SDXLPromptEncoder.load(folder: folder)
        let width = try encoder.textEncoder.config.hiddenSize + encoder.textEncoder2.config.hiddenSize
        let e = try encoder.encode(prompt: "remove the object", negativePrompt: "an object", guidance: true)
        XCTAssertEqual(e.promptEmbeds.shape, [1, 77, width])
        XCTAssertEqual(e.pooledPromptEmbeds.shape, [1, try encoder.textEncoder2.config.projectionDim])
        XCTAssertEqual(e.negativePromptEmbeds?.shape, [1, 77, width])
        let half = try SDXLPromptEncoder.load(folder: folder, dtype: .bf16)
        XCTAssertTrue(try (half.textEncoder.parameters + half.textEncoder2.parameters).allSatisfy { $0.dtype == .bf16 })
        let h = try half.encode(prompt: "remove the object", negativePrompt: "an object", guidance: true)
        assertTensorClose(h.promptEmbeds, e.promptEmbeds, atol: 0.05, rtol: 0.05, "bf16 prompt embeds")
    }
}
