import Curation
import Foundation
import Lang

extension CurationPrimitives {
    static func registerLabels(in session: Session) {
        let i = session.interpreter
        i.register(Primitive("labels", [Parameter("store", .object("store")), Parameter("by", .string, default: .nil), Parameter("round", .integer, default: .nil)],
                             summary: "Labels as records {candidate, kind, annotator, accept, score, note}, oldest first; optionally one annotator's or one round's.",
                             help: "by: a person's name, \"oracle\", or kind:name (person:alice, discriminator:disc-r1).",
                             example: "let mine = labels(st, by: \"alice\", round: 1)") { args in
            let store = try args.object("store", as: StoreValue.self).store
            let by = try args["by"].string.map { try annotator($0, for: "labels") }
            let round: Int? = args["round"].number == nil ? nil : try args.int("round")
            return .list(try curation("labels") { try store.labels(by: by, round: round) }.map { l in
                .record(Record([("candidate", .number(Double(l.candidateID))), ("kind", .string(l.annotator.kind.rawValue)),
                                ("annotator", .string(l.annotator.name)), ("accept", l.accept.map { .bool($0) } ?? .nil),
                                ("score", l.score.map { .number($0) } ?? .nil), ("note", .string(l.note))]))
            })
        })
        i.register(Primitive("accepted", [Parameter("store", .object("store")), Parameter("by", .string), Parameter("round", .integer, default: .nil)],
                             summary: "The candidates an annotator accepted, optionally only in one round.",
                             example: "let good = accepted(st, \"alice\", round: 1)") { args in
            let store = try args.object("store", as: StoreValue.self).store
            let by = try annotator(try args.string("by"), for: "accepted")
            let round: Int? = args["round"].number == nil ? nil : try args.int("round")
            return .object(CandidatesValue(store: store, candidates: try curation("accepted") { try store.accepted(by: by, round: round) }))
        })
        i.register(Primitive("oracle", [Parameter("cands", .object("candidates")), Parameter("min_psnr", .number, default: .number(25)),
                                        Parameter("max_l1", .number, default: .number(0.05)), Parameter("dilation", .integer, default: .number(0)),
                                        Parameter("name", .string, default: .string("oracle")), Parameter("relabel", .bool, default: .bool(false))],
                             summary: "Labels candidates from ground truth: accept when masked PSNR >= min_psnr and masked L1 <= max_l1.",
                             help: "Returns {labelled, accepted, accept_rate, without_ground_truth, already_labelled}. Candidates without a target\nare listed, not labelled; ones this oracle labelled before are skipped unless relabel: true.",
                             example: "oracle(cands, min_psnr: 28).accept_rate") { args in
            let c = try args.object("cands", as: CandidatesValue.self)
            let rule = OracleRule(minPSNR: try args.number("min_psnr"), maxL1: try args.number("max_l1"), maskDilation: try args.int("dilation"))
            let name = try args.string("name"), relabel = args["relabel"] == .bool(true)
            let r = try curation("oracle") { try Oracle.label(c.candidates, in: c.store, rule: rule, name: name, relabel: relabel) }
            return .record(Record([("labelled", .number(Double(r.labelled))), ("accepted", .number(Double(r.accepted))),
                                   ("accept_rate", r.acceptRate.map { .number($0) } ?? .nil),
                                   ("without_ground_truth", .number(Double(r.withoutGroundTruth.count))),
                                   ("already_labelled", .number(Double(r.alreadyLabelled)))]))
        })
        i.register(Primitive("evaluate", [Parameter("cands", .object("candidates")), Parameter("name", .string), Parameter("round", .integer, default: .nil)],
                             summary: "Measures candidates against ground truth and every annotator's success rate; recorded in the store.",
                             help: "Returns {count, with_ground_truth, psnr_masked, l1_masked, ssim_masked, success_rate:<kind>:<name>...}.",
                             example: "evaluate(cands, \"telea-r1\", round: 1).psnr_masked") { args in
            let c = try args.object("cands", as: CandidatesValue.self)
            let name = try args.string("name")
            let round: Int? = args["round"].number == nil ? nil : try args.int("round")
            let summary = try curation("evaluate") { try c.store.evaluate(c.candidates, name: name, round: round) }
            var fields: [(String, Value)] = [("count", .number(Double(summary.count))), ("with_ground_truth", .number(Double(summary.withGroundTruth)))]
            for key in summary.metrics.keys.sorted() { fields.append((key, .number(summary.metrics[key] ?? .nan))) }
            return .record(Record(fields))
        })
        i.register(Primitive("agreement", [Parameter("a"), Parameter("b"), Parameter("store", .object("store"), default: .nil),
                                           Parameter("round", .integer, default: .nil)],
                             summary: "Percent agreement, Cohen's kappa and success-rate gap between two annotators.",
                             help: "a, b: two annotator names with store: (\"alice\", \"oracle\", discriminator:NAME), two label lists from\nlabels(...) (matched by candidate), or two equally long lists of true/false decisions (item by item).",
                             example: "agreement(\"alice\", \"oracle\", store: st, round: 1).kappa") { args in
            .object(AgreementValue(try agreementReport(args)))
        })
        i.register(Primitive("export_review", [Parameter("cands", .object("candidates")), Parameter("dir", .string),
                                               Parameter("rows", .integer, default: .number(8)), Parameter("thumbnail", .integer, default: .number(128))],
                             summary: "Offline review: contact sheets (source | mask overlay | result per row) and review.csv to fill in.",
                             help: "Returns {sheets, csv}. Fill the decision column with accept/reject (a/r, y/n, 1/0) or leave it blank,\nthen import_review(store, csv, person: \"name\").",
                             example: "export_review(cands, \"review/r1\").csv") { [unowned session] args in
            let c = try args.object("cands", as: CandidatesValue.self)
            let dir = session.resolve(try args.string("dir"))
            let rows = try args.int("rows"), thumbnail = try args.int("thumbnail")
            guard rows >= 1, thumbnail >= 8 else { throw PrimitiveError("export_review(): rows must be >= 1 and thumbnail >= 8, got \(rows) and \(thumbnail)") }
            let batch = try curation("export_review") { try OfflineReview.export(c.candidates, to: dir, rowsPerSheet: rows, thumbnail: thumbnail) }
            return .record(Record([("sheets", .list(batch.sheets.map { .string($0) })), ("csv", .string(batch.csv))]))
        })
        i.register(Primitive("import_review", [Parameter("store", .object("store")), Parameter("csv", .string), Parameter("person", .string)],
                             summary: "Imports a filled-in review CSV as a person's labels, all rows or none; returns {accepted, rejected, blank}.",
                             example: "import_review(st, \"review/r1/review.csv\", person: \"alice\")") { [unowned session] args in
            let store = try args.object("store", as: StoreValue.self).store
            let csv = session.resolve(try args.string("csv")), person = try args.string("person")
            guard !person.isEmpty else { throw PrimitiveError("import_review(): person must be a name, got an empty string") }
            let r = try curation("import_review") { try OfflineReview.importCSV(csv, into: store, annotator: person) }
            return .record(Record([("accepted", .number(Double(r.accepted))), ("rejected", .number(Double(r.rejected))), ("blank", .number(Double(r.blank)))]))
        })
    }

