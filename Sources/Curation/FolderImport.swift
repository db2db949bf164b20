import Foundation
import Imaging

/// Importing real photographs to curate: images and their masks matched by file name, no ground truth.
public enum FolderImport {
    /// Suffixes tried, in order, after an image's stem to find its mask (`cat.jpg` -> `cat.png`, `cat_mask.png`, ...).
    public static let maskSuffixes = ["", "_mask", "-mask", ".mask"]

    /// A dataset of the PNG/JPEG images in `images`, each paired with the mask of the same stem (plus one of
    /// ``maskSuffixes``) in `masks` (default: the same folder, where files named like masks are not images).
    ///
    /// Images without a mask are an error that lists them, unless `skipUnmatched` is true. Images load lazily.
    /// - Returns: the dataset (sorted by file name) and the names of images skipped for want of a mask.
    public static func load(images: String, masks: String? = nil, name: String? = nil,
                            skipUnmatched: Bool = false) throws -> (dataset: Dataset, unmatched: [String]) {
        let imageFiles = try listImages(images)
        let maskFolder = masks ?? images
        let maskFiles = masks == nil ? imageFiles : try listImages(maskFolder)
        // Stem -> mask file, for every suffix form.
        var maskByStem: [String: String] = [:]
        for file in maskFiles { maskByStem[(file as NSString).deletingPathExtension] = file }
        let sameFolder = masks == nil
        var pairs: [Pair] = [], unmatched: [String] = []
        for file in imageFiles {
            let stem = (file as NSString).deletingPathExtension
            if sameFolder, maskSuffixes.dropFirst().contains(where: { !$0.isEmpty && stem.hasSuffix($0) }) { continue }
            let suffixes = sameFolder ? Array(maskSuffixes.dropFirst()) : maskSuffixes
            guard let maskFile = suffixes.lazy.compactMap({ maskByStem[stem + $0] }).first else { unmatched.append(file); continue }
            pairs.append(Pair(name: stem, source: .file(images + "/" + file), mask: .file(maskFolder + "/" + maskFile)))
        }
        if !unmatched.isEmpty && !skipUnmatched {
            let shown = unmatched.prefix(10).joined(separator: ", ")
            throw CurationError.badDataset(path: images, reason: "\(unmatched.count) image(s) have no mask in '\(maskFolder)' (tried \(maskSuffixes.map { "<stem>\($0).png" }.joined(separator: ", "))): \(shown)\(unmatched.count > 10 ? ", ..." : "")")
        }
        if pairs.isEmpty { throw CurationError.badDataset(path: images, reason: "no image with a mask found") }
        return (Dataset(name: name ?? (images as NSString).lastPathComponent, pairs: pairs), unmatched)
    }

    static func listImages(_ folder: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw CurationError.badDataset(path: folder, reason: "no such folder")
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw CurationError.badDataset(path: folder, reason: "cannot list the folder: \(error.localizedDescription)")
        }
        return names.filter { !$0.hasPrefix(".") && ImageIO.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
    }
}
