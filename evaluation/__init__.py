"""evaluation/ — automatic evaluation (综合评价): rollups of the event log and the figures
read from them.

It owns the per-case summary (`CaseSummary`) and the per-stage record (`CaseStage`), both
rebuilt from a case's events by one pure function (`summary.summarize`); the sweep that keeps
them current behind a watermark and the full rebuild (`services/rollup.py`); the indicators
of regions, departments, persons and the 12345 rates (`indicators.py`); the versioned weights,
scores, grades and rankings (`scoring.py`). It imports cases/, dispatch/, grids/ and core/;
nothing imports it but the project top (chaoyang/) (docs/architecture.md, docs/evaluation.md).
"""
