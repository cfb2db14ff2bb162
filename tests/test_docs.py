"""The README stays true: every setting and every command the project has is documented there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_environment_setting_is_documented():
    settings = (ROOT / "civicstat" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r'env(?:bool|int|str|list)\("([A-Z_]+)"', settings))
    assert len(names) > 10
    missing = sorted(n for n in names if f"`{n}`" not in README)
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_management_command_is_documented():
    commands = {p.stem for p in ROOT.glob("civicstat/*/management/commands/*.py")} - {"__init__"}
    assert {"import_cases", "load_demo", "rebuild_rollups", "generate_cases"} <= commands
    missing = sorted(c for c in commands if f"manage.py {c}" not in README)
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_built_in_profile_is_documented():
    profiles = {p.stem for p in ROOT.glob("civicstat/ingest/profiles/*.toml")}
    assert {p for p in profiles if f"`{p}`" not in README} == set()


def test_the_readme_opens_with_the_two_commands():
    first_commands = re.findall(r"^make \w+", README, flags=re.M)[:2]
    assert first_commands == ["make demo", "make test"]
