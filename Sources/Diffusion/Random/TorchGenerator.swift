import Foundation

/// A random generator that draws exactly what `torch.Generator("cpu").manual_seed(seed)` draws, so that a seed
/// gives diffusers' latents and scheduler noise bit for bit.
///
/// - `randn(count:)` is `torch.randn(n, generator=g)` in float32: 16 or more elements take torch's vectorised
///   Box-Muller fill (x86-64 builds; see `TorchBoxMuller`), fewer take its scalar double-precision path, which
///   caches the second normal of each pair in the generator for the next scalar draw.
/// - `rand(count:)` is `torch.rand(n, generator=g)`: one 32-bit draw per element, 24 bits of it.
/// - The state (Mersenne Twister words and the cached normal) carries over between calls, as torch's does, so a
///   sequence of draws in diffusers' order reproduces diffusers' sequence.
///
/// A reference type, like `torch.Generator`: the pipeline and its scheduler share one. Not safe to use from two
/// threads at once; every draw is serial, so results never depend on the thread count.
///
/// Without AVX2 torch runs a generic float kernel with the platform's `logf`/`sinf`/`cosf` instead, whose values
/// differ from the AVX2 kernel's in the last bits; `normalKernel = .generic` follows it (checked against torch with
/// `ATEN_CPU_CAPABILITY=default`; arm64 builds compile the same source, not verified on such a machine here).
public final class TorchGenerator {
    /// Which of torch's float32 `normal_` kernels `randn` reproduces for 16 or more elements.
    public enum NormalKernel: String, CaseIterable {
        /// torch's x86-64 kernel (AVX2, also used on AVX-512 machines): diffusers' noise on Intel and AMD CPUs.
        case x86AVX2
        /// torch's generic kernel (`ATEN_CPU_CAPABILITY=default`, and the source builds without AVX2 such as arm64
        /// compile), with this platform's `logf`/`sinf`/`cosf`: equal to torch where it uses the same math library.
        case generic
    }

    /// The kernel `randn` follows; `x86AVX2` unless set.
    public var normalKernel: NormalKernel = .x86AVX2
    private var engine: MersenneTwister
    /// torch's `next_double_normal_sample_`: the sine half of the last scalar Box-Muller pair, unscaled.
    private var cachedNormal: Double?
    /// The seed last given (`torch.Generator.initial_seed()`); only its low 32 bits reach the twister.
    public private(set) var initialSeed: UInt64

    /// A generator seeded with `seed`, as `torch.Generator("cpu").manual_seed(seed)`.
    public init(seed: UInt64) {
        engine = MersenneTwister(seed: seed)
        initialSeed = seed
    }

    /// A generator seeded with a signed seed; negative seeds are taken as torch takes them (two's complement).
    public convenience init(seed: Int) {
        self.init(seed: UInt64(bitPattern: Int64(seed)))
    }

    /// Reseeds in place (`manual_seed`): a fresh twister and no cached normal.
    public func manualSeed(_ seed: UInt64) {
        engine = MersenneTwister(seed: seed)
        cachedNormal = nil
        initialSeed = seed
    }

    /// An independent copy with the same state (`torch.Generator.clone_state`-like): both continue identically.
    public func copy() -> TorchGenerator {
        let other = TorchGenerator(seed: initialSeed)
        other.engine = engine
        other.cachedNormal = cachedNormal
        other.normalKernel = normalKernel
        return other
    }

    // MARK: Raw draws

    /// 32 random bits (torch's `CPUGeneratorImpl::random`).
    public func random32() -> UInt32 { engine.next() }

    /// 64 random bits from two draws, the first as the high word (torch's `random64`).
    public func random64() -> UInt64 {
        let high = UInt64(engine.next())
        let low = UInt64(engine.next())
        return high << 32 | low
    }

    /// A float32 uniform in [0, 1): the low 24 bits of one draw over 2^24.
    func uniformFloat() -> Float {
        Float(random32() & 0x00FF_FFFF) * (1.0 / 16_777_216.0)
    }

    /// A float64 uniform in [0, 1): the low 53 bits of `random64()` over 2^53.
    func uniformDouble() -> Double {
        Double(random64() & ((1 << 53) - 1)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// One normal from torch's scalar `normal_distribution<double>`: the cached sine half when there is one,
    /// otherwise a new pair from two double uniforms (u1 sets the angle, u2 the radius through `log1p(-u2)`).
    func scalarNormal(mean: Double, std: Double) -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached * std + mean
        }
        let u1 = uniformDouble()
        let u2 = uniformDouble()
        let radius = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = radius * Foundation.sin(theta)
        return radius * Foundation.cos(theta) * std + mean
    }

    // MARK: Fills

    /// Fills `out` as `torch.Tensor.normal_(mean, std, generator=g)` fills a contiguous float32 tensor.
    public func fillNormal(_ out: UnsafeMutableBufferPointer<Float>, mean: Float = 0, std: Float = 1) {
        guard let data = out.baseAddress else { return }
        let n = out.count
        if n < 16 {
            for i in 0..<n { out[i] = Float(scalarNormal(mean: Double(mean), std: Double(std))) }
            return
        }
        let transform = normalKernel == .x86AVX2 ? TorchBoxMuller.transform16 : TorchBoxMuller.transform16Generic
        for i in 0..<n { data[i] = uniformFloat() }
        var start = 0
        while start + 16 <= n {
            transform(data + start, mean, std)
            start += 16
        }
        if n % 16 != 0 {
            // torch redraws the last 16 elements (overlapping the last full block) and transforms them again.
            let tail = data + (n - 16)
            for i in 0..<16 { tail[i] = uniformFloat() }
            transform(tail, mean, std)
        }
    }

    /// Fills `out` as `torch.Tensor.uniform_(low, high, generator=g)` fills a float32 tensor.
    public func fillUniform(_ out: UnsafeMutableBufferPointer<Float>, low: Float = 0, high: Float = 1) {
        let width = high - low
        for i in 0..<out.count { out[i] = low.addingProduct(uniformFloat(), width) }
    }

    /// `count` standard normals, as `torch.randn(count, generator=g)` (float32).
    public func randn(count: Int) -> [Float] {
        var values = [Float](repeating: 0, count: Swift.max(0, count))
        values.withUnsafeMutableBufferPointer { fillNormal($0) }
        return values
    }

    /// `count` uniforms in [0, 1), as `torch.rand(count, generator=g)` (float32).
    public func rand(count: Int) -> [Float] {
        var values = [Float](repeating: 0, count: Swift.max(0, count))
        values.withUnsafeMutableBufferPointer { fillUniform($0) }
        return values
    }
}
