import Imaging

/// The registry of removers by name, for the command line and the workbench language.
public enum Removers {
    /// Valid names, the default first.
    public static let names = ["patchmatch", "telea"]
    /// The remover used when none is named.
    public static let defaultName = "patchmatch"

    /// Options each remover takes, by name.
    public static let options: [String: [String]] = [
        "patchmatch": ["patch", "iterations", "seed", "working_size", "smoothing", "adaptive"],
        "telea": ["radius"],
    ]

    /// The remover called `name` (case-insensitive), configured by `options`.
    ///
    /// patchmatch takes `patch` (odd size, default 7), `iterations` (default 4), `seed` (default 0) and
    /// `working_size` (pixels, default 1024; 0 for none), `smoothing` (least share of the smooth fill, 0 to 1,
    /// default 0) and `adaptive` (1 to mix the smooth fill where copies do not fit, 0 for `smoothing`
    /// alone; default 1); telea takes
    /// `radius` (default 3). Unknown names and options throw an error listing the valid ones; values must
    /// be in range (whole numbers except `smoothing`).
    public static func make(_ name: String, options given: [String: Double] = [:]) throws -> any Remover {
        let key = name.lowercased()
        guard let valid = options[key] else { throw RemovalError.unknownRemover(name: name, valid: names) }
        for option in given.keys.sorted() where !valid.contains(option) {
            throw RemovalError.unknownOption(remover: key, option: option, valid: valid)
        }
        func whole(_ option: String, default value: Int, least: Int) throws -> Int {
            guard let raw = given[option] else { return value }
            guard raw.isFinite, raw == raw.rounded(), raw >= Double(least), raw <= 1e9 else {
                throw RemovalError.invalidOption(remover: key, option: option,
                                                 reason: "must be a whole number >= \(least), got \(raw)")
            }
            return Int(raw)
        }
        switch key {
        case "telea":
            return TeleaRemover(radius: try whole("radius", default: 3, least: 1))
        default:
            let patch = try whole("patch", default: 7, least: 3)
            guard patch % 2 == 1 else {
                throw RemovalError.invalidOption(remover: key, option: "patch", reason: "must be odd, got \(patch)")
            }
            let working = try whole("working_size", default: 1024, least: 0)
            guard working == 0 || working >= 16 else {
                throw RemovalError.invalidOption(remover: key, option: "working_size",
                                                 reason: "must be 0 (no limit) or at least 16, got \(working)")
            }
            let smoothing = given["smoothing"] ?? 0
            guard smoothing.isFinite, smoothing >= 0, smoothing <= 1 else {
                throw RemovalError.invalidOption(remover: key, option: "smoothing", reason: "must be between 0 and 1, got \(smoothing)")
            }
            let adaptive = try whole("adaptive", default: 1, least: 0)
            guard adaptive <= 1 else {
                throw RemovalError.invalidOption(remover: key, option: "adaptive", reason: "must be 0 or 1, got \(adaptive)")
            }
            return PatchMatchRemover(patchSize: patch, iterations: try whole("iterations", default: 4, least: 1),
                                     seed: UInt64(try whole("seed", default: 0, least: 0)),
                                     workingSize: working == 0 ? nil : working, smoothing: smoothing,
                                     adaptive: adaptive == 1)
        }
    }
}
