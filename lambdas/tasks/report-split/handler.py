"""Report example, step 1 (Python): check the orders and split them into chunks.

Input (the workflow's input, overlaid with this task's own from workflows/report.yaml):
  orders  [{"order_id", "region", "product", "quantity", "unit_price"}], optional: without it, a
          fixed sample of 60 orders (so `orchestra start report` runs as it is)
  chunks  how many chunks to make: the definition sets it to its number of summarize tasks

Output: {"chunks": [[order, ...], ...], "orders": n, "rejected": [{"index", "reason"}], "sample": bool}.
An order that cannot be counted is rejected with its reason, not dropped silently; input that is not
a list of orders at all fails the task (the engine retries it, then fails the workflow).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

REGIONS = ("EU", "NA", "APAC")
PRODUCTS = ("keyboard", "monitor", "mouse", "laptop", "headset", "dock")
PRICES = {
    "keyboard": "49.90",
    "monitor": "219.00",
    "mouse": "19.99",
    "laptop": "1299.00",
    "headset": "89.50",
    "dock": "149.00",
}


def sample_orders() -> list[dict[str, Any]]:
    """60 orders, the same every time (no randomness: the report is reproducible)."""
    orders = []
    for i in range(60):
        product = PRODUCTS[(i * 7) % len(PRODUCTS)]
        orders.append(
            {
                "order_id": f"o-{i + 1:03d}",
                "region": REGIONS[(i * 5) % len(REGIONS)],
                "product": product,
                "quantity": 1 + (i * 3) % 4,
                "unit_price": PRICES[product],
            }
        )
    return orders


def check(order: Any) -> str | None:
    """Why an order cannot be counted, or None."""
    if not isinstance(order, dict):
        return "not an object"
    for key in ("order_id", "region", "product"):
        if not isinstance(order.get(key), str) or not order[key]:
            return f"{key} must be a non-empty string"
    quantity = order.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return "quantity must be a whole number of at least 1"
    try:
        price = Decimal(str(order.get("unit_price")))
    except InvalidOperation:
        return "unit_price must be a number"
    if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
        return "unit_price must be a non-negative amount with at most two decimals"
    return None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task_input = event.get("input") or {}
    chunks = task_input.get("chunks", 3)
    if isinstance(chunks, bool) or not isinstance(chunks, int) or not 1 <= chunks <= 50:
        raise ValueError("input.chunks must be a whole number from 1 to 50")
    sample = "orders" not in task_input
    orders = sample_orders() if sample else task_input["orders"]
    if not isinstance(orders, list):
        raise ValueError(f"input.orders must be a list of orders, not {type(orders).__name__}")
    valid, rejected = [], []
    for index, order in enumerate(orders):
        reason = check(order)
        if reason:
            rejected.append({"index": index, "reason": reason})
        else:
            valid.append({**order, "unit_price": str(Decimal(str(order["unit_price"])))})
    # Round-robin keeps the chunks within one order of each other in size.
    parts: list[list[dict[str, Any]]] = [valid[i::chunks] for i in range(chunks)]
    return {"chunks": parts, "orders": len(valid), "rejected": rejected, "sample": sample}
