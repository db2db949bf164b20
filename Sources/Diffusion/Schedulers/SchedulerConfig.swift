import Foundation

/// The key-value pairs of a diffusers `scheduler_config.json`, read the way diffusers' `from_config` reads them:
/// `_`-prefixed keys are metadata, keys listed in `_use_default_values` are dropped (the target scheduler then uses
/// its own default), keys that only other diffusers schedulers read are ignored, and any other key is refused
/// (a misspelt key would otherwise silently change the schedule).
///
/// Each scheduler reads the keys it knows through the typed accessors, which name the key and the file when a value
/// has the wrong type or an unsupported value; `checkKnown(_:for:)` then refuses keys nobody reads.
public struct SchedulerConfig {
    /// The largest `scheduler_config.json` read (16 MiB; real ones hold about 600 bytes, `trained_betas` a few KB).
    public static let maximumFileSize = 16 << 20

    /// The JSON values by key, metadata removed.
    public let values: [String: SchedulerConfigValue]
    /// The `_class_name` the file names, if any.
    public let className: String?
    /// How errors name the source, e.g. `scheduler_config.json '/models/sdxl/scheduler/scheduler_config.json'`.
    public let label: String

    /// Parses `scheduler_config.json` bytes; `label` names them in errors.
    public init(data: Data, label: String) throws {
        let decoded: SchedulerConfigValue
        do { decoded = try JSONDecoder().decode(SchedulerConfigValue.self, from: data) } catch {
            throw SchedulerError(label, "is not valid JSON")
        }
        guard case .object(let dictionary) = decoded else { throw SchedulerError(label, "is not a JSON object") }
        try self.init(dictionary: dictionary, label: label)
    }