    /// The report `agreement(a, b, store:, round:)` asks for (see its help for the three forms).
    static func agreementReport(_ args: Arguments) throws -> AgreementReport {
        let a = args["a"], b = args["b"]
        if let x = a.string, let y = b.string {
            guard case .object(let s as StoreValue) = args["store"] else {
                throw PrimitiveError("agreement(): comparing annotators \(Value.quote(x)) and \(Value.quote(y)) needs store: (e.g. agreement(\"alice\", \"oracle\", store: st))")
            }
            let round: Int? = args["round"].number == nil ? nil : try args.int("round")
            let first = try annotator(x, for: "agreement"), second = try annotator(y, for: "agreement")
            return try curation("agreement") { try s.store.agreement(first, second, round: round) }
        }
        guard case .list(let xs) = a, case .list(let ys) = b else {
            throw PrimitiveError("agreement(): a and b must be two annotator names, two label lists or two lists of true/false, got \(a.typeName) and \(b.typeName)")
        }
        if xs.allSatisfy({ if case .bool = $0 { return true }; return false }) && ys.allSatisfy({ if case .bool = $0 { return true }; return false }) {
            return try curation("agreement") { try Agreement.compare(decisions: xs.map { $0 == .bool(true) }, ys.map { $0 == .bool(true) }) }
        }
        let first = try decisions(xs, "a"), second = try decisions(ys, "b")
        let report = Agreement.compare(first, second)
        guard report.count > 0 else { throw PrimitiveError("agreement(): the two label lists share no decided candidate") }
        return report
    }

    /// Candidate id -> accept from label records (`labels(...)`); records without a decision are left out.
    static func decisions(_ items: [Value], _ which: String) throws -> [Int64: Bool] {
        var out: [Int64: Bool] = [:]
        for (k, item) in items.enumerated() {
            guard case .record(let r) = item, let id = r["candidate"]?.number else {
                throw PrimitiveError("agreement(): element \(k) of \(which) is \(item.typeName), not a label record from labels(...) or a bool")
            }
            if case .bool(let accept)? = r["accept"] { out[Int64(id)] = accept }
        }
        return out
    }
}
