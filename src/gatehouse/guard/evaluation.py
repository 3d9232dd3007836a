"""Measuring scanners on labelled data: datasets, converters and scores.

Two kinds of dataset:

* **span** data, JSON lines ``{"text": ..., "spans": [{"type", "start", "end"}]}`` (or
  Presidio-research's JSON array, recognised by its ``full_text`` key), scored per
  entity type against the scanners' findings;
* **label** data, CSV with ``text,label`` columns (or the jailbreak ``prompt,type`` and
  HateCheck ``test_case,label_gold`` files, recognised by their headers), where a text
  is predicted positive when the scanners report anything at or above the threshold.
  A label is positive unless it is one of :data:`NEGATIVE_LABELS` (case-insensitive),
  so ``1``, ``true``, ``jailbreak`` and ``hateful`` are all positive.

Span scores, per type and overall (sums over types):

* a prediction is a true positive when it overlaps a gold span of its type by at least
  one character; precision = true-positive predictions / predictions;
* recall = gold spans overlapped by a prediction of their type / gold spans. Every gold
  span counts, including types no chosen scanner reports;
* false-positive rate of a type = share of the texts without a gold span of that type
  in which the scanners reported that type; overall, the share of texts without any
  gold span in which anything was reported;
* character recall = gold characters covered by a prediction of their type / gold
  characters; "any-type" character recall (overall only) counts a gold character as
  covered by a prediction of any type: what a redactor would still leak is the rest;
* full-span recall = gold spans whose every character is covered by the union of
  predictions of their type.

Gold types are renamed to ours with :data:`TYPE_MAP` before matching.
"""

from __future__ import annotations

import csv
import io
import math
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeGuard

import orjson

from gatehouse.guard.scanners.base import DEFAULT_CONTEXT, Finding, Scanner

#: Dataset entity names -> ours (Presidio's). The Presidio-research set names places
#: GPE; the short names are what other sets use. Every other name maps to itself: that
#: set already uses Presidio's names (EMAIL_ADDRESS, IBAN_CODE, IP_ADDRESS, and
#: DOMAIN_NAME for its URLs, which are full ``https://…`` addresses).
TYPE_MAP: dict[str, str] = {
    "GPE": "LOCATION",
    "EMAIL": "EMAIL_ADDRESS",
    "IBAN": "IBAN_CODE",
    "IP": "IP_ADDRESS",
    "SSN": "US_SSN",
}

#: Labels that mark a text negative; any other label is positive.
NEGATIVE_LABELS: frozenset[str] = frozenset(
    {"0", "false", "benign", "safe", "non-hateful", "negative"}
)

_JAILBREAK_LABELS = {"jailbreak": True, "benign": False}
_HATECHECK_LABELS = {"hateful": True, "non-hateful": False}


class DatasetError(ValueError):
    """The dataset can't be read; the message names the file and the line or record."""


# --- datasets -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    type: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SpanExample:
    text: str
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class LabelExample:
    text: str
    label: bool


@dataclass(frozen=True, slots=True)
class SpanDataset:
    format: str  # "jsonl" or "presidio"
    examples: list[SpanExample]


@dataclass(frozen=True, slots=True)
class LabelDataset:
    format: str  # "csv", "jailbreak" or "hatecheck"
    examples: list[LabelExample]
    negative_labels: tuple[str, ...]  # the labels read as negative


Dataset = SpanDataset | LabelDataset


def load_dataset(path: Path, negatives: Iterable[str] = NEGATIVE_LABELS) -> Dataset:
    """Read ``path``, recognising its format from its content (see the module doc)."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    head = raw.lstrip()[:1]
    if head == "[":
        return SpanDataset("presidio", presidio_examples(_json(path, raw), path))
    if head == "{":
        return SpanDataset("jsonl", jsonl_examples(raw, path))
    return label_dataset(raw, path, negatives)


def jsonl_examples(raw: str, path: Path) -> list[SpanExample]:
    """Our span format: one ``{"text", "spans": [{"type", "start", "end"}]}`` a line."""
    examples = []
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and other breaks
    for number, line in enumerate(raw.split("\n"), 1):
        if line.strip():
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON: {exc}") from None
            examples.append(_example(record, f"{path}:{number}", "text", _OUR_KEYS))
    return examples


def presidio_examples(records: Any, path: Path) -> list[SpanExample]:
    """Presidio-research's ``[{full_text, spans: [{entity_type, start_position, ...}]}]``."""
    if not isinstance(records, list):
        raise DatasetError(f"{path}: expected a JSON array of records")
    return [
        _example(record, f"{path}: record {index}", "full_text", _PRESIDIO_KEYS)
        for index, record in enumerate(records)
    ]


