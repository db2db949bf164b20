import Curation
import Foundation
import Imaging
import Lang
import Learning
import Rounds
import Removal

/// The primitives of a RORem round that join learned models to the store: `annotate` (automatic labels from a
/// discriminator), `as_pairs` (accepted results as training pairs), `evaluate_model` (a remover on a test set,
/// judged by the oracle and a discriminator) and `save_json`.
enum RoundPrimitives {
    static func register(in session: Session) {
        registerAnnotation(in: session)
        registerEvaluation(in: session)
        registerJSON(in: session)
    }

    static func registerAnnotation(in session: Session) {
        let i = session.interpreter
        i.register(Primitive("annotate", [Parameter("disc", .object("discriminator")), Parameter("cands", .object("candidates")),
                                          Parameter("threshold", .number, default: .number(0.9)), Parameter("name", .string, default: .nil)],
                             summary: "Labels candidates automatically: accept when the discriminator's score reaches threshold (RORem: 0.9).",
                             help: "Labels go into the store as discriminator:NAME (name: default the discriminator's own) with the score and\nthreshold. Candidates it already decided are skipped. Returns {labelled, accepted, accept_rate, mean_score, skipped}.",
                             example: "annotate(d, generate(st, m, pool, round: 1), threshold: 0.9).accept_rate") { args in
            let d = try args.object("disc", as: DiscriminatorValue.self)
            let c = try args.object("cands", as: CandidatesValue.self)
            let threshold = try args.number("threshold")
            guard threshold.isFinite, (0...1).contains(threshold) else {
                throw PrimitiveError("annotate(): threshold must be in 0...1, got \(Value.format(threshold))")
            }
            let annotator = Annotator.discriminator(args["name"].string ?? d.name, threshold: threshold)
            let s = try ModelPrimitives.learning("annotate") { try Rounds.annotate(d.scorer, c.candidates, store: c.store, annotator: annotator) }
            return .record(Record([("labelled", .number(Double(s.labelled))), ("accepted", .number(Double(s.accepted))),
                                   ("accept_rate", s.acceptRate.map { .number($0) } ?? .nil),
                                   ("mean_score", s.meanScore.map { .number($0) } ?? .nil),
                                   ("skipped", .number(Double(s.skipped)))]))
        })
        i.register(Primitive("as_pairs", [Parameter("cands", .object("candidates")), Parameter("name", .string, default: .nil)],
                             summary: "Candidates as training pairs: (source, mask, result as target), e.g. the accepted ones of a round.",
                             help: "Pair names keep the candidate id, so a pair accepted in two rounds gives two training pairs.",
                             example: "let more = as_pairs(accepted(st, \"discriminator:disc\", round: 1))") { args in
            let c = try args.object("cands", as: CandidatesValue.self)
            let name = args["name"].string ?? "accepted-\(c.candidates.count)"
            return .object(DatasetValue(TrainingSources.pairs(c.candidates, name: name)))
        })
    }

