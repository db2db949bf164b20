import Foundation
import NN
import Tensor
import XCTest
@testable import Diffusion

/// The CLIP text encoders against transformers on a tiny random SDXL text stack (Fixtures/tiny_sdxl_text,
/// Fixtures/clip_text_reference.safetensors).
final class CLIPTextModelTests: XCTestCase {
    func folder(_ name: String) -> String { CLIPFixtures.tinyFolder + "/" + name }

    func testParameterNamesEqualTheCheckpointNames() throws {
        let models: [(String, Module)] = [
            ("text_encoder", try CLIPTextModel.load(folder: folder("text_encoder"))),
            ("text_encoder_2", try CLIPTextModelWithProjection.load(folder: folder("text_encoder_2"))),
        ]
        for (name, model) in models {
            let file = try SafeTensorsFile(path: folder(name) + "/model.safetensors")
            XCTAssertEqual(Set(model.namedParameters().map(\.name)), Set(file.entries.keys), name)
            XCTAssertEqual(model.namedParameters().count, file.entries.count, name)
        }
        let second = try CLIPTextModelWithProjection.load(folder: folder("text_encoder_2"))
        let names = Set(second.namedParameters().map(\.name))
        for expected in ["text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight",
                         "text_model.encoder.layers.1.self_attn.out_proj.bias", "text_model.encoder.layers.0.mlp.fc2.weight",
                         "text_model.encoder.layers.0.layer_norm2.bias", "text_model.final_layer_norm.weight",
                         "text_projection.weight"] {
            XCTAssertTrue(names.contains(expected), expected)
        }
    }

    func testConfigsAreRead() throws {
        let first = try CLIPTextConfig.load(folder("text_encoder") + "/config.json")
        XCTAssertEqual(first.hiddenAct, .quickGELU)
        XCTAssertEqual(first.eosTokenID, 2)
        XCTAssertEqual([first.hiddenSize, first.numHiddenLayers, first.numAttentionHeads], [16, 2, 2])
        let second = try CLIPTextConfig.load(folder("text_encoder_2") + "/config.json")
        XCTAssertEqual(second.hiddenAct, .gelu)
        XCTAssertEqual(second.layerNormEps, 1e-6)
        XCTAssertEqual(second.projectionDim, 24)
        XCTAssertNotEqual(second.eosTokenID, 2)
    }

    /// Every hidden state, the last state, the pooled output and text_embeds, for both encoders and both prompts.
    func testOutputsMatchTransformers() throws {
        let ref = try CLIPFixtures.reference()
        let prompts = try CLIPFixtures.tinyPrompts(ref)
        XCTAssertEqual(prompts.count, 2)
        let encoders: [(String, String, CLIPTextEncoder)] = [
            ("text_encoder", "tokenizer", try CLIPTextModel.load(folder: folder("text_encoder"))),
            ("text_encoder_2", "tokenizer_2", try CLIPTextModelWithProjection.load(folder: folder("text_encoder_2"))),
        ]
        for (name, tokenizerName, model) in encoders {
            let tokenizer = try CLIPTokenizer(folder: folder(tokenizerName))
            let ids = prompts.map { tokenizer($0) }
            XCTAssertEqual(ids.flatMap { $0 }.map(Float.init), try ref.tensor("\(name).input_ids").values, "\(name) ids")
            let out = try model(ids)
            XCTAssertEqual(out.hiddenStates.count, model.config.numHiddenLayers + 1)
            for (i, h) in out.hiddenStates.enumerated() {
                assertTensorClose(h, try ref.tensor("\(name).hidden_states.\(i)"), "\(name) hidden_states.\(i)")
            }
            assertTensorClose(out.lastHiddenState, try ref.tensor("\(name).last_hidden_state"), "\(name) last_hidden_state")
            assertTensorClose(out.pooled, try ref.tensor("\(name).pooled"), "\(name) pooled")
            if let embeds = out.textEmbeds {
                assertTensorClose(embeds, try ref.tensor("\(name).text_embeds"), "\(name) text_embeds")
            } else {
                XCTAssertEqual(name, "text_encoder")
            }
            XCTAssertEqual(try out.penultimate().shape, out.hiddenStates[out.hiddenStates.count - 2].shape)
        }
    }

    func testPooledTokenChoice() throws {
        var config = CLIPTextConfig()
        config.numHiddenLayers = 0; config.hiddenSize = 8; config.numAttentionHeads = 2; config.vocabSize = 10
        var rng = RNG(seed: 1)
        config.eosTokenID = 2
        XCTAssertEqual(CLIPTextTransformer(config, rng: &rng).pooledIndex([5, 1, 9, 4, 9]), 2)     // first largest id
        config.eosTokenID = 4
        XCTAssertEqual(CLIPTextTransformer(config, rng: &rng).pooledIndex([5, 4, 9, 4]), 1)        // first end token
        XCTAssertEqual(CLIPTextTransformer(config, rng: &rng).pooledIndex([5, 3]), 0)             // none: position 0
    }

    func testResultsDoNotDependOnThreadCount() throws {
        let model = try CLIPTextModelWithProjection.load(folder: folder("text_encoder_2"))
        let tokenizer = try CLIPTokenizer(folder: folder("tokenizer_2"))
        let ids = [tokenizer("a ladybird on a stem"), tokenizer("the grass")]
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        let one = try model(ids)
        Parallel.threads = 4
        let four = try model(ids)
        XCTAssertEqual(one.lastHiddenState.values, four.lastHiddenState.values)
        XCTAssertEqual(one.textEmbeds?.values, four.textEmbeds?.values)
    }

    func testBF16WeightsStayClose() throws {
        let ref = try CLIPFixtures.reference()
        let model = try CLIPTextModelWithProjection.load(folder: folder("text_encoder_2"))
        model.convertParameters(to: .bf16)
        XCTAssertTrue(model.parameters.allSatisfy { $0.dtype == .bf16 })
        let ids = try ref.tensor("text_encoder_2.input_ids").values.map { Int($0) }
        let l = ids.count / 2
        let out = try model([Array(ids[..<l]), Array(ids[l...])])
        assertTensorClose(out.textEmbeds!, try ref.tensor("text_encoder_2.text_embeds"), atol: 0.05, rtol: 0.05, "bf16 text_embeds")
    }

    func testBadInputIsAnError() throws {
        let model = try CLIPTextModel.load(folder: folder("text_encoder"))
        XCTAssertTrue(errorText { _ = try model([[0, 1], [2]]) }.contains("differ in length"))
        XCTAssertTrue(errorText { _ = try model([[0, 100_000]]) }.contains("id 100000"))
        XCTAssertTrue(errorText { _ = try model([Array(repeating: 0, count: 25)]) }.contains("max_position_embeddings"))
        XCTAssertTrue(errorText { _ = try model([]) }.contains("no ids"))
    }

    // MARK: bad folders

    func editedConfig(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let dir = try CLIPFixtures.copy("tiny_sdxl_text/text_encoder", self)
        let url = dir.appendingPathComponent("config.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return dir
    }

    func testUnsupportedConfigValuesAreNamed() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("hidden_act 'relu'", { $0["hidden_act"] = "relu" }),
            ("key 'rope_theta'", { $0["rope_theta"] = 10000 }),
            ("hidden_size 15 is not a multiple", { $0["hidden_size"] = 15 }),
            ("num_hidden_layers = -1", { $0["num_hidden_layers"] = -1 }),
            ("layer_norm_eps", { $0["layer_norm_eps"] = "small" }),
            ("model_type 'bert'", { $0["model_type"] = "bert" }),
            ("eos_token_id as a list", { $0["eos_token_id"] = [2, 3] }),
        ]
        for (expected, edit) in cases {
            let dir = try editedConfig(edit)
            let text = errorText { _ = try CLIPTextModel.load(folder: dir.path) }
            XCTAssertTrue(text.contains("config.json") && text.contains(expected), "\(expected) not in: \(text)")
        }
        let dir = try CLIPFixtures.copy("tiny_sdxl_text/text_encoder", self)
        try "{\"hidden_size\": ".write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertTrue(errorText { _ = try CLIPTextModel.load(folder: dir.path) }.contains("not valid JSON"))
    }

    func testBadWeightsAreNamed() throws {
        // Another architecture's weights: a tensor of the wrong shape is named with both shapes.
        let dir = try CLIPFixtures.copy("tiny_sdxl_text/text_encoder", self)
        let weights = dir.appendingPathComponent("model.safetensors").path
        var tensors = try SafeTensorsFile(path: weights).allTensors()
        tensors["text_model.final_layer_norm.weight"] = Tensor(zeros: [17])
        try SafeTensors.write(tensors, to: weights)
        let shape = errorText { _ = try CLIPTextModel.load(folder: dir.path) }
        XCTAssertTrue(shape.contains("model.safetensors") && shape.contains("text_model.final_layer_norm.weight")
                      && shape.contains("17") && shape.contains("16"), shape)
        // A missing and an unexpected tensor.
        tensors["text_model.final_layer_norm.weight"] = nil
        tensors["text_model.extra"] = Tensor(zeros: [1])
        try SafeTensors.write(tensors, to: weights)
        let names = errorText { _ = try CLIPTextModel.load(folder: dir.path) }
        XCTAssertTrue(names.contains("text_model.final_layer_norm.weight") && names.contains("text_model.extra"), names)
        // A truncated file.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
        XCTAssertTrue(errorText { _ = try CLIPTextModel.load(folder: dir.path) }.contains("model.safetensors"))
        // No weights at all.
        try FileManager.default.removeItem(atPath: weights)
        XCTAssertTrue(errorText { _ = try CLIPTextModel.load(folder: dir.path) }.contains("model.safetensors: missing"))
    }
}

extension CLIPTextModelTests {
    /// transformers 5 saves a CLIPTextModel without the `text_model.` prefix; such a folder loads to the same model.
    func testWeightsSavedWithoutThePrefixLoad() throws {
        let dir = try CLIPFixtures.copy("tiny_sdxl_text/text_encoder", self)
        let weights = dir.appendingPathComponent("model.safetensors").path
        let tensors = try SafeTensorsFile(path: weights).allTensors()
        XCTAssertTrue(tensors.keys.allSatisfy { $0.hasPrefix("text_model.") })
        try SafeTensors.write(Dictionary(uniqueKeysWithValues: tensors.map { (String($0.key.dropFirst(11)), $0.value) }), to: weights)
        let stripped = try CLIPTextModel.load(folder: dir.path)
        let original = try CLIPTextModel.load(folder: folder("text_encoder"))
        let ids = [[0, 5, 9, 30, 593]]
        XCTAssertEqual(try stripped(ids).lastHiddenState.values, try original(ids).lastHiddenState.values)
    }
}
