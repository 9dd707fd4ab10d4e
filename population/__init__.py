"""population/ — the base databases of each grid: people, housing and organisations, their
imports (merge, never duplicate), protected identifiers and audited reveals. It imports
grids/ and core/ only (docs/architecture.md)."""
