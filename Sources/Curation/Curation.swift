// Placeholder; see Docs/curation.md.
