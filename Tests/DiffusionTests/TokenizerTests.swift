import NN
import Foundation
import XCTest
@testable import Diffusion

/// The CLIP tokenizer against transformers' CLIPTokenizer (Fixtures/clip_tokenizer_ids.json, made with the full CLIP
/// vocabulary; Fixtures/clip_tokenizer holds the subset the prompts need).
final class TokenizerTests: XCTestCase {
    struct Reference {
        let prompts: [String]
        let padded: [String: [[Int]]]
        let unpadded: [String: [[Int]]]
    }

    static func reference() throws -> Reference {
        let data = try Data(contentsOf: URL(fileURLWithPath: DiffusionFixtures.path("clip_tokenizer_ids.json")))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let prompts = try XCTUnwrap(json["prompts"] as? [String])
        var padded: [String: [[Int]]] = [:], unpadded: [String: [[Int]]] = [:]
        for name in ["tokenizer", "tokenizer_2"] {
            let entry = try XCTUnwrap(json[name] as? [String: Any])
            padded[name] = try XCTUnwrap(entry["padded"] as? [[Int]])
            unpadded[name] = try XCTUnwrap(entry["unpadded"] as? [[Int]])
        }
        return Reference(prompts: prompts, padded: padded, unpadded: unpadded)
    }

    func check(folder: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ref = try Self.reference()
        XCTAssertGreaterThanOrEqual(ref.prompts.count, 16)
        for name in ["tokenizer", "tokenizer_2"] {
            let tokenizer = try CLIPTokenizer(folder: URL(fileURLWithPath: folder).appendingPathComponent(name).path)
            XCTAssertEqual(tokenizer.maxLength, 77)
            for (i, prompt) in ref.prompts.enumerated() {
                XCTAssertEqual(tokenizer.encode(prompt), ref.unpadded[name]![i], "\(name) unpadded: \(prompt.debugDescription)", file: file, line: line)
                XCTAssertEqual(tokenizer(prompt), ref.padded[name]![i], "\(name) padded: \(prompt.debugDescription)", file: file, line: line)
            }
        }
    }

    func testSubsetVocabularyGivesTransformersIDs() throws {
        try check(folder: DiffusionFixtures.path("clip_tokenizer"))
    }

    /// With ROREM_CLIP_TOKENIZER set to a folder holding tokenizer/ and tokenizer_2/ with the full vocabulary (an
    /// SDXL model folder, or `make_diffusion_text_fixtures.py --full-vocab-out DIR`), the same check on it.
    func testFullVocabularyFromEnvironment() throws {
        guard let folder = ProcessInfo.processInfo.environment["ROREM_CLIP_TOKENIZER"], !folder.isEmpty else {
            throw XCTSkip("ROREM_CLIP_TOKENIZER is not set")
        }
        let tokenizer = try CLIPTokenizer(folder: URL(fileURLWithPath: folder).appendingPathComponent("tokenizer").path)
        XCTAssertEqual(tokenizer.vocabulary.count, 49408)
        try check(folder: folder)
    }

    func testPadTokensOfSDXLFolders() throws {
        let first = try CLIPTokenizer(folder: DiffusionFixtures.path("clip_tokenizer/tokenizer"))
        let second = try CLIPTokenizer(folder: DiffusionFixtures.path("clip_tokenizer/tokenizer_2"))
        XCTAssertEqual(first.pad.content, "<|endoftext|>")
        XCTAssertEqual(first.pad.id, 49407)
        XCTAssertEqual(second.pad.content, "!")
        XCTAssertEqual(second.pad.id, 0)
        XCTAssertEqual([first.bos.id, first.eos.id], [49406, 49407])
        let ids = second("a photo")
        XCTAssertEqual(Array(ids.prefix(4)), [49406, 320, 1125, 49407])
        XCTAssertEqual(Set(ids.dropFirst(4)), [0])
        XCTAssertEqual(first("a photo").count, 77)
    }

    func testTruncationKeepsTheEndToken() throws {
        let tokenizer = try CLIPTokenizer(folder: DiffusionFixtures.path("clip_tokenizer/tokenizer"))
        let long = String(repeating: "the grass and the trees, ", count: 20)
        XCTAssertGreaterThan(tokenizer.encode(long).count, 75)
        let ids = tokenizer(long)
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(ids.first, 49406)
        XCTAssertEqual(ids.last, 49407)
        XCTAssertEqual(Array(ids[1..<76]), Array(tokenizer.encode(long).prefix(75)))
        XCTAssertEqual(tokenizer(long, maxLength: 10).count, 10)
    }

    func testPreTokenizerRules() {
        XCTAssertEqual(CLIPPreTokenizer.normalize("A \t\n B"), "a b")
        XCTAssertEqual(CLIPPreTokenizer.pieces("don't 42 ok!? é"), ["don", "'t", "4", "2", "ok", "!?", "é"])
        XCTAssertEqual(CLIPPreTokenizer.clipPieces("x<|endoftext|>y"), ["x", "<|endoftext|>", "y"])
        XCTAssertEqual(CLIPPreTokenizer.pieces("x<|endoftext|>y"), ["x", "<|", "endoftext", "|>", "y"])
        XCTAssertEqual(CLIPPreTokenizer.pieces("''s !'"), ["''", "s", "!'"])
        XCTAssertEqual(Set(CLIPPreTokenizer.byteSymbolTable).count, 256)
        XCTAssertEqual(CLIPPreTokenizer.byteSymbolTable[Int(UInt8(ascii: "a"))], "a")
        XCTAssertEqual(CLIPPreTokenizer.byteSymbolTable[32], "\u{120}")
    }

    // MARK: malformed folders

