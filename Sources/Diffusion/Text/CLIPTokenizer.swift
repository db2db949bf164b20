import Foundation

/// CLIP's byte-level BPE tokenizer, as transformers' `CLIPTokenizer` (5.x) tokenizes with a folder's
/// `vocab.json`, `merges.txt`, `tokenizer_config.json` and `special_tokens_map.json`.
///
/// `encode` gives the BPE ids of a text; calling the tokenizer gives what diffusers feeds the text encoders:
/// `<|startoftext|>`, the ids truncated to `maxLength - 2`, `<|endoftext|>`, then the pad token up to `maxLength`
/// (`<|endoftext|>` in SDXL's first tokenizer folder, `!` in the second).
///
/// ```swift
/// let tokenizer = try CLIPTokenizer(folder: "sdxl/tokenizer_2")
/// let ids = tokenizer("4K, high quality, masterpiece")     // 77 ids
/// ```
public struct CLIPTokenizer: Sendable {
    /// A special token and whether it is matched in the normalized text (else in the raw text).
    public struct SpecialToken: Sendable, Equatable {
        /// Its text.
        public let content: String
        /// Its id in the vocabulary.
        public let id: Int
        /// Matched after normalisation (lowercase, NFC), so `<|ENDOFTEXT|>` finds it too.
        public let normalized: Bool
    }

    /// Token -> id.
    public let vocabulary: [String: Int]
    /// Merge pair -> rank (lower merges first).
    let ranks: [MergePair: Int]
    /// The start, end, unknown and padding tokens.
    public let bos: SpecialToken, eos: SpecialToken, unk: SpecialToken, pad: SpecialToken
    /// Other tokens matched as a whole in the text before BPE (a `tokenizer.json`'s `added_tokens`).
    public let addedTokens: [SpecialToken]
    /// The padded length (`model_max_length`, 77 in SDXL).
    public let maxLength: Int

    /// A tokenizer from a vocabulary, merges in rank order and its special tokens. Throws when a merge or special
    /// token is not in the vocabulary, or `maxLength` is below 2.
    public init(vocabulary: [String: Int], merges: [(String, String)], bos: SpecialToken, eos: SpecialToken,
                unk: SpecialToken, pad: SpecialToken, addedTokens: [SpecialToken] = [], maxLength: Int) throws {
        var ranks: [MergePair: Int] = [:]
        for (rank, m) in merges.enumerated() {
            guard vocabulary[m.0] != nil, vocabulary[m.1] != nil, vocabulary[m.0 + m.1] != nil else {
                throw TextFolderError("merges", "merge \(rank + 1) '\(m.0) \(m.1)' uses a token not in the vocabulary")
            }
            if ranks[MergePair(m.0, m.1)] == nil { ranks[MergePair(m.0, m.1)] = rank }
        }
        for t in [bos, eos, unk, pad] + addedTokens where vocabulary[t.content] != t.id {
            throw TextFolderError("vocabulary", "special token '\(t.content)' is not in the vocabulary with id \(t.id)")
        }
        guard maxLength >= 2 else { throw TextFolderError("tokenizer", "max length \(maxLength) leaves no room for the start and end tokens") }
        self.vocabulary = vocabulary
        self.ranks = ranks
        self.bos = bos; self.eos = eos; self.unk = unk; self.pad = pad
        self.addedTokens = addedTokens
        self.maxLength = maxLength
    }

    /// The ids diffusers' `encode_prompt` passes to a text encoder: start token, the text's ids (truncated),
    /// end token, padding, `maxLength` (default: this tokenizer's) in all.
    public func callAsFunction(_ text: String, maxLength: Int? = nil) -> [Int] {
        let length = Swift.max(2, maxLength ?? self.maxLength)
        var ids = [bos.id] + encode(text, limit: length - 2) + [eos.id]
        ids += [Int](repeating: pad.id, count: length - ids.count)
        return ids
    }

    /// The ids of `text` without start, end or padding tokens, and untruncated.
    public func encode(_ text: String) -> [Int] { encode(text, limit: Int.max) }

