"""Strict readers for what the Prometheus tests check, for hosts without promtool or PyYAML.

``parse_exposition`` reads the text exposition format (version 0.0.4, what node_exporter's
textfile collector parses) and refuses what Prometheus would refuse, and a little more that Argus
never writes: every family has HELP then TYPE before its samples, its samples together; metric
and label names are valid; label values use only the three escapes; values are Go floats; no
series twice; no timestamps, comments or blank lines. ``load_yaml`` reads the block-style YAML
subset the rules file is written in (mappings, sequences, plain and quoted strings) and refuses
anything else, so a rules file it accepts means what it looks like.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
GO_FLOAT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN")
TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
_LABEL_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


@dataclass
class Family:
    help: str
    type: str | None = None
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def value(self, **labels: str) -> float:
        [found] = [v for got, v in self.samples if got == labels]
        return found


class ExpositionError(AssertionError):
    pass


def parse_exposition(data: bytes) -> dict[str, Family]:
    """The families of a textfile, in order; ExpositionError for anything not strictly valid."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExpositionError(f"not UTF-8: {exc}") from None
    if not text.endswith("\n"):
        raise ExpositionError("the last line has no newline")
    families: dict[str, Family] = {}
    current: str | None = None
    series: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for number, line in enumerate(text[:-1].split("\n"), 1):
        try:
            current = _line(line, families, current, series)
        except ExpositionError as exc:
            raise ExpositionError(f"line {number} {line[:120]!r}: {exc}") from None
    for name, family in families.items():
        if family.type is None:
            raise ExpositionError(f"{name}: HELP without TYPE")
    return families


def _line(line: str, families: dict[str, Family], current: str | None,
          series: set[tuple[str, tuple[tuple[str, str], ...]]]) -> str | None:
    if line.startswith("# HELP "):
        name, _, doc = line[7:].partition(" ")
        _expect(METRIC_NAME.fullmatch(name) is not None, "bad metric name")
        _expect(name not in families, "a second HELP for the family")
        families[name] = Family(_unescape(doc, {"\\": "\\", "n": "\n"}))
        return name
    if line.startswith("# TYPE "):
        name, _, kind = line[7:].partition(" ")
        _expect(name == current and families[name].type is None, "TYPE not right after its HELP")
        _expect(kind in TYPES, f"unknown type {kind!r}")
        families[name].type = kind
        return current
    _expect(bool(line) and not line.startswith("#"), "a blank line or a comment")
    name, labels, value = _sample(line)
    _expect(current is not None and name == current, "a sample outside its family (after HELP/TYPE, together)")
    family = families[name]
    _expect(family.type is not None, "a sample before TYPE")
    key = (name, tuple(sorted(labels.items())))
    _expect(key not in series, "the same series twice")
    series.add(key)
    if family.type == "counter":
        _expect(value >= 0 and name.endswith("_total"), "a counter must be >= 0 and end in _total")
    family.samples.append((labels, value))
    return current


def _sample(line: str) -> tuple[str, dict[str, str], float]:
    match = METRIC_NAME.match(line)
    _expect(match is not None, "no metric name")
    assert match is not None
    name, rest = match.group(), line[match.end():]
    labels: dict[str, str] = {}
    if rest.startswith("{"):
        labels, rest = _labels(rest[1:])
    _expect(rest.startswith(" ") and GO_FLOAT.fullmatch(rest[1:]) is not None,
            "the value must follow one space and be a float (no timestamp)")
    return name, labels, float(rest[1:].replace("Inf", "inf"))


def _labels(rest: str) -> tuple[dict[str, str], str]:
    labels: dict[str, str] = {}
    while True:
        match = LABEL_NAME.match(rest)
        _expect(match is not None and not match.group().startswith("__"), "bad label name")
        assert match is not None
        name = match.group()
        _expect(name not in labels, f"label {name} twice")
        _expect(rest[match.end():match.end() + 2] == '="', "expected =\" after a label name")
        value, rest = _quoted(rest[match.end() + 2:])
        labels[name] = value
        if rest.startswith("}"):
            return labels, rest[1:]
        _expect(rest.startswith(",") and not rest.startswith(",}"), "expected , or } after a label value")
        rest = rest[1:]


