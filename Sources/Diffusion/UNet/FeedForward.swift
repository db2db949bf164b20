import Tensor
import NN

/// diffusers' `GEGLU`: `proj` to twice the inner width, then the first half gated by the exact GELU of the second.
///
///     (h, gate) = chunk(proj(x), 2, dim=-1);  y = h * gelu(gate)
public final class GEGLU: Module {
    public let proj: Linear
    /// The output width (half of `proj`'s).
    public let outDim: Int

    /// A gate from `inDim` to `outDim`.
    public init(inDim: Int, outDim: Int, bias: Bool = true, rng: inout RNG) {
        proj = Linear(inDim, 2 * outDim, bias: bias, rng: &rng)
        self.outDim = outDim
    }

    /// x (..., inDim) -> (..., outDim).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try proj(x).gatedGELU()                                              // (..., 2 outDim) -> (..., outDim)
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] { scoped("proj", proj) }
}

/// diffusers' `FeedForward` with its default GEGLU activation, as the UNet's transformer blocks use it:
/// `net.0` (the GEGLU, to `dim * mult`), `net.1` (dropout, identity here), `net.2` (a Linear back to `dimOut`).
public final class FeedForward: Module {
    public let geglu: GEGLU
    public let out: Linear

    /// A feed-forward of width `dim`, inner width `innerDim` (default `4 * dim`), output `dimOut` (default `dim`).
    public init(dim: Int, dimOut: Int? = nil, innerDim: Int? = nil, bias: Bool = true, rng: inout RNG) {
        let inner = innerDim ?? 4 * dim
        geglu = GEGLU(inDim: dim, outDim: inner, bias: bias, rng: &rng)
        out = Linear(inner, dimOut ?? dim, bias: bias, rng: &rng)
    }

    /// x (..., dim) -> (..., dimOut).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try out(geglu(x))
    }

    public func namedParameters() -> [(name: String, parameter: Parameter)] {
        scoped("net.0", geglu) + scoped("net.2", out)
    }
}
