import Tensor

/// A data-only unpickler for protocols 2 to 5: it builds values (numbers, strings, bytes, tuples, lists, dicts)
/// and hands everything that would run code (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, NEWOBJ, persistent ids) to a
/// `PickleResolver`, which decides from an allow-list and never calls anything dynamically.
///
/// Values live in a flat arena and containers hold arena indices, so cyclic or deeply nested pickles cannot
/// recurse or leak. Limits bound everything a hostile file controls: the input size, the number of values, the
/// memo, the stack and the nesting of marks; integers wider than 64 bits stay as bytes.
public final class PickleMachine {
    /// One value. Containers refer to other values by arena index.
    public enum Value {
        case none
        case bool(Bool)
        case int(Int)
        /// An integer wider than 64 bits, as its little-endian two's-complement bytes.
        case bigInt([UInt8])
        case float(Double)
        case string(String)
        case bytes(Range<Int>)
        case tuple([Int])
        /// Index into `lists`.
        case list(Int)
        /// Index into `dicts`.
        case dict(Int)
        /// A global the resolver accepted, by module and name.
        case global(module: String, name: String)
        /// A value the resolver made (a storage, a tensor), by its own index.
        case external(Int)
    }

    /// Limits on what a pickle may ask for.
    public struct Limits: Sendable {
        /// Values in the arena.
        public var maxValues = 50_000_000
        /// Memo entries.
        public var maxMemo = 10_000_000
        /// Stack depth.
        public var maxStack = 10_000_000
        /// Open MARKs at once.
        public var maxMarkDepth = 1_000
        /// The defaults (far above what any state dict needs).
        public init() {}
    }

    /// How errors name the file.
    public let label: String
    /// The arena of values.
    public private(set) var values: [Value] = []
    /// List contents by list index.
    public private(set) var lists: [[Int]] = []
    /// Dict contents (insertion order) by dict index.
    public private(set) var dicts: [[(key: Int, value: Int)]] = []
    /// Position of each string key in its dict (so SETITEMS stays linear on hostile input).
    private var stringKeys: [[String: Int]] = []
    /// Where the pickle's bytes are (for `.bytes` ranges).
    public let data: UnsafeRawBufferPointer
    let limits: Limits

    private var pos: Int
    private let end: Int
    private var stack: [Int] = []
    private var marks: [Int] = []
    private var memo: [Int: Int] = [:]

    /// A machine over `data[start..<end]`; `label` names the file in errors.
    public init(data: UnsafeRawBufferPointer, start: Int = 0, end: Int? = nil, label: String, limits: Limits = Limits()) {
        self.data = data
        self.label = label
        self.pos = start
        self.end = min(end ?? data.count, data.count)
        self.limits = limits
    }

    /// Where the next pickle would start after `run` returns (for files holding several pickles in a row).
    public var position: Int { pos }

    func fail(_ message: String) -> TensorError { TensorError(label, "pickle: \(message)") }

    // MARK: reading

