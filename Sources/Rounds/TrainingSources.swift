import Curation
import Foundation
import Imaging
import Learning

/// Training data from the store: datasets and candidates become Learning's in-memory sources (`train(...)` in the
/// language binds to these). Samples are decoded once, up front: the miniature datasets trained on here are a few
/// hundred small images, and a training run visits each one many times.
public enum TrainingSources {
    /// Paired samples from a dataset's pairs (source, mask, target); a pair without a target is an error naming it.
    public static func removal(_ dataset: Dataset) throws -> InMemoryRemovalData {
        var samples: [RemovalSample] = []
        samples.reserveCapacity(dataset.count)
        for pair in dataset.pairs {
            guard let target = try pair.loadTarget() else {
                throw LearningError.invalidData(what: "dataset '\(dataset.name)' pair '\(pair.name)'", reason: "has no target to train on")
            }
            samples.append(RemovalSample(source: try pair.loadSource(), mask: try pair.loadMask(), target: target))
        }
        return InMemoryRemovalData(samples)
    }

    /// Paired samples from candidates, with each candidate's result as the target (RORem's "accepted results become
    /// training pairs").
    public static func removal(_ candidates: [Candidate]) throws -> InMemoryRemovalData {
        InMemoryRemovalData(try candidates.map { c in
            RemovalSample(source: try c.source.loadImage(), mask: try c.mask.loadMask(), target: try c.result.loadImage())
        })
    }

    /// Judged samples: each candidate with the decision `annotator` recorded for it in `store` (1 accept, 0 reject).
    /// Candidates the annotator has not decided are left out; none decided at all is an error.
    public static func judged(_ candidates: [Candidate], store: Store, annotator: Annotator) throws -> InMemoryJudgedData {
        let decisions = try self.decisions(store: store, annotator: annotator)
        var samples: [JudgedSample] = []
        for c in candidates {
            guard let accept = decisions[c.id] else { continue }
            samples.append(JudgedSample(source: try c.source.loadImage(), mask: try c.mask.loadMask(),
                                        result: try c.result.loadImage(), label: accept ? 1 : 0))
        }
        guard !samples.isEmpty else {
            throw LearningError.invalidData(what: "judged data", reason: "none of the \(candidates.count) candidates has a decision by \(annotator)")
        }
        return InMemoryJudgedData(samples)
    }

    /// `annotator`'s decisions in `store` by candidate id (true: accepted); labels without a decision are left out.
    public static func decisions(store: Store, annotator: Annotator) throws -> [Int64: Bool] {
        var decisions: [Int64: Bool] = [:]
        for label in try store.labels(by: annotator) {
            if let accept = label.accept { decisions[label.candidateID] = accept }
        }
        return decisions
    }

    /// A dataset of (source, mask, result-as-target) pairs made from candidates, named `name`; pair names keep the
    /// candidate id so that the same pair accepted in two rounds stays two pairs.
    public static func pairs(_ candidates: [Candidate], name: String) -> Dataset {
        Dataset(name: name, pairs: candidates.map { c in
            Pair(name: "\(c.pairName)-c\(c.id)", source: c.source, mask: c.mask, target: c.result)
        })
    }
}