    func folder(vocab: String? = nil, merges: String? = nil, config: String? = nil) throws -> URL {
        let dir = try CLIPFixtures.copy("clip_tokenizer/tokenizer", self)
        if let vocab { try vocab.write(to: dir.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8) }
        if let merges { try merges.write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8) }
        if let config { try config.write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8) }
        return dir
    }

    func testMalformedVocabularyNamesTheFile() throws {
        for (vocab, expected) in [("{\"a\": 1,", "not valid JSON"), ("[1, 2]", "not a JSON object"),
                                  ("{\"a\": \"x\"}", "token 'a'"), ("{\"a\": 1.5}", "token 'a'"),
                                  ("{\"a\": -1}", "token 'a'"), ("{\"a\": true}", "token 'a'"),
                                  ("{\"a\": 1, \"b\": 1}", "share id 1"), ("{}", "empty")] {
            let dir = try folder(vocab: vocab)
            let text = errorText { _ = try CLIPTokenizer(folder: dir.path) }
            XCTAssertTrue(text.contains("vocab.json") && text.contains(expected), text)
        }
    }

    func testMalformedMergesNameTheFileAndLine() throws {
        let cases = [("#version: 0.2\nt h\nh e l\n", "line 3"), ("#version: 0.2\nt h\n\nh e\n", "line 3 is empty"),
                     ("#version: 0.2\nt  h\n", "line 2"), ("#version: 0.2\nt h\nzz q\n", "line 3: 'zz'"),
                     ("#version: 0.2\nt h\nt h\n", "repeats the merge 't h' of line 2")]
        for (merges, expected) in cases {
            let dir = try folder(merges: merges)
            let text = errorText { _ = try CLIPTokenizer(folder: dir.path) }
            XCTAssertTrue(text.contains("merges.txt") && text.contains(expected), text)
        }
        let dir = try folder()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("merges.txt"))
        let text = errorText { _ = try CLIPTokenizer(folder: dir.path) }
        XCTAssertTrue(text.contains("merges.txt: missing"), text)
        // A merges file without a version line and with CRLF endings is fine.
        let ok = try folder(merges: "t h\r\nh e\r\n")
        XCTAssertEqual(try CLIPTokenizer(folder: ok.path).encode("the").count, 2)
    }

    func testUnsupportedSettingsAreRefusedByName() throws {
        let base = #"{"model_max_length": 77, "pad_token": "<|endoftext|>""#
        let cases = [(base + #", "tokenizer_class": "GPT2Tokenizer"}"#, "tokenizer_class"),
                     (base + #", "padding_side": "left"}"#, "padding_side"),
                     (base + #", "frobnicate": 1}"#, "'frobnicate'"),
                     (#"{"pad_token": "!"}"#, "model_max_length"),
                     (base + #", "bos_token": "<|nothere|>"}"#, "<|nothere|>"),
                     (base + #", "eos_token": {"content": "<|endoftext|>", "lstrip": true}}"#, "eos_token.lstrip"),
                     (base + #", "added_tokens_decoder": {"5": {"content": "zz"}}}"#, "added_tokens_decoder.5")]
        for (config, expected) in cases {
            let dir = try folder(config: config)
            let text = errorText { _ = try CLIPTokenizer(folder: dir.path) }
            XCTAssertTrue(text.contains("tokenizer_config.json") || text.contains("vocab.json"), text)
            XCTAssertTrue(text.contains(expected), "\(expected) not in: \(text)")
        }
    }
}

extension TokenizerTests {
    /// The classic BPE loop (merge every occurrence of the lowest-ranked pair, repeat), as a slow reference.
    static func classicBPE(_ tokenizer: CLIPTokenizer, _ piece: String) -> [Int] {
        var word = CLIPPreTokenizer.byteSymbols(piece)
        word[word.count - 1] += "</w>"
        while word.count > 1 {
            var best: (Int, String, String)? = nil
            for i in 0..<(word.count - 1) {
                if let r = tokenizer.ranks[MergePair(word[i], word[i + 1])], r < (best?.0 ?? .max) { best = (r, word[i], word[i + 1]) }
            }
            guard let (_, a, b) = best else { break }
            var merged: [String] = [], i = 0
            while i < word.count {
                if i + 1 < word.count, word[i] == a, word[i + 1] == b { merged.append(a + b); i += 2 } else { merged.append(word[i]); i += 1 }
            }
            word = merged
        }
        return word.map { tokenizer.vocabulary[$0] ?? tokenizer.unk.id }
    }

    func testHeapBPEAgreesWithTheClassicLoop() throws {
        let tokenizer = try CLIPTokenizer(folder: DiffusionFixtures.path("clip_tokenizer/tokenizer"))
        // Deterministic pseudo-random words over letters that the subset's merges use a lot.
        var state: UInt64 = 12345
        func nextInt(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int((state >> 33) % UInt64(n)) }
        let letters = Array("thequickbrownfoxasdlmnprsy")
        for _ in 0..<500 {
            let word = String((0..<(1 + nextInt(30))).map { _ in letters[nextInt(letters.count)] })
            XCTAssertEqual(tokenizer.bpeIDs(word), Self.classicBPE(tokenizer, word), word)
        }
        for word in ["aaaaaaaaa", "llllll", "ssssssss", "mississippi", "backgroundbackground"] {
            XCTAssertEqual(tokenizer.bpeIDs(word), Self.classicBPE(tokenizer, word), word)
        }
        // A very long word finishes (n log n) and keeps every byte.
        let long = String(repeating: "background", count: 5_000)
        let ids = tokenizer.bpeIDs(long)
        XCTAssertFalse(ids.isEmpty)
        XCTAssertLessThan(ids.count, long.count)
        XCTAssertEqual(tokenizer(long).count, 77)
    }
}
