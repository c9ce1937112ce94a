"""A synthesized stack (cdk.tf.json) as the rules read it: resources by type, references between them,
and literal values where synthesis already knows them.

Values Terraform only knows at apply time (`${aws_kms_key.x.arn}`) stay references: a rule either
follows them to the resource they name, or leaves alone what it cannot know, as `terraform plan`
leaves "known after apply" values alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# ${type.name.attribute...}: a reference to another resource of the same stack.
REFERENCE = re.compile(r"\$\{([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_.\[\]\"*-]+))?\}")
# depends_on entries are bare addresses.
ADDRESS = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)$")
# Inside an expression (`${sha1(jsonencode(aws_x.y))}`): any type.name that is a declared resource.
EXPRESSION = re.compile(r"\$\{(.*?)\}(?!\})", re.DOTALL)
NAME = re.compile(r"\b([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]+)")


class StackError(RuntimeError):
    """A stack directory the preflight cannot read."""


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    config: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def path(self) -> str:
        """The construct path cdktf records (dev/api/stage): the name people recognise."""
        return str(self.config.get("//", {}).get("metadata", {}).get("path", self.address))


def blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block as a list of objects, whether synthesis wrote one object or a list."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)]


def block(value: Any) -> dict[str, Any]:
    found = blocks(value)
    return found[0] if found else {}


def is_literal(value: Any) -> bool:
    """Whether synthesis already knows the whole value (no reference inside)."""
    return "${" not in json.dumps(value)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "//":
                yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


class Stack:
    def __init__(self, name: str, document: dict[str, Any], directory: Path | None = None) -> None:
        self.name = name
        self.document = document
        self.directory = directory
        self.resources: dict[str, Resource] = {}
        for rtype, named in (document.get("resource") or {}).items():
            for rname, config in named.items():
                resource = Resource(rtype, rname, config)
                self.resources[resource.address] = resource
        provider = (document.get("provider") or {}).get("aws") or [{}]
        provider = provider[0] if isinstance(provider, list) else provider
        self.region = str(provider.get("region") or "")
        accounts = provider.get("allowed_account_ids") or []
        self.account_id = str(accounts[0]) if len(accounts) == 1 else ""

    @classmethod
    def load(cls, directory: Path) -> Stack:
        path = directory / "cdk.tf.json"
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            raise StackError(f"{path}: no such file (synthesize first: ./noxw -s synth)") from None
        except json.JSONDecodeError as exc:
            raise StackError(f"{path}: not valid JSON ({exc})") from exc
        return cls(directory.name, document, directory)

    # -- reading -------------------------------------------------------------------------------

    def of(self, *types: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type in types]

    def get(self, address: str) -> Resource | None:
        return self.resources.get(address)

    def target(self, value: Any) -> tuple[Resource, str] | None:
        """The resource and attribute a value that is exactly one reference names."""
        if not isinstance(value, str):
            return None
        match = REFERENCE.fullmatch(value)
        if not match:
            return None
        found = self.get(f"{match.group(1)}.{match.group(2)}")
        return (found, match.group(3) or "") if found else None

    def references(self, value: Any) -> set[str]:
        """Addresses of the resources a value mentions (references, and depends_on entries)."""
        found = set()
        for text in strings(value):
            for expression in EXPRESSION.finditer(text):
                for match in NAME.finditer(expression.group(1)):
                    address = f"{match.group(1)}.{match.group(2)}"
                    if address in self.resources:
                        found.add(address)
            if ADDRESS.match(text) and text in self.resources:
                found.add(text)
        return found

    def depends_on(self, resource: Resource) -> set[str]:
        return {str(entry) for entry in resource.config.get("depends_on") or []}

    def referring_to(self, resource: Resource, *types: str) -> list[Resource]:
        """Resources of `types` whose configuration mentions `resource`."""
        return [r for r in self.of(*types) if resource.address in self.references(r.config)]

    @property
    def terraform(self) -> dict[str, Any]:
        return dict(self.document.get("terraform") or {})

    @property
    def backend(self) -> tuple[str, dict[str, Any]] | None:
        backends = self.terraform.get("backend") or {}
        for kind, config in backends.items():
            return str(kind), dict(config)
        return None

    def metadata(self, key: str) -> Any:
        """What the app declares for the preflight in the stack's `//` comment (Terraform ignores it)."""
        return (self.document.get("//") or {}).get("preflight", {}).get(key)


def load_all(directories: list[Path]) -> list[Stack]:
    return [Stack.load(directory) for directory in directories]
