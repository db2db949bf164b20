import Foundation

/// Unary element-wise primitives; each has a derivative rule in `Op.backward`.
public enum UnaryKind {
    case neg, exp, log, sqrt, abs, relu, sigmoid, tanh, silu, gelu, softplus
    case leakyRelu(Float)
    case scale(Float)
    case addScalar(Float)
    case pow(Float)

    /// The function value at `x`.
    @inline(__always) func apply(_ x: Float) -> Float {
        switch self {
        case .neg: return -x
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .abs: return Swift.abs(x)
        case .relu: return x > 0 ? x : 0
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        case .silu: return x / (1 + Foundation.exp(-x))
        case .gelu: return 0.5 * x * (1 + erf(x * 0.70710678118654752))   // (tensors run FastMath.gelu8)
        case .softplus: return x > 20 ? x : log1p(Foundation.exp(x))
        case .leakyRelu(let slope): return x > 0 ? x : x * slope
        case .scale(let c): return x * c
        case .addScalar(let c): return x + c
        case .pow(let p): return p == 2 ? x * x : Foundation.pow(x, p)
        }
    }

    /// Whether `derivative` reads the output (otherwise the output is not kept for backward).
    var derivativeUsesOutput: Bool {
        switch self {
        case .exp, .sqrt, .sigmoid, .tanh: return true
        default: return false
        }
    }

    /// The derivative at input `x` with output `y` (y is meaningful only when `derivativeUsesOutput`).
    @inline(__always) func derivative(_ x: Float, _ y: Float) -> Float {
        switch self {
        case .neg: return -1
        case .exp: return y
        case .log: return 1 / x
        case .sqrt: return 0.5 / y
        case .abs: return x > 0 ? 1 : (x < 0 ? -1 : 0)
        case .relu: return x > 0 ? 1 : 0
        case .sigmoid: return y * (1 - y)
        case .tanh: return 1 - y * y
        case .silu:
            let s = 1 / (1 + Foundation.exp(-x))
            return s * (1 + x * (1 - s))
        case .gelu:
            return 0.5 * (1 + erf(x * 0.70710678118654752)) + x * Foundation.exp(-0.5 * x * x) * 0.39894228040143268
        case .softplus: return x > 20 ? 1 : 1 / (1 + Foundation.exp(-x))
        case .leakyRelu(let slope): return x > 0 ? 1 : slope
        case .scale(let c): return c
        case .addScalar: return 1
        case .pow(let p): return p == 2 ? 2 * x : p * Foundation.pow(x, p - 1)
        }
    }
}

/// Binary element-wise primitives with numpy broadcasting.
enum BinaryKind {
    case add, sub, mul, div

    @inline(__always) func apply(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }
}

extension Tensor {
    /// Applies a unary primitive element-wise.
    func unary(_ kind: UnaryKind) -> Tensor {
        let out = Tensor.empty(shape)
        let x = storage.pointer, o = out.storage.pointer
        Parallel.forChunks(count) { range in
            switch kind {
            case .silu: FastMath.silu(x, o, range)
            case .sigmoid: FastMath.sigmoid(x, o, range)
            case .gelu: FastMath.map8(x, o, range) { FastMath.gelu8($0) }   // erfc fit: relative error ~1e-6
            default:
                for i in range { o[i] = kind.apply(x[i]) }
            }
        }
        return Tensor.record(out, [self], .unary(kind, output: kind.derivativeUsesOutput ? out : nil))
    }

    /// `grad * f'(x)` element-wise for the backward of a unary primitive.
    func unaryBackward(_ kind: UnaryKind, output: Tensor?, grad: Tensor) -> Tensor {
        let out = Tensor.empty(shape)
        let x = storage.pointer, y = (output ?? self).storage.pointer, g = grad.storage.pointer, o = out.storage.pointer
        Parallel.forChunks(count) { range in
            if case .silu = kind {
                FastMath.siluBackward(x, g, o, range)
            } else if case .gelu = kind {
                FastMath.geluBackward(x, g, o, range)
            } else {
                for i in range { o[i] = g[i] * kind.derivative(x[i], y[i]) }
            }
        }
        return out
    }

    /// Applies a binary primitive with broadcasting; throws when the shapes do not broadcast.
    func binary(_ kind: BinaryKind, _ other: Tensor, name: String) throws -> Tensor {
        let outShape = try Broadcast.shape(shape, other.shape, op: name)
        let out = Tensor.empty(outShape)
        // Half operands (a bias stored as bf16) are read through per-call float32 scratch, never through
        // `storage.pointer`, which would keep a float32 copy of the weight alive.
        withF32 { a in other.withF32 { b in binaryKernel(kind, a, other, b, out) } }
        return Tensor.record(out, [self, other], .binary(kind))
    }

