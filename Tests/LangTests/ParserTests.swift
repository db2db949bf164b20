import XCTest
@testable import Lang

/// Unit tests of the parser: structure of the tree for precedence, pipes, method sugar and newlines.
final class ParserTests: XCTestCase {
    /// A compact rendering of an expression tree for assertions.
    private func shape(_ e: Expr) -> String {
        switch e {
        case .literal(let v): return v.repr
        case .variable(let r): return r.name
        case .binary(let op, let a, let b, _): return "(\(shape(a)) \(op.rawValue) \(shape(b)))"
        case .and(let a, let b): return "(\(shape(a)) and \(shape(b)))"
        case .or(let a, let b): return "(\(shape(a)) or \(shape(b)))"
        case .not(let a): return "(not \(shape(a)))"
        case .negate(let a, _): return "(-\(shape(a)))"
        case .range(let a, let b, let inclusive, _): return "(\(shape(a))\(inclusive ? "..." : "..<")\(shape(b)))"
        case .call(let f, let args, _): return "\(shape(f))(\(args.map { ($0.name.map { $0 + ": " } ?? "") + shape($0.value) }.joined(separator: ", ")))"
        case .methodCall(let o, let n, let args, _): return "\(shape(o)).\(n.name)(\(args.map { shape($0.value) }.joined(separator: ", ")))"
        case .index(let a, let i, _): return "\(shape(a))[\(shape(i))]"
        case .field(let a, let n, _): return "\(shape(a)).\(n)"
        case .list(let items, _): return "[\(items.map(shape).joined(separator: ", "))]"
        case .record(let fields, _): return "{\(fields.map { "\($0.0): \(shape($0.1))" }.joined(separator: ", "))}"
        case .interpolation(let parts): return "interp(\(parts.count))"
        case .function(let d): return "fn/\(d.parameters.count)"
        }
    }

    private func parseExpr(_ source: String) throws -> String {
        let program = try Parser.parse(source)
        guard program.count == 1, case .expression(let e, _) = program[0] else {
            XCTFail("expected one expression statement in \(source)")
            return ""
        }
        return shape(e)
    }

    func testPrecedenceLoosestToTightest() throws {
        XCTAssertEqual(try parseExpr("1 + 2 * 3"), "(1 + (2 * 3))")
        XCTAssertEqual(try parseExpr("a or b and c"), "(a or (b and c))")
        XCTAssertEqual(try parseExpr("not a == b"), "(not (a == b))")
        XCTAssertEqual(try parseExpr("not a and b"), "((not a) and b)")
        XCTAssertEqual(try parseExpr("1 + 2...3 * 4"), "((1 + 2)...(3 * 4))")
        XCTAssertEqual(try parseExpr("a < 1..<2"), "(a < (1..<2))")
        XCTAssertEqual(try parseExpr("-a.b"), "(-a.b)")
        XCTAssertEqual(try parseExpr("-2 * 3"), "((-2) * 3)")
        XCTAssertEqual(try parseExpr("a - b - c"), "((a - b) - c)")
        XCTAssertEqual(try parseExpr("a or b |> f(1)"), "f((a or b), 1)")
    }

    func testPipeDesugarsToCall() throws {
        XCTAssertEqual(try parseExpr("x |> f(1)"), "f(x, 1)")
        XCTAssertEqual(try parseExpr("x |> f"), "f(x)")
        XCTAssertEqual(try parseExpr("a or b |> f"), "f((a or b))")
        XCTAssertEqual(try parseExpr("x |> f(1) |> g(k: 2)"), "g(f(x, 1), k: 2)")
    }

    func testPostfixChains() throws {
        XCTAssertEqual(try parseExpr("a.b(1).c[2]"), "a.b(1).c[2]")
        XCTAssertEqual(try parseExpr("f(1)(2)"), "f(1)(2)")
        XCTAssertEqual(try parseExpr("r.f(x, y)"), "r.f(x, y)")
        XCTAssertEqual(try parseExpr("{a: [1, 2], b: {}}"), "{a: [1, 2], b: {}}")
    }

    func testNewlinesInsideBracketsAndAfterOperators() throws {
        XCTAssertEqual(try parseExpr("f(\n1,\n2\n)"), "f(1, 2)")
        XCTAssertEqual(try parseExpr("1 +\n2"), "(1 + 2)")
        XCTAssertEqual(try parseExpr("x\n  |> f"), "f(x)")
        XCTAssertEqual(try Parser.parse("a\n-1").count, 2)
    }

    func testStatementsKinds() throws {
        let program = try Parser.parse("let x = 1\nx = 2\nfn f(a, b: 2) => a\nif x { } else if y { } else { }\nfor i in 0..<3 { break }\nwhile false { continue }\nreturn 1")
        let kinds = program.map { s -> String in
            switch s {
            case .letBinding: return "let"
            case .assign: return "assign"
            case .function: return "fn"
            case .ifElse: return "if"
            case .forIn: return "for"
            case .whileLoop: return "while"
            case .returnValue: return "return"
            default: return "other"
            }
        }
        XCTAssertEqual(kinds, ["let", "assign", "fn", "if", "for", "while", "return"])
    }

    func testOneMistakeGivesOneMessage() {
        XCTAssertThrowsError(try Parser.parse("let x = (1 +\nlet y = 2")) { error in
            guard let e = error as? LangError else { return XCTFail("not a LangError") }
            XCTAssertEqual(e.kind, .syntax)
            XCTAssertEqual(e.position?.line, 2)
            XCTAssertEqual(e.message, "expected an expression, found 'let'")
        }
    }

    func testErrorFormatHasCaretUnderColumn() {
        let interpreter = Interpreter(output: CapturedOutput())
        let (status, report) = interpreter.runReporting("let img = 1\nlet x = imgg + 1")
        XCTAssertEqual(status, 70)
        XCTAssertEqual(report, "error: line 2, col 9: unknown name 'imgg' (did you mean 'img'?)\n    let x = imgg + 1\n            ^")
    }
}
