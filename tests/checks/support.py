"""Helpers for the checks tests: the commit the test app reports, small OSV databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

APP_COMMIT = "0123456789abcdef0123456789abcdef01234567"
CHECKS_TOKEN = "checks-test-token-0f1e2d3c4b5a"
AUTH = {"Authorization": f"Bearer {CHECKS_TOKEN}"}


def write_advisory(folder: Path, id: str, package: str, fixed: str, severity: str) -> Path:
    """Write one OSV advisory affecting package below fixed, and fresh metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    advisory = {
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-01-01T00:00:00Z",
        "summary": f"test advisory for {package}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
            }
        ],
        "database_specific": {"severity": severity},
    }
    (folder / f"{id}.json").write_text(json.dumps(advisory))
    metadata = {"source": "test advisories", "built_at": datetime.now(UTC).isoformat()}
    (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder
