import CKernels

/// Conversions between float32 and the half-precision formats, bit-exact with PyTorch: float32 to f16 and bf16
/// round to nearest, ties to even; NaN stays NaN (quiet), overflow goes to infinity, subnormals are kept.
public enum HalfConversion {
    /// float32 -> bfloat16 bits, round to nearest even (as `torch.Tensor.to(torch.bfloat16)`).
    @inlinable @inline(__always)
    public static func bf16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounding = 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// bfloat16 bits -> float32 (exact).
    @inlinable @inline(__always)
    public static func float(bf16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// float32 -> IEEE half bits, round to nearest even (as `torch.Tensor.to(torch.float16)`).
    @inlinable @inline(__always)
    public static func f16Bits(_ x: Float) -> UInt16 {
        var f = x.bitPattern
        let sign = f & 0x8000_0000
        f ^= sign
        let out: UInt32
        if f >= 0x4780_0000 {                           // >= 65536: overflow to inf, or inf/NaN
            out = f > 0x7F80_0000 ? 0x7E00 : 0x7C00
        } else if f < 0x3880_0000 {                     // below the smallest normal half (2^-14): subnormal or 0
            // Adding 0.5 (2^-1) aligns the half's subnormal steps with float32's last mantissa bits, and the FPU
            // rounds to nearest even on the way.
            let magic = Float(bitPattern: 0x3F00_0000)
            out = (Float(bitPattern: f) + magic).bitPattern &- magic.bitPattern
        } else {
            let odd = (f >> 13) & 1
            var g = f &+ 0xC800_0FFF                    // re-bias the exponent (15 - 127) << 23, plus 0xFFF to round
            g = g &+ odd
            out = g >> 13
        }
        return UInt16(truncatingIfNeeded: out | (sign >> 16))
    }

    /// IEEE half bits -> float32 (exact).
    @inlinable @inline(__always)
    public static func float(f16 h: UInt16) -> Float {
        let h32 = UInt32(h)
        var o = (h32 & 0x7FFF) << 13
        let exp = o & 0x0F80_0000
        o = o &+ 0x3800_0000                            // (127 - 15) << 23
        if exp == 0x0F80_0000 {                         // inf or NaN
            o = o &+ 0x3800_0000
        } else if exp == 0 {                            // zero or subnormal: renormalise through the FPU
            o = o &+ 0x0080_0000
            o = (Float(bitPattern: o) - Float(bitPattern: 0x3880_0000)).bitPattern
        }
        return Float(bitPattern: o | ((h32 & 0x8000) << 16))
    }
}

extension ElementType {
    /// Element `i` of `base` (little-endian, possibly unaligned) as float32.
    @inline(__always)
    func float(at i: Int, in base: UnsafeRawPointer) -> Float {
        switch self {
        case .f32: return Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .f16: return HalfConversion.float(f16: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .bf16: return HalfConversion.float(bf16: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .f64: return Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case .i64: return Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case .i32: return Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .i16: return Float(Int16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
        case .i8: return Float(base.load(fromByteOffset: i, as: Int8.self))
        case .u8, .bool: return Float(base.load(fromByteOffset: i, as: UInt8.self))
        }
    }
}

/// Bulk conversion of `count` elements between buffers, in parallel chunks (each element is converted on its own,
/// so the result is the same for any thread count).
enum BulkConvert {
    /// Whether f16 -> f32 runs the F16C kernel `ck_f16_to_f32` (chosen once from the CPU's features).
    static let hardwareHalf = ck_has_f16c() != 0

    /// `count` f16 or bf16 values (`type`) as float32, on this thread. f16 runs the F16C kernel where the CPU has it
    /// (8 conversions per instruction, bit-identical to the loop: tested exhaustively).
    @inline(__always)
    static func widen(_ src: UnsafePointer<UInt16>, _ type: ElementType, into dst: UnsafeMutablePointer<Float>, count: Int) {
        if type == .bf16 {
            for i in 0..<count { dst[i] = HalfConversion.float(bf16: src[i]) }
        } else if hardwareHalf {
            ck_f16_to_f32(src, dst, count)
        } else {
            for i in 0..<count { dst[i] = HalfConversion.float(f16: src[i]) }
        }
    }

    /// Converts `count` elements of type `from` at `src` (unaligned allowed) into `to`-typed elements at `dst`.
    static func run(_ src: UnsafeRawPointer, from: ElementType, _ dst: UnsafeMutableRawPointer, to: DType, count: Int) {
        if from.dtype == to {
            Parallel.forChunks(count * to.size, grain: 1 << 22) { r in
                (dst + r.lowerBound).copyMemory(from: src + r.lowerBound, byteCount: r.count)
            }
            return
        }
        switch (from, to) {
        case (.f32, .bf16) where Int(bitPattern: src) % 4 == 0:
            let s = src.assumingMemoryBound(to: Float.self), d = dst.assumingMemoryBound(to: UInt16.self)
            Parallel.forChunks(count) { r in for i in r { d[i] = HalfConversion.bf16Bits(s[i]) } }
        case (.f32, .f16) where Int(bitPattern: src) % 4 == 0:
            let s = src.assumingMemoryBound(to: Float.self), d = dst.assumingMemoryBound(to: UInt16.self)
            Parallel.forChunks(count) { r in for i in r { d[i] = HalfConversion.f16Bits(s[i]) } }
        case (.bf16, .f32) where Int(bitPattern: src) % 2 == 0:
            let s = src.assumingMemoryBound(to: UInt16.self), d = dst.assumingMemoryBound(to: Float.self)
            Parallel.forChunks(count) { r in widen(s + r.lowerBound, .bf16, into: d + r.lowerBound, count: r.count) }
        case (.f16, .f32) where Int(bitPattern: src) % 2 == 0:
            let s = src.assumingMemoryBound(to: UInt16.self), d = dst.assumingMemoryBound(to: Float.self)
            if hardwareHalf {
                Parallel.forChunks(count, grain: 1 << 18) { r in widen(s + r.lowerBound, .f16, into: d + r.lowerBound, count: r.count) }
            } else {
                Parallel.forChunks(count) { r in widen(s + r.lowerBound, .f16, into: d + r.lowerBound, count: r.count) }
            }
        default:
            // General path: through float32, unaligned-safe. (f16 <-> bf16 goes through float32 exactly, as in
            // PyTorch: every f16 is representable in f32, then rounded once.)
            switch to {
            case .f32:
                let d = dst.assumingMemoryBound(to: Float.self)
                Parallel.forChunks(count) { r in for i in r { d[i] = from.float(at: i, in: src) } }
            case .f16:
                let d = dst.assumingMemoryBound(to: UInt16.self)
                Parallel.forChunks(count) { r in for i in r { d[i] = HalfConversion.f16Bits(from.float(at: i, in: src)) } }
            case .bf16:
                let d = dst.assumingMemoryBound(to: UInt16.self)
                Parallel.forChunks(count) { r in for i in r { d[i] = HalfConversion.bf16Bits(from.float(at: i, in: src)) } }
            }
        }
    }
}
