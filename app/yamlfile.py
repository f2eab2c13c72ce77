"""YAML files validated by pydantic, with errors that name the file, the line and the field.

Used by scenario files and by `shiftroom.yaml`: a user who gets a field wrong
reads one sentence like `mine.yaml:8: field 'events[1].at': Input should be a
valid number.` and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app import safejson

M = TypeVar("M", bound=BaseModel)


class YamlFileError(Exception):
    """`str()` is one sentence with file, line and field."""

    def __init__(self, sentence: str, path: str = "", line: int | None = None, field: str = "") -> None:
        super().__init__(sentence)
        self.path, self.line, self.field = path, line, field


#: libyaml's loader when PyYAML was built with it (the same documents, about thirty times faster: a
#: scenario is read before the room's first frame), else the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Deepest nesting accepted in a YAML file (PyYAML's composer recurses once per level).
MAX_DEPTH = 64


def read_text(path: Path, what: str, error: type[YamlFileError] = YamlFileError, *, article: str = "the ") -> str:
    """The file as UTF-8 text; one sentence naming the file when it cannot be read or is not text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise error(f"Cannot read {article}{what} {path}: {reason}.", str(path)) from None
    if b"\x00" in data[:8192]:
        raise error(f"{path}: the {what} must be YAML text, but this file is binary (it holds NUL bytes).", str(path))
    text, problem = safejson.decode(data.removeprefix(b"\xef\xbb\xbf"))  # YAML allows a UTF-8 BOM
    if problem:
        at = int(problem.rsplit(" ", 1)[-1]) if problem.startswith("not UTF-8") else 0
        line = data[:at].count(b"\n") + 1
        verb = "" if problem.startswith("starts") else "is "
        raise error(f"{path}:{line}: the {what} must be UTF-8 text; it {verb}{problem}.", str(path), line)
    return text


#: Most nodes a document may expand to once its aliases are followed (a "billion laughs" stays small).
MAX_NODES = 200_000


def _shape(node: yaml.Node | None) -> tuple[int, int, bool]:
    """(depth, expanded node count, whether an alias refers to itself), walked without recursion.

    Aliases make the node tree a graph: each node is measured once (memo), a
    node met again while it is being measured is a cycle.
    """
    if node is None:
        return 0, 0, False
    memo: dict[int, tuple[int, int]] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        children = _children(current)
        if done:
            active.discard(key)
            sub = [memo[id(c)] for c in children]
            memo[key] = (1 + max((d for d, _ in sub), default=0), min(MAX_NODES + 1, 1 + sum(n for _, n in sub)))
            continue
        if key in memo:
            continue
        if key in active:
            return 0, 0, True
        active.add(key)
        stack.append((current, True))
        for child in children:
            if id(child) in active:
                return 0, 0, True
            if id(child) not in memo:
                stack.append((child, False))
    depth, count = memo[id(node)]
    return depth, count, False


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def safe_yaml(text: str, source: str, error: type[YamlFileError] = YamlFileError) -> Any:
    """`yaml.safe_load` that raises `error` (one sentence with file and line) for anything it cannot read."""
    return _parse(text, source, error)[1]


def _load(text: str, source: str, error: type[YamlFileError]) -> tuple[yaml.Node | None, Any]:
    """Compose and load, refusing nesting deeper than `MAX_DEPTH` instead of recursing."""
    deep = f"{source}:1: the YAML is nested deeper than {MAX_DEPTH} levels; flatten it."
    if safejson.depth_error(text, MAX_DEPTH):
        raise error(deep, source, 1)
    try:
        root = yaml.compose(text, Loader=_LOADER)
        depth, count, cyclic = _shape(root)
        if cyclic:
            raise error(
                f"{source}:1: the YAML has an alias that refers to itself; remove the recursive alias.", source, 1
            )
        if depth > MAX_DEPTH:
            raise error(deep, source, 1)
        if count > MAX_NODES:
            raise error(
                f"{source}:1: the YAML expands to more than {MAX_NODES:,} values through its aliases; "
                "write the values out.",
                source,
                1,
            )
        return root, yaml.load(text, Loader=_LOADER)  # a safe loader, C or Python
    except RecursionError:
        raise error(deep, source, 1) from None
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own limit, met before ours
            raise error(deep, source, 1) from None
        raise


def compose(
    text: str, source: str, what: str, error: type[YamlFileError] = YamlFileError
) -> tuple[yaml.Node | None, dict[str, Any]]:
    """Parse `text` into (node tree for line numbers, plain data); the top level must be a mapping."""
    root, data = _parse(text, source, error)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{source}:1: {what} must be a mapping of fields, not a {type(data).__name__}.", source, 1)
    return root, data


def _parse(text: str, source: str, error: type[YamlFileError]) -> tuple[yaml.Node | None, Any]:
    try:
        return _load(text, source, error)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        lines = text.splitlines()
        near = lines[line - 1].strip()[:40] if 0 < line <= len(lines) else ""
        where = f" near '{near}'" if near else ""
        raise error(f"{source}:{line}: the YAML does not parse{where} ({problem}).", source, line) from None
    except yaml.YAMLError as exc:
        raise error(f"{source}:1: the YAML does not parse ({' '.join(str(exc).split())}).", source, 1) from None


def validate(
    model: type[M],
    data: dict[str, Any],
    root: yaml.Node | None,
    source: str,
    error: type[YamlFileError] = YamlFileError,
) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        count = exc.error_count()
        more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
        raise error_at(
            root, source, tuple(err["loc"]), str(err["msg"]).removeprefix("Value error, "), more, error
        ) from None


def error_at(
    root: yaml.Node | None,
    source: str,
    loc: tuple[Any, ...],
    msg: str,
    more: str = "",
    error: type[YamlFileError] = YamlFileError,
) -> YamlFileError:
    line, path = locate(root, loc)
    field = field_text(path) or "(top level)"
    return error(f"{source}:{line}: field '{field}': {msg.rstrip('.')}{more}.", source, line, field)


def locate(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int, list[str | int]]:
    """Follow a pydantic error location through the composed YAML: (1-based line, the matched path).

    Location parts that are not in the document (a missing field, a union tag)
    stop the walk at the deepest node found, whose line is reported, but the
    missing field's name is still part of the path.
    """
    node, path, line = root, [], (root.start_mark.line + 1 if root is not None else 1)
    for part in loc:
        child, child_line = _child(node, part)
        if child is not None:
            line = child_line
            node = child
            path.append(part)
        elif isinstance(part, (str, int)) and not _is_tag(part):
            path.append(part)
            node = None
    return line, path


def _child(node: yaml.Node | None, part: Any) -> tuple[yaml.Node | None, int]:
    """The node under `part` of a mapping (by key) or a sequence (by index), and its 1-based line."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value, key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        child = node.value[part]
        return child, child.start_mark.line + 1
    return None, 0


def _is_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def field_text(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
