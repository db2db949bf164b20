import Foundation
import Lang

/// Tab-completion candidates: file paths inside strings, fields after `name.`, else names and keywords.
enum Completion {
    static let keywords = ["let", "fn", "if", "else", "for", "in", "while", "break", "continue", "return", "true", "false", "nil", "and", "or", "not"]

    /// Candidates for `word`, given the text of the line `before` it.
    static func candidates(word: String, before: String, session: Session) -> [String] {
        if LineEditor.insideString(prefix: before) { return paths(word, base: session.baseDirectory) }
        if before.trimmingCharacters(in: .whitespaces).isEmpty && word.hasPrefix(":") {
            return REPLCore.commands.map { String($0.0.split(separator: " ")[0]) }.filter { $0.hasPrefix(word) }
        }
        if before.hasSuffix(".") {
            let receiver = String(before.dropLast().reversed().prefix { $0.isLetter || $0.isNumber || $0 == "_" }.reversed())
            var names: [String] = []
            switch session.interpreter.global(receiver) {
            case .record(let r)?: names = r.keys
            case .object(let o)?: names = o.fieldNames
            default: break
            }
            names += session.interpreter.primitives.map { $0.name }
            return unique(names.filter { $0.hasPrefix(word) })
        }
        let names = session.interpreter.globalNames + keywords
        return unique(names.filter { $0.hasPrefix(word) }).sorted()
    }

    /// Paths starting with `partial` (relative ones against `base`); folders end with `/`.
    static func paths(_ partial: String, base: String) -> [String] {
        let expanded = (partial as NSString).expandingTildeInPath
        let dirPart = expanded.hasSuffix("/") ? expanded : (expanded as NSString).deletingLastPathComponent
        let namePrefix = expanded.hasSuffix("/") ? "" : (expanded as NSString).lastPathComponent
        let folder = dirPart.hasPrefix("/") ? dirPart : (base as NSString).appendingPathComponent(dirPart)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else { return [] }
        let typedDir = partial.hasSuffix("/") ? partial : (partial.contains("/") ? String(partial[..<(partial.range(of: "/", options: .backwards)?.upperBound ?? partial.startIndex)]) : "")
        var out: [String] = []
        for e in entries.sorted() where e.hasPrefix(namePrefix) && (!e.hasPrefix(".") || namePrefix.hasPrefix(".")) {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(e), isDirectory: &isDir)
            out.append(typedDir + e + (isDir.boolValue ? "/" : ""))
        }
        return out
    }

    static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
