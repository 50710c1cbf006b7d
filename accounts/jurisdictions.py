"""Loading GB/T 2260 division codes from ``accounts/fixtures/jurisdictions.json``.

The file lists each division with its parent; parents come before children. Loading is an upsert, so the
same file can be loaded again after new divisions are appended to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "jurisdictions.json"


def read_fixture(path: Path = FIXTURE) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


def upsert_jurisdictions(model: Any, rows: list[dict[str, Any]]) -> int:
    """Create or update divisions; ``model`` may be a historical model (migrations), so no custom save()."""
    paths: dict[str, str] = dict(model.objects.values_list("code", "path"))
    for row in rows:
        parent = row.get("parent")
        if parent and parent not in paths:
            raise ValueError(f"jurisdiction {row['code']}: parent {parent} must be listed before it")
        paths[row["code"]] = f"{paths[parent]}/{row['code']}" if parent else row["code"]
        model.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "level": row["level"],
                "admin_type": row.get("admin_type", "other"),
                "parent_id": parent,
                "path": paths[row["code"]],
            },
        )
    return len(rows)
