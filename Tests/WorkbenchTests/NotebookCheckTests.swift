import Foundation
import XCTest
@testable import Lang
@testable import Workbench

/// The committed notebooks take minutes to run (paper_loop about twenty), so no test runs them. These checks catch
/// what would otherwise surface only minutes into a run: a syntax error, or a call of a name that is neither a
/// primitive nor bound in the notebook (a misspelt or renamed primitive).
final class NotebookCheckTests: SessionTestCase {
    func testEveryCommittedNotebookParsesAndCallsOnlyKnownNames() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let folder = root.appendingPathComponent("Notebooks")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".md") }.sorted()
        XCTAssertTrue(Set(files).isSuperset(of: ["ambiguity.md", "paper_loop.md", "quickstart.md"]), "\(files)")
        let (s, _) = session()
        let primitives = Set(s.interpreter.primitives.map(\.name))
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            var tokens: [Token] = []
            var cells = 0
            for part in Notebook(parsing: text).parts {
                guard case .cell(let source, let line) = part else { continue }
                cells += 1
                do {
                    _ = try Parser.parse(source)
                    var scanner = Scanner(source, line: line)
                    tokens += try scanner.scanTokens()
                } catch {
                    XCTFail("\(file), the cell at line \(line) does not parse: \(error)")
                }
            }
            XCTAssertGreaterThan(cells, 0, "\(file) has no rorem cells")
            // Names the notebook binds: `let x`, `for x in`, and the parameters of `fn(a, b)`.
            var bound = Set<String>()
            var inParameters = false
            for (i, t) in tokens.enumerated() {
                if t.kind == .kwFn { inParameters = true; continue }
                if inParameters {
                    if t.kind == .identifier { bound.insert(t.lexeme) }
                    if t.kind == .rightParen { inParameters = false }
                    continue
                }
                if t.kind == .identifier, i > 0, [.kwLet, .kwFor].contains(tokens[i - 1].kind) { bound.insert(t.lexeme) }
            }
            for (i, t) in tokens.enumerated() where t.kind == .identifier && i + 1 < tokens.count {
                guard tokens[i + 1].kind == .leftParen, i == 0 || tokens[i - 1].kind != .dot else { continue }
                XCTAssertTrue(primitives.contains(t.lexeme) || bound.contains(t.lexeme),
                              "\(file), line \(t.position.line): \(t.lexeme)(...) is neither a primitive nor bound in the notebook")
            }
        }
    }
}
