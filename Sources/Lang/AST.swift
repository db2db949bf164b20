/// A reference to a name, resolved after parsing to a slot in an enclosing scope or to a global.
final class VarRef {
    /// The name as written.
    let name: String
    /// Where the name appears.
    let position: SourcePosition
    /// Scope hops from the current environment; -1 means a global looked up by name.
    var depth = -1
    /// Slot within that environment (locals) or cached index in the globals table (globals, -1 if unknown).
    var slot = -1
    /// Local names visible where this global reference was resolved, for "did you mean" hints.
    var visibleLocals: [String] = []
    /// The globals table generation for which a cached global `slot` is valid.
    var generation = 0

    init(_ name: String, _ position: SourcePosition) {
        self.name = name
        self.position = position
    }
}

/// One parameter of a user function: a name and an optional default expression.
struct ParameterDecl {
    /// The parameter's name.
    let name: String
    /// The default, evaluated at call time in the function's defining scope.
    let defaultValue: Expr?
    /// Where the parameter is declared.
    let position: SourcePosition
}

/// A function literal or declaration.
final class FunctionDecl {
    /// The declared name, or "<lambda>".
    let name: String
    /// Parameters in order.
    let parameters: [ParameterDecl]
    /// The body; an `=> expr` body is a block holding `return expr`.
    let body: [Stmt]
    /// Where the function starts.
    let position: SourcePosition
    /// Slots its environment needs: parameters plus the body's own declarations.
    var slotCount = 0

    init(name: String, parameters: [ParameterDecl], body: [Stmt], position: SourcePosition) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.position = position
    }
}

/// A `{ ... }` block of statements; it gets an environment only if it declares names.
final class Block {
    /// The statements in order.
    let statements: [Stmt]
    /// Slots its environment needs (0: no environment of its own).
    var slotCount = 0

    init(_ statements: [Stmt]) { self.statements = statements }
}

/// A call argument, positional or named.
struct Argument {
    /// The name for `name: value` arguments.
    let name: String?
    /// The argument expression.
    let value: Expr
    /// Where the argument starts.
    let position: SourcePosition
}

/// Binary operators.
enum BinaryOperator: String {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
}

/// One piece of an interpolated string.
enum InterpolationPart {
    case text(String)
    case expr(Expr)
}

/// Expressions.
indirect enum Expr {
    case literal(Value)
    case interpolation([InterpolationPart])
    case variable(VarRef)
    case list([Expr], SourcePosition)
    case record([(String, Expr)], SourcePosition)
    case negate(Expr, SourcePosition)
    case not(Expr)
    case binary(BinaryOperator, Expr, Expr, SourcePosition)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case range(Expr, Expr, inclusive: Bool, SourcePosition)
    case call(Expr, [Argument], SourcePosition)
    /// `object.name(args)`: a field holding a function, else `name(object, args)`.
    case methodCall(Expr, VarRef, [Argument], SourcePosition)
    case index(Expr, Expr, SourcePosition)
    case field(Expr, String, SourcePosition)
    case function(FunctionDecl)
}

/// Statements.
indirect enum Stmt {
    case letBinding(VarRef, Expr)
    case assign(VarRef, Expr)
    case function(VarRef, FunctionDecl)
    case ifElse(Expr, Block, Stmt?)
    case forIn(VarRef, Expr, Block, SourcePosition)
    case whileLoop(Expr, Block, SourcePosition)
    case breakLoop(SourcePosition)
    case continueLoop(SourcePosition)
    case returnValue(Expr?, SourcePosition)
    /// An expression statement; `echo` is true where the REPL may print its value.
    case expression(Expr, SourcePosition)
    case block(Block)
}
