import Curation
import Imaging
import Removal
import Support

extension Rounds {
    /// Thrown by `generate` when `shouldStop` asks it to; everything made before it is committed.
    public struct GenerationStopped: Error, Sendable {
        /// New candidates made (and committed) before the stop.
        public let made: Int
    }

    /// Saves `dataset` in `store` (resumable), then runs `remover` on each pair without a candidate yet, checking
    /// `shouldStop` between pairs and stepping `progress`. With `samples` > 1, sample k (2...8) runs the remover on
    /// view k of each pair (``OrientedRemover``) and is recorded as model `model@k`; the candidates come back
    /// sample by sample. Every candidate is committed as soon as it is made, so a stopped run resumes where it
    /// stopped.
    public static func generate(store: Store, remover: any Remover, model: String, dataset: Dataset, round: Int?,
                                samples: Int = 1, kind: String = "language", progress: ((_ made: Int, _ todo: Int) -> Void)? = nil,
                                shouldStop: () -> Bool = { false }) throws -> [Candidate] {
        try store.saveDataset(dataset, kind: kind)
        let views = try (1...max(1, samples)).map { k in
            (name: k == 1 ? model : "\(model)@\(k)", remover: k == 1 ? remover : try OrientedRemover(remover, orientation: k))
        }
        var todo = 0
        for view in views {
            todo += max(0, dataset.count - (try store.candidates(round: round, model: view.name, dataset: dataset.name).count))
        }
        var made = 0
        var ids: [Int64] = []
        for view in views {
            ids += try store.generate(dataset: dataset.name, model: view.name, round: round) { image, mask in
                if shouldStop() { throw GenerationStopped(made: made) }
                let result = try view.remover.remove(image, mask: mask)
                made += 1
                progress?(made, todo)
                return result
            }
        }
        return try store.candidates(ids: ids)
    }
}
