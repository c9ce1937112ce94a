"""Report example, step 2 (Python, one invocation per chunk): revenue per region and per product.

Input: `chunk`, the index of this task's chunk (its own input in workflows/report.yaml); the chunks
come from the output of `split` (`dependencies.split.chunks`). Money is counted in integer cents
(Decimal, no float rounding); the aggregate formats it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def cents(order: dict[str, Any]) -> int:
    return int(Decimal(order["unit_price"]) * 100) * int(order["quantity"])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    chunk = (event.get("input") or {}).get("chunk")
    split = (event.get("dependencies") or {}).get("split") or {}
    chunks = split.get("chunks")
    if not isinstance(chunks, list) or not isinstance(chunk, int) or not 0 <= chunk < len(chunks):
        raise ValueError(
            f"input.chunk {chunk!r} does not name one of the {len(chunks or [])} chunks of split"
        )
    by_region: dict[str, dict[str, int]] = {}
    by_product: dict[str, dict[str, int]] = {}
    largest: dict[str, Any] | None = None
    for order in chunks[chunk]:
        amount = cents(order)
        region = by_region.setdefault(order["region"], {"orders": 0, "revenue_cents": 0})
        region["orders"] += 1
        region["revenue_cents"] += amount
        product = by_product.setdefault(order["product"], {"quantity": 0, "revenue_cents": 0})
        product["quantity"] += int(order["quantity"])
        product["revenue_cents"] += amount
        if largest is None or amount > largest["revenue_cents"]:
            largest = {"order_id": order["order_id"], "revenue_cents": amount}
    return {
        "chunk": chunk,
        "orders": len(chunks[chunk]),
        "revenue_cents": sum(r["revenue_cents"] for r in by_region.values()),
        "by_region": dict(sorted(by_region.items())),
        "by_product": dict(sorted(by_product.items())),
        "largest_order": largest,
    }