def _quoted(rest: str) -> tuple[str, str]:
    """A label value up to its closing quote, unescaped, and what follows."""
    out: list[str] = []
    i = 0
    while i < len(rest):
        char = rest[i]
        if char == '"':
            return "".join(out), rest[i + 1:]
        if char == "\\":
            _expect(rest[i + 1:i + 2] in _LABEL_ESCAPES, "an escape other than \\\\, \\\" or \\n")
            out.append(_LABEL_ESCAPES[rest[i + 1]])
            i += 2
            continue
        out.append(char)
        i += 1
    raise ExpositionError("unterminated label value")


def _unescape(text: str, escapes: dict[str, str]) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            _expect(text[i + 1:i + 2] in escapes, "a bad escape in HELP")
            out.append(escapes[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _expect(condition: bool, why: str) -> None:
    if not condition:
        raise ExpositionError(why)


# --- the block YAML subset of contrib/prometheus/argus.rules.yml ------------------------------

class _Line(NamedTuple):
    indent: int
    text: str
    number: int


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = tuple("{[&*!|>%@`'\"")


def load_yaml(text: str) -> object:
    """Mappings, sequences of mappings and string scalars in block style; AssertionError for
    anything else (tabs, flow collections, anchors, inline comments, duplicate keys)."""
    assert "\t" not in text, "a tab"
    lines = [_Line(len(raw) - len(raw.lstrip(" ")), raw.strip(), n) for n, raw in enumerate(text.splitlines(), 1)
             if raw.strip() and not raw.strip().startswith("#")]
    value, end = _node(lines, 0, lines[0].indent)
    assert end == len(lines), f"line {lines[end].number}: indentation does not match"
    return value


def _node(lines: list[_Line], i: int, indent: int) -> tuple[object, int]:
    return _sequence(lines, i, indent) if lines[i].text.startswith("- ") else _mapping(lines, i, indent)


def _sequence(lines: list[_Line], i: int, indent: int) -> tuple[list[object], int]:
    items: list[object] = []
    while i < len(lines) and lines[i].indent == indent and lines[i].text.startswith("- "):
        lines[i] = _Line(indent + 2, lines[i].text[2:].lstrip(), lines[i].number)  # the item's first key
        value, i = _mapping(lines, i, indent + 2)
        items.append(value)
    return items, i


def _mapping(lines: list[_Line], i: int, indent: int) -> tuple[dict[str, object], int]:
    out: dict[str, object] = {}
    while i < len(lines) and lines[i].indent == indent and not lines[i].text.startswith("- "):
        line = lines[i]
        key, sep, rest = line.text.partition(":")
        assert sep and _KEY.fullmatch(key) and (not rest or rest.startswith(" ")), f"line {line.number}: not KEY: VALUE"
        assert key not in out, f"line {line.number}: {key} twice"
        i += 1
        if rest.strip():
            out[key] = _scalar(rest.strip(), line.number)
            continue
        assert i < len(lines) and lines[i].indent > indent, f"line {line.number}: {key} has no value"
        out[key], i = _node(lines, i, lines[i].indent)
    assert i == len(lines) or lines[i].indent < indent, f"line {lines[i].number}: indentation does not match"
    return out, i


def _scalar(text: str, number: int) -> str:
    if text.startswith('"'):
        value = json.loads(text)  # YAML's double-quoted escapes, as far as this file uses them
        assert isinstance(value, str), f"line {number}: not one double-quoted string"
        return value
    if text.startswith("'"):
        assert text.endswith("'") and len(text) > 1, f"line {number}: unterminated single quote"
        inner = text[1:-1]
        assert "'" not in inner.replace("''", ""), f"line {number}: a lone quote inside single quotes"
        return inner.replace("''", "'")
    assert not text.startswith(_SPECIAL), f"line {number}: flow style, an anchor or a block scalar"
    assert " #" not in text and ": " not in text, f"line {number}: a comment or ': ' in a plain scalar"
    return text
