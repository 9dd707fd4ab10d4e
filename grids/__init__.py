"""grids/ — the territory: district → street → community → unit grid, point → grid, the
territorial scope, map tiles and boundary imports. It knows nothing of what lies in its grids
and imports only core/ (docs/architecture.md)."""
