import CCodecs
import Foundation

/// Reading and writing images and masks. PNG (8/16 bit; gray, gray+alpha, RGB, RGBA, palette; interlaced) and JPEG
/// (baseline, progressive; EXIF orientation applied) decode; PNG and JPEG encode. Files are written to a temporary
/// name in the same folder and renamed, so a failed write never leaves a half-written file behind.
public enum ImageIO {
    /// Image file formats rorem reads and writes.
    public enum Format: String, Sendable {
        case png, jpeg

        /// The format implied by a path's extension, or nil.
        public static func forPath(_ path: String) -> Format? {
            switch (path as NSString).pathExtension.lowercased() {
            case "png": return .png
            case "jpg", "jpeg": return .jpeg
            default: return nil
            }
        }
    }

    /// Extensions recognised as images, for listing folders.
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Decodes the image at `path`. The format is detected from the file's first bytes, not its name.
    public static func load(_ path: String) throws -> Image {
        let bytes = try readFile(path)
        return try decode(bytes, path: path)
    }

    /// Decodes the image at `path` and reports the bits per sample its file stores (16 for a 16-bit PNG, 8 for
    /// every other PNG and for JPEG), so that a tool can write its result at the depth it read.
    public static func loadKeepingDepth(_ path: String) throws -> (image: Image, bitDepth: Int) {
        let bytes = try readFile(path)
        return (try decode(bytes, path: path), sampleBitDepth(bytes))
    }

    /// Bits per sample stored by PNG or JPEG bytes: 16 for a 16-bit PNG (the IHDR's bit depth), else 8.
    public static func sampleBitDepth(_ bytes: [UInt8]) -> Int {
        // PNG: 8-byte signature, then the IHDR chunk (length, "IHDR", width, height, bit depth at offset 24).
        let ihdr: [UInt8] = [0x49, 0x48, 0x44, 0x52]
        guard bytes.count > 24, bytes[0] == 0x89, bytes[1] == 0x50, Array(bytes[12..<16]) == ihdr else { return 8 }
        return bytes[24] == 16 ? 16 : 8
    }

