import Foundation

extension CLIPTokenizer {
    /// Loads a tokenizer folder as diffusers publishes it: `vocab.json`, `merges.txt`, and `tokenizer_config.json`
    /// and/or `special_tokens_map.json` for the special tokens and `model_max_length`.
    ///
    /// Errors name the file and the line, token or key: invalid JSON, a non-integer or duplicate id, a merges line
    /// that is not two symbols, a merge of tokens not in the vocabulary, a special token missing from it, an
    /// unsupported setting (another tokenizer class, left padding, extra added tokens, stripping flags).
    public init(folder: String) throws {
        let dir = URL(fileURLWithPath: folder)
        let fm = FileManager.default
        let vocabPath = dir.appendingPathComponent("vocab.json").path
        let mergesPath = dir.appendingPathComponent("merges.txt").path
        let jsonPath = dir.appendingPathComponent("tokenizer.json").path
        var vocabulary: [String: Int]
        let merges: [(String, String)]
        var added: [SpecialToken] = []
        let vocabFile: String
        if fm.fileExists(atPath: vocabPath) || fm.fileExists(atPath: mergesPath) || !fm.fileExists(atPath: jsonPath) {
            vocabulary = try Self.readVocabulary(vocabPath)
            merges = try Self.readMerges(mergesPath, vocabulary: vocabulary)
            vocabFile = vocabPath
        } else {
            // transformers 5 saves only tokenizer.json (the tokenizers library's file) beside tokenizer_config.json.
            (vocabulary, merges, added) = try CLIPTokenizerJSON.read(jsonPath)
            vocabFile = jsonPath
        }

        let configPath = dir.appendingPathComponent("tokenizer_config.json").path
        let mapPath = dir.appendingPathComponent("special_tokens_map.json").path
        let config = fm.fileExists(atPath: configPath) ? try TextFolderJSON.object(at: configPath) : [:]
        let map = fm.fileExists(atPath: mapPath) ? try TextFolderJSON.object(at: mapPath) : [:]
        guard !config.isEmpty || !map.isEmpty else {
            throw TextFolderError(configPath, "missing (neither tokenizer_config.json nor special_tokens_map.json is there)")
        }
        try Self.checkKeys(config, file: configPath)

        guard let maxLength = TextFolderJSON.integer(config["model_max_length"]) else {
            throw TextFolderError(configPath, "model_max_length is missing or not an integer")
        }
        guard (2...1_000_000).contains(maxLength) else {
            throw TextFolderError(configPath, "model_max_length \(maxLength) is outside 2...1000000")
        }

        // transformers 5.24 (measured, Scripts/fixtures/make_diffusion_text_fixtures.py): a token written as a plain
        // string is matched in the raw text; one written as {"content": ..., "normalized": true} after
        // normalisation, unless the same text is also the unknown or padding token in plain-string form. The end
        // token's own entry does not decide it. A tokenizer.json's added token keeps its own flag.
        var entries: [String: (content: String, normalized: Bool)] = [:]
        for key in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            let (value, file) = config[key] != nil ? (config[key], configPath) : (map[key], mapPath)
            if let value, !(value is NSNull) { entries[key] = try Self.specialEntry(value, key: key, file: file) }
        }
        let defaults = ["bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                        "pad_token": "<|endoftext|>"]
        func content(_ key: String) -> String { entries[key]?.content ?? defaults[key]! }
        func normalized(_ key: String) -> Bool {
            let text = content(key)
            let deciding = ["bos_token", "unk_token", "pad_token"].filter { content($0) == text }
            let keys = deciding.isEmpty ? [key] : deciding
            return keys.allSatisfy { entries[$0]?.normalized ?? false }
        }
        func special(_ key: String) throws -> SpecialToken {
            let text = content(key)
            if let token = added.first(where: { $0.content == text }) { return token }
            guard let id = vocabulary[text] else {
                throw TextFolderError(vocabFile, "the \(key) '\(text)' is not in the vocabulary")
            }
            return SpecialToken(content: text, id: id, normalized: normalized(key))
        }
        let specials = try ["bos_token", "eos_token", "unk_token", "pad_token"].map(special)
        try Self.checkAddedTokens(config["added_tokens_decoder"], specials: specials + added, file: configPath)
        for token in added where vocabulary[token.content] == nil { vocabulary[token.content] = token.id }
        do {
            try self.init(vocabulary: vocabulary, merges: merges, bos: specials[0], eos: specials[1], unk: specials[2],
                          pad: specials[3], addedTokens: added, maxLength: maxLength)
        } catch let e as TextFolderError {
            throw TextFolderError(vocabFile, e.message)
        }
    }

    /// `vocab.json`: an object of token -> non-negative integer id, ids distinct.
    static func readVocabulary(_ path: String) throws -> [String: Int] {
        try vocabulary(from: TextFolderJSON.object(at: path), file: path)
    }

    /// A parsed token -> id object, checked: ids are distinct non-negative integers.
    static func vocabulary(from object: [String: Any], file path: String) throws -> [String: Int] {
        guard !object.isEmpty else { throw TextFolderError(path, "the vocabulary is empty") }
        var vocabulary: [String: Int] = [:]
        var owner: [Int: String] = [:]
        vocabulary.reserveCapacity(object.count)
        for (token, value) in object {
            guard let id = TextFolderJSON.integer(value), id >= 0, id < Int(Int32.max) else {
                throw TextFolderError(path, "token '\(token)' has id \(value), not a non-negative integer")
            }
            if let other = owner[id] {
                throw TextFolderError(path, "tokens '\(other)' and '\(token)' share id \(id)")
            }
            owner[id] = token
            vocabulary[token] = id
        }
        return vocabulary
    }