    /// Reads the file at `path`.
    public init(path: String) throws {
        let label = "scheduler_config.json '\(path)'"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw SchedulerError(label, "cannot be read (missing or not a file)")
        }
        // A scheduler configuration is a few hundred bytes; refuse to load something absurd into memory.
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= Self.maximumFileSize else {
            throw SchedulerError(label, "is \(size) bytes, more than the \(Self.maximumFileSize) a scheduler configuration may have")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SchedulerError(label, "cannot be read")
        }
        try self.init(data: data, label: label)
    }

    /// A configuration from decoded JSON (`label` names it in errors).
    public init(dictionary: [String: SchedulerConfigValue], label: String = "scheduler config") throws {
        self.label = label
        switch dictionary["_class_name"] {
        case nil, .null?: className = nil
        case .string(let name)?: className = name
        case let other?: throw SchedulerError(label, "_class_name must be a string, found \(other)")
        }
        var usedDefaults: Set<String> = []
        if case .array(let list)? = dictionary["_use_default_values"] {
            for case .string(let key) in list { usedDefaults.insert(key) }
        }
        values = dictionary.filter { !$0.key.hasPrefix("_") && !usedDefaults.contains($0.key) }
    }

    /// This configuration with `overrides` applied (as keyword arguments to diffusers' `from_config`).
    public func with(_ overrides: [String: SchedulerConfigValue]) -> SchedulerConfig {
        SchedulerConfig(values: values.merging(overrides) { $1 }, className: className, label: label)
    }

    private init(values: [String: SchedulerConfigValue], className: String?, label: String) {
        self.values = values; self.className = className; self.label = label
    }

    // MARK: Typed accessors (JSON null counts as absent, as Python's None selects the default)

    private func present(_ key: String) -> SchedulerConfigValue? {
        guard let value = values[key], value != .null else { return nil }
        return value
    }

    /// An integer value (a JSON number without fraction).
    public func int(_ key: String, default fallback: Int) throws -> Int {
        guard let value = present(key) else { return fallback }
        if case .number(let d) = value, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw SchedulerError(label, "\(key) must be an integer, found \(value)")
    }

    /// A number.
    public func double(_ key: String, default fallback: Double) throws -> Double {
        guard let value = present(key) else { return fallback }
        if case .number(let d) = value { return d }
        throw SchedulerError(label, "\(key) must be a number, found \(value)")
    }

    /// An optional number (absent or null gives nil).
    public func optionalDouble(_ key: String) throws -> Double? {
        present(key) == nil ? nil : try double(key, default: 0)
    }

    /// A boolean.
    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = present(key) else { return fallback }
        if case .bool(let b) = value { return b }
        throw SchedulerError(label, "\(key) must be true or false, found \(value)")
    }

    /// A string that must be one of `allowed` (the values implemented here); others are refused by name.
    public func string(_ key: String, default fallback: String, allowed: [String]) throws -> String {
        guard let value = present(key) else { return fallback }
        guard case .string(let text) = value else { throw SchedulerError(label, "\(key) must be a string, found \(value)") }
        guard allowed.contains(text) else {
            throw SchedulerError(label, "\(key) '\(text)' is not supported (supported: \(allowed.joined(separator: ", ")))")
        }
        return text
    }

    /// A list of numbers (e.g. `trained_betas`), nil when absent or null.
    public func numbers(_ key: String) throws -> [Double]? {
        guard let value = present(key) else { return nil }
        guard case .array(let list) = value else { throw SchedulerError(label, "\(key) must be a list of numbers, found \(value)") }
        return try list.enumerated().map { index, item in
            guard case .number(let d) = item else { throw SchedulerError(label, "\(key)[\(index)] must be a number, found \(item)") }
            return d
        }
    }

    /// Refuses `key` when present with a value other than `allowedValue` (its default): the setting is read by this
    /// scheduler in diffusers but not implemented here.
    public func refuse(_ key: String, unless allowedValue: SchedulerConfigValue, why: String) throws {
        if let value = present(key), value != allowedValue {
            throw SchedulerError(label, "\(key) = \(value) is not supported: \(why)")
        }
    }

    /// Throws for the first key that neither `scheduler` reads (`readKeys`) nor any other diffusers scheduler does.
    public func checkKnown(_ readKeys: Set<String>, for scheduler: String) throws {
        for key in values.keys.sorted() where !readKeys.contains(key) && !Self.otherSchedulerKeys.contains(key) {
            throw SchedulerError(label, "unknown key '\(key)': neither \(scheduler) nor any other diffusers scheduler reads it")
        }
    }

    /// Every `__init__` parameter of the schedulers in diffusers 0.42.1 (found with `inspect.signature`): configs
    /// saved by one scheduler carry its keys, and diffusers ignores them when another scheduler loads the file.
    static let otherSchedulerKeys: Set<String> = [
        "algorithm_type", "alpha_cum_end", "alpha_cum_start", "base_image_seq_len", "base_shift", "beta_end",
        "beta_schedule", "beta_start", "block_length", "clip_denoised", "clip_sample", "clip_sample_range",
        "correct_steps", "corrector_k", "corrector_order", "corrector_selection", "corrector_selection_tau",
        "corrector_steps", "disable_corrector", "dynamic_thresholding_ratio", "editing_threshold", "entropy_bound",
        "eps", "eta", "euler_at_final", "final_sigmas_type", "final_step_size_scale", "flow_shift", "gamma",
        "gamma_cum_end", "gamma_cum_start", "interpolation_type", "invert_sigmas", "lambda_min_clipped",
        "lower_order_final", "mask_token_id", "masking_schedule", "max_image_seq_len", "max_shift", "minimal_topk",
        "n_grid", "noise_mode", "num_inference_steps", "num_policy_substeps", "num_train_timesteps",
        "num_vec_classes", "original_inference_steps", "predict_x0", "prediction_type", "predictor_order",
        "rescale_betas_zero_snr", "rho", "s", "s_churn", "s_max", "s_min", "s_noise", "sample_max_value",
        "sampling_eps", "scale_factors", "scaler", "schedule_mode", "scheduler_type", "set_alpha_to_one", "shift",
        "shift_terminal", "sigma_data", "sigma_max", "sigma_min", "sigma_schedule", "skip_prk_steps", "snr",
        "snr_shift_scale", "solver_order", "solver_p", "solver_type", "stage_range", "stages", "steps_offset",
        "stochastic_sampling", "t_lim_ode", "t_lim_ode_below", "t_max", "t_min", "tail_step_multiplier",
        "tail_steps", "tau_func", "threshold", "thresholding", "time_shift_type", "timestep_scaling",
        "timestep_spacing", "timestep_type", "trained_betas", "tsr_k", "tsr_sigma", "upscale_mode",
        "use_beta_sigmas", "use_dynamic_shifting", "use_exponential_sigmas", "use_flow_sigmas", "use_karras_sigmas",
        "use_lu_lambdas", "variance_type",
    ]
}

/// A JSON value as `scheduler_config.json` holds it.
public enum SchedulerConfigValue: Decodable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([SchedulerConfigValue])
    case object([String: SchedulerConfigValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let b = try? container.decode(Bool.self) { self = .bool(b) }
        else if let d = try? container.decode(Double.self) { self = .number(d) }
        else if let s = try? container.decode(String.self) { self = .string(s) }
        else if let a = try? container.decode([SchedulerConfigValue].self) { self = .array(a) }
        else { self = .object(try container.decode([String: SchedulerConfigValue].self)) }
    }

    /// The value as JSON would spell it (lists and objects abbreviated).
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s): return "'\(s)'"
        case .array(let a): return "a list of \(a.count)"
        case .object: return "an object"
        }
    }
}