    private func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= end - pos else { throw fail("truncated: \(what) needs \(n) bytes at offset \(pos), \(end - pos) left") }
    }
    private func byte() throws -> UInt8 {
        try need(1, "opcode"); defer { pos += 1 }
        return data[pos]
    }
    private func uint<T: FixedWidthInteger>(_ t: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what); defer { pos += MemoryLayout<T>.size }
        return T(littleEndian: UnsafeRawPointer(data.baseAddress! + pos).loadUnaligned(as: T.self))
    }
    private func length<T: FixedWidthInteger>(_ t: T.Type, _ what: String) throws -> Int {
        let n = try uint(t, what)
        guard UInt64(n) <= UInt64(end - pos) else { throw fail("\(what) of \(n) bytes runs past the end of the pickle") }
        return Int(n)
    }
    private func take(_ n: Int, _ what: String) throws -> Range<Int> {
        try need(n, what); defer { pos += n }
        return pos..<(pos + n)
    }
    private func utf8(_ r: Range<Int>, _ what: String) throws -> String {
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: data[r]), as: UTF8.self) else { throw fail("\(what) is not UTF-8") }
        return s
    }
    /// A newline-terminated ASCII line (GLOBAL's module and name).
    private func line(_ what: String) throws -> String {
        var q = pos
        while q < end && data[q] != 0x0A { q += 1 }
        guard q < end else { throw fail("truncated: \(what) has no end of line") }
        let s = try utf8(pos..<q, what)
        pos = q + 1
        return s
    }

    // MARK: building

    /// Adds a value to the arena and returns its index.
    public func add(_ v: Value) throws -> Int {
        guard values.count < limits.maxValues else { throw fail("more than \(limits.maxValues) values") }
        values.append(v)
        return values.count - 1
    }
    private func push(_ v: Value) throws { try pushIndex(add(v)) }
    private func pushIndex(_ i: Int) throws {
        guard stack.count < limits.maxStack else { throw fail("stack deeper than \(limits.maxStack)") }
        stack.append(i)
    }
    private func pop(_ op: String) throws -> Int {
        guard let i = stack.popLast(), marks.last.map({ stack.count >= $0 }) ?? true else { throw fail("\(op) on an empty stack") }
        return i
    }
    private func top(_ op: String) throws -> Int {
        guard let i = stack.last, marks.last.map({ stack.count > $0 }) ?? true else { throw fail("\(op) on an empty stack") }
        return i
    }
    private func popMark(_ op: String) throws -> [Int] {
        guard let m = marks.popLast() else { throw fail("\(op) without a MARK") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }
    private func memoize(_ key: Int) throws {
        let v = try top("memo put")
        guard memo.count < limits.maxMemo || memo[key] != nil else { throw fail("memo larger than \(limits.maxMemo)") }
        memo[key] = v
    }
    private func memoGet(_ key: Int) throws {
        guard let v = memo[key] else { throw fail("memo key \(key) was never stored") }
        try pushIndex(v)
    }
    private func listIndex(_ i: Int, _ op: String) throws -> Int {
        guard case .list(let l) = values[i] else { throw fail("\(op) on a \(kind(i)), not a list") }
        return l
    }
    private func dictIndex(_ i: Int, _ op: String) throws -> Int {
        guard case .dict(let d) = values[i] else { throw fail("\(op) on a \(kind(i)), not a dict") }
        return d
    }
    private func setItem(_ d: Int, _ k: Int, _ v: Int) {
        if case .string(let ks) = values[k] {
            if let j = stringKeys[d][ks] { dicts[d][j].value = v; return }
            stringKeys[d][ks] = dicts[d].count
        }
        dicts[d].append((k, v))
    }
    func newList(_ items: [Int]) throws -> Int { lists.append(items); return try add(.list(lists.count - 1)) }
    func newDict() throws -> Int { dicts.append([]); stringKeys.append([:]); return try add(.dict(dicts.count - 1)) }

    /// A short description of value `i` for errors.
    public func kind(_ i: Int) -> String {
        switch values[i] {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple(let t): return "tuple of \(t.count)"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let m, let n): return "\(m).\(n)"
        case .external: return "object"
        }
    }

    // MARK: running

    /// Runs one pickle to its STOP and returns the arena index of the result.
    public func run(resolver: PickleResolver) throws -> Int {
        stack = []; marks = []; memo = [:]
        while true {
            let op = try byte()
            switch op {
            case 0x80: // PROTO
                let v = try byte()
                guard v <= 5 else { throw fail("protocol \(v) is newer than 5") }
            case 0x95: _ = try uint(UInt64.self, "FRAME") // FRAME: a length hint only
            case 0x2E: return try pop("STOP") // STOP
            case 0x28: // MARK
                guard marks.count < limits.maxMarkDepth else { throw fail("MARKs nested deeper than \(limits.maxMarkDepth)") }
                marks.append(stack.count)
            case 0x30: _ = try pop("POP")
            case 0x31: _ = try popMark("POP_MARK")
            case 0x32: try pushIndex(top("DUP"))
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int(Int32(bitPattern: uint(UInt32.self, "BININT")))))
            case 0x4B: try push(.int(Int(uint(UInt8.self, "BININT1"))))
            case 0x4D: try push(.int(Int(uint(UInt16.self, "BININT2"))))
            case 0x8A: try pushLong(length(UInt8.self, "LONG1"))
            case 0x8B: try pushLong(length(UInt32.self, "LONG4"))
            case 0x47: // BINFLOAT, big-endian
                let bits = try uint(UInt64.self, "BINFLOAT")
                try push(.float(Double(bitPattern: UInt64(bigEndian: bits))))
            case 0x58: let r = try take(length(UInt32.self, "BINUNICODE"), "BINUNICODE"); try push(.string(utf8(r, "BINUNICODE")))
            case 0x8C: let r = try take(length(UInt8.self, "SHORT_BINUNICODE"), "SHORT_BINUNICODE"); try push(.string(utf8(r, "SHORT_BINUNICODE")))
            case 0x8D: let r = try take(length(UInt64.self, "BINUNICODE8"), "BINUNICODE8"); try push(.string(utf8(r, "BINUNICODE8")))
            case 0x54: let r = try take(length(UInt32.self, "BINSTRING"), "BINSTRING"); try push(.string(utf8(r, "BINSTRING")))
            case 0x55: let r = try take(length(UInt8.self, "SHORT_BINSTRING"), "SHORT_BINSTRING"); try push(.string(utf8(r, "SHORT_BINSTRING")))
            case 0x42: try push(.bytes(take(length(UInt32.self, "BINBYTES"), "BINBYTES")))
            case 0x43: try push(.bytes(take(length(UInt8.self, "SHORT_BINBYTES"), "SHORT_BINBYTES")))
            case 0x8E: try push(.bytes(take(length(UInt64.self, "BINBYTES8"), "BINBYTES8")))
            case 0x96: try push(.bytes(take(length(UInt64.self, "BYTEARRAY8"), "BYTEARRAY8")))
            case 0x29: try push(.tuple([]))
            case 0x85: let a = try pop("TUPLE1"); try push(.tuple([a]))
            case 0x86: let b = try pop("TUPLE2"), a = try pop("TUPLE2"); try push(.tuple([a, b]))
            case 0x87: let c = try pop("TUPLE3"), b = try pop("TUPLE3"), a = try pop("TUPLE3"); try push(.tuple([a, b, c]))
            case 0x74: try push(.tuple(popMark("TUPLE")))
            case 0x5D: try pushIndex(newList([]))
            case 0x6C: try pushIndex(newList(popMark("LIST")))
            case 0x7D: try pushIndex(newDict())
            case 0x64: // DICT
                let items = try popMark("DICT")
                guard items.count % 2 == 0 else { throw fail("DICT with an odd number of items") }
                let d = try newDict()
                let di = try dictIndex(d, "DICT")
                for j in stride(from: 0, to: items.count, by: 2) { setItem(di, items[j], items[j + 1]) }
                try pushIndex(d)
            case 0x61: // APPEND
                let v = try pop("APPEND")
                lists[try listIndex(top("APPEND"), "APPEND")].append(v)
            case 0x65: // APPENDS
                let items = try popMark("APPENDS")
                lists[try listIndex(top("APPENDS"), "APPENDS")].append(contentsOf: items)
            case 0x73: // SETITEM
                let v = try pop("SETITEM"), k = try pop("SETITEM")
                setItem(try dictIndex(top("SETITEM"), "SETITEM"), k, v)
            case 0x75: // SETITEMS
                let items = try popMark("SETITEMS")
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
                let d = try dictIndex(top("SETITEMS"), "SETITEMS")
                for j in stride(from: 0, to: items.count, by: 2) { setItem(d, items[j], items[j + 1]) }
            case 0x8F, 0x90, 0x91: // EMPTY_SET, ADDITEMS, FROZENSET: sets are not part of a state dict
                throw fail("sets are not allowed in a checkpoint (opcode 0x\(String(op, radix: 16)))")
            case 0x71: try memoize(Int(uint(UInt8.self, "BINPUT")))
            case 0x72: try memoize(Int(uint(UInt32.self, "LONG_BINPUT")))
            case 0x94: try memoize(memo.count) // MEMOIZE
            case 0x68: try memoGet(Int(uint(UInt8.self, "BINGET")))
            case 0x6A: try memoGet(Int(uint(UInt32.self, "LONG_BINGET")))
            case 0x63: // GLOBAL
                let module = try line("GLOBAL module"), name = try line("GLOBAL name")
                try pushIndex(resolver.global(module: module, name: name, machine: self))
            case 0x93: // STACK_GLOBAL
                let n = try pop("STACK_GLOBAL"), m = try pop("STACK_GLOBAL")
                guard case .string(let module) = values[m], case .string(let name) = values[n] else {
                    throw fail("STACK_GLOBAL needs two strings, got \(kind(m)) and \(kind(n))")
                }
                try pushIndex(resolver.global(module: module, name: name, machine: self))
            case 0x52: // REDUCE
                let args = try pop("REDUCE"), callable = try pop("REDUCE")
                guard case .tuple(let a) = values[args] else { throw fail("REDUCE arguments are a \(kind(args)), not a tuple") }
                try pushIndex(resolver.reduce(callable, arguments: a, machine: self))
            case 0x62: // BUILD
                let state = try pop("BUILD")
                try resolver.build(top("BUILD"), state: state, machine: self)
            case 0x81: // NEWOBJ
                let args = try pop("NEWOBJ"), cls = try pop("NEWOBJ")
                throw fail("NEWOBJ of \(kind(cls)) (arguments \(kind(args))) is not allowed")
            case 0x92: // NEWOBJ_EX
                _ = try pop("NEWOBJ_EX"); _ = try pop("NEWOBJ_EX"); let cls = try pop("NEWOBJ_EX")
                throw fail("NEWOBJ_EX of \(kind(cls)) is not allowed")
            case 0x51: // BINPERSID
                let pid = try pop("BINPERSID")
                try pushIndex(resolver.persistentLoad(pid, machine: self))
            default:
                throw fail("opcode 0x\(String(op, radix: 16)) at offset \(pos - 1) is not allowed in a checkpoint")
            }
        }
    }

    private func pushLong(_ n: Int) throws {
        let r = try take(n, "LONG")
        if n == 0 { return try push(.int(0)) }
        if n <= 8 {
            var v: UInt64 = 0
            for (k, i) in r.enumerated() { v |= UInt64(data[i]) << (8 * UInt64(k)) }
            if n < 8, data[r.upperBound - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) } // sign-extend
            return try push(.int(Int(Int64(bitPattern: v))))
        }
        try push(.bigInt(Array(data[r])))
    }

    // MARK: reading results

    /// The items of tuple or list `i`, or nil for other values.
    public func sequence(_ i: Int) -> [Int]? {
        switch values[i] {
        case .tuple(let t): return t
        case .list(let l): return lists[l]
        default: return nil
        }
    }
}

/// Decides what a pickle's code-running opcodes mean. Implementations refuse everything outside their
/// allow-list with an error that names the file and the callable.
public protocol PickleResolver {
    /// GLOBAL / STACK_GLOBAL `module.name`: returns the arena index of the value it stands for, or throws.
    func global(module: String, name: String, machine: PickleMachine) throws -> Int
    /// REDUCE: `callable(*arguments)`.
    func reduce(_ callable: Int, arguments: [Int], machine: PickleMachine) throws -> Int
    /// BUILD: `object.__setstate__(state)`.
    func build(_ object: Int, state: Int, machine: PickleMachine) throws
    /// BINPERSID: the object a persistent id stands for.
    func persistentLoad(_ pid: Int, machine: PickleMachine) throws -> Int
}
