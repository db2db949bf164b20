import Foundation
import Imaging

/// The RORem repository's dataset layout: a JSON list of `{"source", "mask", "GT"}` objects (plus `"score"` for
/// discriminator labels) whose paths are relative to the JSON file's folder, with the images in `source/`, `mask/`
/// and `GT/`. The language's `import_rorem` and `export_rorem`.
public enum RoremFormat {
    /// Reads `metaPath` into a dataset whose images load lazily from the referenced files.
    ///
    /// Every referenced file is checked before returning: a missing or unreadable one is named (entry number,
    /// key, path as written and as resolved) and nothing is imported. With `decode` true every image is also
    /// decoded and sizes compared, so a corrupt file is caught now rather than later.
    public static func load(_ metaPath: String, name: String? = nil, decode: Bool = false) throws -> Dataset {
        let bytes: [UInt8]
        do { bytes = try ImageIO.readFile(metaPath) } catch { throw CurationError.badDataset(path: metaPath, reason: "\(error)") }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw CurationError.badDataset(path: metaPath, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let entries = json as? [Any] else {
            throw CurationError.badDataset(path: metaPath, reason: "expected a JSON list of {\"source\", \"mask\", \"GT\"} objects")
        }
        let folder = (metaPath as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : (folder.isEmpty ? p : folder + "/" + p) }

        var problems: [String] = []
        var pairs: [Pair] = []
        var usedNames = Set<String>()
        for (n, entry) in entries.enumerated() {
            guard let object = entry as? [String: Any] else { problems.append("entry \(n): not an object"); continue }
            var paths: [String: String] = [:]
            for key in ["source", "mask", "GT"] {
                guard let value = object[key] else {
                    if key != "GT" { problems.append("entry \(n): no \"\(key)\"") }
                    continue
                }
                guard let text = value as? String, !text.isEmpty else { problems.append("entry \(n): \"\(key)\" is not a path"); continue }
                let full = resolve(text)
                if let trouble = fileTrouble(full) {
                    problems.append("entry \(n): \(key) '\(text)' (\(full)): \(trouble)")
                    continue
                }
                paths[key] = full
            }
            var score: Double?
            if let raw = object["score"] {
                guard let number = raw as? NSNumber, !(raw is Bool) else { problems.append("entry \(n): \"score\" is not a number"); continue }
                score = number.doubleValue
            }
            guard let source = paths["source"], let mask = paths["mask"], object["GT"] == nil || paths["GT"] != nil else { continue }
            var stem = ((source as NSString).lastPathComponent as NSString).deletingPathExtension, k = 2
            let base = stem
            while usedNames.contains(stem) { stem = "\(base)-\(k)"; k += 1 }
            usedNames.insert(stem)
            pairs.append(Pair(name: stem, source: .file(source), mask: .file(mask), target: paths["GT"].map { .file($0) }, score: score))
        }
        if !problems.isEmpty {
            let shown = problems.prefix(10).joined(separator: "; ")
            throw CurationError.badDataset(path: metaPath, reason: "\(problems.count) problem(s): \(shown)\(problems.count > 10 ? "; ..." : "")")
        }
        let dataset = Dataset(name: name ?? defaultName(metaPath), pairs: pairs)
        if decode { try check(dataset, metaPath: metaPath) }
        return dataset
    }

    /// Writes `dataset` in RORem's layout under folder `dir`: `source/<name>.png`, `mask/<name>.png` (gray, 255 =
    /// masked), `GT/<name>.png` for pairs with a target, and `meta.json` (written last, atomically). Images are
    /// 8-bit PNG, so 8-bit inputs round-trip exactly. Returns the path of `meta.json`.
    @discardableResult
    public static func export(_ dataset: Dataset, to dir: String) throws -> String {
        let fm = FileManager.default
        for sub in ["", "/source", "/mask", "/GT"] {
            do {
                try fm.createDirectory(atPath: dir + sub, withIntermediateDirectories: true)
            } catch {
                throw CurationError.badDataset(path: dir + sub, reason: "cannot create the folder: \(error.localizedDescription)")
            }
        }
        var entries: [[String: Any]] = []
        var used = Set<String>()
        for pair in dataset {
            var file = safeFileName(pair.name), k = 2
            let base = file
            while used.contains(file) { file = "\(base)-\(k)"; k += 1 }
            used.insert(file)
            var entry: [String: Any] = ["source": "source/\(file).png", "mask": "mask/\(file).png"]
            try ImageIO.save(try pair.loadSource(), to: "\(dir)/source/\(file).png")
            try ImageIO.save(try pair.loadMask().thresholded(), to: "\(dir)/mask/\(file).png")
            if let target = try pair.loadTarget() {
                try ImageIO.save(target, to: "\(dir)/GT/\(file).png")
                entry["GT"] = "GT/\(file).png"
            }
            if let score = pair.score { entry["score"] = score }
            entries.append(entry)
        }
        let data = try JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys])
        let meta = dir + "/meta.json"
        try ImageIO.writeAtomically([UInt8](data), to: meta)
        return meta
    }

    /// Nil when `path` is a readable file, else what is wrong with it.
    static func fileTrouble(_ path: String) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return "no such file" }
        if isDir.boolValue { return "is a folder, not a file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "not readable (permissions)" }
        return nil
    }

    static func defaultName(_ metaPath: String) -> String {
        let folder = ((metaPath as NSString).deletingLastPathComponent as NSString).lastPathComponent
        let stem = ((metaPath as NSString).lastPathComponent as NSString).deletingPathExtension
        return folder.isEmpty ? stem : "\(folder)/\(stem)"
    }

    /// A file name made of letters, digits, `-`, `_` and `.` only.
    static func safeFileName(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        let cleaned = String(name.map { allowed.contains($0) ? $0 : "_" })
        return cleaned.isEmpty || cleaned.hasPrefix(".") ? "pair" + cleaned : cleaned
    }

    /// Decodes every image of `dataset` and checks that mask and target sizes match the source.
    static func check(_ dataset: Dataset, metaPath: String) throws {
        for (n, pair) in dataset.enumerated() {
            do {
                let source = try pair.loadSource()
                try pair.loadMask().checkSize(matches: source, what: "mask of entry \(n) '\(pair.name)'")
                if let target = try pair.loadTarget(), target.width != source.width || target.height != source.height {
                    throw CurationError.badDataset(path: metaPath, reason: "entry \(n) '\(pair.name)': GT is \(target.width)x\(target.height), source \(source.width)x\(source.height)")
                }
            } catch let error as CurationError {
                throw error
            } catch {
                throw CurationError.badDataset(path: metaPath, reason: "entry \(n) '\(pair.name)': \(error)")
            }
        }
    }
}
