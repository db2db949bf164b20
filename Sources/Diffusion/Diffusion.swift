/// The SDXL family on the CPU, config-driven from diffusers folders: the UNet2DConditionModel, AutoencoderKL, the
/// CLIP text encoders and tokenizer, the schedulers, the inpainting pipeline (SDXL-inpainting, RORem, RORem-4S)
/// and RORem's discriminator. Parameters carry diffusers' state-dict names, so checkpoints load by name.
///
/// Layout: `Config/` (config.json readers), `Random/` (torch.Generator-compatible noise), `Schedulers/`,
/// `Text/` (tokenizer and CLIP), `Blocks/` (resnets, attention, transformer blocks shared by the models),
/// `UNet/`, `VAE/`, `Pipeline/`.
public enum Diffusion {
    /// The diffusers release the parity fixtures were made with (Scripts/fixtures/make_diffusion_fixtures*.py).
    public static let referenceDiffusersVersion = "0.42.1"
}
