"""``gatehouse guard``: measure scanners on labelled data, convert development sets.

``eval`` runs one or more scanners over a dataset and prints precision, recall, F1,
false-positive rate, character coverage and throughput (definitions in
:mod:`gatehouse.guard.evaluation`). Bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TextIO

import orjson
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gatehouse.guard.evaluation import (
    NEGATIVE_LABELS,
    TYPE_MAP,
    Dataset,
    DatasetError,
    SpanDataset,
    evaluate,
    load_dataset,
    write_labels,
    write_spans,
)
from gatehouse.guard.scanners.base import Scanner

guard_app = typer.Typer(help="Measure guard scanners on labelled data.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@guard_app.command("eval")
def eval_command(
    scanner: Annotated[
        str,
        typer.Option(
            help="Scanner name(s), comma-separated (findings are combined): pii, pii_ner, "
            "secrets, or module:Class for a scanner of your own.",
            show_default=False,
        ),
    ],
    dataset: Annotated[
        Path,
        typer.Option(
            help="JSON lines {text, spans:[{type, start, end}]}, a Presidio-research JSON "
            "array, or a CSV of text,label (also jailbreak prompt,type and HateCheck).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Literal["table", "json"], typer.Option("--format", help="table (for people) or json.")
    ] = "table",
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Findings scoring below this are dropped.")
    ] = 0.5,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N texts.")] = None,
    types_map: Annotated[
        Path | None,
        typer.Option(
            help="JSON object of dataset type -> our type, added to the built-in map.",
            show_default=False,
        ),
    ] = None,
    negative_labels: Annotated[
        str,
        typer.Option(
            help="Labels read as negative in a text,label CSV, comma-separated "
            "(case-insensitive); any other label is positive."
        ),
    ] = ",".join(sorted(NEGATIVE_LABELS)),
) -> None:
    """Score scanners on a labelled dataset: per type and overall, plus throughput."""
    type_map = {**TYPE_MAP, **_types_map(types_map)} if types_map else dict(TYPE_MAP)
    negatives = [n.strip() for n in negative_labels.split(",") if n.strip()]
    scanners = [_scanner(name.strip()) for name in scanner.split(",") if name.strip()]
    if not scanners:
        _fail("--scanner: give at least one scanner name")
    try:
        data = load_dataset(dataset, negatives)
    except DatasetError as exc:
        _fail(str(exc))
    report = {
        "dataset": str(dataset),
        **evaluate(scanners, data, threshold=threshold, type_map=type_map, limit=limit),
    }
    if output == "json":
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif report["kind"] == "spans":
        _print_spans(report)
    else:
        _print_labels(report)


@guard_app.command("convert")
def convert(
    kind: Annotated[
        Literal["presidio", "jailbreak", "hatecheck"],
        typer.Argument(help="presidio (to span JSON lines), jailbreak or hatecheck (to CSV)."),
    ],
    file: Annotated[Path, typer.Argument(help="The file to convert.", show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Where to write (default: stdout).", show_default=False
        ),
    ] = None,
) -> None:
    """Convert a development set to ``eval``'s own formats (types and labels as given)."""
    try:
        data = load_dataset(file)
    except DatasetError as exc:
        _fail(str(exc))
    if data.format != kind:
        _fail(f"{file}: not a {kind} file (it reads as {data.format})")
    try:
        if output is None:
            _write(data, sys.stdout)
        else:
            with open(output, "w", encoding="utf-8", newline="") as sink:
                _write(data, sink)
    except OSError as exc:
        _fail(f"{output}: cannot write: {exc}")
    if output is not None:
        err.print(f"wrote {len(data.examples)} record(s) to {escape(str(output))}")


def _write(data: Dataset, sink: TextIO) -> None:
    if isinstance(data, SpanDataset):
        write_spans(data.examples, sink)
    else:
        write_labels(data.examples, sink)


