import Imaging

/// One paired example for training a remover: the source with the object, the object's mask, and the
/// target without it (the same size).
public struct RemovalSample: Sendable {
    /// The image with the object.
    public var source: Image
    /// Where the object is (>= 0.5).
    public var mask: Mask
    /// The same scene without the object.
    public var target: Image

    /// A sample; sizes are checked when it is used.
    public init(source: Image, mask: Mask, target: Image) {
        self.source = source
        self.mask = mask
        self.target = target
    }
}

/// One judged example for training a discriminator: a removal `result` of `source` under `mask`, and its label
/// (1: the removal succeeded, 0: it failed; values between are allowed as soft labels).
public struct JudgedSample: Sendable {
    /// The image with the object.
    public var source: Image
    /// Where the object was (>= 0.5).
    public var mask: Mask
    /// A remover's output for `source` and `mask`.
    public var result: Image
    /// 1 when the removal succeeded, 0 when it failed.
    public var label: Double

    /// A sample; sizes and the label's range are checked when it is used.
    public init(source: Image, mask: Mask, result: Image, label: Double) {
        self.source = source
        self.mask = mask
        self.result = result
        self.label = label
    }
}

/// Random-access paired data for training a remover; in-memory arrays and store-backed datasets both fit.
public protocol RemovalDataSource {
    /// Number of samples.
    var count: Int { get }
    /// The sample at `index` in `0..<count`.
    func sample(_ index: Int) throws -> RemovalSample
}

/// Random-access judged data for training a discriminator.
public protocol JudgedDataSource {
    /// Number of samples.
    var count: Int { get }
    /// The sample at `index` in `0..<count`.
    func sample(_ index: Int) throws -> JudgedSample
}

/// Paired samples held in memory.
public struct InMemoryRemovalData: RemovalDataSource, Sendable {
    /// The samples, in index order.
    public var samples: [RemovalSample]

    /// Wraps `samples`.
    public init(_ samples: [RemovalSample]) { self.samples = samples }

    public var count: Int { samples.count }

    public func sample(_ index: Int) throws -> RemovalSample {
        guard samples.indices.contains(index) else {
            throw LearningError.invalidData(what: "InMemoryRemovalData", reason: "index \(index) is outside 0..<\(samples.count)")
        }
        return samples[index]
    }
}

/// Judged samples held in memory.
public struct InMemoryJudgedData: JudgedDataSource, Sendable {
    /// The samples, in index order.
    public var samples: [JudgedSample]

    /// Wraps `samples`.
    public init(_ samples: [JudgedSample]) { self.samples = samples }

    public var count: Int { samples.count }

    public func sample(_ index: Int) throws -> JudgedSample {
        guard samples.indices.contains(index) else {
            throw LearningError.invalidData(what: "InMemoryJudgedData", reason: "index \(index) is outside 0..<\(samples.count)")
        }
        return samples[index]
    }
}
