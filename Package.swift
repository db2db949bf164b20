// swift-tools-version: 6.0
// rorem: a Swift workbench for research on object removal.
// Layers (see Docs/architecture.md): rorem -> Workbench -> {Lang, Removal, ...} -> NN -> Tensor; Imaging stands apart from Tensor.
import PackageDescription

// No unsafe flags, so that rorem can be used as a dependency. The tests exercise removers and the tensor engine on
// real sizes, where unoptimised Swift is 20-50x slower: Scripts/test builds and runs them in release with
// `-Xswiftc -enable-testing` (overflow and bounds checks stay on in release).

let package = Package(
    name: "rorem",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "rorem", targets: ["rorem"]),
        .library(name: "Support", targets: ["Support"]),
        .library(name: "Imaging", targets: ["Imaging"]),
        .library(name: "Removal", targets: ["Removal"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Curation", targets: ["Curation"]),
        .library(name: "Rounds", targets: ["Rounds"]),
        .library(name: "Learning", targets: ["Learning"]),
        .library(name: "Diffusion", targets: ["Diffusion"]),
        .library(name: "Lang", targets: ["Lang"]),
        .library(name: "Workbench", targets: ["Workbench"]),
        .library(name: "ReviewWeb", targets: ["ReviewWeb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // The browser review's HTTP server: small, on BSD sockets, no SwiftNIO (Docs/curation.md, build time).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // C libraries (Debian: libpng-dev, libjpeg-dev, libopenblas-dev, libreadline-dev; Scripts/setup installs them).
        // OpenBLAS is not linked: Tensor loads libopenblas.so.0 at run time (dlopen) so that it can choose the fast
        // kernels before the library initialises. Nothing may link it, or that choice comes too late.
        .systemLibrary(name: "CReadline", path: "Sources/CReadline", providers: [.apt(["libreadline-dev"])]),

        // What every layer shares: the one seeded generator, the one progress bar, HTML escaping, benchmark timing. No dependencies.
        .target(name: "Support"),
        // PNG and JPEG codec core in C: libpng and libjpeg report errors by longjmp, which Swift cannot catch.
        .target(name: "CCodecs", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        // Images and masks: codecs, geometry, compositing, quality metrics. No Tensor.
        .target(name: "Imaging", dependencies: ["CCodecs"]),
        // Tensors on OpenBLAS (and oneDNN for convolutions), reverse-mode autodiff, optimizers, RNG, safetensors.
        // AVX2 + FMA vector kernels in C, chosen at run time (Swift itself is built for baseline x86-64).
        .target(name: "CKernels"),
        // oneDNN 2.x (Debian: libdnnl2) loaded at run time with dlopen, like OpenBLAS: its C API subset is declared
        // in the target, so neither the header nor the library is needed to build; without it conv2d stays native.
        .target(name: "COneDNN", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(name: "Tensor", dependencies: ["Support", "CKernels", "COneDNN"]),
        // Modules with PyTorch-named parameters, layers, LoRA, checkpoints.
        .target(name: "NN", dependencies: ["Support", "Tensor"]),
        // The Remover protocol, classical removers, high-resolution strategy.
        .target(name: "Removal", dependencies: ["Imaging"]),
        // Learned models where images meet tensors: the UNet remover, the discriminator, training loops.
        .target(name: "Learning", dependencies: ["Support", "Imaging", "Removal", "Tensor", "NN"]),
        // The SDXL family from diffusers folders: UNet, VAE, CLIP text encoders and tokenizer, schedulers, pipeline.
        .target(name: "Diffusion", dependencies: ["Support", "Imaging", "Removal", "Tensor", "NN"]),
        // Experiment store (SQLite through GRDB), datasets, annotation, agreement.
        .target(name: "Curation", dependencies: ["Support", "Imaging", .product(name: "GRDB", package: "GRDB.swift")]),
        // RORem's rounds as a Swift API: generate, score and annotate, training sources, evaluation (store meets models).
        // Its judges: Learning's small discriminator and Diffusion's RORem discriminator (both CandidateScorers).
        .target(name: "Rounds", dependencies: ["Support", "Imaging", "Removal", "Learning", "Diffusion", "Curation"]),
        // The language: scanner, parser, interpreter. Knows nothing of images or models.
        .target(name: "Lang"),
        // Review in the browser: several people label one store at once (FlyingFox HTTP server on loopback).
        .target(name: "ReviewWeb", dependencies: ["Support", "Curation", "Imaging", .product(name: "FlyingFox", package: "FlyingFox")]),
        // Binds the language to the domain; REPL, notebooks, terminal images.
        .target(name: "Workbench", dependencies: ["Support", "Lang", "Rounds", "Diffusion", "Imaging", "Removal", "Learning", "Curation", "ReviewWeb", "CReadline"]),
        .executableTarget(name: "rorem", dependencies: [
            "Support", "Workbench", "ReviewWeb", "Curation", "Imaging", "Removal", "Learning", "Tensor", "NN",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"], exclude: ["Fixtures"]),
        .testTarget(name: "RemovalTests", dependencies: ["Removal", "Imaging"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "NN"], exclude: ["Fixtures"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensor"], exclude: ["Fixtures"]),
        .testTarget(name: "LangTests", dependencies: ["Lang"], exclude: ["scripts"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "Lang", "Imaging", "Removal", "Curation", "Learning", "Rounds"]),
        .testTarget(name: "RoundsTests", dependencies: ["Rounds", "Curation", "Learning", "Diffusion", "Removal", "Imaging"]),
        .testTarget(name: "LearningTests", dependencies: ["Learning", "Imaging", "Removal", "Tensor", "NN"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Tensor", "NN", "Imaging"], exclude: ["Fixtures"]),
        .testTarget(name: "CurationTests", dependencies: ["Curation", "Imaging", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "CLITests", dependencies: ["Imaging", "Learning"]),
        .testTarget(name: "ReviewWebTests", dependencies: ["Support", "ReviewWeb", "Curation", "Imaging"]),
    ],
    swiftLanguageModes: [.v5]
)