    /// The first `limit` ids of `text` (the rest of the text is not tokenized).
    func encode(_ text: String, limit: Int) -> [Int] {
        var ids: [Int] = []
        let raw = specials.filter { !$0.normalized }
        let normalized = specials.filter(\.normalized)
        for segment in Self.split(text, on: raw) {
            if ids.count >= limit { break }
            switch segment {
            case .special(let t): ids.append(t.id)
            case .text(let s):
                for part in Self.split(CLIPPreTokenizer.normalize(s), on: normalized) {
                    if ids.count >= limit { break }
                    switch part {
                    case .special(let t): ids.append(t.id)
                    case .text(let n):
                        for piece in CLIPPreTokenizer.pieces(n) {
                            if ids.count >= limit { break }
                            ids += bpeIDs(piece)
                        }
                    }
                }
            }
        }
        return Array(ids.prefix(limit))
    }

    /// The distinct tokens matched whole (the same text may be several special tokens); an added token's own
    /// matching flag wins over a special token's of the same text.
    private var specials: [SpecialToken] {
        var seen = Set<String>()
        return (addedTokens + [bos, eos, unk, pad]).filter { seen.insert($0.content).inserted }
    }

    /// The BPE ids of one pre-tokenized piece: the lowest-ranked adjacent pair is merged first, the leftmost
    /// among equal ranks, as the tokenizers library does (a heap over a linked list of symbols, so a long word costs
    /// n log n, not n^2).
    func bpeIDs(_ piece: String) -> [Int] {
        var symbols = CLIPPreTokenizer.byteSymbols(piece)
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += "</w>"
        let n = symbols.count
        var next = Array(1...n), prev = Array(-1..<(n - 1))      // next[i] == n: none; prev[i] == -1: none
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeHeap()
        func push(_ i: Int) {
            let j = next[i]
            guard j < n, let r = ranks[MergePair(symbols[i], symbols[j])] else { return }
            heap.push(.init(rank: r, position: i, right: symbols[j]))
        }
        for i in 0..<(n - 1) { push(i) }
        while let top = heap.pop() {
            let i = top.position, j = next[i]
            // Stale entries: the left symbol was merged away, or its right neighbour changed since the push.
            guard alive[i], j < n, symbols[j] == top.right,
                  ranks[MergePair(symbols[i], symbols[j])] == top.rank else { continue }
            symbols[i] += symbols[j]
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0 { push(prev[i]) }
            push(i)
        }
        var ids: [Int] = []
        var i = 0
        while i < n {
            ids.append(vocabulary[symbols[i]] ?? unk.id)
            i = next[i]
        }
        return ids
    }

    private enum Segment { case text(String), special(SpecialToken) }

    /// `text` cut at the leftmost-longest occurrences of the tokens' contents.
    private static func split(_ text: String, on tokens: [SpecialToken]) -> [Segment] {
        guard !tokens.isEmpty else { return [.text(text)] }
        let scalars = Array(text.unicodeScalars)
        let patterns = tokens.map { (token: $0, scalars: Array($0.content.unicodeScalars)) }
            .filter { !$0.scalars.isEmpty }
            .sorted { $0.scalars.count > $1.scalars.count }
        var segments: [Segment] = []
        var start = 0, i = 0
        func flush(_ end: Int) {
            if end > start {
                var v = String.UnicodeScalarView()
                v.append(contentsOf: scalars[start..<end])
                segments.append(.text(String(v)))
            }
        }
        while i < scalars.count {
            if let match = patterns.first(where: { p in
                i + p.scalars.count <= scalars.count && scalars[i..<(i + p.scalars.count)].elementsEqual(p.scalars)
            }) {
                flush(i)
                segments.append(.special(match.token))
                i += match.scalars.count
                start = i
            } else {
                i += 1
            }
        }
        flush(scalars.count)
        return segments
    }
}

/// Two adjacent symbols that a merge joins.
struct MergePair: Hashable, Sendable {
    let first: String, second: String
    init(_ first: String, _ second: String) { self.first = first; self.second = second }
}

/// A min-heap of candidate merges ordered by rank, then position.
struct MergeHeap {
    struct Entry {
        let rank: Int, position: Int
        /// The right symbol when pushed, to recognise entries made stale by a later merge.
        let right: String
        func precedes(_ o: Entry) -> Bool { rank != o.rank ? rank < o.rank : position < o.position }
    }
    private var items: [Entry] = []

    mutating func push(_ e: Entry) {
        items.append(e)
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard items[c].precedes(items[p]) else { break }
            items.swapAt(c, p)
            c = p
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count, items[l].precedes(items[m]) { m = l }
                if r < items.count, items[r].precedes(items[m]) { m = r }
                if m == p { break }
                items.swapAt(p, m)
                p = m
            }
        }
        return first
    }
}
