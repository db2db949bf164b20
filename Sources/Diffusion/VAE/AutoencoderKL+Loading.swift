import Foundation
import NN
import Tensor

extension AutoencoderKL {
    /// Loads a diffusers VAE folder (`config.json` + weights) through the pipeline's component loader: with
    /// `variant: "fp16"` the fp16 file is preferred; otherwise the full-precision one, and the fp16 one when it is
    /// all there is (sharded and `.bin` weights load too). Every parameter must be in the file with its shape, and
    /// the file may hold no other tensor; errors name the file and the tensor.
    public static func load(folder: String, variant: String? = nil, dtype: DType? = nil) throws -> AutoencoderKL {
        let base = URL(fileURLWithPath: folder)
        let config = try ConfigFile.load(AutoencoderKLConfig.self, path: base.appendingPathComponent("config.json").path)
        let file = try ComponentWeights.file(in: folder, variant: variant)
        var rng = RNG(seed: 0)
        let model = try Initializer.deferred { try AutoencoderKL(config: config, rng: &rng) }
        try ComponentWeights.load(model, from: file, dtype: dtype)
        return model
    }
}
