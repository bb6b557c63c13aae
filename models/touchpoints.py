"""Touchpoints: which stages of the customer journey a post talks about (delivery, app...).

The taxonomy is a YAML file (`config/touchpoints.yaml`) validated once into frozen
objects; errors name the file and the key path (`touchpoints.yaml:
touchpoints.delivery.terms.en[3]: ...`). Tagging is multi-label, case- and
accent-insensitive, whole words only, with `prefix*` terms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from models.normalize import normalize

DEFAULT_TAXONOMY_FILE = "touchpoints.yaml"

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_MARKS = re.compile(r"[\u0300-\u036f]+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'"})
_SEPARATOR = re.compile(r"[\s\-]+")
_MIN_PREFIX = 3


class TaxonomyError(ValueError):
    """The taxonomy file is unusable; `errors` holds one `FILE: key.path: message` each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def fold(text: str) -> str:
    """Case-, accent- and width-insensitive form of `text` ("Envío" → "envio")."""
    if text.isascii():
        return text.lower().replace("`", "'")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _MARKS.sub("", decomposed).translate(_QUOTES)


def _check_term(term: str) -> str:
    term = term.strip()
    body = term[:-1] if term.endswith("*") else term
    if not body or "*" in body:
        raise ValueError("`*` may only end a term, after at least 3 letters")
    if term.endswith("*") and len(fold(body).split()[-1]) < _MIN_PREFIX:
        raise ValueError(f"prefix {term!r} is too short: keep at least 3 letters before `*`")
    if not any(ch.isalnum() for ch in body):
        raise ValueError(f"term {term!r} has no letters or digits")
    return term


Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(?:-[A-Za-z]{2,4})?$")]
Term = Annotated[str, AfterValidator(_check_term)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Touchpoint(_Frozen):
    """One journey stage: its label per language and the terms that mark it."""

    label: dict[Lang, Label]
    terms: dict[Lang, tuple[Term, ...]]

    @model_validator(mode="after")
    def _not_empty(self) -> Touchpoint:
        if not self.label:
            raise ValueError("give the touchpoint a label, e.g. {en: Delivery}")
        if not any(self.terms.values()):
            raise ValueError("give the touchpoint at least one term")
        return self

    def all_terms(self) -> tuple[str, ...]:
        """Every term, all languages together, in file order."""
        return tuple(term for terms in self.terms.values() for term in terms)


class Taxonomy(_Frozen):
    """The touchpoints a deployment tags posts with, in display order."""

    touchpoints: dict[str, Touchpoint]

    @field_validator("touchpoints")
    @classmethod
    def _ids(cls, value: dict[str, Touchpoint]) -> dict[str, Touchpoint]:
        bad = [key for key in value if not _ID.match(key)]
        if bad:
            raise ValueError(
                f"touchpoint id {bad[0]!r} must be lowercase letters, digits and _ "
                "(starting with a letter)"
            )
        return value

    @property
    def ids(self) -> tuple[str, ...]:
        """Touchpoint ids in file order."""
        return tuple(self.touchpoints)

    def label(self, touchpoint_id: str, lang: str = "en") -> str:
        """The human label of a touchpoint in `lang`, else English, else any, else the id."""
        labels = self.touchpoints[touchpoint_id].label
        return labels.get(lang) or labels.get("en") or next(iter(labels.values()), touchpoint_id)


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate a taxonomy file; raise TaxonomyError naming the file and key."""
    name = str(path)
    raw = _read_yaml(Path(path))
    try:
        return Taxonomy.model_validate(raw)
    except ValidationError as exc:
        errors = [f"{name}: {_where(e['loc'])}: {_explain(e)}" for e in exc.errors()]
        raise TaxonomyError(errors) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (a pasted touchpoint keeping its id)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The mapping at `node`, refusing a key that appears twice."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {line})", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaxonomyError([f"{path}: cannot read the file: {exc.strerror}"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: still safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise TaxonomyError([f"{path}: {at}: invalid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        raise TaxonomyError([f"{path}: (top level): expected `touchpoints:` with a mapping"])
    return data


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _explain(error: Mapping[str, Any]) -> str:
    kind, message = error["type"], str(error["msg"])
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (expected `label` and `terms`)"
    if kind == "string_pattern_mismatch":
        return "expected a language code such as en or es"
    if kind in ("tuple_type", "list_type"):
        return "expected a list, e.g. [parcel, courier]"
    if kind == "dict_type":
        return "expected a mapping (`key: value` lines or `{key: value}`)"
    if kind == "string_type":
        return "expected text"
    return re.sub(r"^(Value error|Assertion failed), ", "", message)


_GAP, _APOSTROPHE, _ANY_END, _END = r"[\s\-]+", "'?", r"\w*", ""


def _units(term: str) -> list[str]:
    """A term as regex pieces: one per character, the word gap, the `*` tail, the end."""
    words = _SEPARATOR.split(fold(term.rstrip("*")).strip())
    units: list[str] = []
    for index, word in enumerate(words):
        if index:
            units.append(_GAP)
        units.extend(_APOSTROPHE if ch == "'" else re.escape(ch) for ch in word)
    if term.endswith("*"):
        units.append(_ANY_END)
    units.append(_END)
    return units


def _pattern(terms: Iterable[str]) -> str:
    # A prefix tree (`(?:deliver(?:y|ies)|...)`) keeps the regex fast with hundreds of terms.
    root: dict[str, Any] = {}
    for term in terms:
        node = root
        for unit in _units(term):
            node = node.setdefault(unit, {})

    def render(node: dict[str, Any]) -> str:
        branches = [unit + render(node[unit]) if unit else "" for unit in sorted(node)[::-1]]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return render(root) + r"(?!\w)"


class TouchpointTagger:
    """Tags texts with the ids of the touchpoints whose terms they contain."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        terms = {tid: tp.all_terms() for tid, tp in taxonomy.touchpoints.items()}
        # One scan finds where any term starts; only there is each touchpoint tried.
        self._any = re.compile(r"(?<!\w)" + _pattern(t for ts in terms.values() for t in ts))
        self._each = tuple((tid, re.compile(_pattern(ts))) for tid, ts in terms.items())

    def tag(self, text: str) -> tuple[str, ...]:
        """Touchpoint ids found in `text`, in taxonomy order (empty if none)."""
        folded = fold(normalize(text))
        found: set[str] = set()
        match = self._any.search(folded)
        while match is not None:
            start = match.start()
            found.update(tid for tid, pattern in self._each if pattern.match(folded, start))
            match = self._any.search(folded, start + 1)
        return tuple(tid for tid, _ in self._each if tid in found)

    def tag_many(self, texts: Iterable[str]) -> list[tuple[str, ...]]:
        """`tag` for each text, in order."""
        return [self.tag(text) for text in texts]
