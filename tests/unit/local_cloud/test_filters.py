"""Lambda event filtering: the patterns of an event-source mapping's filter criteria."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.filters import Criteria, FilterError, compile_pattern, matches

WORKFLOW_ITEMS = '{"dynamodb":{"Keys":{"sk":{"S":["#WF"]}}}}'


def record(sk: str, **new_image: Any) -> dict[str, Any]:
    return {
        "eventName": "MODIFY",
        "dynamodb": {"Keys": {"pk": {"S": "WF#1"}, "sk": {"S": sk}}, "NewImage": new_image},
    }


class TestTheStacksFilter:
    @pytest.mark.parametrize(("sk", "passes"), [("#WF", True), ("TASK#A", False), ("#wf", False)])
    def test_only_workflow_items_pass(self, sk: str, passes: bool) -> None:
        assert Criteria([WORKFLOW_ITEMS]).accepts(record(sk)) is passes

    def test_no_filters_accept_everything(self) -> None:
        assert Criteria([]).accepts(record("TASK#A"))

    def test_any_filter_may_match(self) -> None:
        criteria = Criteria([WORKFLOW_ITEMS, '{"eventName":["REMOVE"]}'])
        assert criteria.accepts({**record("TASK#A"), "eventName": "REMOVE"})
        assert not criteria.accepts(record("TASK#A"))


class TestOperators:
    @pytest.mark.parametrize(
        ("pattern", "value", "passes"),
        [
            ({"prefix": "TASK#"}, "TASK#A", True),
            ({"prefix": "TASK#"}, "#WF", False),
            ({"suffix": ".json"}, "a.json", True),
            ({"equals-ignore-case": "running"}, "RUNNING", True),
            ({"anything-but": ["FAILED", "CANCELLED"]}, "RUNNING", True),
            ({"anything-but": ["FAILED", "CANCELLED"]}, "FAILED", False),
            ({"anything-but": {"prefix": "TASK#"}}, "#WF", True),
            ({"numeric": [">", 0, "<=", 5]}, 5, True),
            ({"numeric": [">", 0, "<=", 5]}, 6, False),
            ({"numeric": ["=", 3]}, "3", False),  # numeric compares numbers, not strings
            ("RUNNING", "RUNNING", True),
            (7, 7.0, True),
            (None, None, True),
            ("", "", True),
        ],
    )
    def test_condition(self, pattern: Any, value: Any, passes: bool) -> None:
        compiled = compile_pattern(json.dumps({"field": [pattern]}))
        assert matches(compiled, {"field": value}) is passes

    @pytest.mark.parametrize(
        ("present", "exists", "passes"),
        [(True, True, True), (False, True, False), (False, False, True), (True, False, False)],
    )
    def test_exists(self, present: bool, exists: bool, passes: bool) -> None:
        compiled = compile_pattern(json.dumps({"a": [{"exists": exists}]}))
        assert matches(compiled, {"a": 1} if present else {}) is passes

    def test_a_missing_field_matches_only_exists_false(self) -> None:
        assert not matches(compile_pattern('{"a": [{"anything-but": ["x"]}]}'), {})

    def test_a_list_field_matches_when_any_element_does(self) -> None:
        assert matches(compile_pattern('{"tags": ["b"]}'), {"tags": ["a", "b"]})

    def test_or_between_objects(self) -> None:
        pattern = compile_pattern('{"$or": [{"a": ["1"]}, {"b": ["2"]}]}')
        assert matches(pattern, {"b": "2"}) and not matches(pattern, {"a": "2"})

    def test_sqs_bodies_are_matched_as_json(self) -> None:
        criteria = Criteria(['{"body": {"task_id": ["A"]}}'])
        assert criteria.accepts_sqs({"body": '{"task_id": "A"}'})
        assert not criteria.accepts_sqs({"body": "not json"})


class TestValidation:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("{not json", "not valid JSON"),
            ("[]", "non-empty JSON object"),
            ('{"a": "x"}', r"a: a leaf must be a list"),
            ('{"a": {"b": []}}', r"a\.b: an empty list"),
            ('{"a": [{"wildcard": "x*"}]}', r"a: the operator 'wildcard' is not supported"),
            ('{"a": [{"numeric": ["<", 5, ">", 1]}]}', "lower bound"),
            ('{"a": [{"prefix": 1}]}', "prefix takes a string"),
            ('{"a": [{"exists": "yes"}]}', "exists takes true or false"),
        ],
    )
    def test_a_bad_pattern_is_named(self, text: str, message: str) -> None:
        with pytest.raises(FilterError, match=message):
            compile_pattern(text)

    def test_the_mapping_is_named_in_the_error(self) -> None:
        with pytest.raises(FilterError, match=r"aws_lambda_event_source_mapping\.m: filter_criteria\.filter"):
            Criteria.from_config({"filter": [{"pattern": "{bad"}]}, "aws_lambda_event_source_mapping.m")
