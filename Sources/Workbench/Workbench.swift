// Placeholder; see Docs/architecture.md.
