"""Golden fixtures of the translator tests (``UPDATE_GOLDEN=1 pytest tests/proxy`` rewrites them)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).parent / "golden"


def golden_cases(sub: str) -> list[Path]:
    """The fixture files of one folder under ``golden/``."""
    return sorted((GOLDEN / sub).glob("*.json"))


def check_golden(path: Path, case: dict[str, Any], actual: Any) -> None:
    """Compare with the fixture's ``expected`` (or rewrite it under UPDATE_GOLDEN=1)."""
    actual = json.loads(json.dumps(actual))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        case["expected"] = actual
        path.write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n")
    assert actual == case["expected"]
