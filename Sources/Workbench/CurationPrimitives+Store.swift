import Support
import Curation
import Foundation
import Imaging
import Lang
import Removal
import Rounds

extension CurationPrimitives {
    static func registerStore(in session: Session) {
        let i = session.interpreter
        i.register(Primitive("open_store", [Parameter("path", .string)],
                             summary: "Opens (or creates) an experiment store: a folder with store.sqlite and content-addressed images.",
                             example: "let st = open_store(\"runs/round1\")") { [unowned session] args in
            let path = session.resolve(try args.string("path"))
            return .object(StoreValue(try curation("open_store") { try Store.open(path) }))
        })
        i.register(Primitive("generate", [Parameter("store", .object("store")), Parameter("remover", .object("remover")),
                                          Parameter("ds", .object("dataset")), Parameter("round", .integer, default: .nil),
                                          Parameter("model", .string, default: .nil), Parameter("samples", .integer, default: .number(1))],
                             summary: "Runs a remover over a dataset into the store as candidates; resumable, each result committed as made.",
                             help: "The dataset is saved in the store first (by name) if it is not there yet. Pairs that already have a candidate\nfrom this model in this round are not run again, so calling generate again after Ctrl-C finishes the work.\nmodel: the name recorded for the remover (default: its own name, e.g. telea).\nsamples: candidates per image (1...8). Sample k > 1 runs the remover on view k of the image (EXIF orientation k,\nsee oriented) and is recorded as model MODEL@k: several fills of the same hole for people to choose from.",
                             example: "let cands = generate(st, remover(\"telea\"), ds, round: 1)") { args in
            let store = try args.object("store", as: StoreValue.self).store
            let remover = try args.object("remover", as: RemoverValue.self).remover
            let ds = try args.object("ds", as: DatasetValue.self).dataset
            let round: Int? = args["round"].number == nil ? nil : try args.int("round")
            let model = args["model"].string ?? remover.name
            let samples = try args.int("samples")
            guard (1...8).contains(samples) else {
                throw PrimitiveError("generate(): samples must be in 1...8 (one per view of the image), got \(samples)")
            }
            return .object(try generate(store: store, remover: remover, model: model, dataset: ds, round: round, samples: samples,
                                        output: args.interpreter.output))
        })
        i.register(Primitive("candidates", [Parameter("store", .object("store")), Parameter("round", .integer, default: .nil),
                                            Parameter("model", .string, default: .nil), Parameter("dataset", .string, default: .nil)],
                             summary: "The store's candidates, oldest first, optionally only those of a round, model and/or dataset.",
                             example: "let cands = candidates(st, round: 1)") { args in
            let store = try args.object("store", as: StoreValue.self).store
            let round: Int? = args["round"].number == nil ? nil : try args.int("round")
            let list = try curation("candidates") { try store.candidates(round: round, model: args["model"].string, dataset: args["dataset"].string) }
            return .object(CandidatesValue(store: store, candidates: list))
        })
        i.register(Primitive("stored", [Parameter("store", .object("store")), Parameter("name", .string)],
                             summary: "A dataset saved in the store, by name (its images load lazily from the store).",
                             example: "let ds = stored(st, \"synth-s0\")") { args in
            let store = try args.object("store", as: StoreValue.self).store
            let name = try args.string("name")
            return .object(DatasetValue(try curation("stored") { try store.dataset(named: name) }))
        })
    }

    /// Progress on the terminal only: scripts and notebooks stay clean.
    static func isTerminal(_ output: OutputSink) -> Bool {
        output is StandardOutput && isatty(STDOUT_FILENO) != 0
    }

    /// Runs ``Rounds/generate(store:remover:model:dataset:round:samples:kind:progress:shouldStop:)`` with a progress
    /// bar on a terminal and Ctrl-C polled between pairs; a stop becomes an `interrupted` error that says how many
    /// candidates were made (all committed) and that calling again resumes.
    static func generate(store: Store, remover: any Remover, model: String, dataset: Dataset, round: Int?, samples: Int = 1,
                         output: OutputSink) throws -> CandidatesValue {
        let showProgress = isTerminal(output)
        var bar: ProgressBar?
        do {
            let candidates = try curation("generate") {
                try Rounds.generate(store: store, remover: remover, model: model, dataset: dataset, round: round, samples: samples,
                                    progress: { made, todo in
                                        if bar == nil {
                                            bar = ProgressBar(total: todo, label: "generate \(model)", unit: "img",
                                                              mode: showProgress ? .terminalOnly : .silent, isTerminal: showProgress)
                                        }
                                        bar?.update(done: made)
                                    },
                                    shouldStop: { Interrupt.isRequested })
            }
            return CandidatesValue(store: store, candidates: candidates)
        } catch let stop as Rounds.GenerationStopped {
            bar?.finish()
            throw PrimitiveError("generate(): interrupted after \(stop.made) new candidate\(stop.made == 1 ? "" : "s") (all committed); call generate again to resume",
                                 kind: .interrupted)
        }
    }

    /// An annotator from text: `alice` (a person), `oracle`, or `kind:name` with kind person, oracle or
    /// discriminator (`discriminator:disc-r1@0.9` sets the threshold).
    static func annotator(_ text: String, for primitive: String) throws -> Annotator {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return text == "oracle" ? .oracle() : .person(text) }
        guard let kind = AnnotatorKind(rawValue: parts[0]) else {
            throw PrimitiveError("\(primitive)(): unknown annotator kind '\(parts[0])' in \(Value.quote(text)); use person:NAME, oracle:NAME or discriminator:NAME@THRESHOLD")
        }
        var name = parts[1], threshold: Double?
        if kind == .discriminator, let at = name.lastIndex(of: "@") {
            guard let t = Double(name[name.index(after: at)...]) else {
                throw PrimitiveError("\(primitive)(): bad threshold in \(Value.quote(text)); write discriminator:NAME@0.9")
            }
            threshold = t
            name = String(name[..<at])
        }
        guard !name.isEmpty else { throw PrimitiveError("\(primitive)(): annotator \(Value.quote(text)) has no name") }
        return Annotator(kind: kind, name: name, threshold: threshold)
    }
}