    static func registerEvaluation(in session: Session) {
        session.interpreter.register(Primitive(
            "evaluate_model",
            [Parameter("store", .object("store")), Parameter("model", .object("remover")), Parameter("test", .object("dataset")),
             Parameter("name", .string), Parameter("round", .integer, default: .nil),
             Parameter("disc", .object("discriminator"), default: .nil), Parameter("threshold", .number, default: .number(0.9)),
             Parameter("min_psnr", .number, default: .number(25)), Parameter("max_l1", .number, default: .number(0.05))],
            summary: "Runs a remover on a test set with ground truth and reports its success rate by the oracle and a discriminator, and masked PSNR / SSIM / L1.",
            help: """
            name: the model name its candidates are recorded under (one per stage, e.g. "unet-r2"); the evaluation gets the
            same name. The oracle (min_psnr, max_l1) labels every result; disc: also labels them at threshold.
            Returns {name, count, sr_oracle, sr_discriminator (the share the discriminator accepts at threshold; nil
            without disc), sr_expected (its mean score: a judge trained with MSE on 0/1 labels scores the probability of
            success, so the mean estimates the success rate without a threshold's bias), psnr, ssim, l1, candidates,
            scores (the discriminator's score of each candidate, nil without disc)}.
            """,
            example: "evaluate_model(st, m, test, \"unet-r0\", round: 0, disc: d).sr_oracle"
        ) { args in
            let store = try args.object("store", as: StoreValue.self).store
            let remover = try args.object("model", as: RemoverValue.self).remover
            let test = try args.object("test", as: DatasetValue.self).dataset
            let name = try args.string("name")
            let round: Int? = args["round"].number == nil ? nil : try args.int("round")
            let rule = OracleRule(minPSNR: try args.number("min_psnr"), maxL1: try args.number("max_l1"))
            let threshold = try args.number("threshold")
            let cands = try CurationPrimitives.generate(store: store, remover: remover, model: name, dataset: test, round: round,
                                                        output: args.interpreter.output)
            var judge: (scorer: CandidateScorer, annotator: Annotator)?
            if case .object(let d as DiscriminatorValue) = args["disc"] {
                judge = (d.scorer, Annotator.discriminator(d.name, threshold: threshold))
            }
            let e = try ModelPrimitives.learning("evaluate_model") {
                try Rounds.evaluate(cands.candidates, store: store, name: name, round: round, oracle: rule, judge: judge)
            }
            func number(_ x: Double?) -> Value { x.map { .number($0) } ?? .nil }
            return .record(Record([("name", .string(name)), ("count", .number(Double(e.count))),
                                   ("sr_oracle", number(e.successRateOracle)), ("sr_discriminator", number(e.successRateDiscriminator)),
                                   ("sr_expected", number(e.successRateExpected)), ("disc_auc", number(e.discriminatorAUC)),
                                   ("psnr", number(e.psnr)), ("ssim", number(e.ssim)), ("l1", number(e.l1)), ("candidates", .object(cands)),
                                   ("scores", judge == nil ? .nil : .list(e.scores.map { .number($0) }))]))
        })
    }

    static func registerJSON(in session: Session) {
        session.interpreter.register(Primitive("output_dir", [Parameter("default", .string)],
                                               summary: "The folder given to `rorem run --out`, or `default` (resolved against the script's folder) without one.",
                                               example: "let out = output_dir(\"../out/paper_loop\")") { [unowned session] args in
            if let dir = session.outputDirectory { return .string(dir) }
            return .string(session.resolve(try args.string("default")))
        })
        session.interpreter.register(Primitive("save_json", [Parameter("value"), Parameter("path", .string)],
                                               summary: "Writes a value as JSON (records keep their field order; other objects become their summary); returns the path.",
                                               example: "save_json(table, \"out/paper_loop.json\")") { [unowned session] args in
            let path = session.resolve(try args.string("path"))
            let text = JSONText.encode(args["value"], indent: "") + "\n"
            do {
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw PrimitiveError.io("save_json(): cannot write '\(path)': \(error.localizedDescription)")
            }
            return .string(path)
        })
    }
}

/// Values as JSON text: numbers (non-finite ones as null), strings, booleans, nil as null, lists, records in field
/// order; ranges as lists; functions and domain objects as their printed form.
enum JSONText {
    /// `value` as indented JSON, nested levels indented two more spaces than `indent`.
    static func encode(_ value: Value, indent: String) -> String {
        let inner = indent + "  "
        switch value {
        case .nil: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.isFinite ? Value.format(n) : "null"
        case .string(let s): return quote(s)
        case .list(let xs):
            if xs.isEmpty { return "[]" }
            if xs.allSatisfy({ if case .number = $0 { return true }; return false }) {
                return "[" + xs.map { encode($0, indent: inner) }.joined(separator: ", ") + "]"
            }
            return "[\n" + xs.map { inner + encode($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .record(let r):
            if r.count == 0 { return "{}" }
            return "{\n" + zip(r.keys, r.values).map { inner + quote($0) + ": " + encode($1, indent: inner) }.joined(separator: ",\n")
                + "\n" + indent + "}"
        case .range:
            return encode(.list(value.elements() ?? []), indent: indent)
        default:
            return quote(value.printed)
        }
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
