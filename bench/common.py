"""Shared pieces of the benchmarks: timing, entries, the results file."""

import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass
class Entry:
    """One figure. `baseline` is the raw-SQL figure from the same run; ratio = value/baseline."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    goal: str = ""
    n: int = 0
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    ratio: float | None = None

    def __post_init__(self) -> None:
        if self.baseline:
            self.ratio = round(self.value / self.baseline, 3)
        self.value = round(self.value, 3)
        if self.baseline is not None:
            self.baseline = round(self.baseline, 3)


def time_each(fn: Callable[[Any], object], items: Iterable[Any]) -> list[float]:
    """Microseconds per call, one sample per item."""
    samples = []
    for item in items:
        start = time.perf_counter_ns()
        fn(item)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def previous() -> dict[str, dict[str, Any]]:
    if not RESULTS.exists():
        return {}
    return {e["name"]: e for e in json.loads(RESULTS.read_text())}


def write(entries: list[Entry], *, keep_others: bool = False) -> None:
    """Write the entries; with keep_others, earlier entries of benchmarks not run stay."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    names = {e.name for e in entries}
    kept = [e for e in previous().values() if e["name"] not in names] if keep_others else []
    data = kept + [
        {
            k: v
            for k, v in asdict(e).items()
            if k in ("name", "value", "unit", "baseline", "ratio", "goal", "n", "at")
        }
        for e in entries
    ]
    RESULTS.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def print_table(entries: list[Entry], before: dict[str, dict[str, Any]]) -> None:
    header = (
        f"{'benchmark':<44} {'value':>12} {'baseline':>12} {'ratio':>7}  {'goal':<18} {'prev':>10}"
    )
    print(header)
    print("-" * len(header))
    for e in entries:
        prev = before.get(e.name, {}).get("value")
        print(
            f"{e.name:<44} {e.value:>10.1f} {e.unit:<2}"[:57].ljust(57)
            + f" {e.baseline if e.baseline is not None else '-':>12} "
            f"{e.ratio if e.ratio is not None else '-':>7}  {e.goal:<18} "
            f"{prev if prev is not None else '-':>10}"
        )
