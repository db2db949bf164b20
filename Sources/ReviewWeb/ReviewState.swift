/// What the page shows a reviewer: the state of their session, sent as JSON after every request.
public struct ReviewState: Codable, Sendable, Equatable {
    /// The reviewer.
    public var reviewer: String
    /// Their session's name in the store (shared with the terminal review, so either resumes the other).
    public var session: String
    /// The queue's order (`given`, `random(0)`, `margin(disc@0.9)`, ...).
    public var order: String
    /// The position of the next candidate to decide (== `total` when finished).
    public var position: Int
    /// Candidates in the queue.
    public var total: Int
    /// Decisions so far.
    public var done: Int
    /// Accepted so far.
    public var accepted: Int
    /// Rejected so far.
    public var rejected: Int
    /// Skipped so far.
    public var skipped: Int
    /// Accepted over decided (accept + reject); nil before the first.
    public var acceptRate: Double?
    /// Whether every candidate has a decision.
    public var finished: Bool
    /// The candidate to show: the next one, or a revisited one (then `revisiting` is true). Nil when finished.
    public var item: ReviewItem?
    /// Whether `item` is an earlier decision being revisited.
    public var revisiting: Bool
    /// The image hashes of the candidate after `item` in the queue, for the page to load ahead.
    public var upcoming: [String]
    /// The name of the discriminator whose scores are shown, if any.
    public var scoreName: String?
    /// This reviewer's decisions, newest first (at most ``ReviewDesk/recentLimit``).
    public var decisions: [DecisionEntry]
    /// Agreement between the annotators of the served candidates so far.
    public var agreement: [AgreementEntry]
}

/// One candidate as the page shows it. Images are named by their content hash (served at `/image/HASH`).
public struct ReviewItem: Codable, Sendable, Equatable {
    /// Its position in the reviewer's queue.
    public var position: Int
    /// The candidate's id.
    public var candidate: Int64
    /// The pair's name.
    public var pair: String
    /// The pair's dataset.
    public var dataset: String
    /// The model that made the result.
    public var model: String
    /// The round that made it, if any.
    public var round: Int?
    /// Hash of the source image.
    public var source: String
    /// Hash of the mask.
    public var mask: String
    /// Hash of the result.
    public var result: String
    /// Image width in pixels.
    public var width: Int
    /// Image height in pixels.
    public var height: Int
    /// The masked region (the zoom shows it with a margin); nil for an empty mask.
    public var box: Box?
    /// The discriminator's score, when one ordered the queue and scored this candidate.
    public var score: Double?
    /// The decision already recorded at this position (when revisiting), else nil.
    public var decision: String?
}

/// A rectangle of pixels.
public struct Box: Codable, Sendable, Equatable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
}

/// One decision in the reviewer's list.
public struct DecisionEntry: Codable, Sendable, Equatable {
    /// Its position in the queue.
    public var position: Int
    /// The candidate decided.
    public var candidate: Int64
    /// The pair's name.
    public var pair: String
    /// `accept`, `reject` or `skip`.
    public var decision: String
}

/// Agreement between two annotators on the served candidates both decided.
public struct AgreementEntry: Codable, Sendable, Equatable {
    /// The first annotator (a person's name, `oracle`, `NAME (discriminator)`).
    public var first: String
    /// The second annotator.
    public var second: String
    /// Candidates both decided.
    public var n: Int
    /// Percent agreement.
    public var percent: Double
    /// Cohen's kappa; nil when undefined (both gave one and the same answer throughout).
    public var kappa: Double?
}
