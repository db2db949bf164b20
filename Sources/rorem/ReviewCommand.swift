import ArgumentParser
import Curation
import Foundation
import ReviewWeb

/// `rorem review STORE`: the browser review of a store's candidates, for any number of reviewers at once.
struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Serve a store's candidates for review in the browser (several reviewers at once).",
        discussion: """
        Prints the page's address and serves until Ctrl-C or SIGTERM. Each reviewer opens /?by=NAME (or is asked \
        for a name), has their own queue in the given order, and resumes where they stopped; every decision is \
        committed as that person's label before the page moves on. Keys: a/y accept, r/n reject, s/space skip, \
        u undo. It listens on 127.0.0.1 unless --host says otherwise (then anyone who can reach the port can review).

        Examples:
          rorem review experiments/round1 --round 1
          rorem review experiments/round1 --order margin --discriminator disc-r0 --by alice
          rorem review experiments/round1 --host 0.0.0.0 --port 9000
        """
    )

    @Argument(help: "The experiment store (a folder with store.sqlite).") var store: String
    @Option(name: .long, help: "Only candidates of this round.") var round: Int?
    @Option(name: .long, help: "Only candidates of this model.") var model: String?
    @Option(name: .long, help: "Queue order: given, random, least_confident or margin.") var order: String = "given"
    @Option(name: .long, help: "Seed of the random order.") var seed: Int = 0
    @Option(name: .long, help: "The discriminator whose scores order the queue (least_confident, margin) and are shown.")
    var discriminator: String?
    @Option(name: .long, help: "The decision threshold of margin order.") var threshold: Double = 0.9
    @Option(name: .long, help: "The port (0 picks a free one).") var port: Int = 8765
    @Option(name: .long, help: "The address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).") var host: String = "127.0.0.1"
    @Option(name: .long, help: "A reviewer name to put in the printed address (?by=NAME).") var by: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard threshold.isFinite, (0...1).contains(threshold) else { throw ValidationError("--threshold must be in 0...1") }
        guard seed >= 0 else { throw ValidationError("--seed must not be negative") }
        if let by {
            do { _ = try ReviewerName.validated(by) } catch { throw ValidationError("--by: \(error)") }
        }
    }

    func run() throws {
        let reviewOrder: ReviewOrder
        switch order {
        case "given": reviewOrder = .given
        case "random": reviewOrder = .random(seed: UInt64(seed))
        case "least_confident", "margin":
            guard let d = discriminator else {
                printError("error: --order \(order) needs --discriminator NAME (the scores that rank the candidates)")
                throw ExitCode(64)
            }
            reviewOrder = order == "margin" ? .margin(discriminator: d, threshold: threshold) : .leastConfident(discriminator: d)
        default:
            printError("error: unknown order '\(order)'; valid orders: given, random, least_confident, margin")
            throw ExitCode(64)
        }
        let server: ReviewServer
        do {
            let st = try Store(path: store, create: false)
            let candidates = try st.candidates(round: round, model: model)
            guard !candidates.isEmpty else {
                let filter = [round.map { "round \($0)" }, model.map { "model '\($0)'" }].compactMap { $0 }.joined(separator: ", ")
                printError("error: no candidates in the store at '\(store)'\(filter.isEmpty ? "" : " (\(filter))")")
                throw ExitCode(1)
            }
            let desk = try ReviewDesk(store: st, candidates: candidates, order: reviewOrder, discriminator: discriminator)
            server = try ReviewServer(desk: desk, host: host, port: port)
            try server.start()
        } catch let error as ExitCode {
            throw error
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        StopSignal.install([SIGINT, SIGTERM])
        let link = server.url + (by.map { "?by=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) } ?? "")
        if !server.isLoopback {
            print("warning: listening on \(server.host), not 127.0.0.1: anyone who can reach this machine on port \(server.port) can open the page and label")
        }
        print("review: \(server.desk.candidateIDs.count) candidates, order \(reviewOrder); open \(link)")
        print("review: serving at \(server.url) (Ctrl-C stops)")
        fflush(stdout)
        server.wait(until: { StopSignal.isRaised })
        for review in server.desk.reviews() {
            print("review \(review.session): \(review.reviewer) \(review.progress)")
        }
        print("review: stopped")
    }
}

/// SIGINT and SIGTERM as a flag that the serving loop polls, so that the server closes its connections and the
/// command prints its summary (every decision is committed anyway). A plain handler, installed before the address
/// is printed: a dispatch source is armed asynchronously, and a signal arriving in between was lost.
enum StopSignal {
    /// Set by the handler (an aligned 32-bit store, safe in a signal handler).
    nonisolated(unsafe) static let flag: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Installs the handler for `signals`.
    static func install(_ signals: [Int32]) {
        _ = flag // initialised here, never first in the handler
        for sig in signals {
            signal(sig) { _ in StopSignal.flag.pointee = 1 }
        }
    }

    /// Whether one of the signals arrived.
    static var isRaised: Bool { flag.pointee != 0 }
}
