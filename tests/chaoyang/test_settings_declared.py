"""Every setting the code reads is declared in settings/base.py (one place says what it is
and its default): no module reads one with getattr(settings, NAME, default)."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "chaoyang", "grids", "cases", "dispatch", "population", "evaluation", "bench")
READ = re.compile(r"settings\.([A-Z][A-Z0-9_]+)")


def test_no_setting_is_read_with_a_fallback() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "getattr(settings" in line
    ]
    assert not offenders


def test_every_setting_read_is_declared() -> None:
    read = {
        name
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "settings" not in path.parts
        for name in READ.findall(path.read_text())
    }
    missing = sorted(name for name in read if not hasattr(settings, name))
    assert not missing