    /// out = kind(a, b) with broadcasting, over float32 views of self (`a`) and other (`b`).
    private func binaryKernel(_ kind: BinaryKind, _ a: UnsafePointer<Float>, _ other: Tensor, _ b: UnsafePointer<Float>,
                              _ out: Tensor) {
        let outShape = out.shape, o = out.storage.pointer
        if shape == other.shape {
            Parallel.forChunks(count) { range in
                for i in range { o[i] = kind.apply(a[i], b[i]) }
            }
        } else if other.count == 1 && outShape == shape {
            let s = b[0]
            Parallel.forChunks(count) { range in
                for i in range { o[i] = kind.apply(a[i], s) }
            }
        } else {
            let r = outShape.count
            let sa = Broadcast.strides(shape, in: outShape), sb = Broadcast.strides(other.shape, in: outShape)
            let last = outShape[r - 1], la = sa[r - 1], lb = sb[r - 1]
            let rows = out.count / Swift.max(last, 1)
            Parallel.forChunks(rows, grain: Swift.max(1, Parallel.grain / Swift.max(last, 1))) { range in
                for row in range {
                    var rest = row, oa = 0, ob = 0
                    for d in stride(from: r - 2, through: 0, by: -1) {
                        let i = rest % outShape[d]
                        rest /= outShape[d]
                        oa += i * sa[d]; ob += i * sb[d]
                    }
                    let base = o + row * last
                    if la == 1 && lb == 1 {                  // e.g. a bias (C) added to rows (..., C)
                        Self.rowKernel(kind, base, a + oa, b + ob, last)
                    } else if la == 1 && lb == 0 {           // e.g. a row statistic (..., 1) applied to its row
                        Self.rowKernel(kind, base, a + oa, b[ob], last)
                    } else {
                        for j in 0..<last { base[j] = kind.apply(a[oa + j * la], b[ob + j * lb]) }
                    }
                }
            }
        }
    }

    /// o[j] = kind(a[j], b[j]) for j in 0..<n, with the kind chosen outside the loop (so the loop vectorises).
    @inline(__always)
    private static func rowKernel(_ kind: BinaryKind, _ o: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                                  _ b: UnsafePointer<Float>, _ n: Int) {
        switch kind {
        case .add: for j in 0..<n { o[j] = a[j] + b[j] }
        case .sub: for j in 0..<n { o[j] = a[j] - b[j] }
        case .mul: for j in 0..<n { o[j] = a[j] * b[j] }
        case .div: for j in 0..<n { o[j] = a[j] / b[j] }
        }
    }

    /// o[j] = kind(a[j], s) for j in 0..<n.
    @inline(__always)
    private static func rowKernel(_ kind: BinaryKind, _ o: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>,
                                  _ s: Float, _ n: Int) {
        switch kind {
        case .add: for j in 0..<n { o[j] = a[j] + s }
        case .sub: for j in 0..<n { o[j] = a[j] - s }
        case .mul: for j in 0..<n { o[j] = a[j] * s }
        case .div: for j in 0..<n { o[j] = a[j] / s }
        }
    }

    /// Element-wise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.add, b, name: "add") }
    /// Element-wise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.sub, b, name: "sub") }
    /// Element-wise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.mul, b, name: "mul") }
    /// Element-wise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(.div, b, name: "div") }
    /// Adds a constant.
    public static func + (a: Tensor, c: Float) -> Tensor { a.unary(.addScalar(c)) }
    /// Subtracts a constant.
    public static func - (a: Tensor, c: Float) -> Tensor { a.unary(.addScalar(-c)) }
    /// Multiplies by a constant.
    public static func * (a: Tensor, c: Float) -> Tensor { a.unary(.scale(c)) }
    /// Multiplies by a constant.
    public static func * (c: Float, a: Tensor) -> Tensor { a.unary(.scale(c)) }
    /// Divides by a constant.
    public static func / (a: Tensor, c: Float) -> Tensor { a.unary(.scale(1 / c)) }
    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor { a.unary(.neg) }

    /// Element-wise e^x.
    public func exp() -> Tensor { unary(.exp) }
    /// Element-wise natural logarithm.
    public func log() -> Tensor { unary(.log) }
    /// Element-wise square root.
    public func sqrt() -> Tensor { unary(.sqrt) }
    /// Element-wise absolute value.
    public func abs() -> Tensor { unary(.abs) }
    /// Element-wise power with a constant exponent.
    public func pow(_ p: Float) -> Tensor { unary(.pow(p)) }
    /// max(x, 0).
    public func relu() -> Tensor { unary(.relu) }
    /// x for x > 0, slope * x otherwise.
    public func leakyRelu(_ slope: Float = 0.01) -> Tensor { unary(.leakyRelu(slope)) }
    /// 1 / (1 + e^-x).
    public func sigmoid() -> Tensor { unary(.sigmoid) }
    /// Hyperbolic tangent.
    public func tanh() -> Tensor { unary(.tanh) }
    /// x * sigmoid(x) (SiLU / swish).
    public func silu() -> Tensor { unary(.silu) }
    /// GELU with the exact erf form (PyTorch's default).
    public func gelu() -> Tensor { unary(.gelu) }
    /// log(1 + e^x), linear above 20 as in PyTorch.
    public func softplus() -> Tensor { unary(.softplus) }
}
