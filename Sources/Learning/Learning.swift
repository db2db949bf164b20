// Placeholder; see Docs/learning.md.
