import Foundation

/// The float32 Box-Muller transform of PyTorch's vectorised CPU `normal_` (x86-64 builds, the AVX2 kernel that
/// also serves AVX-512 machines): eight pairs of uniforms at a time become sixteen normals, with the Cephes-style
/// `log` and `sincos` polynomials of `avx_mathfun.h` evaluated in float32.
///
/// The arithmetic follows the compiled reference operation for operation, including the multiply-adds that GCC
/// fuses there (found by disassembly and confirmed on millions of draws), so results are bit-identical to torch's.
enum TorchBoxMuller {
    /// Turns 16 uniforms in [0, 1) at `data` into normals with `mean` and `std`: for j in 0..<8,
    /// `u1 = 1 - data[j]`, `u2 = data[j + 8]`, `r = sqrt(-2 log u1)`, `θ = 2π u2`,
    /// `data[j] = r cos θ * std + mean`, `data[j + 8] = r sin θ * std + mean`.
    static func transform16(_ data: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        let twoPi = Float(2.0 * Double.pi)
        for j in 0..<8 {
            let u1: Float = 1 - data[j]
            let u2 = data[j + 8]
            let radius = (-2 * log(u1)).squareRoot()
            let (sine, cosine) = sincos(twoPi * u2)
            data[j] = mean.addingProduct(radius * cosine, std)
            data[j + 8] = mean.addingProduct(radius * sine, std)
        }
    }

    /// The same transform as torch's generic kernel computes it (`normal_fill_16` in builds without AVX2, such as
    /// arm64, or with `ATEN_CPU_CAPABILITY=default`): the platform's float32 `log`, `sin` and `cos`, the angle
    /// rounded from double precision.
    static func transform16Generic(_ data: UnsafeMutablePointer<Float>, mean: Float, std: Float) {
        let twoPi = 2.0 * Double.pi
        for j in 0..<8 {
            let u1: Float = 1 - data[j]
            let u2 = data[j + 8]
            let radius = (-2 * Foundation.log(u1)).squareRoot()
            let theta = Float(twoPi * Double(u2))
            data[j] = radius * Foundation.cos(theta) * std + mean
            data[j + 8] = radius * Foundation.sin(theta) * std + mean
        }
    }

    /// Natural logarithm for x in (0, 1] (the domain Box-Muller needs): exponent and mantissa in [√½, √2), a
    /// degree-9 polynomial in the mantissa, ln 2 split in two parts. Non-positive x gives NaN, as the reference.
    static func log(_ input: Float) -> Float {
        if !(input > 0) { return .nan }
        let clamped = Swift.max(input, Float(bitPattern: 0x0080_0000))  // below the smallest normal: cut off
        let exponentBits = Int32(bitPattern: clamped.bitPattern >> 23) - 0x7F
        var x = Float(bitPattern: (clamped.bitPattern & ~0x7F80_0000) | Float(0.5).bitPattern)  // in [0.5, 1)
        var e = Float(exponentBits) + 1
        let below = x < 0.707106781186547524
        let addBack: Float = below ? x : 0
        x = x - 1
        e = e - (below ? 1 : 0)
        x = x + addBack
        let z = x * x
        var y: Float = 7.0376836292e-2
        for c: Float in [-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                         -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1] {
            y = c.addingProduct(y, x)
        }
        y = y * x
        y = (e * -2.12194440e-4).addingProduct(y, z)
        y = y.addingProduct(-z, 0.5)
        return (x + y).addingProduct(e, 0.693359375)
    }

    /// Sine and cosine for a non-negative argument of moderate size (here θ in [0, 2π)): reduction by π/4 in
    /// three parts (Cody-Waite), then the Cephes sine and cosine polynomials, chosen and signed by the octant.
    static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        let signOfInput = input.bitPattern & 0x8000_0000
        var x = Swift.abs(input)
        let scaled = x * 1.27323954473516  // 4 / π
        // (j + 1) & ~1, from the truncated quotient; arguments here are far below Int32's range
        let j = (Int32(scaled.isFinite && scaled < 2e9 ? scaled : 0) &+ 1) & ~1
        let y = Float(j)
        let sineSign = signOfInput ^ (UInt32(bitPattern: j & 4) << 29)
        let cosineSign = UInt32(bitPattern: ~(j &- 2) & 4) << 29
        let cosinePolynomialIsSine = (j & 2) == 0
        x = x.addingProduct(y, -0.78515625)
        x = x.addingProduct(y, -2.4187564849853515625e-4)
        x = x.addingProduct(y, -3.77489497744594108e-8)

        let z = x * x
        var cosine: Float = 2.443315711809948e-5
        cosine = Float(-1.388731625493765e-3).addingProduct(cosine, z)
        cosine = Float(4.166664568298827e-2).addingProduct(cosine, z)
        cosine = cosine * z
        cosine = (-(z * 0.5)).addingProduct(cosine, z)
        cosine = cosine + 1

        var sine: Float = -1.9515295891e-4
        sine = Float(8.3321608736e-3).addingProduct(sine, z)
        sine = Float(-1.6666654611e-1).addingProduct(sine, z)
        sine = sine * z
        sine = x.addingProduct(sine, x)

        // In octants where (j & 2) == 0 the sine polynomial gives the sine; otherwise the two swap.
        let sinMagnitude = cosinePolynomialIsSine ? sine : cosine
        let cosMagnitude = cosinePolynomialIsSine ? cosine : sine
        return (Float(bitPattern: sinMagnitude.bitPattern ^ sineSign), Float(bitPattern: cosMagnitude.bitPattern ^ cosineSign))
    }
}
