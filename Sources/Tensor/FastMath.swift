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
}