    /// `merges.txt`: an optional `#version` line, then one merge per line, two symbols separated by one space, in
    /// rank order; each symbol and their join in the vocabulary.
    static func readMerges(_ path: String, vocabulary: [String: Int]) throws -> [(String, String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TextFolderError(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "missing")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw TextFolderError(path, "not UTF-8 text") }
        var merges: [(String, String)] = []
        var firstLine: [MergePair: Int] = [:]
        // Split on scalars: Swift reads "\r\n" as one Character, which a split on "\n" would not cut.
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if index == 0, line.hasPrefix("#version") { continue }
            if line.isEmpty {
                if lines[index...].allSatisfy({ $0.isEmpty || $0 == "\r" }) { break }
                throw TextFolderError(path, "line \(lineNumber) is empty")
            }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TextFolderError(path, "line \(lineNumber) '\(line.prefix(60))' is not two symbols separated by one space")
            }
            let a = String(parts[0]), b = String(parts[1])
            for symbol in [a, b, a + b] where vocabulary[symbol] == nil {
                throw TextFolderError(path, "line \(lineNumber): '\(symbol)' is not in vocab.json")
            }
            let pair = MergePair(a, b)
            if let earlier = firstLine[pair] {
                throw TextFolderError(path, "line \(lineNumber) repeats the merge '\(a) \(b)' of line \(earlier)")
            }
            firstLine[pair] = lineNumber
            merges.append((a, b))
        }
        return merges
    }

    /// A special-token entry: a string, or an AddedToken object whose stripping flags are off.
    static func specialEntry(_ value: Any, key: String, file: String) throws -> (content: String, normalized: Bool) {
        if let s = value as? String { return (s, false) }
        guard let d = value as? [String: Any], let content = d["content"] as? String else {
            throw TextFolderError(file, "\(key) is neither a string nor an object with a string 'content'")
        }
        for flag in ["lstrip", "rstrip", "single_word"] where (d[flag] as? Bool) == true {
            throw TextFolderError(file, "\(key).\(flag) = true is not supported")
        }
        return (content, (d["normalized"] as? Bool) ?? false)
    }

    /// `added_tokens_decoder` may list only the special tokens, with their vocabulary ids.
    private static func checkAddedTokens(_ value: Any?, specials: [SpecialToken], file: String) throws {
        guard let value else { return }
        guard let decoder = value as? [String: Any] else { throw TextFolderError(file, "added_tokens_decoder is not an object") }
        for (idText, entry) in decoder {
            guard let content = (entry as? [String: Any])?["content"] as? String else {
                throw TextFolderError(file, "added_tokens_decoder.\(idText) has no string 'content'")
            }
            guard let token = specials.first(where: { $0.content == content }), String(token.id) == idText else {
                throw TextFolderError(file, "added_tokens_decoder.\(idText) '\(content)' is an added token other than the special tokens (not supported)")
            }
        }
    }

    /// Refuses settings that would change tokenisation and are not implemented; ignores the documented harmless ones.
    private static func checkKeys(_ config: [String: Any], file: String) throws {
        if let cls = config["tokenizer_class"] {
            guard let name = cls as? String, name == "CLIPTokenizer" || name == "CLIPTokenizerFast" else {
                throw TextFolderError(file, "tokenizer_class \(cls) is not supported (only CLIPTokenizer)")
            }
        }
        for side in ["padding_side", "truncation_side"] {
            if let v = config[side], (v as? String) != "right" {
                throw TextFolderError(file, "\(side) \(v) is not supported (only right)")
            }
        }
        if let v = config["split_special_tokens"], (v as? Bool) != false {
            throw TextFolderError(file, "split_special_tokens \(v) is not supported (only false)")
        }
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            if let v = config[key], !(((v as? [Any])?.isEmpty ?? false) || ((v as? [String: Any])?.isEmpty ?? false)) {
                throw TextFolderError(file, "\(key) is not supported (no extra special tokens)")
            }
        }
        let handled: Set<String> = ["model_max_length", "bos_token", "eos_token", "unk_token", "pad_token",
                                    "tokenizer_class", "padding_side", "truncation_side", "additional_special_tokens",
                                    "extra_special_tokens", "added_tokens_decoder", "split_special_tokens"]
        // Settings transformers' CLIPTokenizer ignores or that only affect decoding and file lookup.
        let harmless: Set<String> = ["add_prefix_space", "clean_up_tokenization_spaces", "do_lower_case", "errors",
                                     "name_or_path", "_name_or_path", "special_tokens_map_file", "model_input_names",
                                     "backend", "is_local", "local_files_only", "processor_class", "tokenizer_file",
                                     "vocab_file", "merges_file", "auto_map", "_commit_hash", "use_fast", "legacy",
                                     "model_specific_special_tokens", "__type"]
        for key in config.keys.sorted() where !handled.contains(key) && !harmless.contains(key) {
            throw TextFolderError(file, "setting '\(key)' is not supported")
        }
    }
}
