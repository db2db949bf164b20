import Foundation

/// Reviewer names as they arrive in `?by=NAME`: any text a person would type (HTML included: the page escapes
/// every value it shows), but not empty, not over 64 characters, and without control characters.
public enum ReviewerName {
    /// The longest name accepted, in characters.
    public static let maxLength = 64

    /// `raw` trimmed of surrounding spaces, or an error saying why it cannot name a reviewer.
    public static func validated(_ raw: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw ReviewWebError.badRequest("the reviewer name is empty; open the page as /?by=YOUR_NAME") }
        guard name.count <= maxLength else {
            throw ReviewWebError.badRequest("the reviewer name is \(name.count) characters long; at most \(maxLength) are allowed")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) else {
            throw ReviewWebError.badRequest("the reviewer name contains control characters")
        }
        return name
    }
}
