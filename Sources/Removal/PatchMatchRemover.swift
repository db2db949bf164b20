import Imaging

/// Multi-scale PatchMatch exemplar inpainting: the default remover.
///
/// The hole is filled with pixels copied from elsewhere in the image, so texture survives where diffusion
/// (``TeleaRemover``) blurs. It follows Barnes et al. (2009) for the nearest-neighbour search
/// (propagation and random search) and Wexler et al. (2007) for the reconstruction (every patch that
/// covers a pixel votes, weighted by how well it matched), coarse to fine over an image pyramid that goes
/// down until the hole is about 1.5 patches thick (``PatchPyramid``), so that structure crossing the hole
/// is decided where a patch spans it; the coarsest level starts from a Telea fill. Source patches lie
/// entirely outside the hole.
///
/// Copying pays only where the surroundings repeat. By default (``adaptive``) the fill is mixed, pixel by
/// pixel, with a smooth membrane fill (``HarmonicFill``) by how well patches around the hole are predicted
/// by copies from elsewhere (``CopyReliability``): stripes and tiles keep their copied texture, while on
/// photos, where copies predict the surroundings only in part, the two are mixed about half and half,
/// which on the bench photos scores a higher masked SSIM than either alone and a masked PSNR above the
/// smooth fill's (the patch search is skipped where the share is 1 everywhere).
///
/// The result depends only on the inputs and `seed`, not on the number of threads.
public struct PatchMatchRemover: Remover {
    /// Side of the square patches, in pixels (odd, at least 3).
    public let patchSize: Int
    /// Search-and-vote rounds at the finest level; coarser levels run a few more.
    public let iterations: Int
    /// Seed of the random search; the same seed gives the same output.
    public let seed: UInt64
    /// Largest side worked at; larger crops are downscaled by ``Remover/remove(_:mask:strategy:)``.
    public let workingSize: Int?
    /// Least share, in [0, 1], of a smooth membrane (harmonic) fill mixed into every hole pixel. 0 (with
    /// `adaptive` off) keeps the copied texture whole; 1 gives the membrane fill alone.
    public let smoothing: Double
    /// Whether each hole pixel's share of the smooth fill is raised to what the surroundings call for
    /// (``CopyReliability``): none where patches around the hole repeat exactly (stripes, tiles), more where
    /// they do not (on photos, where copied texture that does not line up with the truth costs more than a
    /// smooth guess, about half). `smoothing` stays the least share.
    public let adaptive: Bool

    /// Always `"patchmatch"`.
    public var name: String { "patchmatch" }

    /// A PatchMatch remover. An even `patchSize` is rounded up to the next odd size, and sizes below 3
    /// become 3; `iterations` below 1 become 1; a `workingSize` below 16 becomes 16; `smoothing` is
    /// clamped to [0, 1]; `adaptive: false` mixes exactly `smoothing` everywhere.
    public init(patchSize: Int = 7, iterations: Int = 4, seed: UInt64 = 0, workingSize: Int? = 1024,
                smoothing: Double = 0, adaptive: Bool = true) {
        let odd = patchSize % 2 == 0 ? patchSize + 1 : patchSize
        self.patchSize = max(3, odd)
        self.iterations = max(1, iterations)
        self.seed = seed
        self.workingSize = workingSize.map { max(16, $0) }
        self.smoothing = smoothing.isFinite ? min(max(smoothing, 0), 1) : 0
        self.adaptive = adaptive
    }

    /// Fills the masked pixels of `image` from patches of its unmasked part, mixed with a smooth fill where
    /// copying does not predict the surroundings (see ``adaptive``); unmasked pixels are returned unchanged.
    /// Images smaller than a patch fall back to a Telea fill.
    public func inpaint(_ image: Image, mask: Mask) throws -> Image {
        guard try RemovalInput.needsFill(image, mask: mask, remover: name) else { return image }
        let hole = mask.values.map { $0 >= 0.5 }
        // (height, width): each hole pixel's share of the smooth fill.
        var share = [Float](repeating: Float(smoothing), count: hole.count)
        if adaptive, let measured = CopyReliability.smoothShare(image: Plane(image), hole: hole,
                                                                 radius: patchSize / 2, seed: seed) {
            for p in 0..<hole.count where hole[p] { share[p] = max(share[p], min(1, CopyReliability.gain * measured[p])) }
        }
        var needsPatches = false, needsSmooth = false
        for p in 0..<hole.count where hole[p] {
            if share[p] < 1 { needsPatches = true }
            if share[p] > 0 { needsSmooth = true }
        }
        var pixels = needsPatches ? patchFill(image, hole: hole) : image.pixels
        if needsSmooth {
            var smooth = Plane(image)
            HarmonicFill.fill(&smooth, hole: hole)
            for p in 0..<hole.count where hole[p] && share[p] > 0 {
                for k in 0..<image.channels {
                    let i = p * image.channels + k
                    pixels[i] += share[p] * (smooth.data[i] - pixels[i])
                }
            }
        }
        return try Image(width: image.width, height: image.height, channels: image.channels, pixels: pixels)
    }

    /// The PatchMatch fill alone, coarse to fine: `(height, width, channels)` samples, hole pixels filled.
    private func patchFill(_ image: Image, hole: [Bool]) -> [Float] {
        let pyramid = PatchPyramid.build(image: Plane(image), hole: hole, patchSize: patchSize)
        let radius = patchSize / 2
        var previous: PatchLevel?
        for depth in stride(from: pyramid.count - 1, through: 0, by: -1) {
            let floor = pyramid[depth]
            var estimate = floor.plane
            if let coarse = previous {
                PatchPyramid.fillHole(&estimate, hole: floor.hole, from: coarse)
            } else {
                TeleaFill.fill(&estimate, hole: floor.hole, radius: 3)
            }
            let level = PatchLevel(width: estimate.width, height: estimate.height, channels: estimate.channels,
                                   radius: radius, image: estimate.data, hole: floor.hole)
            defer { previous = level }
            guard level.canMatch else { continue }

            let levelSeed = PatchRandom.mix(seed &+ UInt64(depth) &* 0x1000_0000_01B3)
            if let coarse = previous, coarse.canMatch {
                level.upsampleField(from: coarse, seed: levelSeed)
            } else {
                level.randomizeField(seed: levelSeed)
            }
            let rounds = iterations + min(depth, 2) * 2
            for round in 0..<rounds {
                level.refreshCosts()
                level.search(forward: round % 2 == 0, seed: levelSeed, pass: round)
                level.vote()
            }
        }
        return previous?.estimate() ?? image.pixels
    }
}
