/// Branch-free float32 exponential that the compiler vectorises in plain loops (used by SiLU and sigmoid):
/// Cody-Waite range reduction e^x = 2^n e^r with |r| <= ln2/2 and a degree-6 polynomial; relative error about
/// 2e-7. Inputs are clamped to [-87, 88], so results stay finite (e^-87 ~ 1.6e-38 stands in for 0).
enum FastMath {
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87), 88)
        // Adding 1.5 * 2^23 rounds x / ln2 to an integer held in the low mantissa bits of t.
        let t = xc * 1.442695040888963 + 12_582_912
        let n = t - 12_582_912
        var r = xc - n * 0.693145751953125
        r -= n * 1.428606765330187e-06
        var p: Float = 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        let scale = Float(bitPattern: ((t.bitPattern &- 0x4B40_0000) &<< 23) &+ 0x3F80_0000)
        return p * scale
    }

    /// o[i] = x[i] * sigmoid(x[i]) over `range`.
    static func silu(_ x: UnsafeMutablePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        for i in range { let v = x[i]; o[i] = v / (1 + exp(-v)) }
    }

    /// o[i] = sigmoid(x[i]) over `range`.
    static func sigmoid(_ x: UnsafeMutablePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        for i in range { o[i] = 1 / (1 + exp(-x[i])) }
    }

    /// o[i] = g[i] * d/dx silu(x[i]) over `range`.
    static func siluBackward(_ x: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                             _ o: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        for i in range {
            let v = x[i], s = 1 / (1 + exp(-v))
            o[i] = g[i] * s * (1 + v * (1 - s))
        }
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Eight floats from `self + i` (unaligned).
    @inline(__always) func loadV(_ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Stores eight floats at `self + i` (unaligned).
    @inline(__always) func storeV(_ v: SIMD8<Float>, _ i: Int) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}

extension FastMath {
    /// `exp` on eight lanes at once (the same reduction and polynomial, so each lane equals `exp` of it).
    @inline(__always)
    static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let xc = x.clamped(lowerBound: SIMD8(repeating: -87), upperBound: SIMD8(repeating: 88))
        let t = xc * 1.442695040888963 + 12_582_912
        let n = t - 12_582_912
        var r = xc - n * 0.693145751953125
        r -= n * 1.428606765330187e-06
        var p = SIMD8<Float>(repeating: 1.0 / 720.0)
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        let bits = ((unsafeBitCast(t, to: SIMD8<UInt32>.self) &- 0x4B40_0000) &<< 23) &+ 0x3F80_0000
        return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }
}

extension FastMath {
    /// erfc(z) for z >= 0 on eight lanes (Numerical Recipes' Chebyshev fit, fractional error below 1.2e-7 in
    /// exact arithmetic; about 1e-6 in float32), so 1 + erf keeps its relative accuracy in both tails.
    @inline(__always)
    static func erfc8(nonNegative z: SIMD8<Float>) -> SIMD8<Float> {
        let t = 1 / (1 + 0.5 * z)
        var p = SIMD8<Float>(repeating: 0.17087277)
        p = p * t - 0.82215223
        p = p * t + 1.48851587
        p = p * t - 1.13520398
        p = p * t + 0.27886807
        p = p * t - 0.18628806
        p = p * t + 0.09678418
        p = p * t + 0.37409196
        p = p * t + 1.00002368
        p = p * t - 1.26551223
        return t * exp8(p - z * z)
    }

    /// SiLU x * sigmoid(x) on eight lanes.
    @inline(__always)
    static func silu8(_ x: SIMD8<Float>) -> SIMD8<Float> { x / (1 + exp8(-x)) }

    /// GELU, exact form 0.5 x (1 + erf(x / sqrt 2)), on eight lanes.
    @inline(__always)
    static func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let z = x * 0.70710678118654752
        let tail = erfc8(nonNegative: z.replacing(with: -z, where: z .< 0))   // erfc(|z|)
        let onePlusErf = tail.replacing(with: 2 - tail, where: x .>= 0)
        return 0.5 * x * onePlusErf
    }

    /// GELU, tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), written as x / (1 + exp(-2u)), which is
    /// the same function without tanh's cancellation near -1.
    @inline(__always)
    static func geluTanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        return x / (1 + exp8(-2 * u))
    }
}

extension FastMath {
    /// d/dx of the exact GELU on eight lanes: 0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi), with erf from
    /// the same erfc fit as `gelu8` (relative error about 1e-6).
    @inline(__always)
    static func geluDerivative8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let z = x * 0.70710678118654752
        let tail = erfc8(nonNegative: z.replacing(with: -z, where: z .< 0))
        let onePlusErf = tail.replacing(with: 2 - tail, where: x .>= 0)
        return 0.5 * onePlusErf + x * exp8(-0.5 * x * x) * 0.39894228040143268
    }

    /// o[i] = f(x[i]) over `range` eight lanes at a time; the last partial block runs through the same lanes on a
    /// padded copy, so every element gets the same function.
    @inline(__always)
    static func map8(_ x: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, _ range: Range<Int>,
                     _ f: (SIMD8<Float>) -> SIMD8<Float>) {
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            UnsafeMutableRawPointer(o + i).storeBytes(of: f(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)),
                                                      as: SIMD8<Float>.self)
            i += 8
        }
        if i < range.upperBound {
            var v = SIMD8<Float>()
            for j in 0..<(range.upperBound - i) { v[j] = x[i + j] }
            let r = f(v)
            for j in 0..<(range.upperBound - i) { o[i + j] = r[j] }
        }
    }

    /// o[i] = g[i] * gelu'(x[i]) over `range` (`geluDerivative8`, the tail on a padded copy).
    static func geluBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>,
                             _ range: Range<Int>) {
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let d = geluDerivative8(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
            UnsafeMutableRawPointer(o + i).storeBytes(of: d * UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self),
                                                      as: SIMD8<Float>.self)
            i += 8
        }
        if i < range.upperBound {
            var v = SIMD8<Float>()
            for j in 0..<(range.upperBound - i) { v[j] = x[i + j] }
            let d = geluDerivative8(v)
            for j in 0..<(range.upperBound - i) { o[i + j] = g[i + j] * d[j] }
        }
    }
}
