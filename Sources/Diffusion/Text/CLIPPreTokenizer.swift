import Foundation

/// CLIP's text normalisation and pre-tokenisation, as transformers' CLIPTokenizer (tokenizers backend) does them:
/// NFC, every whitespace run to one space, lowercase; then the pieces of CLIP's pattern
/// `<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+` (whitespace between them
/// dropped), each mapped byte by byte to GPT-2's printable byte symbols.
enum CLIPPreTokenizer {
    /// NFC, whitespace runs collapsed to one space (not trimmed), then Unicode lowercase mapping per scalar.
    static func normalize(_ text: String) -> String {
        let composed = text.precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        var inSpace = false
        for s in composed.unicodeScalars {
            if s.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
                continue
            }
            inSpace = false
            out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
        }
        return String(out)
    }

    /// The pre-tokenized pieces of normalized text: CLIP's pattern, then the byte-level pre-tokenizer's own GPT-2
    /// split of each match (which only cuts the special-token literals: `<|endoftext|>` -> `<|`, `endoftext`, `|>`).
    static func pieces(_ text: String) -> [String] {
        clipPieces(text).flatMap(gpt2Pieces)
    }

    /// GPT-2's pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+` on a piece without
    /// whitespace: contractions, letter runs, number runs, symbol runs.
    static func gpt2Pieces(_ piece: String) -> [String] {
        let scalars = Array(piece.unicodeScalars)
        var result: [String] = []
        var i = 0
        func run(_ range: Range<Int>) -> String {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: scalars[range])
            return String(v)
        }
        while i < scalars.count {
            if scalars[i] == "'", let c = contractions.first(where: { c in
                i + c.count <= scalars.count && scalars[i..<(i + c.count)].elementsEqual(c)
            }) {
                result.append(run(i..<(i + c.count)))
                i += c.count
                continue
            }
            let kind = category(scalars[i])
            var j = i + 1
            while j < scalars.count, category(scalars[j]) == kind { j += 1 }
            result.append(run(i..<j))
            i = j
        }
        return result
    }

    /// 0 letter, 1 number, 2 whitespace, 3 anything else.
    private static func category(_ s: Unicode.Scalar) -> Int {
        isLetter(s) ? 0 : isNumber(s) ? 1 : s.properties.isWhitespace ? 2 : 3
    }

    /// CLIP's pattern's matches in normalized text, in order.
    static func clipPieces(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var result: [String] = []
        var i = 0
        func piece(_ range: Range<Int>) -> String {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: scalars[range])
            return String(v)
        }
        func hasLiteral(_ literal: [Unicode.Scalar], at start: Int) -> Bool {
            guard start + literal.count <= scalars.count else { return false }
            for k in 0..<literal.count where scalars[start + k] != literal[k] { return false }
            return true
        }
        while i < scalars.count {
            let s = scalars[i]
            if let literal = specialLiterals.first(where: { hasLiteral($0, at: i) }) {
                result.append(piece(i..<(i + literal.count)))
                i += literal.count
            } else if s == "'", let c = contractions.first(where: { hasLiteral($0, at: i) }) {
                result.append(piece(i..<(i + c.count)))
                i += c.count
            } else if isLetter(s) {
                var j = i + 1
                while j < scalars.count, isLetter(scalars[j]) { j += 1 }
                result.append(piece(i..<j))
                i = j
            } else if isNumber(s) {
                result.append(piece(i..<(i + 1)))
                i += 1
            } else if s.properties.isWhitespace {
                i += 1
            } else {
                var j = i + 1
                while j < scalars.count, !isLetter(scalars[j]), !isNumber(scalars[j]), !scalars[j].properties.isWhitespace {
                    j += 1
                }
                result.append(piece(i..<j))
                i = j
            }
        }
        return result
    }

    /// `piece`'s UTF-8 bytes as GPT-2's byte symbols, one symbol per byte.
    static func byteSymbols(_ piece: String) -> [String] {
        piece.utf8.map { byteSymbolTable[Int($0)] }
    }

    /// GPT-2's byte -> printable character table: printable Latin-1 bytes map to themselves, the others to
    /// U+0100 onwards in byte order.
    static let byteSymbolTable: [String] = {
        func printable(_ b: Int) -> Bool { (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) }
        var table = [String](repeating: "", count: 256)
        var next = 256
        for b in 0..<256 {
            if printable(b) {
                table[b] = String(Character(Unicode.Scalar(UInt32(b))!))
            } else {
                table[b] = String(Character(Unicode.Scalar(UInt32(next))!))
                next += 1
            }
        }
        return table
    }()

    /// The 256 byte symbols in CLIP's vocabulary order (the printable ranges first, then the remapped bytes).
    static var byteSymbolsInVocabularyOrder: [String] {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let rest = (0..<256).filter { !printable.contains($0) }
        return (printable + rest).map { byteSymbolTable[$0] }
    }

    private static let specialLiterals: [[Unicode.Scalar]] = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    /// `\p{L}`: the letter categories.
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}`: the number categories.
    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
}
