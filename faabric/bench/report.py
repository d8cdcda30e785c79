"""What every benchmark prints: an aligned table and, with ``--json``, one JSON object.

A :class:`Report` collects rows. Each row is one measured value with its
unit and, optionally, a target (a verdict: ``meets`` or ``misses``) and an
anchor (a number someone else published or a baseline measured in the same
run; the row shows ``value / anchor`` as a ratio). Targets never make a
benchmark fail: they are information.

With ``--json`` the table is still printed, and the JSON object is the very
last line of stdout, so scripts can take ``stdout.splitlines()[-1]``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import time
from typing import Any, Sequence

import click

LOWER = "lower"
HIGHER = "higher"


@dataclasses.dataclass
class Row:
    """One measured value and what it is compared with."""

    key: str
    metric: str
    value: float | int | None
    unit: str
    target: float | None = None
    better: str = LOWER  # which direction the target and the anchor ratio favour
    anchor: str | None = None
    anchor_value: float | None = None
    note: str | None = None

    @property
    def verdict(self) -> str | None:
        if self.target is None:
            return None
        if self.value is None:
            return "n/a"
        ok = self.value <= self.target if self.better == LOWER else self.value >= self.target
        return "meets" if ok else "misses"

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.anchor_value:
            return None
        return self.value / self.anchor_value

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "better": self.better,
            "verdict": self.verdict,
            "anchor": self.anchor,
            "anchor_value": self.anchor_value,
            "ratio": _round(self.ratio),
            "note": self.note,
        }


json_option = click.option("--json", "json_output", is_flag=True, help="Also print one JSON object as the last line.")
"""Every bench command's ``--json`` flag (the parameter is ``json_output``)."""


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or isinstance(value, int):
        return value
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def fmt(value: float | int | None) -> str:
    """A number with about three significant digits, without exponents."""
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


class Report:
    """Rows of one benchmark run, printed as a table and optionally as JSON."""

    def __init__(self, benchmark: str, params: dict[str, Any] | None = None) -> None:
        self.benchmark = benchmark
        self.params = dict(params or {})
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self._started = time.perf_counter()

    def add(
        self,
        key: str,
        metric: str,
        value: float | int | None,
        unit: str,
        *,
        target: float | None = None,
        better: str = LOWER,
        anchor: str | None = None,
        anchor_value: float | None = None,
        note: str | None = None,
    ) -> Row:
        """Record one value; ``key`` names it in the JSON ``metrics`` mapping."""
        if any(row.key == key for row in self.rows):
            raise ValueError(f"duplicate benchmark key {key!r}")
        if isinstance(value, float):
            value = _round(value, 6)
        row = Row(key, metric, value, unit, target, better, anchor, anchor_value, note)
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        """A line printed under the table (and kept in the JSON ``notes``)."""
        self.notes.append(text)

    # Output -----------------------------------------------------------------

    def table(self) -> str:
        headers = ("metric", "value", "unit", "target", "verdict", "anchor", "ratio")
        lines: list[Sequence[str]] = [headers]
        for row in self.rows:
            target = ""
            if row.target is not None:
                target = f"{'<=' if row.better == LOWER else '>='} {fmt(row.target)}"
            anchor = ""
            if row.anchor:
                anchor = row.anchor + (f" ({fmt(row.anchor_value)} {row.unit})" if row.anchor_value else "")
            ratio = row.ratio
            value = row.note if row.value is None and row.note else fmt(row.value)
            lines.append(
                (row.metric, value, row.unit, target, row.verdict or "", anchor, f"{ratio:.3g}x" if ratio else "")
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
        numeric = {1, 6}  # right-align values and ratios

        def render(line: Sequence[str]) -> str:
            cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))]
            return "  ".join(cells).rstrip()

        rule = "  ".join("-" * w for w in widths)
        title = f"faabric bench {self.benchmark}"
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        out = [title + (f" ({params})" if params else ""), render(lines[0]), rule]
        out += [render(line) for line in lines[1:]]
        for row in self.rows:
            if row.note and row.value is not None:
                out.append(f"  {row.metric}: {row.note}")
        out += [f"  {text}" for text in self.notes]
        return "\n".join(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "params": self.params,
            "metrics": {row.key: row.value for row in self.rows},
            "rows": [row.as_dict() for row in self.rows],
            "notes": self.notes,
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": _cpu_count(),
            },
            "elapsed_s": _round(time.perf_counter() - self._started),
        }

    def emit(self, json_output: bool) -> None:
        """Print the table; with ``json_output`` then one JSON object as the last line."""
        click.echo(self.table())
        if json_output:
            click.echo(json.dumps(self.as_dict(), separators=(",", ":"), allow_nan=False))


def counts(text: str, what: str, example: str) -> list[int]:
    """Parse ``"2,4,8"`` into sorted distinct positive ints, for a ``--workers``-style option.

    Raises:
        click.BadParameter: not comma-separated whole numbers of at least 1.
    """
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise click.BadParameter(f"use comma-separated {what}, e.g. {example}") from None
    if not values or values[0] < 1:
        raise click.BadParameter(f"{what} must be at least 1")
    return values


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of already sorted values."""
    if not sorted_values:
        raise ValueError("no samples")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def progress(text: str) -> None:
    """A progress line on stderr (stdout stays table + JSON)."""
    click.echo(f"[bench] {text}", err=True)
