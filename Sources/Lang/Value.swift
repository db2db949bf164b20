/// A domain value the language carries without knowing what it is (an image, a mask, a dataset...).
///
/// Workbench wraps its types in classes or structs that conform. Only `typeName` and `summary` are
/// required; fields, iteration and equality have defaults.
public protocol LangObject {
    /// The type name used in messages and signatures, e.g. `image`.
    var typeName: String { get }
    /// The one-line form `print` shows, e.g. `<image 512x384 rgb>`.
    var summary: String { get }
    /// The value of field `name` (for `x.name`), or nil if there is none.
    func field(_ name: String) -> Value?
    /// Names of the fields `field(_:)` answers, for completion and messages.
    var fieldNames: [String] { get }
    /// The elements for `for x in obj`, or nil if the object is not iterable.
    func iterate() -> [Value]?
    /// The number of elements (for `len`), or nil.
    var count: Int? { get }
    /// Whether this object equals `other` (default: never, except identity of class instances).
    func isEqual(to other: any LangObject) -> Bool
    /// The value of `self + other` (e.g. concatenated datasets), or nil when `+` does not apply.
    func adding(_ other: any LangObject) -> Value?
}

extension LangObject {
    /// No fields by default.
    public func field(_ name: String) -> Value? { nil }
    /// No fields by default.
    public var fieldNames: [String] { [] }
    /// Not iterable by default.
    public func iterate() -> [Value]? { nil }
    /// No count by default.
    public var count: Int? { nil }
    /// `+` does not apply by default.
    public func adding(_ other: any LangObject) -> Value? { nil }
    /// Identity for class instances, otherwise never equal.
    public func isEqual(to other: any LangObject) -> Bool {
        guard type(of: self) is AnyClass, type(of: other) is AnyClass else { return false }
        return (self as AnyObject) === (other as AnyObject)
    }
}

/// A record: fields in insertion order.
public struct Record: Equatable {
    /// Field names in order.
    public private(set) var keys: [String] = []
    /// Field values, parallel to `keys`.
    public private(set) var values: [Value] = []

    /// An empty record.
    public init() {}

    /// A record from ordered pairs (a later duplicate key replaces the earlier value).
    public init(_ pairs: [(String, Value)]) {
        for (k, v) in pairs { self[k] = v }
    }

    /// The value of `key`, or nil; setting appends a new key or replaces in place.
    public subscript(key: String) -> Value? {
        get { keys.firstIndex(of: key).map { values[$0] } }
        set {
            if let i = keys.firstIndex(of: key) {
                if let v = newValue { values[i] = v } else { keys.remove(at: i); values.remove(at: i) }
            } else if let v = newValue {
                keys.append(key)
                values.append(v)
            }
        }
    }

    /// Number of fields.
    public var count: Int { keys.count }
}

/// A value of the language.
public enum Value {
    /// The absence of a value; falsy.
    case `nil`
    /// `true` or `false`; `false` is falsy.
    case bool(Bool)
    /// The one number type, a 64-bit float.
    case number(Double)
    /// Text.
    case string(String)
    /// An immutable list.
    case list([Value])
    /// Named fields in insertion order.
    case record(Record)
    /// `lower...upper` (inclusive) or `lower..<upper`; integral bounds.
    case range(lower: Int, upper: Int, inclusive: Bool)
    /// A user function with its captured scope.
    case function(Closure)
    /// A function implemented in Swift.
    case primitive(Primitive)
    /// A domain value (image, mask, dataset...).
    case object(any LangObject)

    /// The type name used in messages: `number`, `string`, `list`, ..., or the object's own.
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .bool: return "bool"
        case .number: return "number"
        case .string: return "string"
        case .list: return "list"
        case .record: return "record"
        case .range: return "range"
        case .function, .primitive: return "function"
        case .object(let o): return o.typeName
        }
    }

    /// Only `false` and `nil` are falsy.
    public var isTruthy: Bool {
        switch self {
        case .nil: return false
        case .bool(let b): return b
        default: return true
        }
    }

    /// The number, if this is one.
    public var number: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The string, if this is one.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The number of elements of a range.
    static func rangeElements(_ lower: Int, _ upper: Int, _ inclusive: Bool) -> Int {
        let end = inclusive ? upper + 1 : upper
        return max(0, end - lower)
    }

    /// The elements of an iterable value: list items, range numbers, record keys, string characters,
    /// object elements; nil if the value cannot be iterated.
    public func elements() -> [Value]? {
        switch self {
        case .list(let items): return items
        case .range(let lo, let hi, let inclusive):
            let n = Value.rangeElements(lo, hi, inclusive)
            return (0..<n).map { .number(Double(lo + $0)) }
        case .record(let r): return r.keys.map { .string($0) }
        case .string(let s): return s.map { .string(String($0)) }
        case .object(let o): return o.iterate()
        default: return nil
        }
    }

    /// The elements of an iterable value for primitive `name`; throws if it cannot be iterated, or is a range
    /// too long to hold as a list (over ten million elements).
    public func elements(for name: String) throws -> [Value] {
        if case .range(let lo, let hi, let inclusive) = self, Value.rangeElements(lo, hi, inclusive) > 10_000_000 {
            throw PrimitiveError("\(name)(): the range \(repr) has too many elements to hold as a list (at most 10000000)")
        }
        guard let items = elements() else { throw PrimitiveError("\(name)(): cannot iterate over \(typeName)") }
        return items
    }

    /// The element count for `len`, or nil.
    public var length: Int? {
        switch self {
        case .list(let items): return items.count
        case .range(let lo, let hi, let inclusive): return Value.rangeElements(lo, hi, inclusive)
        case .record(let r): return r.count
        case .string(let s): return s.count
        case .object(let o): return o.count ?? o.iterate()?.count
        default: return nil
        }
    }
}

extension Value: Equatable {
    /// Structural equality for lists and records; numbers by value; user functions by code and captured scope;
    /// primitives and objects by identity.
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.nil, .nil): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x), .list(let y)): return x == y
        case (.record(let x), .record(let y)): return x == y
        case (.range(let l1, let u1, let i1), .range(let l2, let u2, let i2)):
            return Value.rangeElements(l1, u1, i1) == Value.rangeElements(l2, u2, i2)
                && (Value.rangeElements(l1, u1, i1) == 0 || l1 == l2)
        case (.range, .list), (.list, .range): return a.length == b.length && a.elements() == b.elements()
        case (.function(let x), .function(let y)): return x.isSameFunction(as: y)
        case (.primitive(let x), .primitive(let y)): return x === y
        case (.object(let x), .object(let y)): return x.isEqual(to: y)
        default: return false
        }
    }
}
