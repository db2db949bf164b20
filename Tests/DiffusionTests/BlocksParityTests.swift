import XCTest
@testable import Tensor
import NN
@testable import Diffusion

/// The shared blocks against diffusers' `ResnetBlock2D`, `Downsample2D`, `Upsample2D` and `Attention`
/// (Fixtures/blocks.safetensors from Scripts/fixtures/make_diffusion_blocks_fixtures.py, float32, random weights).
/// Tolerance 1e-5 abs + 1e-4 rel: the same float32 formulas, summed in another order.
final class BlocksParityTests: XCTestCase {
    private static let inputs: Set<String> = ["x", "temb", "context", "out"]
    private var file: SafeTensorsFile!

    override func setUpWithError() throws {
        file = try SafeTensorsFile(path: DiffusionFixtures.path("blocks.safetensors"))
    }

    /// Loads the case's weights strictly (every name of the module in the file and no other), runs `forward` and
    /// compares with the reference output.
    private func check(_ name: String, _ module: Module, atol: Float = 1e-5,
                       _ forward: (Tensor, [String: Tensor]) throws -> Tensor,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let weights = try tensors(in: self.file, prefix: name, excluding: Self.inputs)
        XCTAssertEqual(Set(module.namedParameters().map(\.name)), Set(weights.keys), "\(name) parameter names", file: file, line: line)
        try module.load(from: DictionarySource(weights))
        let all = try tensors(in: self.file, prefix: name)
        let y = try GradMode.noGrad { try forward(try XCTUnwrap(all["x"]), all) }
        assertClose(y, try XCTUnwrap(all["out"]), atol: atol, rtol: 1e-4, "\(name).out", file: file, line: line)
    }

    func testResnetWithoutTimeEmbedding() throws {
        var rng = RNG(seed: 1)
        let block = try ResnetBlock2D(.init(inChannels: 8, outChannels: 8, tembChannels: nil, groups: 4, eps: 1e-6), rng: &rng)
        XCTAssertNil(block.convShortcut)
        try check("resnet_vae", block) { x, _ in try block(x) }
    }

    /// A VAE resnet at 16 channels and 32 x 33 pixels, whose convolutions take the engine's Winograd path: with
    /// each variant and with the direct kernels. F(4x4, 3x3)'s errors are a few 1e-6 of the output's scale
    /// (WinogradConvTests), hence 5e-5 absolute on outputs of a few units.
    func testResnetWithWinogradConvolutions() throws {
        var rng = RNG(seed: 1)
        let block = try ResnetBlock2D(.init(inChannels: 16, outChannels: 16, tembChannels: nil, groups: 4, eps: 1e-6), rng: &rng)
        let saved = (Winograd.variant, Winograd.thresholds)
        defer { (Winograd.variant, Winograd.thresholds) = saved }
        Winograd.thresholds = Winograd.Thresholds(channels: 16, tiles: 1)     // 16 channels: below the standard 64
        for variant in [nil] + Winograd.Variant.allCases.map(Optional.some) {
            Winograd.variant = variant
            let before = Winograd.convolutionsRun
            try check("resnet_vae_winograd", block, atol: variant == .f43 ? 5e-5 : 1e-5) { x, _ in try block(x) }
            XCTAssertEqual(Winograd.convolutionsRun - before, variant == nil ? 0 : 2, "both convolutions, \(String(describing: variant))")
        }
    }

    func testResnetWithTimeEmbeddingAndShortcut() throws {
        var rng = RNG(seed: 1)
        let block = try ResnetBlock2D(.init(inChannels: 8, outChannels: 12, tembChannels: 10, groups: 4, eps: 1e-5), rng: &rng)
        try check("resnet_temb", block) { x, t in try block(x, temb: t["temb"]) }
    }