# --- helpers ------------------------------------------------------------------------


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def _scanner(name: str) -> Scanner:
    """A registered scanner, or ``module:Class`` (a class taking no arguments, importable
    from the current directory)."""
    from gatehouse.guard.scanners.registry import UnknownScanner, build

    try:
        if ":" not in name:
            return build(name)
        module, _, cls = name.partition(":")
        if "" not in sys.path:  # as `python -m` and uvicorn do: modules beside you import
            sys.path.insert(0, "")
        scanner: Scanner = getattr(importlib.import_module(module), cls)()
        return scanner
    except UnknownScanner as exc:
        _fail(f"--scanner: {exc}")
    except (ImportError, AttributeError) as exc:
        _fail(f"--scanner: cannot load scanner {name!r}: {exc}")


def _types_map(path: Path) -> dict[str, str]:
    try:
        mapping = orjson.loads(path.read_bytes())
    except OSError as exc:
        _fail(f"--types-map {path}: cannot read: {exc}")
    except orjson.JSONDecodeError as exc:
        _fail(f"--types-map {path}: not valid JSON: {exc}")
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        _fail(f"--types-map {path}: expected a JSON object of type names to type names")
    return mapping


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _num(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def _header(report: dict[str, Any]) -> str:
    return (
        f"{', '.join(report['scanners'])} on {report['dataset']} ({report['dataset_format']}, "
        f"{report['texts']} texts, threshold {report['threshold']:g})"
    )


def _print_throughput(report: dict[str, Any]) -> None:
    t = report["throughput"]
    out.print(
        f"throughput: {_num(t['texts_per_s'])} texts/s, {_num(t['kb_per_s'])} KB/s; "
        f"latency per text p50 {_num(t['p50_ms'], '.3f')} ms, "
        f"p99 {_num(t['p99_ms'], '.3f')} ms"
    )


def _print_spans(report: dict[str, Any]) -> None:
    table = Table(
        title=escape(_header(report)), box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    table.add_column("type", no_wrap=True)
    for column in ("gold", "pred", "prec", "recall", "F1", "FPR", "chars", "full"):
        table.add_column(column, justify="right")

    def row(label: str, c: dict[str, Any]) -> list[str]:
        return [
            label,
            str(c["gold"]),
            str(c["predicted"]),
            _rate(c["precision"]),
            _rate(c["recall"]),
            _rate(c["f1"]),
            _rate(c["fpr"]),
            _rate(c["char_recall"]),
            _rate(c["full_span_recall"]),
        ]

    for kind, counts in report["types"].items():
        label = escape(kind) if counts["reported_by_scanners"] else f"[dim]{escape(kind)} *[/]"
        table.add_row(*row(label, counts))
    table.add_section()
    table.add_row(*row("[bold]overall[/]", report["overall"]))
    out.print(table)
    overall = report["overall"]
    out.print(
        f"any-type character recall: {_rate(overall['any_type_char_recall'])} "
        f"({overall['any_type_covered_chars']} of {overall['any_type_gold_chars']} gold "
        "characters covered by some finding)"
    )
    renamed = ", ".join(f"{k}→{v}" for k, v in sorted(report["type_map"].items()))
    out.print(
        "[dim]prec, recall: of predictions and gold spans overlapping one of the same type; "
        "FPR: of texts without that type, those where it was reported; chars: gold "
        "characters covered by the same type; full: gold spans fully covered. "
        f"* no chosen scanner reports this type. Renamed: {escape(renamed)}[/]"
    )
    _print_throughput(report)


def _print_labels(report: dict[str, Any]) -> None:
    o = report["overall"]
    table = Table(title=escape(_header(report)), box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("precision", "recall", "F1", "FPR", "accuracy", "TP", "FP", "TN", "FN"):
        table.add_column(column, justify="right")
    table.add_row(
        _rate(o["precision"]),
        _rate(o["recall"]),
        _rate(o["f1"]),
        _rate(o["fpr"]),
        _rate(o["accuracy"]),
        *(str(o[k]) for k in ("tp", "fp", "tn", "fn")),
    )
    out.print(table)
    out.print(
        f"{o['positives']} positive and {o['negatives']} negative texts; negative labels: "
        f"{escape(', '.join(report['negative_labels']))}"
    )
    _print_throughput(report)
