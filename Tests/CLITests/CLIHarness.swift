import Foundation
import XCTest
import Imaging

/// Runs the built `rorem` binary (found beside the test bundle) and captures its output.
enum CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var binary: String? {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments.first { $0.contains(".xctest") } ?? CommandLine.arguments[0])
            .deletingLastPathComponent()
        let candidates = [bundleDir.appendingPathComponent("rorem").path] +
            ["debug", "release"].map { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/\($0)/rorem").standardized.path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        guard let binary else {
            XCTFail("the rorem binary is not built (swift build first)", file: file, line: line)
            throw XCTSkip("no binary")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A temporary folder with a small textured test image and masks, removed on deinit.
final class Workspace {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "rorem-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    /// A 64x48 RGB image with stripes and a gradient.
    func image(_ name: String, width: Int = 64, height: Int = 48) throws -> String {
        var img = try Image(width: width, height: height, channels: 3)
        for y in 0..<height {
            for x in 0..<width {
                img[x, y, 0] = Float(x) / Float(width)
                img[x, y, 1] = (x / 4) % 2 == 0 ? 0.8 : 0.2
                img[x, y, 2] = Float(y) / Float(height)
            }
        }
        try ImageIO.save(img, to: file(name))
        return file(name)
    }

    /// A mask with a box in the middle (or empty / full).
    func mask(_ name: String, width: Int = 64, height: Int = 48, fill: String = "box") throws -> String {
        let m: Mask
        switch fill {
        case "empty": m = try Mask(width: width, height: height)
        case "full": m = try Mask(width: width, height: height, value: 1)
        default: m = try Mask.box(width: width, height: height, rect: PixelRect(x: width / 3, y: height / 3, width: width / 4, height: height / 4))
        }
        try ImageIO.save(m, to: file(name))
        return file(name)
    }

    func write(_ name: String, bytes: [UInt8]) throws -> String {
        try ImageIO.writeAtomically(bytes, to: file(name))
        return file(name)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }
}
