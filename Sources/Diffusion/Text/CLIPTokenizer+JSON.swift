import Foundation

/// Reading a tokenizers-library `tokenizer.json` (what transformers 5 saves for a CLIPTokenizer) into the BPE
/// vocabulary, merges and added tokens. The normaliser, pre-tokeniser and model must be CLIP's; anything else is
/// refused by key. Truncation, padding, post-processor and decoder entries are ignored: the caller pads and adds
/// the start and end tokens as transformers does.
enum CLIPTokenizerJSON {
    static func read(_ path: String) throws -> (vocabulary: [String: Int], merges: [(String, String)],
                                                added: [CLIPTokenizer.SpecialToken]) {
        let json = try TextFolderJSON.object(at: path)
        guard let model = json["model"] as? [String: Any] else { throw TextFolderError(path, "model is missing or not an object") }
        guard (model["type"] as? String) == "BPE" else {
            throw TextFolderError(path, "model.type \(model["type"] ?? "nil") is not supported (BPE)")
        }
        guard (model["end_of_word_suffix"] as? String) == "</w>" else {
            throw TextFolderError(path, "model.end_of_word_suffix \(model["end_of_word_suffix"] ?? "nil") is not supported (</w>)")
        }
        if let prefix = model["continuing_subword_prefix"], !(prefix is NSNull), (prefix as? String) != "" {
            throw TextFolderError(path, "model.continuing_subword_prefix \(prefix) is not supported")
        }
        if let dropout = model["dropout"], !(dropout is NSNull) {
            throw TextFolderError(path, "model.dropout \(dropout) is not supported")
        }
        for flag in ["byte_fallback", "ignore_merges"] where (model[flag] as? Bool) == true {
            throw TextFolderError(path, "model.\(flag) = true is not supported")
        }
        try checkNormalizer(json["normalizer"], file: path)
        try checkPreTokenizer(json["pre_tokenizer"], file: path)

        guard let vocabObject = model["vocab"] as? [String: Any] else {
            throw TextFolderError(path, "model.vocab is missing or not an object")
        }
        let vocabulary = try CLIPTokenizer.vocabulary(from: vocabObject, file: path)
        guard let mergeList = model["merges"] as? [Any] else { throw TextFolderError(path, "model.merges is missing or not a list") }
        var merges: [(String, String)] = []
        var seen: [MergePair: Int] = [:]
        for (i, entry) in mergeList.enumerated() {
            let pair: [String]
            if let text = entry as? String {
                pair = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            } else {
                pair = (entry as? [Any])?.compactMap { $0 as? String } ?? []
            }
            guard pair.count == 2, !pair[0].isEmpty, !pair[1].isEmpty else {
                throw TextFolderError(path, "model.merges[\(i)] \(entry) is not two symbols")
            }
            for symbol in [pair[0], pair[1], pair[0] + pair[1]] where vocabulary[symbol] == nil {
                throw TextFolderError(path, "model.merges[\(i)]: '\(symbol)' is not in model.vocab")
            }
            let key = MergePair(pair[0], pair[1])
            if let earlier = seen[key] {
                throw TextFolderError(path, "model.merges[\(i)] repeats model.merges[\(earlier)]")
            }
            seen[key] = i
            merges.append((pair[0], pair[1]))
        }

        var added: [CLIPTokenizer.SpecialToken] = []
        for (i, entry) in ((json["added_tokens"] as? [Any]) ?? []).enumerated() {
            guard let d = entry as? [String: Any], let content = d["content"] as? String, !content.isEmpty,
                  let id = TextFolderJSON.integer(d["id"]), id >= 0 else {
                throw TextFolderError(path, "added_tokens[\(i)] needs a non-empty content and a non-negative id")
            }
            for flag in ["lstrip", "rstrip", "single_word"] where (d[flag] as? Bool) == true {
                throw TextFolderError(path, "added_tokens[\(i)].\(flag) = true is not supported")
            }
            if let existing = vocabulary[content], existing != id {
                throw TextFolderError(path, "added_tokens[\(i)] '\(content)' has id \(id) but model.vocab gives \(existing)")
            }
            added.append(.init(content: content, id: id, normalized: (d["normalized"] as? Bool) ?? false))
        }
        return (vocabulary, merges, added)
    }

    /// CLIP's normaliser: NFC, `\s+` -> " ", lowercase.
    private static func checkNormalizer(_ value: Any?, file: String) throws {
        let steps = ((value as? [String: Any])?["normalizers"] as? [[String: Any]]) ?? []
        let ok = (value as? [String: Any])?["type"] as? String == "Sequence" && steps.count == 3
            && steps[0]["type"] as? String == "NFC"
            && steps[1]["type"] as? String == "Replace"
            && (steps[1]["pattern"] as? [String: Any])?["Regex"] as? String == "\\s+"
            && steps[1]["content"] as? String == " "
            && steps[2]["type"] as? String == "Lowercase"
        guard ok else { throw TextFolderError(file, "normalizer is not CLIP's (NFC, whitespace runs to one space, lowercase)") }
    }

    /// CLIP's pre-tokeniser: its pattern kept (`Split`, invert, Removed), then ByteLevel without prefix space.
    private static func checkPreTokenizer(_ value: Any?, file: String) throws {
        let steps = ((value as? [String: Any])?["pretokenizers"] as? [[String: Any]]) ?? []
        let pattern = #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#
        let ok = (value as? [String: Any])?["type"] as? String == "Sequence" && steps.count == 2
            && steps[0]["type"] as? String == "Split"
            && (steps[0]["pattern"] as? [String: Any])?["Regex"] as? String == pattern
            && steps[0]["behavior"] as? String == "Removed"
            && steps[0]["invert"] as? Bool == true
            && steps[1]["type"] as? String == "ByteLevel"
            && steps[1]["add_prefix_space"] as? Bool == false
            && (steps[1]["use_regex"] as? Bool ?? true)
        guard ok else { throw TextFolderError(file, "pre_tokenizer is not CLIP's (its split pattern, then ByteLevel without prefix space)") }
    }
}
