/// Who gave a label.
public enum AnnotatorKind: String, Sendable, CaseIterable, Codable {
    /// A named person.
    case person
    /// The ground-truth oracle (``Oracle``).
    case oracle
    /// A learned discriminator, accepting when its score reaches its threshold.
    case discriminator
}

/// A labeller: a kind and a name, plus a threshold for discriminators.
public struct Annotator: Hashable, Sendable, CustomStringConvertible {
    /// What kind of labeller.
    public var kind: AnnotatorKind
    /// Its name (a person's name, `oracle`, a discriminator model's name).
    public var name: String
    /// The score at or above which a discriminator accepts (RORem uses 0.9).
    public var threshold: Double?

    /// An annotator from its parts.
    public init(kind: AnnotatorKind, name: String, threshold: Double? = nil) {
        self.kind = kind
        self.name = name
        self.threshold = threshold
    }

    /// A named person.
    public static func person(_ name: String) -> Annotator { Annotator(kind: .person, name: name) }
    /// The ground-truth oracle (named `oracle` unless told otherwise).
    public static func oracle(_ name: String = "oracle") -> Annotator { Annotator(kind: .oracle, name: name) }
    /// A discriminator model with its acceptance threshold.
    public static func discriminator(_ name: String, threshold: Double = 0.9) -> Annotator {
        Annotator(kind: .discriminator, name: name, threshold: threshold)
    }

    /// `person:alice`, `oracle:oracle`, `discriminator:d1@0.9`.
    public var description: String {
        "\(kind.rawValue):\(name)" + (threshold.map { "@\($0)" } ?? "")
    }
}

/// A label on a candidate.
public struct Label: Sendable, Equatable {
    /// Row id.
    public var id: Int64
    /// The candidate labelled.
    public var candidateID: Int64
    /// Who labelled it.
    public var annotator: Annotator
    /// Accept (true) or reject (false); nil for a score without a decision.
    public var accept: Bool?
    /// A score in [0, 1] (a discriminator's output, or a person's rating), if any.
    public var score: Double?
    /// Free text.
    public var note: String
    /// When (seconds since 1970).
    public var createdAt: Double
}

/// A label to record: which candidate and what was decided.
public struct LabelInput: Sendable {
    /// The candidate to label.
    public var candidateID: Int64
    /// Accept or reject; nil to derive it from `score` and a discriminator's threshold, or to store a bare score.
    public var accept: Bool?
    /// A score, if any.
    public var score: Double?
    /// Free text.
    public var note: String

    /// A label input from its parts.
    public init(candidateID: Int64, accept: Bool? = nil, score: Double? = nil, note: String = "") {
        self.candidateID = candidateID
        self.accept = accept
        self.score = score
        self.note = note
    }
}
