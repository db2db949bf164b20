import Foundation
import Imaging

/// The files an offline review batch was written to.
public struct OfflineBatch: Sendable, Equatable {
    /// Contact sheets, in order (`sheet-001.png`, ...).
    public var sheets: [String]
    /// The CSV to fill in.
    public var csv: String
}

/// What importing a filled-in review CSV did.
public struct CSVImportReport: Sendable, Equatable {
    /// Rows recorded as accept.
    public var accepted: Int
    /// Rows recorded as reject.
    public var rejected: Int
    /// Rows left blank (no label written).
    public var blank: Int
}

/// Review without a terminal: contact sheets (PNG grids, one row per candidate: its id drawn at the left, then
/// source | mask overlay | result) and a CSV with one row per candidate to fill in, imported back as a person's
/// labels. The language's `annotate` with a folder.
public enum OfflineReview {
    /// CSV columns, in order. `decision` is the column to fill in: `accept`/`reject` (or `a`/`r`, `yes`/`no`,
    /// `y`/`n`, `1`/`0`, any case), or blank to leave the candidate unlabelled; `note` is free text.
    public static let columns = ["candidate_id", "sheet", "row", "pair", "model", "round", "decision", "note"]

    /// Writes `candidates` as contact sheets of `rowsPerSheet` rows, each image scaled to `thumbnail` px on its
    /// long side, plus `review.csv`, into folder `dir`.
    @discardableResult
    public static func export(_ candidates: [Candidate], to dir: String, rowsPerSheet: Int = 8, thumbnail: Int = 128) throws -> OfflineBatch {
        guard rowsPerSheet > 0 else { throw CurationError.invalidArgument("rowsPerSheet must be positive, got \(rowsPerSheet)") }
        guard (16...1024).contains(thumbnail) else { throw CurationError.invalidArgument("thumbnail must be in 16...1024 px, got \(thumbnail)") }
        guard !candidates.isEmpty else { throw CurationError.invalidArgument("no candidates to export for review") }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw CurationError.storeUnavailable(path: dir, reason: "cannot create the review folder: \(error.localizedDescription)")
        }
        var sheets: [String] = []
        var csv = CSV.line(columns)
        var start = 0
        while start < candidates.count {
            let chunk = Array(candidates[start..<min(start + rowsPerSheet, candidates.count)])
            let name = String(format: "sheet-%03d.png", sheets.count + 1)
            try ImageIO.save(try contactSheet(chunk, thumbnail: thumbnail), to: dir + "/" + name)
            for (row, c) in chunk.enumerated() {
                csv += CSV.line(["\(c.id)", name, "\(row + 1)", c.pairName, c.model, c.round.map(String.init) ?? "", "", ""])
            }
            sheets.append(dir + "/" + name)
            start += rowsPerSheet
        }
        let csvPath = dir + "/review.csv"
        try ImageIO.writeAtomically(Array(csv.utf8), to: csvPath)
        return OfflineBatch(sheets: sheets, csv: csvPath)
    }

    /// One sheet: a row per candidate, `#id` then source, source with the mask tinted red, and the result.
    public static func contactSheet(_ candidates: [Candidate], thumbnail: Int = 128) throws -> Image {
        let gap = 4, scale = max(1, thumbnail / 32)
        let labels = candidates.map { "#\($0.id)" }
        let labelWidth = (labels.map { BitmapFont.width($0, scale: scale) }.max() ?? 0) + 2 * gap
        var rows: [[Image]] = []
        for c in candidates {
            let source = try c.source.loadImage().converted(toChannels: 3)
            let overlay = try source.overlay(c.mask.loadMask())
            let result = try c.result.loadImage().converted(toChannels: 3)
            rows.append(try [source, overlay, result].map { try $0.resized(longSide: thumbnail) })
        }
        let cellW = rows.flatMap { $0.map(\.width) }.max() ?? thumbnail
        let cellH = rows.flatMap { $0.map(\.height) }.max() ?? thumbnail
        let width = labelWidth + 3 * cellW + 3 * gap, height = rows.count * (cellH + gap) + gap
        var sheet = try Image(width: width, height: height, channels: 3, value: 1)
        for (r, images) in rows.enumerated() {
            let y = gap + r * (cellH + gap)
            BitmapFont.draw(labels[r], into: &sheet, x: gap, y: y + (cellH - 5 * scale) / 2, scale: scale, color: [0])
            for (k, image) in images.enumerated() {
                sheet = try sheet.pasting(image, at: labelWidth + k * (cellW + gap), y)
            }
        }
        return sheet
    }

    /// Reads a filled-in review CSV and records its decisions as person `annotator`'s labels, all in one
    /// transaction: when any row is bad nothing is recorded and the error lists every bad row by line.
    public static func importCSV(_ path: String, into store: Store, annotator: String) throws -> CSVImportReport {
        let bytes: [UInt8]
        do { bytes = try ImageIO.readFile(path) } catch { throw CurationError.badCSV(path: path, problems: ["\(error)"]) }
        let records = try CSV.parse(String(decoding: bytes, as: UTF8.self), path: path)
        guard let header = records.first else { throw CurationError.badCSV(path: path, problems: ["line 1: the file is empty; expected a header"]) }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let idColumn = names.firstIndex(of: "candidate_id"), let decisionColumn = names.firstIndex(of: "decision") else {
            throw CurationError.badCSV(path: path, problems: ["line \(header.line): the header needs columns 'candidate_id' and 'decision', got \(header.fields.joined(separator: ","))"])
        }
        let noteColumn = names.firstIndex(of: "note")
        var problems: [String] = [], inputs: [LabelInput] = [], seen: [Int64: Int] = [:]
        var report = CSVImportReport(accepted: 0, rejected: 0, blank: 0)
        for record in records.dropFirst() {
            let f = record.fields
            guard f.count > max(idColumn, decisionColumn) else {
                problems.append("line \(record.line): \(f.count) field(s), expected \(names.count)")
                continue
            }
            let idText = f[idColumn].trimmingCharacters(in: .whitespaces)
            guard let id = Int64(idText) else { problems.append("line \(record.line): candidate_id '\(idText)' is not a number"); continue }
            if let first = seen[id] { problems.append("line \(record.line): candidate \(id) already decided on line \(first)"); continue }
            seen[id] = record.line
            let decisionText = f[decisionColumn].trimmingCharacters(in: .whitespaces).lowercased()
            let accept: Bool
            switch decisionText {
            case "": report.blank += 1; continue
            case "accept", "a", "yes", "y", "1", "true", "ok": accept = true
            case "reject", "r", "no", "n", "0", "false": accept = false
            default:
                problems.append("line \(record.line): decision '\(f[decisionColumn])' is not accept/reject (a/r, yes/no, 1/0) or blank")
                continue
            }
            let note = noteColumn.flatMap { $0 < f.count ? f[$0] : nil } ?? ""
            inputs.append(LabelInput(candidateID: id, accept: accept, note: note))
        }
        // Candidates that are not in the store.
        let known = try store.db.read { db in
            try Set(Int64.fetchAll(db, sql: "SELECT id FROM candidate WHERE id IN (\(inputs.map { "\($0.candidateID)" }.joined(separator: ",")))"))
        }
        for input in inputs where !known.contains(input.candidateID) {
            problems.append("line \(seen[input.candidateID] ?? 0): candidate \(input.candidateID) is not in the store")
        }
        if !problems.isEmpty { throw CurationError.badCSV(path: path, problems: problems) }
        try store.addLabels(inputs, by: .person(annotator))
        for input in inputs { if input.accept == true { report.accepted += 1 } else { report.rejected += 1 } }
        return report
    }
}
