import Foundation
import XCTest
@testable import Lang
@testable import Workbench

/// The committed notebooks take minutes to run (paper_loop about 25 minutes), so no test runs them. These checks catch
/// what would otherwise surface only minutes into a run: a syntax error, a call of a name that is neither a
/// primitive nor bound in the notebook (a misspelt or renamed primitive), or a named argument the primitive lacks.
final class NotebookCheckTests: SessionTestCase {
    func testEveryCommittedNotebookParsesAndCallsOnlyKnownNamesAndParameters() throws {
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
                // A primitive's named arguments must be its parameters (unless it takes free options).
                guard !bound.contains(t.lexeme), let primitive = s.interpreter.primitive(named: t.lexeme),
                      !primitive.acceptsOptions else { continue }
                let names = Set(primitive.parameters.map(\.name))
                for label in Self.namedArguments(tokens, openingAt: i + 1) where !names.contains(label.lexeme) {
                    XCTFail("\(file), line \(label.position.line): \(t.lexeme)() has no parameter '\(label.lexeme)'")
                }
            }
        }
    }

    /// The `name:` labels of the call whose `(` is at `open`, at its own nesting level only.
    static func namedArguments(_ tokens: [Token], openingAt open: Int) -> [Token] {
        var labels: [Token] = []
        var depth = 0
        var i = open
        while i < tokens.count {
            switch tokens[i].kind {
            case .leftParen, .leftBracket, .leftBrace: depth += 1
            case .rightParen, .rightBracket, .rightBrace:
                depth -= 1
                if depth == 0 { return labels }
            case .identifier where depth == 1 && i + 1 < tokens.count && tokens[i + 1].kind == .colon:
                labels.append(tokens[i])
            default: break
            }
            i += 1
        }
        return labels
    }
}
