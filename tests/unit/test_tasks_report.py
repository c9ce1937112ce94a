"""The report example's Python tasks (workflows/report.yaml) as code: split checks and deals the
orders; summarize totals one chunk in cents. (aggregate, Node.js: lambdas/tasks/tests/report.test.js.)"""

from __future__ import annotations

from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from test_tasks_python import load


@pytest.fixture(scope="module")
def split() -> ModuleType:
    return load("report-split")


@pytest.fixture(scope="module")
def summarize() -> ModuleType:
    return load("report-summarize")


def event(task_input: dict[str, Any], dependencies: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "workflow_id": "wf-1",
        "task_id": "t",
        "attempt": 1,
        "input": task_input,
        "dependencies": dependencies or {},
    }


ORDERS = [
    {"order_id": "o-1", "region": "EU", "product": "laptop", "quantity": 2, "unit_price": 1299.0},
    {"order_id": "o-2", "region": "NA", "product": "mouse", "quantity": 5, "unit_price": "19.99"},
    {"order_id": "o-3", "region": "EU", "product": "mouse", "quantity": 1, "unit_price": 19.99},
    {"order_id": "o-4", "region": "EU", "product": "dock", "quantity": 0, "unit_price": 149},
    {"order_id": "o-5", "region": "", "product": "dock", "quantity": 1, "unit_price": 149},
    {"order_id": "o-6", "region": "NA", "product": "dock", "quantity": 1, "unit_price": 1.005},
    "not an order",
]


class TestSplit:
    def test_deals_the_valid_orders_round_robin_and_says_why_it_rejected_the_others(
        self, split: ModuleType
    ) -> None:
        out = split.handler(event({"orders": ORDERS, "chunks": 2}), None)
        assert [[o["order_id"] for o in chunk] for chunk in out["chunks"]] == [["o-1", "o-3"], ["o-2"]]
        assert out["chunks"][0][0]["unit_price"] == "1299.0"  # exact, as text from here on
        assert out["rejected"] == [
            {"index": 3, "reason": "quantity must be a whole number of at least 1"},
            {"index": 4, "reason": "region must be a non-empty string"},
            {"index": 5, "reason": "unit_price must be a non-negative amount with at most two decimals"},
            {"index": 6, "reason": "not an object"},
        ]
        assert (out["orders"], out["sample"]) == (3, False)

    def test_without_orders_it_uses_the_same_sample_every_time(self, split: ModuleType) -> None:
        first, second = (split.handler(event({"chunks": 3}), None) for _ in range(2))
        assert first == second and first["sample"] and first["orders"] == 60 and first["rejected"] == []
        assert [len(c) for c in first["chunks"]] == [20, 20, 20]

    @pytest.mark.parametrize(
        ("task_input", "message"),
        [
            ({"orders": "all", "chunks": 3}, "input.orders must be a list of orders, not str"),
            ({"chunks": 0}, "input.chunks"),
        ],
    )
    def test_input_that_is_not_orders_fails_the_task(
        self, split: ModuleType, task_input: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            split.handler(event(task_input), None)


class TestSummarize:
    def test_totals_its_chunk_per_region_and_product_in_cents(
        self, split: ModuleType, summarize: ModuleType
    ) -> None:
        dealt = split.handler(event({"orders": ORDERS[:3], "chunks": 1}), None)
        out = summarize.handler(event({"chunk": 0}, {"split": dealt}), None)
        assert out["revenue_cents"] == 2 * 129900 + 5 * 1999 + 1999
        assert out["by_region"] == {
            "EU": {"orders": 2, "revenue_cents": 259800 + 1999},
            "NA": {"orders": 1, "revenue_cents": 9995},
        }
        assert out["by_product"]["mouse"] == {"quantity": 6, "revenue_cents": 11994}
        assert out["largest_order"] == {"order_id": "o-1", "revenue_cents": 259800}

    def test_the_sample_adds_up_across_chunks(self, split: ModuleType, summarize: ModuleType) -> None:
        dealt = split.handler(event({"chunks": 3}), None)
        totals = [
            summarize.handler(event({"chunk": i}, {"split": dealt}), None)["revenue_cents"] for i in range(3)
        ]
        expected = sum(
            int(Decimal(o["unit_price"]) * 100) * o["quantity"] for c in dealt["chunks"] for o in c
        )
        assert sum(totals) == expected

    def test_a_chunk_that_split_did_not_make_is_an_error(self, summarize: ModuleType) -> None:
        with pytest.raises(ValueError, match=r"input.chunk 3 does not name one of the 2 chunks"):
            summarize.handler(event({"chunk": 3}, {"split": {"chunks": [[], []]}}), None)