_OUR_KEYS = ("type", "start", "end")
_PRESIDIO_KEYS = ("entity_type", "start_position", "end_position")


def _example(record: Any, where: str, text_key: str, keys: tuple[str, str, str]) -> SpanExample:
    if not isinstance(record, dict) or not isinstance(record.get(text_key), str):
        raise DatasetError(f'{where}: expected an object with a "{text_key}" string')
    text, spans = record[text_key], record.get("spans") or []
    if not isinstance(spans, list):
        raise DatasetError(f'{where}: "spans" must be a list')
    return SpanExample(text, tuple(_span(s, text, where, keys) for s in spans))


def label_dataset(raw: str, path: Path, negatives: Iterable[str]) -> LabelDataset:
    """A CSV of labelled texts: ``text,label``, jailbreak ``prompt,type`` or HateCheck."""
    csv.field_size_limit(sys.maxsize)  # prompts of tens of KB are normal
    reader = csv.DictReader(io.StringIO(raw, newline=""))
    columns = set(reader.fieldnames or ())
    negative = {n.strip().lower() for n in negatives}
    if {"text", "label"} <= columns:
        fmt, text_col, label_col, vocabulary = "csv", "text", "label", None
    elif {"prompt", "type"} <= columns:
        fmt, text_col, label_col, vocabulary = "jailbreak", "prompt", "type", _JAILBREAK_LABELS
    elif {"test_case", "label_gold"} <= columns:
        fmt, text_col, label_col = "hatecheck", "test_case", "label_gold"
        vocabulary = _HATECHECK_LABELS
    else:
        raise DatasetError(
            f"{path}: not a dataset: expected JSON lines with spans, a Presidio JSON array, "
            "or a CSV with text,label (or prompt,type or test_case,label_gold) columns"
        )
    if vocabulary is not None:
        negative = {label for label, positive in vocabulary.items() if not positive}
    examples = []
    for row in reader:
        where = f"{path}:{reader.line_num}"
        text, label = row.get(text_col), (row.get(label_col) or "").strip().lower()
        if text is None or not label:
            raise DatasetError(f"{where}: missing {text_col} or {label_col}")
        if vocabulary is None:
            examples.append(LabelExample(text, label not in negative))
        elif label in vocabulary:
            examples.append(LabelExample(text, vocabulary[label]))
        else:
            raise DatasetError(f"{where}: unknown {label_col} {label!r}")
    return LabelDataset(fmt, examples, tuple(sorted(negative)))


def write_spans(examples: Iterable[SpanExample], out: TextIO) -> None:
    """Our span format, one JSON object a line."""
    for ex in examples:
        spans = [{"type": s.type, "start": s.start, "end": s.end} for s in ex.spans]
        out.write(orjson.dumps({"text": ex.text, "spans": spans}).decode() + "\n")


