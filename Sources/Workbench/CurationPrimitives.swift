import Curation
import Foundation
import Imaging
import Lang

/// The primitives over Curation: datasets (this file), the store and labels (`CurationPrimitives+Store.swift`)
/// and the interactive review (`ReviewPrimitive.swift`). Each is a thin binding over a public Curation API.
enum CurationPrimitives {
    static func register(in session: Session) {
        registerDatasets(in: session)
        registerStore(in: session)
        registerLabels(in: session)
        registerReview(in: session)
    }

    /// Runs `body`, turning Curation, Imaging and Removal errors into primitive errors that name the primitive
    /// (files and stores that cannot be read or written are I/O errors, status 74).
    static func curation<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try DomainPrimitives.domain(name, body)
        } catch let e as CurationError {
            switch e {
            case .storeUnavailable, .missingBlob, .badDataset: throw PrimitiveError.io("\(name)(): \(e)")
            default: throw PrimitiveError("\(name)(): \(e)")
            }
        }
    }

    /// The most pixels (count x width x height) one `synth` call makes; each pixel costs about 28 bytes (source,
    /// target and mask), so this is about 3.5 GB.
    static let synthPixelLimit: Double = 128 * 1024 * 1024

    /// The `SynthOptions` named options of `synth(...)`, with what each takes.
    static let synthOptions: [(String, String)] = [
        ("shadows", "bool"), ("mask_covers_shadow", "bool"), ("light", "above|any"), ("textured", "bool"), ("distractors", "int"),
        ("background_detail", "number"), ("stripe_angles", "[min, max] degrees"), ("mask_dilation", "int"), ("object_scale", "[min, max]"),
        ("backgrounds", "list of gradient|noise|stripes|photo"), ("shapes", "list of disc|box|triangle|ring"),
        ("photos", "folder"),
    ]

    static func registerDatasets(in session: Session) {
        let i = session.interpreter
        i.register(Primitive("synth", [Parameter("count", .integer, default: .number(16)), Parameter("width", .integer, default: .number(64)),
                                       Parameter("height", .integer, default: .number(64)), Parameter("seed", .integer, default: .number(0)),
                                       Parameter("name", .string, default: .nil)], acceptsOptions: true,
                             summary: "A dataset of synthetic paired scenes (source with object, mask, background); same seed, same pixels.",
                             help: "Options: " + synthOptions.map { "\($0.0) (\($0.1))" }.joined(separator: ", ") +
                                ".\nScene i depends only on the seed, the options and i, so synth(10) is take(synth(100), 10).\nAt most 134217728 pixels (count x width x height) per call: the scenes are held in memory.",
                             example: "let ds = synth(200, width: 64, height: 64, seed: 1, shadows: true)") { [unowned session] args in
            var options = SynthOptions(count: try args.int("count"), width: try args.int("width"), height: try args.int("height"))
            // Scenes are made in memory: refuse sizes that cannot fit rather than run for hours.
            let pixels = Double(options.count) * Double(options.width) * Double(options.height)
            guard pixels <= synthPixelLimit else {
                throw PrimitiveError("synth(): \(options.count) scenes of \(options.width)x\(options.height) are \(Value.format(pixels)) pixels, more than the \(Value.format(synthPixelLimit)) held in memory at once; make fewer or smaller scenes")
            }
            let seed = try args.int("seed")
            guard seed >= 0 else { throw PrimitiveError("synth(): seed must be >= 0, got \(seed)") }
            options.seed = UInt64(seed)
            options.name = args["name"].string
            for (key, value) in args.options { try applySynthOption(key, value, to: &options, session: session) }
            return .object(DatasetValue(try curation("synth") { try Synth.make(options) }))
        })
        i.register(Primitive("import_rorem", [Parameter("path", .string), Parameter("name", .string, default: .nil),
                                              Parameter("decode", .bool, default: .bool(false))],
                             summary: "A dataset read from RORem's meta.json layout (source/, mask/, GT/); images load lazily.",
                             help: "Every referenced file is checked first; missing ones are all named. decode: true also decodes them.",
                             example: "let ds = import_rorem(\"data/rorem/meta.json\")") { [unowned session] args in
            let path = session.resolve(try args.string("path"))
            let name = args["name"].string
            let decode = args["decode"] == .bool(true)
            return .object(DatasetValue(try curation("import_rorem") { try RoremFormat.load(path, name: name, decode: decode) }))
        })
        i.register(Primitive("export_rorem", [Parameter("ds", .object("dataset")), Parameter("dir", .string)],
                             summary: "Writes a dataset in RORem's layout (source/, mask/, GT/, meta.json); returns the meta.json path.",
                             example: "export_rorem(ds, \"out/synth\")") { [unowned session] args in
            let ds = try args.object("ds", as: DatasetValue.self).dataset
            let dir = session.resolve(try args.string("dir"))
            return .string(try curation("export_rorem") { try RoremFormat.export(ds, to: dir) })
        })
        i.register(Primitive("import_folder", [Parameter("images", .string), Parameter("masks", .string, default: .nil),
                                               Parameter("name", .string, default: .nil), Parameter("skip_unmatched", .bool, default: .bool(false))],
                             summary: "A dataset of the photos in a folder with their masks matched by name (no ground truth).",
                             help: "cat.jpg pairs with cat.png, cat_mask.png, cat-mask.png or cat.mask.png in `masks` (default: the same folder).\nAn image without a mask is an error unless skip_unmatched: true (then they are counted).",
                             example: "let photos = import_folder(\"data/photos\", \"data/masks\")") { [unowned session] args in
            let images = session.resolve(try args.string("images"))
            let masks = args["masks"].string.map { session.resolve($0) }
            let name = args["name"].string, skip = args["skip_unmatched"] == .bool(true)
            let (ds, unmatched) = try curation("import_folder") { try FolderImport.load(images: images, masks: masks, name: name, skipUnmatched: skip) }
            if !unmatched.isEmpty {
                args.interpreter.output.write("import_folder: skipped \(unmatched.count) image\(unmatched.count == 1 ? "" : "s") without a mask: \(unmatched.prefix(5).joined(separator: ", "))\(unmatched.count > 5 ? ", ..." : "")\n")
            }
            return .object(DatasetValue(ds))
        })
        i.register(Primitive("split", [Parameter("ds", .object("dataset")), Parameter("fraction", .number), Parameter("seed", .integer, default: .number(0))],
                             summary: "Two disjoint parts {train, test}, train holding `fraction` of the pairs chosen by seed; both keep the order.",
                             example: "let parts = split(ds, 0.8, seed: 1)   # parts.train, parts.test") { args in
            let ds = try args.object("ds", as: DatasetValue.self).dataset
            let fraction = try args.number("fraction"), seed = try args.int("seed")
            guard seed >= 0 else { throw PrimitiveError("split(): seed must be >= 0, got \(seed)") }
            let (train, test) = try curation("split") { try ds.split(fraction, seed: UInt64(seed)) }
            return .record(Record([("train", .object(DatasetValue(train))), ("test", .object(DatasetValue(test)))]))
        })
        i.register(Primitive("take", [Parameter("xs", .either([.object("dataset"), .object("candidates")])), Parameter("n", .integer)],
                             summary: "The first n pairs of a dataset or the first n candidates (all when there are fewer).",
                             example: "let small = take(ds, 10)") { args in
            let n = try args.int("n")
            guard n >= 0 else { throw PrimitiveError("take(): n must be >= 0, got \(n)") }
            switch args["xs"] {
            case .object(let c as CandidatesValue): return .object(CandidatesValue(store: c.store, candidates: Array(c.candidates.prefix(n))))
            default:
                let ds = try args.object("xs", as: DatasetValue.self).dataset
                return .object(DatasetValue(try curation("take") { try ds.take(n) }))
            }
        })
        i.register(Primitive("shuffle", [Parameter("ds", .object("dataset")), Parameter("seed", .integer, default: .number(0))],
                             summary: "The dataset's pairs in a random order fixed by seed.", example: "let mixed = shuffle(ds, seed: 3)") { args in
            let seed = try args.int("seed")
            guard seed >= 0 else { throw PrimitiveError("shuffle(): seed must be >= 0, got \(seed)") }
            return .object(DatasetValue(try args.object("ds", as: DatasetValue.self).dataset.shuffled(seed: UInt64(seed))))
        })
        i.register(Primitive("concat", [Parameter("a", .object("dataset")), Parameter("b", .object("dataset")), Parameter("name", .string, default: .nil)],
                             summary: "The pairs of a followed by those of b (clashing pair names get a suffix).",
                             example: "let all = concat(train, extra)") { args in
            let a = try args.object("a", as: DatasetValue.self).dataset, b = try args.object("b", as: DatasetValue.self).dataset
            return .object(DatasetValue(a.concatenated(with: b, name: args["name"].string)))
        })
    }

    /// Sets the `synth` option `key` (snake_case) on `options`, or throws naming the option and what it takes.
    static func applySynthOption(_ key: String, _ value: Value, to options: inout SynthOptions, session: Session) throws {
        func bad(_ expected: String) -> PrimitiveError {
            PrimitiveError("synth(): option '\(key)' must be \(expected), got \(value.repr)")
        }
        func bool() throws -> Bool { guard case .bool(let b) = value else { throw bad("true or false") }; return b }
        func int() throws -> Int {
            guard let n = value.number, n == n.rounded(), abs(n) < 1e9 else { throw bad("a whole number") }
            return Int(n)
        }
        func range(_ expected: String) throws -> ClosedRange<Double> {
            guard case .list(let items) = value, items.count == 2, let lo = items[0].number, let hi = items[1].number, lo <= hi else {
                throw bad(expected)
            }
            return lo...hi
        }
        func strings() throws -> [String] {
            guard let items = value.elements(), case .list = value else { throw bad("a list of names") }
            return try items.map { item in guard let s = item.string else { throw bad("a list of names") }; return s }
        }
        switch key {
        case "shadows": options.shadows = try bool()
        case "mask_covers_shadow": options.maskCoversShadow = try bool()
        case "light":
            guard let name = value.string, let light = SynthLight(rawValue: name) else {
                throw bad("one of " + SynthLight.allCases.map { Value.quote($0.rawValue) }.joined(separator: ", "))
            }
            options.light = light
        case "textured": options.texturedObjects = try bool()
        case "distractors": options.distractors = try int()
        case "mask_dilation": options.maskDilation = try int()
        case "background_detail":
            guard let n = value.number else { throw bad("a number") }
            options.backgroundDetail = n
        case "object_scale": options.objectScale = try range("[min, max] with min <= max")
        case "stripe_angles": options.stripeAngles = try range("[min, max] in degrees with min <= max")
        case "backgrounds":
            options.backgrounds = try strings().map { name in
                guard let b = SynthBackground(rawValue: name) else {
                    throw PrimitiveError("synth(): unknown background \(Value.quote(name)); valid: \(SynthBackground.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return b
            }
        case "shapes":
            options.shapes = try strings().map { name in
                guard let s = SynthShape(rawValue: name) else {
                    throw PrimitiveError("synth(): unknown shape \(Value.quote(name)); valid: \(SynthShape.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return s
            }
        case "photos":
            guard let path = value.string else { throw bad("a folder path") }
            options.photoFolder = session.resolve(path)
            if !options.backgrounds.contains(.photo) { options.backgrounds.append(.photo) }
        default:
            let names = synthOptions.map(\.0)
            throw PrimitiveError("synth(): unknown option '\(key)'\(didYouMean(key, names)); valid options: \(names.joined(separator: ", "))")
        }
    }
}
