"""Terraform expressions as cdktf writes them: parsing, evaluation, and clear errors."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from localcloud import expressions as ex

VALUES: dict[tuple[str | int, ...], Any] = {
    ("aws_sqs_queue", "dlq", "arn"): "arn:aws:sqs:eu-central-1:123456789012:dlq",
    ("aws_sqs_queue", "dlq", "url"): "https://sqs.eu-central-1.amazonaws.com/123456789012/dlq",
    ("aws_lambda_function", "task", "function_name"): "orchestra-dev-task-a",
    ("aws_apigatewayv2_api", "ws", "id"): "abc123defg",
    ("aws_subnet", "a", "id"): "subnet-1",
    ("aws_subnet", "b", "id"): "subnet-2",
    ("var", "size"): 3,
}


def evaluate(text: str, base_dir: Path = Path(".")) -> Any:
    def resolve(ref: ex.Reference) -> Any:
        for length in range(len(ref.parts), 0, -1):
            if ref.parts[:length] in VALUES:
                value = VALUES[ref.parts[:length]]
                for part in ref.parts[length:]:
                    value = ex.index(value, part)
                return value
        raise ex.ExpressionError(f"unknown {ref.text}")

    return ex.evaluate(ex.parse_template(text), ex.Context(resolve, base_dir))


class TestTemplates:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("plain text", "plain text"),
            ("${aws_sqs_queue.dlq.arn}", "arn:aws:sqs:eu-central-1:123456789012:dlq"),
            (
                "https://${aws_apigatewayv2_api.ws.id}.execute-api.eu-central-1.amazonaws.com/prod",
                "https://abc123defg.execute-api.eu-central-1.amazonaws.com/prod",
            ),
            ("$${not.a.reference}", "${not.a.reference}"),
            ("n=${var.size}", "n=3"),
            ("${var.size}", 3),  # a lone interpolation keeps its type
            ('${"nested ${aws_lambda_function.task.function_name}"}', "nested orchestra-dev-task-a"),
        ],
    )
    def test_interpolation(self, text: str, expected: Any) -> None:
        assert evaluate(text) == expected

    def test_json_text_with_references_inside(self) -> None:
        text = '{"Resource": ["${aws_sqs_queue.dlq.arn}", "${aws_sqs_queue.dlq.arn}/*"]}'
        assert evaluate(text) == (
            '{"Resource": ["arn:aws:sqs:eu-central-1:123456789012:dlq", '
            '"arn:aws:sqs:eu-central-1:123456789012:dlq/*"]}'
        )


class TestExpressions:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('${jsonencode({"a" = 1, b = [true, null]})}', '{"a":1,"b":[true,null]}'),
            ('${join(",", [aws_subnet.a.id, aws_subnet.b.id])}', "subnet-1,subnet-2"),
            ("${element([aws_subnet.a.id, aws_subnet.b.id], 1)}", "subnet-2"),
            ('${lookup({x = "y"}, "x", "z")}', "y"),
            ('${lookup({x = "y"}, "q", "z")}', "z"),
            ('${format("%s-%d", "a", 7)}', "a-7"),
            ('${replace("a.b.c", ".", "/")}', "a/b/c"),
            ('${upper(lower("MiXed"))}', "MIXED"),
            ("${var.size * 2 + 1}", 7),
            ('${var.size > 2 ? "big" : "small"}', "big"),
            ("${!(var.size == 3) || false}", False),
            ('${merge({a = 1}, {b = 2})["b"]}', 2),
            ("${concat([1], [2, 3])[2]}", 3),
            ('${split(",", "a,b")[0]}', "a"),
            ('${length(["a", "b"])}', 2),
            ("${tostring(5)}", "5"),
            ('${trimsuffix("name.fifo", ".fifo")}', "name"),
            ('${sha256("x")}', hashlib.sha256(b"x").hexdigest()),
            ('${base64encode("hi")}', "aGk="),
            ('${coalesce("", "b")}', "b"),
        ],
    )
    def test_evaluates(self, text: str, expected: Any) -> None:
        assert evaluate(text) == expected

    def test_file_functions_read_relative_to_the_stack_folder(self, tmp_path: Path) -> None:
        (tmp_path / "assets").mkdir()
        (tmp_path / "assets" / "f.txt").write_bytes(b"content")
        assert evaluate('${filemd5("assets/f.txt")}', tmp_path) == hashlib.md5(b"content").hexdigest()  # noqa: S324

    def test_references_are_collected_whole(self) -> None:
        node = ex.parse_template('${join(",", [aws_subnet.a.id, aws_subnet.b.id])}-${var.size}')
        assert [r.text for r in ex.references(node)] == ["aws_subnet.a.id", "aws_subnet.b.id", "var.size"]

    def test_indexed_references_keep_their_path(self) -> None:
        node = ex.parse_template("${aws_lambda_function.f.environment[0].variables.X}")
        (ref,) = ex.references(node)
        assert ref.parts == ("aws_lambda_function", "f", "environment", 0, "variables", "X")


class TestRejected:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("${[for s in var.list : s]}", "for expressions are not supported"),
            ("${aws_subnet.x[*].id}", "splat expressions are not supported"),
            ("%{ if true }x%{ endif }", "template directives"),
            ("${unclosed", "expected '}'"),
            ('${"open}', "unterminated string"),
            ("${provider::aws::arn_parse(x)}", "provider functions"),
        ],
    )
    def test_syntax_it_cannot_evaluate_is_named(self, text: str, message: str) -> None:
        with pytest.raises(ex.ExpressionError, match=message):
            ex.parse_template(text)

    def test_unknown_function_is_named(self) -> None:
        with pytest.raises(ex.ExpressionError, match=r"function cidrsubnet\(\) is not supported"):
            evaluate('${cidrsubnet("10.0.0.0/16", 8, 1)}')

    def test_null_in_a_template_is_an_error(self) -> None:
        with pytest.raises(ex.ExpressionError, match="null value cannot be interpolated"):
            evaluate("x-${null}")

    def test_error_says_where(self) -> None:
        with pytest.raises(ex.ExpressionError, match=r"at character \d+ of 'a \$\{b\.\}'"):
            ex.parse_template("a ${b.}")
