import Foundation
import XCTest
import Tensor
@testable import NN

/// The name map against diffusers' own single-file and kohya conversions on tiny random SDXL-shaped models
/// (Fixtures/namemap, from Scripts/fixtures/make_namemap_fixtures.py): every name, both ways, and for the parts
/// whose conversion reshapes, transposes or splits, every value exactly.
final class NameMapTests: XCTestCase {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/namemap").path

    private func pairs(_ file: String) throws -> (prefix: String, pairs: [[String]]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let raw = try XCTUnwrap(json["pairs"] as? [[Any]])
        return (json["prefix"] as? String ?? "", raw.map { $0.compactMap { $0 as? String } })
    }

    /// The tiny UNet's layout: three levels, two resnets per down block, attentions in up blocks 0 and 1.
    let unet = NameMap.Part.unet(NameMap.UNetLayout())

    func testSDXLUNetNamesMatchDiffusersBothWays() throws {
        let (prefix, pairs) = try pairs("sdxl_unet.json")
        XCTAssertEqual(pairs.count, 498)
        for p in pairs {
            XCTAssertEqual(NameMap.diffusersName(singleFile: prefix + p[0], part: unet), p[1], p[0])
            XCTAssertEqual(NameMap.diffusersName(singleFile: p[0], part: unet), p[1], p[0])
            XCTAssertEqual(NameMap.singleFileName(diffusers: p[1], part: unet), prefix + p[0], p[1])
        }
    }

    func testCLIPLNamesMatchDiffusersBothWays() throws {
        let (_, pairs) = try pairs("clip_l.json")
        XCTAssertFalse(pairs.isEmpty)
        for p in pairs {
            XCTAssertEqual(NameMap.diffusersName(singleFile: p[0], part: .clipL), p[1], p[0])
            XCTAssertEqual(NameMap.singleFileName(diffusers: p[1], part: .clipL), p[0], p[1])
        }
    }

    private func assertRemappedEqual(_ ldmFile: String, _ diffusersFile: String, part: NameMap.Part, line: UInt = #line) throws {
        let ldm = try SafeTensorsFile(path: folder + "/" + ldmFile), want = try SafeTensorsFile(path: folder + "/" + diffusersFile)
        let view = try RemappedSource(singleFile: ldm, part: part)
        XCTAssertEqual(Set(view.names), Set(want.names), line: line)
        for name in want.names {
            XCTAssertEqual(view.info(name)?.shape, want.info(name)?.shape, name, line: line)
            let got = try view.tensor(name), expected = try want.tensor(name)
            XCTAssertEqual(got.shape, expected.shape, name, line: line)
            XCTAssertEqual(got.dtype, expected.dtype, name, line: line)
            XCTAssertEqual(got.values, expected.values, name, line: line)
        }
    }

    func testVAEConversionMatchesDiffusersIncludingConvToLinear() throws {
        var layout = NameMap.VAELayout()
        layout.levels = 2
        try assertRemappedEqual("vae_ldm.safetensors", "vae_diffusers.safetensors", part: .vae(layout))
        for name in try SafeTensorsFile(path: folder + "/vae_diffusers.safetensors").names where !name.contains(".attentions.0.to_") {
            XCTAssertNotNil(NameMap.singleFileName(diffusers: name, part: .vae(layout)), name)
        }
        XCTAssertEqual(NameMap.singleFileName(diffusers: "decoder.up_blocks.0.resnets.2.conv_shortcut.weight", part: .vae(layout)),
                       "first_stage_model.decoder.up.1.block.2.nin_shortcut.weight")
    }

    func testOpenCLIPConversionMatchesDiffusersIncludingQKVSplitAndTranspose() throws {
        try assertRemappedEqual("open_clip_ldm.safetensors", "open_clip_diffusers.safetensors", part: .openCLIP)
        XCTAssertEqual(NameMap.singleFileName(diffusers: "text_model.encoder.layers.1.mlp.fc2.bias", part: .openCLIP),
                       "conditioner.embedders.1.model.transformer.resblocks.1.mlp.c_proj.bias")
        XCTAssertNil(NameMap.diffusersName(singleFile: "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight", part: .openCLIP),
                     "a fused projection is three tensors, not one name")
    }

    func testKohyaAndPEFTLoRANames() throws {
        let (_, unetPairs) = try pairs("sdxl_unet.json")
        let modules = NameMap.KohyaModules(unet: Array(Set(unetPairs.map { $0[1].split(separator: ".").dropLast().joined(separator: ".") })))
        let (_, kohya) = try pairs("kohya.json")
        XCTAssertGreaterThan(kohya.count, 20)
        for p in kohya {
            XCTAssertEqual(NameMap.loraName(p[0] + ".lora_down.weight", modules: modules), "unet." + p[1] + ".lora.down.weight", p[0])
            XCTAssertEqual(NameMap.loraName(p[0] + ".lora_up.weight", modules: modules), "unet." + p[1] + ".lora.up.weight", p[0])
            XCTAssertEqual(NameMap.loraName(p[0] + ".alpha", modules: modules), "unet." + p[1] + ".alpha", p[0])
        }
        XCTAssertNil(NameMap.loraName("lora_unet_no_such_module.lora_up.weight", modules: modules))
        XCTAssertEqual(NameMap.loraName("base_model.model.down_blocks.1.attentions.0.proj_in.lora_A.weight"),
                       "down_blocks.1.attentions.0.proj_in.lora.down.weight")
        XCTAssertEqual(NameMap.loraName("unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight"),
                       "unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora.up.weight")
        XCTAssertNil(NameMap.loraName("down_blocks.0.resnets.0.conv1.weight"))
    }
}
