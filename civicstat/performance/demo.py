"""The Kansas City demo's priority areas and measures (demo/kansas-city/measures.yaml)."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.conf import settings

from civicstat.performance.portable import definitions_import

MEASURES_FILE = Path(settings.BASE_DIR) / "demo" / "kansas-city" / "measures.yaml"


def demo_measures_load(*, path: Path = MEASURES_FILE) -> int:
    """Import (or update) the demo measures and compute them; returns how many."""
    return definitions_import(yaml.safe_load(path.read_text(encoding="utf-8")))
