"""Production settings refuse unsafe configuration; check --deploy is clean."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


KEYS = {
    "FIELD_ENCRYPTION_KEYS": "k1:" + secrets.token_urlsafe(32),
    "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
}


def _check(env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    unset = {"SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", *KEYS}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({"DJANGO_SETTINGS_MODULE": "chaoyang.settings.production", **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_production_environment() -> None:
    result = _check(
        {"SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "grid.example.cn", **KEYS}
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_missing_secret_key() -> None:
    result = _check({"ALLOWED_HOSTS": "grid.example.cn", **KEYS})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug() -> None:
    result = _check(
        {"SECRET_KEY": secrets.token_urlsafe(64), "DEBUG": "true", "ALLOWED_HOSTS": "x.cn", **KEYS}
    )
    assert result.returncode != 0
    assert "DEBUG" in result.stderr


def test_production_refuses_missing_personal_data_keys() -> None:
    result = _check({"SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "x.cn"})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr
