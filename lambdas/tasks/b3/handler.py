"""Task B3 (container image): a checksum and a histogram of A's data."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from simulate import simulate


def _fingerprint(event: dict[str, Any]) -> dict[str, Any]:
    data = (event.get("dependencies") or {}).get("A", {}).get("data", [])
    canonical = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return {
        "task": event["task_id"],
        "sha256": hashlib.sha256(canonical).hexdigest(),
        "histogram": {str(k): v for k, v in sorted(Counter(map(str, data)).items())},
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return simulate(event, _fingerprint)
