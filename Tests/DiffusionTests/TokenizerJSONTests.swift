import NN
import Foundation
import XCTest
@testable import Diffusion

/// Tokenizer folders that hold a tokenizers-library `tokenizer.json` instead of vocab.json + merges.txt (what
/// transformers 5 saves).
final class TokenizerJSONTests: XCTestCase {
    /// The tiny SDXL-inpainting folder's tokenizers against the ids transformers gave for them.
    func testTokenizerJSONFoldersGiveTransformersIDs() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: DiffusionFixtures.path("tiny_sdxl_inpaint_tokenizer_ids.json")))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let prompts = try XCTUnwrap(json["prompts"] as? [String])
        for name in ["tokenizer", "tokenizer_2"] {
            let entry = try XCTUnwrap(json[name] as? [String: Any])
            let padded = try XCTUnwrap(entry["padded"] as? [[Int]]), unpadded = try XCTUnwrap(entry["unpadded"] as? [[Int]])
            let tokenizer = try CLIPTokenizer(folder: DiffusionFixtures.path("tiny-sdxl-inpaint/\(name)"))
            for (i, prompt) in prompts.enumerated() {
                XCTAssertEqual(tokenizer.encode(prompt), unpadded[i], "\(name) unpadded: \(prompt.debugDescription)")
                XCTAssertEqual(tokenizer(prompt), padded[i], "\(name) padded: \(prompt.debugDescription)")
            }
        }
        XCTAssertEqual(try CLIPTokenizer(folder: DiffusionFixtures.path("tiny-sdxl-inpaint/tokenizer_2")).pad.content, "!")
    }

    /// A tokenizer.json written from the real-vocabulary subset tokenizes every test prompt as vocab.json does.
    func testTokenizerJSONAgreesWithVocabFiles() throws {
        let ref = try TokenizerTests.reference()
        for name in ["tokenizer", "tokenizer_2"] {
            let files = try CLIPTokenizer(folder: DiffusionFixtures.path("clip_tokenizer/\(name)"))
            let dir = try writeTokenizerJSON(from: DiffusionFixtures.path("clip_tokenizer/\(name)"), specials: files)
            let fromJSON = try CLIPTokenizer(folder: dir.path)
            for prompt in ref.prompts {
                XCTAssertEqual(fromJSON(prompt), files(prompt), "\(name): \(prompt.debugDescription)")
            }
        }
    }

    func testMalformedTokenizerJSONIsNamed() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("model.type", { j in var m = j["model"] as! [String: Any]; m["type"] = "WordPiece"; j["model"] = m }),
            ("model.merges[1]", { j in var m = j["model"] as! [String: Any]; m["merges"] = [["t", "h"], ["q"]]; j["model"] = m }),
            ("model.merges[0]: 'zz'", { j in var m = j["model"] as! [String: Any]; m["merges"] = ["zz q"]; j["model"] = m }),
            ("normalizer", { j in j["normalizer"] = ["type": "NFKC"] }),
            ("pre_tokenizer", { j in j["pre_tokenizer"] = NSNull() }),
            ("added_tokens[0].lstrip", { j in j["added_tokens"] = [["id": 0, "content": "!", "lstrip": true]] }),
            ("model.vocab", { j in var m = j["model"] as! [String: Any]; m["vocab"] = "none"; j["model"] = m }),
        ]
        let files = try CLIPTokenizer(folder: DiffusionFixtures.path("clip_tokenizer/tokenizer"))
        for (expected, edit) in cases {
            let dir = try writeTokenizerJSON(from: DiffusionFixtures.path("clip_tokenizer/tokenizer"), specials: files, edit: edit)
            let text = errorText { _ = try CLIPTokenizer(folder: dir.path) }
            XCTAssertTrue(text.contains("tokenizer.json") && text.contains(expected), "\(expected) not in: \(text)")
        }
    }

    /// A folder with tokenizer.json (CLIP's pipeline description, the folder's vocabulary and merges, the special
    /// tokens as added tokens) and the folder's tokenizer_config.json.
    func writeTokenizerJSON(from folder: String, specials: CLIPTokenizer,
                            edit: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let src = URL(fileURLWithPath: folder)
        let dir = try CLIPFixtures.temporaryFolder(self).appendingPathComponent("tok")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let vocab = try JSONSerialization.jsonObject(with: Data(contentsOf: src.appendingPathComponent("vocab.json")))
        let merges = try String(contentsOf: src.appendingPathComponent("merges.txt"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: " ").map(String.init) }
        var seen = Set<String>()
        let added = [specials.pad, specials.bos, specials.eos, specials.unk].filter { seen.insert($0.content).inserted }
            .map { ["id": $0.id, "content": $0.content, "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": $0.normalized, "special": true] as [String: Any] }
        let pattern = #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#
        var json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": ["type": "Sequence", "normalizers": [
                ["type": "NFC"], ["type": "Replace", "pattern": ["Regex": "\\s+"], "content": " "], ["type": "Lowercase"]]],
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Removed", "invert": true],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]]],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                      "end_of_word_suffix": "</w>", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges],
        ]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent("tokenizer.json"))
        try FileManager.default.copyItem(at: src.appendingPathComponent("tokenizer_config.json"),
                                         to: dir.appendingPathComponent("tokenizer_config.json"))
        return dir
    }
}