def write_labels(examples: Iterable[LabelExample], out: TextIO) -> None:
    """Our label format: CSV ``text,label`` with label 1 or 0."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    for ex in examples:
        writer.writerow([ex.text, 1 if ex.label else 0])


def _json(path: Path, raw: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON: {exc}") from None


def _span(item: Any, text: str, where: str, keys: tuple[str, str, str]) -> Span:
    kind, start, end = (item.get(k) if isinstance(item, dict) else None for k in keys)
    if not (isinstance(kind, str) and _is_int(start) and _is_int(end)):
        raise DatasetError(f"{where}: a span needs {', '.join(keys)} (a string and two integers)")
    if not 0 <= start < end <= len(text):
        raise DatasetError(
            f"{where}: span {kind} [{start}, {end}) is out of range for a text of "
            f"{len(text)} characters"
        )
    return Span(kind, start, end)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# --- running scanners ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Throughput:
    texts: int
    seconds: float  # time spent in the scanners, summed over texts
    texts_per_s: float | None
    kb_per_s: float | None  # 1 KB = 1,000 bytes of UTF-8 text
    p50_ms: float | None  # per-text latency of all scanners together
    p99_ms: float | None


def run_scanners(
    scanners: Sequence[Scanner], texts: Sequence[str], threshold: float
) -> tuple[list[list[Finding]], Throughput]:
    """Every text's findings at or above ``threshold`` (the scanners' union), and speed."""
    findings: list[list[Finding]] = []
    latencies: list[float] = []
    for text in texts:
        started = time.perf_counter()
        found = [f for s in scanners for f in s.scan(text, DEFAULT_CONTEXT)]
        latencies.append(time.perf_counter() - started)
        kept: dict[tuple[str, int, int], Finding] = {}
        for f in found:
            key = (f.type, f.start, f.end)
            if f.score >= threshold and (key not in kept or kept[key].score < f.score):
                kept[key] = f
        findings.append(list(kept.values()))
    return findings, throughput(texts, latencies)


def throughput(texts: Sequence[str], latencies: Sequence[float]) -> Throughput:
    seconds = sum(latencies)
    size = sum(len(t.encode()) for t in texts)
    ordered = sorted(latencies)
    return Throughput(
        texts=len(texts),
        seconds=seconds,
        texts_per_s=len(texts) / seconds if seconds > 0 else None,
        kb_per_s=size / 1000 / seconds if seconds > 0 else None,
        p50_ms=_percentile(ordered, 50),
        p99_ms=_percentile(ordered, 99),
    )


def _percentile(ordered: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted seconds, in milliseconds."""
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1] * 1000


# --- span scores --------------------------------------------------------------------


@dataclass(slots=True)
class TypeCounts:
    """Counts for one entity type (or all of them); the rates are derived."""

    gold: int = 0
    predicted: int = 0
    true_predictions: int = 0  # predictions overlapping a gold span of their type
    gold_found: int = 0  # gold spans overlapped by a prediction of their type
    gold_covered: int = 0  # gold spans fully covered by predictions of their type
    gold_chars: int = 0
    covered_chars: int = 0
    texts_without_gold: int = 0
    texts_flagged_without_gold: int = 0

    def add(self, other: TypeCounts, *, texts: bool = True) -> None:
        """Add ``other``'s counts (without the per-text ones if not ``texts``)."""
        for name in self.__slots__:
            if texts or not name.startswith("texts_"):
                setattr(self, name, getattr(self, name) + getattr(other, name))

    def rates(self) -> dict[str, float | None]:
        precision = _ratio(self.true_predictions, self.predicted)
        recall = _ratio(self.gold_found, self.gold)
        return {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "fpr": _ratio(self.texts_flagged_without_gold, self.texts_without_gold),
            "char_recall": _ratio(self.covered_chars, self.gold_chars),
            "full_span_recall": _ratio(self.gold_covered, self.gold),
        }


@dataclass(slots=True)
class SpanScores:
    types: dict[str, TypeCounts]
    overall: TypeCounts
    any_type_gold_chars: int = 0
    any_type_covered_chars: int = 0
    type_map: dict[str, str] = field(default_factory=dict)

    @property
    def any_type_char_recall(self) -> float | None:
        return _ratio(self.any_type_covered_chars, self.any_type_gold_chars)


def score_spans(
    examples: Sequence[SpanExample],
    predictions: Sequence[Sequence[Finding]],
    type_map: Mapping[str, str] = TYPE_MAP,
) -> SpanScores:
    """Score ``predictions[i]`` against ``examples[i]`` (see the module doc)."""
    # A type's counts start with every text "without gold"; texts with some take it back.
    types: dict[str, TypeCounts] = defaultdict(lambda: TypeCounts(texts_without_gold=len(examples)))
    scores = SpanScores({}, TypeCounts(), type_map=dict(type_map))
    for ex, found in zip(examples, predictions, strict=True):
        gold: dict[str, list[Span]] = defaultdict(list)
        for s in ex.spans:
            gold[type_map.get(s.type, s.type)].append(s)
        pred: dict[str, list[Finding]] = defaultdict(list)
        for f in found:
            pred[f.type].append(f)
        for kind in gold.keys() | pred.keys():
            _count_type(types[kind], gold.get(kind, []), pred.get(kind, []))
        gold_chars = _chars(ex.spans)
        scores.any_type_gold_chars += len(gold_chars)
        scores.any_type_covered_chars += len(gold_chars & _chars(found))
        # Overall, the false-positive rate is about whole texts, not a sum over types.
        scores.overall.texts_without_gold += not ex.spans
        scores.overall.texts_flagged_without_gold += not ex.spans and bool(found)
    scores.types = {kind: types[kind] for kind in sorted(types)}
    for counts in scores.types.values():
        scores.overall.add(counts, texts=False)
    return scores


