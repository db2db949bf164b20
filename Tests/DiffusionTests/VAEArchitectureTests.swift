import XCTest
import Tensor
import NN
@testable import Diffusion

/// The full-size SDXL VAE built from its config.json has exactly diffusers' parameter names and shapes
/// (Fixtures/sdxl_vae_parameters.json from Scripts/fixtures/make_diffusion_vae_fixtures.py), so the published
/// weights load by name. Built with deferred initialisation: no weights are drawn or touched.
final class VAEArchitectureTests: XCTestCase {
    func testSDXLVAEHasDiffusersNamesAndShapes() throws {
        let config = try ConfigFile.load(AutoencoderKLConfig.self, path: DiffusionFixtures.path("sdxl_vae/config.json"))
        XCTAssertEqual(config.blockOutChannels, [128, 256, 512, 512])
        XCTAssertEqual(config.scalingFactor, 0.13025)
        XCTAssertEqual(config.downsamplingFactor, 8)
        var rng = RNG(seed: 0)
        let vae = try Initializer.deferred { try AutoencoderKL(config: config, rng: &rng) }
        let data = try Data(contentsOf: URL(fileURLWithPath: DiffusionFixtures.path("sdxl_vae_parameters.json")))
        let expected = try JSONDecoder().decode([String: [Int]].self, from: data)
        let ours = Dictionary(vae.namedParameters().map { ($0.name, $0.parameter.shape) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(ours.count, vae.namedParameters().count, "duplicate names")
        XCTAssertEqual(Set(ours.keys).subtracting(expected.keys).sorted(), [], "names diffusers does not have")
        XCTAssertEqual(Set(expected.keys).subtracting(ours.keys).sorted(), [], "diffusers names we lack")
        for (name, shape) in expected where ours[name] != nil {
            XCTAssertEqual(ours[name], shape, name)
        }
        XCTAssertEqual(vae.parameterCount, 83_653_863)
        XCTAssertEqual(AutoencoderKL.Tiling(for: config), AutoencoderKL.Tiling(sampleMinSize: 1024, latentMinSize: 128, overlapFactor: 0.25))
    }

}
