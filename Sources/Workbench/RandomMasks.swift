import Support
import Curation
import Foundation
import Imaging
import Lang

/// Self-supervised training pairs: images with random masks, the image itself as the target. This is how
/// inpainting models are trained without object-free ground truth; RORem argues that such models learn to
/// redraw whatever the hole covered, objects included (Notebooks/ambiguity.md shows it in miniature).
enum RandomMasks {
    /// A mask of `width` x `height` made of `parts` ellipses and boxes at seeded random places, each with a diameter
    /// drawn from `scale` times the shorter side.
    static func mask(width: Int, height: Int, parts: Int, scale: ClosedRange<Double>, rng: inout SeededRandom) throws -> Mask {
        var values = [Float](repeating: 0, count: width * height)
        let side = Double(min(width, height))
        for _ in 0..<max(1, parts) {
            let w = rng.uniform(scale) * side, h = rng.uniform(scale) * side
            let cx = rng.uniform(0...Double(width)), cy = rng.uniform(0...Double(height))
            let part: Mask
            if rng.unit() < 0.5 {
                part = try Mask.ellipse(width: width, height: height, cx: cx, cy: cy, rx: w / 2, ry: h / 2)
            } else {
                let rect = PixelRect(x: Int(cx - w / 2), y: Int(cy - h / 2), width: max(1, Int(w)), height: max(1, Int(h)))
                part = try Mask.box(width: width, height: height, rect: rect)   // box() clips to the image
            }
            for k in values.indices where part.values[k] >= 0.5 { values[k] = 1 }
        }
        return try Mask(width: width, height: height, values: values)
    }

    /// For every pair of `dataset`, `perImage` pairs (source, random mask, source as target); the object masks and
    /// targets of the dataset are not used. Deterministic in `seed`.
    static func pairs(_ dataset: Dataset, perImage: Int, parts: Int, scale: ClosedRange<Double>, seed: UInt64, name: String) throws -> Dataset {
        var rng = SeededRandom(seed: seed)
        var out: [Pair] = []
        for pair in dataset.pairs {
            let source = try pair.loadSource()
            for k in 0..<perImage {
                let m = try mask(width: source.width, height: source.height, parts: parts, scale: scale, rng: &rng)
                out.append(Pair(name: "\(pair.name)-rm\(k)", source: .image(source), mask: .mask(m), target: .image(source)))
            }
        }
        return Dataset(name: name, pairs: out)
    }

    static func register(in session: Session) {
        session.interpreter.register(Primitive(
            "random_masks",
            [Parameter("ds", .object("dataset")), Parameter("per_image", .integer, default: .number(1)),
             Parameter("parts", .integer, default: .number(2)), Parameter("scale", .list, default: .list([.number(0.15), .number(0.4)])),
             Parameter("seed", .integer, default: .number(0)), Parameter("name", .string, default: .nil)],
            summary: "Self-supervised pairs: each image with random masks (ellipses and boxes) and itself as the target.",
            help: "The dataset's own masks and targets are ignored: this is training without ground truth, as for generic inpainting.\nparts: shapes per mask; scale: [min, max] diameter as a fraction of the shorter side.",
            example: "let ss = random_masks(photos, per_image: 2, seed: 1)"
        ) { args in
            let ds = try args.object("ds", as: DatasetValue.self).dataset
            let perImage = try args.int("per_image"), parts = try args.int("parts")
            guard (1...64).contains(perImage), (1...16).contains(parts) else {
                throw PrimitiveError("random_masks(): per_image must be in 1...64 and parts in 1...16, got \(perImage) and \(parts)")
            }
            let bounds = try args["scale"].elements(for: "random_masks").compactMap(\.number)
            guard bounds.count == 2, bounds[0] > 0, bounds[0] <= bounds[1], bounds[1] <= 1 else {
                throw PrimitiveError("random_masks(): scale must be [min, max] with 0 < min <= max <= 1, got \(args["scale"].printed)")
            }
            let seed = try ModelPrimitives.seed(args)
            let name = args["name"].string ?? "\(ds.name)-random-masks"
            return .object(DatasetValue(try CurationPrimitives.curation("random_masks") {
                try pairs(ds, perImage: perImage, parts: parts, scale: bounds[0]...bounds[1], seed: seed, name: name)
            }))
        })
    }
}
