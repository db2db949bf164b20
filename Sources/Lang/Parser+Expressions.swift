/// Binding power of infix operators, loosest first.
enum Precedence: Int, Comparable {
    case none, pipe, or, and, not, comparison, range, term, factor, unary, postfix

    static func < (a: Precedence, b: Precedence) -> Bool { a.rawValue < b.rawValue }

    var next: Precedence { Precedence(rawValue: rawValue + 1) ?? .postfix }
}

extension Parser {
    /// The Pratt rule table: the binding power of each token kind used as an infix or postfix operator.
    static func infixPrecedence(_ kind: TokenKind) -> Precedence {
        switch kind {
        case .pipe: return .pipe
        case .kwOr: return .or
        case .kwAnd: return .and
        case .equalEqual, .bangEqual, .less, .lessEqual, .greater, .greaterEqual: return .comparison
        case .rangeInclusive, .rangeHalfOpen: return .range
        case .plus, .minus: return .term
        case .star, .slash, .percent: return .factor
        case .leftParen, .leftBracket, .dot: return .postfix
        default: return .none
        }
    }

    /// An expression at the loosest precedence.
    func expression() throws -> Expr {
        try parse(.pipe)
    }

    func parse(_ precedence: Precedence) throws -> Expr {
        let token = advance()
        try enterNesting(token)
        defer { depth -= 1 }
        var left = try prefix(token)
        while true {
            if tokens[current].kind == .newline && nextLineStarts(with: .pipe) { skipNewlines() }
            let kind = peek().kind
            let p = Parser.infixPrecedence(kind)
            if p == .none || p < precedence { break }
            left = try infix(left, advance(), p)
        }
        return left
    }

    func prefix(_ t: Token) throws -> Expr {
        switch t.kind {
        case .number: return .literal(.number(t.number))
        case .kwTrue: return .literal(.bool(true))
        case .kwFalse: return .literal(.bool(false))
        case .kwNil: return .literal(.nil)
        case .string: return try stringLiteral(t)
        case .identifier: return .variable(VarRef(t.lexeme, t.position))
        case .leftParen:
            return try withNewlines(ignored: true) {
                let inner = try expression()
                try consume(.rightParen, "expected ')' to close the '(' at line \(t.position.line)")
                return inner
            }
        case .leftBracket:
            return try withNewlines(ignored: true) {
                var items: [Expr] = []
                while !check(.rightBracket) {
                    items.append(try expression())
                    if !match(.comma) { break }
                }
                try consume(.rightBracket, "expected ']' or ',' in the list opened at line \(t.position.line)")
                return .list(items, t.position)
            }
        case .leftBrace:
            return try recordLiteral(t)
        case .minus:
            return .negate(try parse(.unary), t.position)
        case .kwNot:
            return .not(try parse(.comparison))
        case .kwFn:
            return .function(try functionRest(name: "<lambda>", at: t))
        default:
            throw error("expected an expression, found \(describe(t))", at: t)
        }
    }

    func infix(_ left: Expr, _ op: Token, _ p: Precedence) throws -> Expr {
        switch op.kind {
        case .leftParen:
            let args = try arguments(op)
            if case .field(let object, let name, let at) = left {
                return .methodCall(object, VarRef(name, at), args, op.position)
            }
            return .call(left, args, op.position)
        case .leftBracket:
            return try withNewlines(ignored: true) {
                let index = try expression()
                try consume(.rightBracket, "expected ']' after the index")
                return .index(left, index, op.position)
            }
        case .dot:
            let name = advance()
            guard name.kind == .identifier || keywords[name.lexeme] != nil else {
                throw error("expected a field name after '.', found \(describe(name))", at: name)
            }
            return .field(left, name.lexeme, name.position)
        default: break
        }
        skipNewlines()
        switch op.kind {
        case .pipe:
            let right = try parse(p.next)
            let piped = Argument(name: nil, value: left, position: op.position)
            switch right {
            case .call(let callee, let args, let at): return .call(callee, [piped] + args, at)
            case .methodCall(let object, let name, let args, let at):
                return .call(.methodCall(object, name, args, at), [piped], op.position)
            default: return .call(right, [piped], op.position)
            }
        case .kwOr: return .or(left, try parse(p.next))
        case .kwAnd: return .and(left, try parse(p.next))
        case .rangeInclusive, .rangeHalfOpen:
            return .range(left, try parse(p.next), inclusive: op.kind == .rangeInclusive, op.position)
        default:
            guard let binary = BinaryOperator(rawValue: op.lexeme) else { throw error("unexpected \(describe(op))", at: op) }
            return .binary(binary, left, try parse(p.next), op.position)
        }
    }

    /// `(a, b, name: c)` after the opening parenthesis.
    func arguments(_ open: Token) throws -> [Argument] {
        try withNewlines(ignored: true) {
            var args: [Argument] = []
            var names = Set<String>()
            while !check(.rightParen) {
                let start = peek()
                var name: String? = nil
                if start.kind == .identifier, peekNext().kind == .colon {
                    advance()
                    advance()
                    if names.contains(start.lexeme) { throw error("argument '\(start.lexeme)' given twice", at: start) }
                    names.insert(start.lexeme)
                    name = start.lexeme
                } else if !names.isEmpty {
                    throw error("positional argument after a named one", at: start)
                }
                args.append(Argument(name: name, value: try expression(), position: start.position))
                if !match(.comma) { break }
            }
            try consume(.rightParen, "expected ')' or ',' in the call opened at line \(open.position.line)")
            return args
        }
    }

    /// `{name: value, ...}` after the opening brace.
    func recordLiteral(_ open: Token) throws -> Expr {
        try withNewlines(ignored: true) {
            var fields: [(String, Expr)] = []
            var seen = Set<String>()
            while !check(.rightBrace) {
                let key = advance()
                let name: String
                switch key.kind {
                case .identifier: name = key.lexeme
                case .string:
                    guard key.pieces.count == 1, case .text(let text) = key.pieces[0] else {
                        throw error("a record key must be a plain string", at: key)
                    }
                    name = text
                default:
                    if keywords[key.lexeme] != nil { name = key.lexeme; break }
                    throw error("expected a field name in the record, found \(describe(key))", at: key)
                }
                if seen.contains(name) { throw error("field '\(name)' given twice", at: key) }
                seen.insert(name)
                try consume(.colon, "expected ':' after the field name '\(name)'")
                fields.append((name, try expression()))
                if !match(.comma) { break }
            }
            try consume(.rightBrace, "expected '}' or ',' in the record opened at line \(open.position.line)")
            return .record(fields, open.position)
        }
    }

    /// A string literal, parsing each `{expr}` piece with a sub-parser at its true position.
    func stringLiteral(_ t: Token) throws -> Expr {
        if t.pieces.count == 1, case .text(let s) = t.pieces[0] { return .literal(.string(s)) }
        var parts: [InterpolationPart] = []
        for piece in t.pieces {
            switch piece {
            case .text(let s): parts.append(.text(s))
            case .code(let code, let at):
                var scanner = Scanner(code, sourceID: at.sourceID, line: at.line, column: at.column)
                let sub = Parser(tokens: try scanner.scanTokens(), sourceID: at.sourceID, depth: depth)
                let e = try sub.withNewlines(ignored: true) { try sub.expression() }
                guard sub.check(.eof) else { throw sub.error("unexpected \(sub.describe(sub.peek())) in interpolation", at: sub.peek()) }
                parts.append(.expr(e))
            }
        }
        return .interpolation(parts)
    }
}
