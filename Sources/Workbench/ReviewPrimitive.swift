import Curation
import Foundation
import Lang
import ReviewWeb

extension CurationPrimitives {
    /// The orders `review(order: ...)` accepts.
    static let reviewOrders = ["given", "random", "least_confident", "margin"]

    static func registerReview(in session: Session) {
        session.interpreter.register(Primitive("review", [
            Parameter("cands", .object("candidates")), Parameter("by", .string, default: .nil), Parameter("name", .string, default: .nil),
            Parameter("order", .string, default: .string("given")), Parameter("seed", .integer, default: .number(0)),
            Parameter("discriminator", .string, default: .nil), Parameter("threshold", .number, default: .number(0.9)),
            Parameter("web", .bool, default: .bool(false)), Parameter("port", .integer, default: .number(8765)),
            Parameter("host", .string, default: .string("127.0.0.1")),
        ], summary: "Reviews candidates one at a time in the REPL: source, mask overlay and result side by side; single keys decide. web: true serves them to several reviewers in the browser.",
           help: """
           Keys: a/y accept, r/n reject, s/space skip, u undo, q (or Ctrl-C) quit. Every decision is committed at once;
           calling review again with the same candidates (or name:) resumes where it stopped.
           by: the reviewer (default: $USER). order: given, random (by seed), least_confident or margin (most uncertain
           first by the scores of discriminator:, margin around threshold:). Returns the session's progress.
           Needs a terminal: in scripts and notebooks use export_review(cands, dir) and import_review(store, csv, person:).
           web: true serves the candidates in the browser instead (Docs/curation.md): it prints the address
           (http://127.0.0.1:PORT/?by=NAME), any number of reviewers label at once, each with their own queue, and it
           returns the reviewers' progress (a list of reviews) when stopped with Ctrl-C. port: 0 picks a free port;
           host: other than 127.0.0.1 lets other machines in (it says so).
           """,
           example: "review(cands, by: \"alice\", order: \"margin\", discriminator: \"disc-r0\")") { [unowned session] args in
            try review(args, session: session)
        })
    }

    static func review(_ args: Arguments, session: Session) throws -> Value {
        let c = try args.object("cands", as: CandidatesValue.self)
        let reviewer = args["by"].string ?? ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "reviewer"
        let order = try reviewOrder(args)
        let name = args["name"].string ?? defaultSessionName(reviewer: reviewer, order: order, ids: c.candidates.map(\.id))
        let output = args.interpreter.output
        if case .bool(true) = args["web"] {
            return try reviewInBrowser(c, order: order, by: args["by"].string, port: try args.int("port"),
                                       host: try args.string("host"), discriminator: args["discriminator"].string, output: output)
        }
        guard isTerminal(output), isatty(STDIN_FILENO) != 0 else {
            throw PrimitiveError("review() needs an interactive terminal (run it in the REPL); in a script or notebook use offline review: export_review(cands, dir), fill in review.csv, then import_review(store, csv, person: \"\(reviewer)\")")
        }
        let reviewSession = try curation("review") {
            try c.store.openReview(name: name, annotator: reviewer, candidates: c.candidates.map(\.id), order: order)
        }
        let method = TerminalImages.detect(), columns = KeyReader.columns()
        let keys = try KeyReader()
        let outcome: ReviewLoop.Outcome
        do {
            defer { keys.restore() }
            outcome = try curation("review") {
                try ReviewLoop.run(reviewSession, nextKey: { try keys.next() }) { candidate, progress in
                    output.write(try ReviewLoop.frame(candidate, progress: progress, method: method, columns: columns))
                    fflush(stdout)
                }
            }
        }
        Interrupt.clear()
        let p = reviewSession.progress
        let ending = outcome == .finished ? "finished" : "stopped; run the same review again to resume"
        output.write("review \(name): \(ReviewStatus.counts(p)), rejected \(p.rejected), skipped \(p.skipped) - \(ending)\n")
        return .object(ReviewValue(name: name, reviewer: reviewer, progress: p))
    }

    /// `review(cands, web: true)`: serves the browser review until Ctrl-C (the interpreter's interrupt flag) and
    /// returns one review value per reviewer who opened the page.
    static func reviewInBrowser(_ c: CandidatesValue, order: ReviewOrder, by: String?, port: Int, host: String,
                                discriminator: String?, output: OutputSink) throws -> Value {
        let server: ReviewServer
        do {
            let desk = try curation("review") { try ReviewDesk(store: c.store, candidates: c.candidates, order: order, discriminator: discriminator) }
            server = try ReviewServer(desk: desk, host: host, port: port)
            try server.start()
        } catch let e as ReviewWebError {
            throw PrimitiveError("review(): \(e)")
        }
        if !server.isLoopback {
            output.write("warning: listening on \(server.host), not 127.0.0.1: anyone who can reach this machine on port \(server.port) can open the page and label\n")
        }
        let link = server.url + (by.map { "?by=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? "")
        output.write("review: \(c.candidates.count) candidates, order \(order); open \(link) (Ctrl-C stops)\n")
        fflush(stdout)
        Interrupt.clear()
        server.wait(until: { Interrupt.isRequested })
        Interrupt.clear()
        let reviews = server.desk.reviews()
        for r in reviews { output.write("review \(r.session): \(r.reviewer) \(r.progress)\n") }
        return .list(reviews.map { .object(ReviewValue(name: $0.session, reviewer: $0.reviewer, progress: $0.progress)) })
    }

    /// The `ReviewOrder` from `order:`, `seed:`, `discriminator:` and `threshold:`.
    static func reviewOrder(_ args: Arguments) throws -> ReviewOrder {
        try reviewOrder(try args.string("order"), seed: try args.int("seed"), discriminator: args["discriminator"].string,
                        threshold: try args.number("threshold"))
    }

    /// The `ReviewOrder` named `order` (see ``reviewOrders``), or an error naming what is wrong or missing.
    static func reviewOrder(_ order: String, seed: Int, discriminator: String?, threshold: Double) throws -> ReviewOrder {
        switch order {
        case "given": return .given
        case "random":
            guard seed >= 0 else { throw PrimitiveError("review(): seed must be >= 0, got \(seed)") }
            return .random(seed: UInt64(seed))
        case "least_confident", "margin":
            guard let d = discriminator else {
                throw PrimitiveError("review(): order \(Value.quote(order)) needs discriminator: (the name whose scores rank the candidates)")
            }
            return order == "margin" ? .margin(discriminator: d, threshold: threshold) : .leastConfident(discriminator: d)
        default:
            throw PrimitiveError("review(): unknown order \(Value.quote(order))\(didYouMean(order, reviewOrders)); valid orders: \(reviewOrders.joined(separator: ", "))")
        }
    }

    /// A stable session name for the same reviewer, order and candidates, so a repeated call resumes
    /// (``ReviewSession/defaultName(reviewer:order:ids:)``, shared with the browser review).
    static func defaultSessionName(reviewer: String, order: ReviewOrder, ids: [Int64]) -> String {
        ReviewSession.defaultName(reviewer: reviewer, order: order, ids: ids)
    }
}
