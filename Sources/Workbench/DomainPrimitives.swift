import Diffusion
import Foundation
import Imaging
import Lang
import Removal

/// The primitives over Imaging and Removal. Each is a thin binding over a public Swift API.
enum DomainPrimitives {
    static func register(in session: Session) {
        registerFiles(in: session)
        registerGeometry(in: session)
        registerMasks(in: session)
        registerRemoval(in: session)
    }

    /// Runs `body`, turning Imaging and Removal errors into primitive errors (file errors are I/O errors, status 74).
    static func domain<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ImagingError {
            switch e {
            case .unreadable, .unwritable, .corrupt, .unsupportedFormat: throw PrimitiveError.io("\(name)(): \(e)")
            default: throw PrimitiveError("\(name)(): \(e)")
            }
        } catch let e as RemovalError {
            throw PrimitiveError("\(name)(): \(e)")
        } catch is SDXLInpaintPipeline.Stopped {
            throw PrimitiveError("\(name)(): interrupted between denoising steps", kind: .interrupted)
        } catch let e as PipelineError {
            throw PrimitiveError("\(name)(): \(e)")
        }
    }

    static let imageOrMask = ParamType.either([.object("image"), .object("mask")])

    static func registerFiles(in session: Session) {
        let i = session.interpreter
        i.register(Primitive("load", [Parameter("path", .string)], summary: "Loads a PNG or JPEG image.",
                             help: "Relative paths are resolved against the script's folder (the working directory in the REPL).\nThe result has 1, 3 or 4 channels as stored; EXIF orientation is applied.",
                             example: "let img = load(\"photos/cat.jpg\")") { [unowned session] args in
            let path = session.resolve(try args.string("path"))
            return .object(ImageValue(try domain("load") { try ImageIO.load(path) }))
        })
        i.register(Primitive("exists", [Parameter("path", .string)], summary: "Whether a file or folder exists (relative paths: the script's folder).",
                             example: "if exists(\"models/RORem\") { print(\"found\") }") { [unowned session] args in
            .bool(FileManager.default.fileExists(atPath: session.resolve(try args.string("path"))))
        })
        i.register(Primitive("load_mask", [Parameter("path", .string), Parameter("threshold", .number, default: .number(0.5))],
                             summary: "Loads a mask from an image file: pixels at or above threshold are masked.",
                             example: "let m = load_mask(\"photos/cat_mask.png\")") { [unowned session] args in
            let path = session.resolve(try args.string("path"))
            let t = Float(try args.number("threshold"))
            return .object(MaskValue(try domain("load_mask") { try ImageIO.loadMask(path, threshold: t) }))
        })
        i.register(Primitive("save", [Parameter("x", imageOrMask), Parameter("path", .string), Parameter("quality", .integer, default: .number(95))],
                             summary: "Saves an image or mask as PNG or JPEG (by extension), atomically; returns the path.",
                             example: "save(result, \"out/result.png\")") { [unowned session] args in
            let path = session.resolve(try args.string("path"))
            let quality = try args.int("quality")
            try domain("save") {
                switch args["x"] {
                case .object(let o as ImageValue): try ImageIO.save(o.image, to: path, quality: quality)
                case .object(let o as MaskValue): try ImageIO.save(o.mask, to: path)
                default: break
                }
            }
            return .string(path)
        })
        i.register(Primitive("show", [Parameter("x"), Parameter("caption", .string, default: .nil)],
                             summary: "Shows an image, mask or list of them inline (terminal or notebook); other values print.",
                             help: "In the terminal: kitty, iTerm2 or sixel graphics where supported, else 24-bit half blocks.\nSet ROREM_IMAGES=kitty|iterm|sixel|blocks|none to choose.",
                             example: "show([img, mask, result])") { [unowned session] args in
            try domain("show") { try session.show(args["x"], caption: args["caption"].string) }
            return .nil
        })
    }

    static func registerGeometry(in session: Session) {
        let i = session.interpreter
        i.register(Primitive("new_image", [Parameter("width", .integer), Parameter("height", .integer), Parameter("color", .either([.number, .list]), default: .number(0))],
                             summary: "A new RGB image filled with a gray level or an [r, g, b] colour in [0, 1].",
                             example: "let canvas = new_image(64, 48, color: [1, 0.5, 0])") { args in
            let w = try args.int("width"), h = try args.int("height")
            var rgb: [Float] = []
            switch args["color"] {
            case .number(let g): rgb = [Float(g), Float(g), Float(g)]
            case let v:
                for c in try v.elements(for: "new_image") {
                    guard case .number(let n) = c else { throw PrimitiveError("new_image(): color must hold numbers, got \(c.typeName)") }
                    rgb.append(Float(n))
                }
            }
            guard rgb.count == 3 else { throw PrimitiveError("new_image(): color must be a number or [r, g, b], got \(rgb.count) values") }
            return try domain("new_image") {
                var image = try Image(width: w, height: h, channels: 3)
                for p in 0..<(w * h) { for c in 0..<3 { image.pixels[p * 3 + c] = rgb[c] } }
                return .object(ImageValue(image))
            }
        })
        i.register(Primitive("crop", [Parameter("x", imageOrMask), Parameter("left", .integer), Parameter("top", .integer),
                                      Parameter("width", .integer), Parameter("height", .integer)],
                             summary: "The rectangle of an image or mask with its top-left corner at (left, top).",
                             example: "crop(img, 10, 20, 128, 128)") { args in
            let rect = PixelRect(x: try args.int("left"), y: try args.int("top"), width: try args.int("width"), height: try args.int("height"))
            return try domain("crop") {
                switch args["x"] {
                case .object(let o as MaskValue): return .object(MaskValue(try o.mask.cropped(to: rect)))
                case .object(let o as ImageValue): return .object(ImageValue(try o.image.cropped(to: rect)))
                default: return .nil
                }
            }
        })
        i.register(Primitive("resize", [Parameter("x", imageOrMask), Parameter("width", .integer), Parameter("height", .integer),
                                        Parameter("filter", .string, default: .string("auto"))],
                             summary: "An image or mask resized to width x height.",
                             help: "filter: auto (area when shrinking, bicubic when enlarging), nearest, bilinear, area, bicubic, lanczos.\nMasks are resampled then thresholded at 0.5.",
                             example: "resize(img, 256, 256, filter: \"lanczos\")") { args in
            let w = try args.int("width"), h = try args.int("height")
            let name = try args.string("filter")
            guard let filter = ResizeFilter(rawValue: name) else {
                throw PrimitiveError("resize(): unknown filter \(Value.quote(name)); valid filters: \(ResizeFilter.allCases.map { $0.rawValue }.joined(separator: ", "))")
            }
            return try domain("resize") {
                switch args["x"] {
                case .object(let o as MaskValue): return .object(MaskValue(try o.mask.resized(width: w, height: h)))
                case .object(let o as ImageValue): return .object(ImageValue(try o.image.resized(width: w, height: h, filter: filter)))
                default: return .nil
                }
            }
        })
        i.register(Primitive("grid", [Parameter("images", .list), Parameter("columns", .integer, default: .nil), Parameter("gap", .integer, default: .number(4))],
                             summary: "Images (and masks) laid out in a grid, one row unless columns is given.",
                             example: "show(grid([img, mask, result]))") { args in
            let items = try args["images"].elements(for: "grid")
            var images: [Image] = []
            for (k, item) in items.enumerated() {
                switch item {
                case .object(let o as ImageValue): images.append(o.image)
                case .object(let o as MaskValue): images.append(o.mask.asImage())
                default: throw PrimitiveError("grid(): element \(k) is \(item.typeName), not an image or mask")
                }
            }
            let columns: Int? = args["columns"].number == nil ? nil : try args.int("columns")
            let gap = try args.int("gap")
            return .object(ImageValue(try domain("grid") { try Image.grid(images, columns: columns, gap: gap) }))
        })
    }

    static func registerMasks(in session: Session) {
        let i = session.interpreter
        for (name, verb) in [("dilate", "grown"), ("erode", "shrunk")] {
            i.register(Primitive(name, [Parameter("mask", .object("mask")), Parameter("radius", .integer)],
                                 summary: "The mask \(verb) by radius pixels (elliptical kernel).", example: "\(name)(mask, 8)") { args in
                let m = try args.object("mask", as: MaskValue.self).mask
                let r = try args.int("radius")
                return .object(MaskValue(try domain(name) { name == "dilate" ? try m.dilated(radius: r) : try m.eroded(radius: r) }))
            })
        }
        i.register(Primitive("invert", [Parameter("mask", .object("mask"))],
                             summary: "The mask's complement: masked pixels become unmasked and the reverse.",
                             example: "quality(result, photo, invert(mask))   # measure outside the mask") { args in
            .object(MaskValue(try args.object("mask", as: MaskValue.self).mask.inverted()))
        })
        i.register(Primitive("mask_box", [Parameter("like", imageOrMask), Parameter("left", .integer), Parameter("top", .integer),
                                          Parameter("width", .integer), Parameter("height", .integer)],
                             summary: "A mask the size of `like` with a rectangle set.", example: "let m = mask_box(img, 40, 30, 100, 80)") { args in
            let (w, h) = try size(of: args["like"])
            let rect = PixelRect(x: try args.int("left"), y: try args.int("top"), width: try args.int("width"), height: try args.int("height"))
            return .object(MaskValue(try domain("mask_box") { try Mask.box(width: w, height: h, rect: rect) }))
        })
        i.register(Primitive("mask_ellipse", [Parameter("like", imageOrMask), Parameter("cx", .number), Parameter("cy", .number),
                                              Parameter("rx", .number), Parameter("ry", .number)],
                             summary: "A mask the size of `like` with an ellipse set (centre cx, cy; radii rx, ry).",
                             example: "let m = mask_ellipse(img, 128, 96, 40, 25)") { args in
            let (w, h) = try size(of: args["like"])
            let (cx, cy, rx, ry) = (try args.number("cx"), try args.number("cy"), try args.number("rx"), try args.number("ry"))
            return .object(MaskValue(try domain("mask_ellipse") { try Mask.ellipse(width: w, height: h, cx: cx, cy: cy, rx: rx, ry: ry) }))
        })
    }

    static func size(of value: Value) throws -> (Int, Int) {
        switch value {
        case .object(let o as ImageValue): return (o.image.width, o.image.height)
        case .object(let o as MaskValue): return (o.mask.width, o.mask.height)
        default: throw PrimitiveError("expected an image or mask, got \(value.typeName)")
        }
    }

    static func registerRemoval(in session: Session) {
        let i = session.interpreter
        // `remover` itself (classical, learned and diffusion) is registered by ModelPrimitives.
        i.register(Primitive("oriented", [Parameter("remover", .object("remover")), Parameter("orientation", .integer)],
                             summary: "A remover that works on a turned or mirrored view of its input (EXIF orientation 1...8) and turns the fill back.",
                             help: "1 is the remover itself; 2 mirrors left-right, 3 turns 180 degrees, 4 flips top-bottom, 5 transposes,\n6 and 8 turn a quarter, 7 transverses. A learned remover gives a different fill in each view.",
                             example: "let m4 = oriented(m, 4)") { args in
            let base = try args.object("remover", as: RemoverValue.self).remover
            return .object(RemoverValue(try domain("oriented") { try OrientedRemover(base, orientation: try args.int("orientation")) }))
        })
        i.register(Primitive("remove", [Parameter("image", .object("image")), Parameter("mask", .object("mask")), Parameter("with", .object("remover"), default: .nil)],
                             summary: "The image with the masked object removed; pixels outside the mask are unchanged.",
                             example: "let result = remove(img, mask, with: remover(\"telea\"))") { args in
            let image = try args.object("image", as: ImageValue.self).image
            let mask = try args.object("mask", as: MaskValue.self).mask
            return try domain("remove") {
                let r: any Remover
                if case .object(let o as RemoverValue) = args["with"] { r = o.remover } else { r = try Removers.make(Removers.defaultName) }
                return .object(ImageValue(try r.remove(image, mask: mask)))
            }
        })
        i.register(Primitive("overlay", [Parameter("image", .object("image")), Parameter("mask", .object("mask")), Parameter("opacity", .number, default: .number(0.5))],
                             summary: "The image with the mask painted over it in red, for a quick look.", example: "show(overlay(img, mask))") { args in
            let image = try args.object("image", as: ImageValue.self).image
            let mask = try args.object("mask", as: MaskValue.self).mask
            let opacity = Float(try args.number("opacity"))
            return .object(ImageValue(try domain("overlay") { try image.overlay(mask, opacity: opacity) }))
        })
        i.register(Primitive("quality", [Parameter("a", .object("image")), Parameter("b", .object("image")), Parameter("mask", .object("mask"), default: .nil)],
                             summary: "A record {psnr, ssim, l1} comparing two images (within the mask if given).",
                             example: "quality(result, truth, mask: m).psnr") { args in
            let a = try args.object("a", as: ImageValue.self).image
            let b = try args.object("b", as: ImageValue.self).image
            var mask: Mask?
            if case .object(let o as MaskValue) = args["mask"] { mask = o.mask }
            return try domain("quality") {
                .record(Record([("psnr", .number(try Quality.psnr(a, b, mask: mask))), ("ssim", .number(try Quality.ssim(a, b, mask: mask))),
                                ("l1", .number(try Quality.l1(a, b, mask: mask)))]))
            }
        })
    }
}