    func testResnetScaleShiftWithOutputScale() throws {
        var rng = RNG(seed: 1)
        let block = try ResnetBlock2D(.init(inChannels: 8, outChannels: 8, tembChannels: 6, groups: 2, groupsOut: 4,
                                            eps: 1e-6, outputScaleFactor: 2, timeEmbeddingNorm: .scaleShift), rng: &rng)
        try check("resnet_scale_shift", block) { x, t in try block(x, temb: t["temb"]) }
    }

    func testDownsampleWithAsymmetricPadding() throws {
        var rng = RNG(seed: 1)
        let down = try Downsample2D(channels: 8, useConv: true, padding: 0, rng: &rng)
        try check("down_pad0", down) { x, _ in try down(x) }
    }

    func testDownsampleWithPadding() throws {
        var rng = RNG(seed: 1)
        let down = try Downsample2D(channels: 8, useConv: true, outChannels: 12, padding: 1, rng: &rng)
        try check("down_pad1", down) { x, _ in try down(x) }
    }

    func testDownsampleByPooling() throws {
        var rng = RNG(seed: 1)
        let down = try Downsample2D(channels: 4, useConv: false, rng: &rng)
        try check("down_pool", down) { x, _ in try down(x) }
    }

    func testUpsample() throws {
        var rng = RNG(seed: 1)
        let up = try Upsample2D(channels: 8, useConv: true, rng: &rng)
        try check("up", up) { x, _ in try up(x) }
    }

    func testUpsampleToOddOutputSize() throws {
        var rng = RNG(seed: 1)
        let up = try Upsample2D(channels: 8, useConv: true, outChannels: 4, rng: &rng)
        try check("up_odd", up) { x, _ in try up(x, outputSize: (height: 5, width: 7)) }
        XCTAssertThrowsError(try up(Tensor(zeros: [1, 8, 3, 4]), outputSize: (height: 9, width: 8)))
    }

    func testSpatialAttentionAsInTheVAE() throws {
        var rng = RNG(seed: 1)
        let attn = try Attention(.init(queryDim: 16, heads: 1, dimHead: 16, bias: true, normNumGroups: 4, eps: 1e-6,
                                       rescaleOutputFactor: 1.5, residualConnection: true), rng: &rng)
        try check("attn_vae", attn) { x, _ in try attn(x) }
    }

    func testSelfAttentionOnASequence() throws {
        var rng = RNG(seed: 1)
        let attn = try Attention(.init(queryDim: 16, heads: 2, dimHead: 8), rng: &rng)
        XCTAssertNil(attn.toQ.bias)
        try check("attn_self", attn) { x, _ in try attn(x) }
    }

    func testCrossAttention() throws {
        var rng = RNG(seed: 1)
        let attn = try Attention(.init(queryDim: 16, crossAttentionDim: 12, heads: 3, dimHead: 4), rng: &rng)
        try check("attn_cross", attn) { x, t in try attn(x, context: t["context"]) }
    }

    func testBadShapesThrowInsteadOfTrapping() throws {
        var rng = RNG(seed: 1)
        XCTAssertThrowsError(try ResnetBlock2D(.init(inChannels: 6, outChannels: 8, groups: 4), rng: &rng))
        let block = try ResnetBlock2D(.init(inChannels: 8, outChannels: 8, tembChannels: 4, groups: 4), rng: &rng)
        XCTAssertThrowsError(try block(Tensor(zeros: [1, 6, 4, 4])))
        XCTAssertThrowsError(try block(Tensor(zeros: [1, 8, 4, 4]), temb: Tensor(zeros: [2, 4])))
        let attn = try Attention(.init(queryDim: 8, crossAttentionDim: 4, heads: 2, dimHead: 4), rng: &rng)
        XCTAssertThrowsError(try attn(Tensor(zeros: [1, 3, 8]), context: Tensor(zeros: [1, 3, 5])))
        XCTAssertThrowsError(try attn(Tensor(zeros: [1, 3, 7])))
        XCTAssertThrowsError(try Attention(.init(queryDim: 8, normNumGroups: 3), rng: &rng))
        XCTAssertThrowsError(try Downsample2D(channels: 4, useConv: false, outChannels: 8, rng: &rng))
    }
}