    /// Decodes image bytes; `path` only labels error messages.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> Image {
        if bytes.isEmpty { throw ImagingError.corrupt(path: path, reason: "file is empty") }
        if bytes.count >= 8, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 {
            return try decodePNG(bytes, path: path)
        }
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8 {
            return try decodeJPEG(bytes, path: path)
        }
        throw ImagingError.unsupportedFormat(path: path, reason: "not a PNG or JPEG file (first bytes \(bytes.prefix(4).map { String(format: "%02x", $0) }.joined()))")
    }

    /// Loads a mask: a gray image (or the alpha channel of a RGBA one when its color channels are constant, else
    /// its luma), thresholded so that values at or above `threshold` are masked.
    public static func loadMask(_ path: String, threshold: Float = 0.5) throws -> Mask {
        let image = try load(path)
        return Mask(fromImage: image, threshold: threshold)
    }

    /// Encodes `image` in the format given by `path`'s extension and writes it atomically.
    /// - Parameters:
    ///   - quality: JPEG quality 1...100 (default 95).
    ///   - bitDepth: PNG bit depth, 8 (default) or 16.
    public static func save(_ image: Image, to path: String, quality: Int = 95, bitDepth: Int = 8) throws {
        guard let format = Format.forPath(path) else {
            throw ImagingError.unwritable(path: path, reason: "unknown extension; use .png, .jpg or .jpeg")
        }
        let bytes: [UInt8]
        switch format {
        case .png: bytes = try encodePNG(image, bitDepth: bitDepth)
        case .jpeg: bytes = try encodeJPEG(image, quality: quality)
        }
        try writeAtomically(bytes, to: path)
    }

    /// Saves a mask as an 8-bit gray PNG (255 = masked).
    public static func save(_ mask: Mask, to path: String) throws {
        try save(mask.asImage(), to: path)
    }

    // MARK: PNG

    static func decodePNG(_ bytes: [UInt8], path: String) throws -> Image {
        var info = rorem_image_info()
        var raw: UnsafeMutableRawPointer?
        let code = bytes.withUnsafeBufferPointer { buf in
            rorem_png_decode(buf.baseAddress, buf.count, ImageLimits.maxSide, ImageLimits.maxPixels, &info, &raw)
        }
        defer { rorem_free(raw) }
        try check(code, info: &info, path: path)
        guard let raw else { throw ImagingError.corrupt(path: path, reason: "decoder returned no pixels") }
        let count = Int(info.width) * Int(info.height) * Int(info.channels)
        var pixels = [Float](repeating: 0, count: count)
        if info.bit_depth == 16 {
            let src = raw.bindMemory(to: UInt16.self, capacity: count)
            for i in 0..<count { pixels[i] = Float(src[i]) / 65535 }
        } else {
            let src = raw.bindMemory(to: UInt8.self, capacity: count)
            for i in 0..<count { pixels[i] = Float(src[i]) / 255 }
        }
        return try Image(width: Int(info.width), height: Int(info.height), channels: Int(info.channels), pixels: pixels)
    }

    /// Encodes `image` as PNG bytes at 8 or 16 bits per sample.
    public static func encodePNG(_ image: Image, bitDepth: Int = 8) throws -> [UInt8] {
        guard bitDepth == 8 || bitDepth == 16 else { throw ImagingError.invalidArgument("PNG bit depth must be 8 or 16, got \(bitDepth)") }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let code: Int32
        if bitDepth == 16 {
            let samples = image.pixels.map { UInt16((min(max($0, 0), 1) * 65535).rounded()) }
            code = samples.withUnsafeBytes { buf in
                rorem_png_encode(buf.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels), 16, &out, &size, &message, 256)
            }
        } else {
            let samples = quantize8(image.pixels)
            code = samples.withUnsafeBytes { buf in
                rorem_png_encode(buf.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels), 8, &out, &size, &message, 256)
            }
        }
        defer { rorem_free(out) }
        guard code == 0, let out else { throw ImagingError.invalidArgument("PNG encoding failed: \(String(cString: message))") }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    // MARK: JPEG

    static func decodeJPEG(_ bytes: [UInt8], path: String) throws -> Image {
        var info = rorem_image_info()
        var raw: UnsafeMutablePointer<UInt8>?
        let code = bytes.withUnsafeBufferPointer { buf in
            rorem_jpeg_decode(buf.baseAddress, buf.count, ImageLimits.maxSide, ImageLimits.maxPixels, &info, &raw)
        }
        defer { rorem_free(raw) }
        try check(code, info: &info, path: path)
        guard let raw else { throw ImagingError.corrupt(path: path, reason: "decoder returned no pixels") }
        let count = Int(info.width) * Int(info.height) * Int(info.channels)
        var pixels = [Float](repeating: 0, count: count)
        for i in 0..<count { pixels[i] = Float(raw[i]) / 255 }
        let image = try Image(width: Int(info.width), height: Int(info.height), channels: Int(info.channels), pixels: pixels)
        return image.oriented(exif: Int(info.orientation))
    }

    /// Encodes `image` as JPEG bytes (alpha is dropped) at `quality` 1...100.
    public static func encodeJPEG(_ image: Image, quality: Int = 95) throws -> [UInt8] {
        guard (1...100).contains(quality) else { throw ImagingError.invalidArgument("JPEG quality must be in 1...100, got \(quality)") }
        let source = image.channels == 4 ? try image.converted(toChannels: 3) : image
        let samples = quantize8(source.pixels)
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let code = samples.withUnsafeBufferPointer { buf in
            rorem_jpeg_encode(buf.baseAddress, Int32(source.width), Int32(source.height), Int32(source.channels), Int32(quality), &out, &size, &message, 256)
        }
        defer { rorem_free(out) }
        guard code == 0, let out else { throw ImagingError.invalidArgument("JPEG encoding failed: \(String(cString: message))") }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    // MARK: Shared

    private static func check(_ code: Int32, info: inout rorem_image_info, path: String) throws {
        if code == 0 { return }
        let message = withUnsafeBytes(of: &info.error) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch Int(code) {
        case RO_TOO_LARGE:
            throw ImagingError.tooLarge(path: path, width: Int(info.width), height: Int(info.height),
                                        limit: "at most \(ImageLimits.maxSide) px a side and \(ImageLimits.maxPixels) pixels")
        case RO_UNSUPPORTED: throw ImagingError.unsupportedFormat(path: path, reason: message)
        case RO_NO_MEMORY: throw ImagingError.corrupt(path: path, reason: message)
        default: throw ImagingError.corrupt(path: path, reason: message.isEmpty ? "decoding failed" : message)
        }
    }

    static func quantize8(_ values: [Float]) -> [UInt8] {
        values.map { UInt8((min(max($0.isNaN ? 0 : $0, 0), 1) * 255).rounded()) }
    }

    /// Reads a whole file, with messages for the usual failures (missing, a folder, unreadable).
    public static func readFile(_ path: String) throws -> [UInt8] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ImagingError.unreadable(path: path, reason: "no such file")
        }
        if isDir.boolValue { throw ImagingError.unreadable(path: path, reason: "is a folder, not a file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImagingError.unreadable(path: path, reason: "permission denied or unreadable")
        }
        return [UInt8](data)
    }

    /// Writes `bytes` to a temporary file beside `path`, then renames it into place.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw ImagingError.unwritable(path: path, reason: "folder '\(folder)' does not exist")
        }
        let temp = folder + "/.\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(bytes)) else {
            throw ImagingError.unwritable(path: path, reason: "cannot create a file in '\(folder)' (permissions or disk space)")
        }
        if rename(temp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw ImagingError.unwritable(path: path, reason: reason)
        }
    }
}