def _count_type(counts: TypeCounts, gold: list[Span], pred: list[Finding]) -> None:
    counts.gold += len(gold)
    counts.predicted += len(pred)
    counts.true_predictions += sum(any(_overlap(p, g) for g in gold) for p in pred)
    counts.gold_found += sum(any(_overlap(p, g) for p in pred) for g in gold)
    covered = _chars(pred)
    counts.gold_covered += sum(set(range(g.start, g.end)) <= covered for g in gold)
    gold_chars = _chars(gold)
    counts.gold_chars += len(gold_chars)
    counts.covered_chars += len(gold_chars & covered)
    if gold:
        counts.texts_without_gold -= 1
    else:
        counts.texts_flagged_without_gold += 1  # called only when it has gold or findings


def _overlap(a: Span | Finding, b: Span | Finding) -> bool:
    return a.start < b.end and b.start < a.end


def _chars(spans: Iterable[Span | Finding]) -> set[int]:
    return {i for s in spans for i in range(s.start, s.end)}


# --- label scores -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelScores:
    tp: int
    fp: int
    tn: int
    fn: int

    def rates(self) -> dict[str, float | None]:
        precision = _ratio(self.tp, self.tp + self.fp)
        recall = _ratio(self.tp, self.tp + self.fn)
        return {
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "fpr": _ratio(self.fp, self.fp + self.tn),
            "accuracy": _ratio(self.tp + self.tn, self.tp + self.fp + self.tn + self.fn),
        }


def score_labels(
    examples: Sequence[LabelExample], predictions: Sequence[Sequence[Finding]]
) -> LabelScores:
    """A text is predicted positive when it has any finding (already thresholded)."""
    tp = fp = tn = fn = 0
    for ex, found in zip(examples, predictions, strict=True):
        flagged = bool(found)
        tp += ex.label and flagged
        fp += not ex.label and flagged
        tn += not ex.label and not flagged
        fn += ex.label and not flagged
    return LabelScores(tp, fp, tn, fn)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    # One side is undefined only when the other is 0 (no predictions: nothing found; no
    # gold: nothing right), so F1 is 0 then; undefined only when both are.
    if precision is None and recall is None:
        return None
    if not precision or not recall:
        return 0.0
    return 2 * precision * recall / (precision + recall)


# --- the report ---------------------------------------------------------------------


def evaluate(
    scanners: Sequence[Scanner],
    dataset: Dataset,
    *,
    threshold: float = 0.5,
    type_map: Mapping[str, str] = TYPE_MAP,
    limit: int | None = None,
) -> dict[str, Any]:
    """Run ``scanners`` over the first ``limit`` texts and score them: a JSON-ready report.

    ``kind`` is "spans" or "labels"; rates with nothing to divide by are None.
    """
    texts = [e.text for e in dataset.examples[:limit]]
    findings, speed = run_scanners(scanners, texts, threshold)
    report: dict[str, Any] = {
        "scanners": [s.name for s in scanners],
        "threshold": threshold,
        "dataset_format": dataset.format,
        "texts": len(texts),
    }
    if isinstance(dataset, SpanDataset):
        scores = score_spans(dataset.examples[:limit], findings, type_map)
        reported = frozenset().union(*(s.types for s in scanners))
        overall = scores.overall
        report |= {
            "kind": "spans",
            "type_map": scores.type_map,
            "types": {
                kind: {**asdict(c), **c.rates(), "reported_by_scanners": kind in reported}
                for kind, c in scores.types.items()
            },
            "overall": {
                **asdict(overall),
                **overall.rates(),
                "any_type_gold_chars": scores.any_type_gold_chars,
                "any_type_covered_chars": scores.any_type_covered_chars,
                "any_type_char_recall": scores.any_type_char_recall,
            },
        }
    else:
        confusion = score_labels(dataset.examples[:limit], findings)
        report |= {
            "kind": "labels",
            "negative_labels": list(dataset.negative_labels),
            "overall": {
                **asdict(confusion),
                "positives": confusion.tp + confusion.fn,
                "negatives": confusion.fp + confusion.tn,
                **confusion.rates(),
            },
        }
    report["throughput"] = asdict(speed)
    return report
