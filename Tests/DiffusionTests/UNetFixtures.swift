import Foundation
import XCTest
import Tensor
import NN
@testable import Diffusion

/// The UNet fixtures of Scripts/fixtures/make_diffusion_unet_fixtures.py: tiny random diffusers UNets saved as
/// published folders, and diffusers' outputs for them.
enum UNetFixtures {
    /// The config of the fixture folder `name` (`unet`, `unet4`, `sdxl_inpainting_unet`).
    static func config(_ name: String) throws -> UNetConfig {
        try ConfigFile.load(UNetConfig.self, path: DiffusionFixtures.path("\(name)/config.json"))
    }

    /// The weights file of the fixture folder `name`.
    static func weights(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: DiffusionFixtures.path("\(name)/diffusion_pytorch_model.safetensors"))
    }

    /// The UNet of the fixture folder `name`, weights loaded strictly (every name on both sides).
    static func model(_ name: String) throws -> UNet2DConditionModel {
        var rng = RNG(seed: 1)
        let unet = try UNet2DConditionModel(config: config(name), rng: &rng)
        try unet.load(from: DictionarySource(weights(name).allTensors()))
        return unet
    }

    /// diffusers' inputs and outputs for the fixture folder `name`.
    static func reference(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: DiffusionFixtures.path("\(name)_reference.safetensors"))
    }

    /// The inputs of reference case `c`.
    struct Case {
        let sample: Tensor, timesteps: [Float], context: Tensor, added: AddedConditions, cond: Tensor?

        init(_ f: SafeTensorsFile, _ c: String) throws {
            sample = try f.tensor("\(c).sample")
            timesteps = try f.tensor("\(c).timestep").values
            context = try f.tensor("\(c).context")
            added = AddedConditions(textEmbeds: try f.tensor("\(c).text_embeds"), timeIds: try f.tensor("\(c).time_ids"))
            cond = f.entries["\(c).cond"] == nil ? nil : try f.tensor("\(c).cond")
        }
    }
}

/// Asserts `actual` matches `expected` in shape and within `tolerance` of the largest expected magnitude (at least
/// 1), naming the worst element.
func assertUNetClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float, _ name: String,
                     file: StaticString = #filePath, line: UInt = #line) {
    guard actual.shape == expected.shape else {
        XCTFail("\(name): shape \(actual.shape), expected \(expected.shape)", file: file, line: line)
        return
    }
    let a = actual.values, e = expected.values
    let scale = max(1, e.map(abs).max() ?? 0)
    var worst = 0, worstError: Float = 0
    for i in 0..<a.count {
        let error = abs(a[i] - e[i])
        if !(error <= worstError) { worst = i; worstError = error.isNaN ? .infinity : error }
    }
    if worstError > tolerance * scale {
        XCTFail("\(name): element \(worst): \(a[worst]) vs expected \(e[worst]) (error \(worstError), allowed \(tolerance * scale))",
                file: file, line: line)
    }
}
