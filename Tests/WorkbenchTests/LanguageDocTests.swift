import Foundation
import Lang
import XCTest
@testable import Workbench

/// Docs/language.md's primitive tables and the registry agree: every primitive a session registers is documented,
/// and every primitive the tables name exists (so neither a new primitive nor a renamed one goes unnoticed).
final class LanguageDocTests: SessionTestCase {
    /// The primitive names a table row documents: the identifiers that open each backticked span in its first
    /// column (`load(path)`, `str(x)` / `num(x)`, `abs sqrt floor`).
    static func documentedNames(_ markdown: String) -> Set<String> {
        var names = Set<String>()
        let section = markdown.components(separatedBy: "\n## Primitives").dropFirst().first ?? ""
        let body = section.components(separatedBy: "\n## ").first ?? section
        for line in body.split(separator: "\n") where line.hasPrefix("| `") {
            let first = line.dropFirst(2).split(separator: "|", maxSplits: 1).first.map(String.init) ?? ""
            for (i, span) in first.components(separatedBy: "`").enumerated() where i % 2 == 1 {
                let head = span.split(separator: "(", maxSplits: 1).first.map(String.init) ?? span
                if span.contains("(") {
                    names.insert(head.trimmingCharacters(in: .whitespaces))
                } else {
                    for word in head.split(separator: " ") { names.insert(String(word)) }
                }
            }
        }
        return names
    }

    func testEveryPrimitiveIsDocumentedAndEveryDocumentedOneExists() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Docs/language.md").path
        let documented = Self.documentedNames(try String(contentsOfFile: path, encoding: .utf8))
        let (s, _) = session()
        let registered = Set(s.interpreter.primitives.map(\.name))
        XCTAssertGreaterThan(registered.count, 50)
        let undocumented = registered.subtracting(documented).sorted()
        let unknown = documented.subtracting(registered).sorted()
        XCTAssertEqual(undocumented, [], "primitives missing from Docs/language.md's tables")
        XCTAssertEqual(unknown, [], "Docs/language.md documents primitives that are not registered")
    }
}
