import Foundation

/// The numpy computations diffusers uses to place inference timesteps and sigmas, in float64 as numpy does them.
enum NumpySpacing {
    /// `np.linspace(start, stop, num, endpoint:)`: `i * step + start`, the last value set to `stop` exactly.
    static func linspace(_ start: Double, _ stop: Double, _ num: Int, endpoint: Bool = true) -> [Double] {
        guard num > 0 else { return [] }
        let div = Double(endpoint ? num - 1 : num)
        let step = (stop - start) / div
        var values = (0..<num).map { Double($0) * step + start }
        if endpoint && num > 1 { values[num - 1] = stop }
        return values
    }

    /// `np.arange(start, stop, step)` for floats: `ceil((stop - start) / step)` values `start + i * delta`, where
    /// numpy's fill takes `delta` as the difference of the first two values.
    static func arange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let length = Int(Swift.max(0, ((stop - start) / step).rounded(.up)))
        guard length > 0 else { return [] }
        let delta = (start + step) - start
        return (0..<length).map { i in i == 0 ? start : (i == 1 ? start + step : start + Double(i) * delta) }
    }

    /// numpy's `round` (half to even).
    static func round(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }

    /// `np.interp(x, arange(fp.count), fp)`: linear interpolation between integer abscissae, clamped at the ends.
    static func interp(_ x: Double, _ fp: [Float]) -> Double {
        let last = fp.count - 1
        guard last > 0 else { return Double(fp.first ?? 0) }
        if !(x > 0) { return Double(fp[0]) }
        if x >= Double(last) { return Double(fp[last]) }
        let j = Int(x.rounded(.down))
        if Double(j) == x { return Double(fp[j]) }
        let slope = Double(fp[j + 1]) - Double(fp[j])
        return slope * (x - Double(j)) + Double(fp[j])
    }

    /// diffusers' `_sigma_to_t`: the fractional training timestep whose log-sigma matches `sigma`, interpolating
    /// linearly in log-sigma between neighbours (`logSigmas` ascending, float32 as numpy holds them).
    static func sigmaToT(_ sigma: Double, logSigmas: [Float]) -> Double {
        let logSigma = Foundation.log(Swift.max(sigma, 1e-10))
        // the last index whose log-sigma is at or below logSigma (0 when none), at most count - 2
        var lowIndex = 0
        for (k, value) in logSigmas.enumerated() where logSigma - Double(value) >= 0 { lowIndex = k }
        lowIndex = Swift.min(lowIndex, logSigmas.count - 2)
        let low = logSigmas[lowIndex], high = logSigmas[lowIndex + 1]
        var w = (Double(low) - logSigma) / Double(low - high)
        w = Swift.min(Swift.max(w, 0), 1)
        return (1 - w) * Double(lowIndex) + w * Double(lowIndex + 1)
    }

    /// The Karras et al. (2022) schedule of `count` sigmas from `sigmaMax` down to `sigmaMin` (ρ = 7).
    static func karrasSigmas(sigmaMin: Double, sigmaMax: Double, count: Int) -> [Double] {
        let rho = 7.0
        let ramp = linspace(0, 1, count)
        let minInvRho = Foundation.pow(sigmaMin, 1 / rho)
        let maxInvRho = Foundation.pow(sigmaMax, 1 / rho)
        return ramp.map { Foundation.pow(maxInvRho + $0 * (minInvRho - maxInvRho), rho) }
    }
}
