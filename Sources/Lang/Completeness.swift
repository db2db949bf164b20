extension Interpreter {
    /// Whether `source` is an unfinished input that more lines could complete: an open bracket or string,
    /// or a trailing operator; that is, the scanner or parser stopped at its very end. The REPL uses this
    /// to continue input on the next line.
    public static func isIncomplete(_ source: String) -> Bool {
        var scanner = Scanner(source)
        let tokens: [Token]
        do {
            tokens = try scanner.scanTokens()
        } catch let e as LangError {
            return e.message.hasPrefix("unterminated string") || e.message.hasPrefix("unterminated interpolation")
        } catch {
            return false
        }
        guard let end = tokens.last?.position else { return false }
        do {
            _ = try Parser(tokens: tokens).parseProgram()
            return false
        } catch let e as LangError {
            return e.position == end
        } catch {
            return false
        }
    }
}
