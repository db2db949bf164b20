/// The steps of RORem's human-in-the-loop rounds as a Swift API, where the store (Curation) meets the models
/// (Learning, Removal): generating candidates with a remover, scoring and labelling them with a discriminator,
/// turning them into training data, and evaluating a remover on a test set. The language's primitives
/// (`generate`, `annotate`, `score`, `as_pairs`, `train`, `evaluate_model`) are thin bindings over these.
public enum Rounds {}
