import Foundation

/// Builds schedulers from diffusers' `scheduler_config.json`: its `_class_name` picks the class, or a caller's
/// choice overrides it the way `NewScheduler.from_config(pipe.scheduler.config)` does in diffusers.
public enum Schedulers {
    /// The diffusers classes implemented here.
    public static let supportedClasses = ["EulerDiscreteScheduler", "DDIMScheduler", "LCMScheduler", "DPMSolverMultistepScheduler"]

    /// The short names of the CLI and the language (`euler`, `ddim`, `lcm`, `dpmpp2m`, `dpmpp2m-karras`) as a
    /// class and the keys they set; nil for an unknown name.
    public static func shortName(_ name: String) -> (className: String, overrides: [String: SchedulerConfigValue])? {
        switch name.lowercased() {
        case "euler": return ("EulerDiscreteScheduler", [:])
        case "ddim": return ("DDIMScheduler", [:])
        case "lcm": return ("LCMScheduler", [:])
        case "dpmpp2m", "dpm++2m":
            return ("DPMSolverMultistepScheduler", ["algorithm_type": .string("dpmsolver++"), "solver_order": .number(2)])
        case "dpmpp2m-karras", "dpm++2m-karras":
            return ("DPMSolverMultistepScheduler", ["algorithm_type": .string("dpmsolver++"), "solver_order": .number(2),
                                                   "use_karras_sigmas": .bool(true)])
        default: return nil
        }
    }

    /// The scheduler `config` describes, as class `className` (default: the file's `_class_name`).
    public static func make(config: SchedulerConfig, className: String? = nil) throws -> Scheduler {
        guard let name = className ?? config.className else {
            throw SchedulerError(config.label, "has no _class_name; name the scheduler (supported: \(supportedClasses.joined(separator: ", ")))")
        }
        switch name {
        case "EulerDiscreteScheduler": return try EulerDiscreteScheduler(config: config)
        case "DDIMScheduler": return try DDIMScheduler(config: config)
        case "LCMScheduler": return try LCMScheduler(config: config)
        case "DPMSolverMultistepScheduler": return try DPMSolverMultistepScheduler(config: config)
        default:
            throw SchedulerError(config.label, "unknown scheduler '\(name)' (supported: \(supportedClasses.joined(separator: ", ")))")
        }
    }

    /// The scheduler of a diffusers folder or file: `path` is a `scheduler_config.json`, a `scheduler/` folder
    /// holding one, or a pipeline folder with `scheduler/scheduler_config.json`. `choice` is a class name or a short
    /// name (`lcm`, ...) to use instead of the file's class, keeping the file's schedule keys.
    public static func load(path: String, choice: String? = nil) throws -> Scheduler {
        let file = try configFile(path)
        var config = try SchedulerConfig(path: file)
        var className = choice
        if let choice, let short = shortName(choice) {
            className = short.className
            config = config.with(short.overrides)
        }
        return try make(config: config, className: className)
    }

    /// The `scheduler_config.json` that `path` names or holds.
    static func configFile(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SchedulerError("scheduler '\(path)'", "no such file or folder")
        }
        guard isDirectory.boolValue else { return path }
        let base = URL(fileURLWithPath: path)
        for candidate in ["scheduler_config.json", "scheduler/scheduler_config.json"] {
            let file = base.appendingPathComponent(candidate).path
            if FileManager.default.fileExists(atPath: file) { return file }
        }
        throw SchedulerError("scheduler '\(path)'", "holds neither scheduler_config.json nor scheduler/scheduler_config.json")
    }
}
