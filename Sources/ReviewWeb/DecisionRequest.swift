import Curation
import Foundation

/// A POST to `/api/decide`, validated: `{"by": NAME, "action": "decide" | "revise" | "undo",
/// "decision": "accept" | "reject" | "skip", "position": K, "candidate": ID, "nonce": TEXT}`.
/// `decision` and `candidate` are required for decide and revise; `position` is the queue position the page
/// showed (the current one for decide and undo, the revisited one for revise). Unknown keys are refused.
public struct DecisionRequest: Equatable, Sendable {
    /// What to do.
    public enum Action: Equatable, Sendable {
        case decide(ReviewDecision)
        case revise(ReviewDecision)
        case undo
    }

    /// The reviewer.
    public var reviewer: String
    /// What to do.
    public var action: Action
    /// The position the page showed.
    public var position: Int
    /// The candidate the page showed (decide, revise).
    public var candidate: Int64?
    /// A fresh random string per request (16-64 letters, digits, `-` or `_`).
    public var nonce: String

    private struct Body: Decodable {
        var by: String?
        var action: String?
        var decision: String?
        var position: Int?
        var candidate: Int64?
        var nonce: String?
    }

    static let keys: Set<String> = ["by", "action", "decision", "position", "candidate", "nonce"]

    /// Parses and validates `bytes`, or throws ``ReviewWebError/badRequest(_:)`` naming the first problem.
    public static func parse(_ bytes: [UInt8]) throws -> DecisionRequest {
        let data = Data(bytes)
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw ReviewWebError.badRequest("the body is not a JSON object")
        }
        let unknown = Set(dict.keys).subtracting(keys)
        guard unknown.isEmpty else { throw ReviewWebError.badRequest("unknown field(s): \(unknown.sorted().joined(separator: ", "))") }
        let body: Body
        do {
            body = try JSONDecoder().decode(Body.self, from: data)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ReviewWebError.badRequest("field '\(field)' has the wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ReviewWebError.badRequest("field '\(field)' is not valid: \(context.debugDescription)")
        } catch {
            throw ReviewWebError.badRequest("the body is not a valid request: \(error)")
        }
        guard let by = body.by else { throw ReviewWebError.badRequest("missing field 'by' (the reviewer)") }
        let reviewer = try ReviewerName.validated(by)
        guard let nonce = body.nonce else { throw ReviewWebError.badRequest("missing field 'nonce'") }
        guard (16...64).contains(nonce.count),
              nonce.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }) else {
            throw ReviewWebError.badRequest("nonce must be 16-64 letters, digits, '-' or '_'")
        }
        guard let position = body.position else { throw ReviewWebError.badRequest("missing field 'position'") }
        guard position >= 0 else { throw ReviewWebError.badRequest("position must be >= 0, got \(position)") }
        let action: Action
        switch body.action {
        case "undo"?:
            guard body.decision == nil, body.candidate == nil else {
                throw ReviewWebError.badRequest("undo takes no decision or candidate")
            }
            action = .undo
        case let kind? where kind == "decide" || kind == "revise":
            guard let text = body.decision else { throw ReviewWebError.badRequest("missing field 'decision' (accept, reject or skip)") }
            guard let decision = ReviewDecision(rawValue: text) else {
                throw ReviewWebError.badRequest("decision must be accept, reject or skip, got '\(text)'")
            }
            guard let candidate = body.candidate else { throw ReviewWebError.badRequest("missing field 'candidate'") }
            guard candidate > 0 else { throw ReviewWebError.badRequest("candidate must be a positive id, got \(candidate)") }
            action = kind == "decide" ? .decide(decision) : .revise(decision)
        case let other?:
            throw ReviewWebError.badRequest("action must be decide, revise or undo, got '\(other)'")
        case nil:
            throw ReviewWebError.badRequest("missing field 'action'")
        }
        return DecisionRequest(reviewer: reviewer, action: action, position: position, candidate: body.candidate, nonce: nonce)
    }
}
