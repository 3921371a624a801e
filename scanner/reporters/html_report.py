"""A single self-contained HTML file: summaries, the residency table, every finding.

Inline CSS, no script, no external asset, and a Content-Security-Policy that forbids
both, so the file can be mailed or archived as evidence. Every value is escaped by
construction: :func:`el` escapes each child and attribute that is not already
:class:`Html`, and only this module's own literals are ever wrapped in :class:`Html`.
A resource called ``<script>`` or ``" onmouseover="`` renders as text.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from scanner import __version__
from scanner.engine import ScanResult
from scanner.model import Category, Finding, Status
from scanner.reporters.cells import clip, show, utc
from scanner.reporters.spill import Spill

STATUS_ORDER = sorted(Status, reverse=True)  # ERROR first
LABEL = {Status.NOT_APPLICABLE: "N/A"}
MEANING = {
    Status.ERROR: "could not be verified",
    Status.FAIL: "failing",
    Status.WAIVED: "failing, waived",
    Status.PASS: "passing",
    Status.NOT_APPLICABLE: "not applicable",
}
ATTENTION = (Status.ERROR, Status.FAIL, Status.WAIVED)
UNKNOWN = "unknown"

CSS = """
:root{--err:#7b1fa2;--fail:#c62828;--waived:#ef6c00;--pass:#2e7d32;--na:#607d8b;--line:#d0d7de}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic",
 sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1400px;margin:0 auto;padding:24px 32px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px}
.meta{color:#57606a;margin:0 0 16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border:1px solid var(--line);border-left:6px solid var(--na);
 border-radius:6px;padding:10px 16px;min-width:150px}
.card b{display:block;font-size:26px}
.card.st-ERROR{border-left-color:var(--err)}.card.st-FAIL{border-left-color:var(--fail)}
.card.st-WAIVED{border-left-color:var(--waived)}.card.st-PASS{border-left-color:var(--pass)}
.notes{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 16px;
 margin-bottom:16px}
table{border-collapse:collapse;background:#fff;width:100%;margin:4px 0 8px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top;
 overflow-wrap:anywhere}
th{background:#eaeef2;font-weight:600}
.findings th{overflow-wrap:normal}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.narrow{width:auto;min-width:480px}
table.findings{table-layout:fixed}
.findings col.status{width:76px}.findings col.severity{width:80px}
.findings col.target{width:130px}.findings col.rule{width:160px}
.findings col.resource{width:150px}.findings col.evidence{width:170px}
.findings col.controls{width:150px}
.control{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:12px;
 font-weight:600;white-space:nowrap;background:var(--na)}
.badge.st-ERROR{background:var(--err)}.badge.st-FAIL{background:var(--fail)}
.badge.st-WAIVED{background:var(--waived)}.badge.st-PASS{background:var(--pass)}
td.st-ERROR{background:#f3e5f5}td.st-FAIL{background:#ffebee}td.st-WAIVED{background:#fff3e0}
td.st-PASS{background:#e8f5e9}
.unknown{color:var(--fail);font-style:italic}
small,.dim{color:#57606a}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
details{margin:16px 0}summary{cursor:pointer;font-weight:600}
footer{color:#57606a;margin:32px 0 8px;font-size:12px}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


class Html(str):
    """Markup that is safe as it is. Only this module's builders make one."""


def esc(value: object) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape(clip(str(value)), quote=True))


def el(tag: str, *children: object, **attrs: object) -> Html:
    """``<tag attrs>children</tag>``; ``class_`` means ``class``; None drops an attribute."""
    return Html(f"{start(tag, **attrs)}{''.join(esc(c) for c in children)}</{tag}>")


def start(tag: str, **attrs: object) -> Html:
    """``<tag attrs>``, for an element whose children are streamed."""
    attributes = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for name, value in attrs.items()
        if value is not None
    )
    return Html(f"<{tag}{attributes}>")


def join(parts: Iterable[object]) -> Html:
    return Html("".join(esc(p) for p in parts))


def badge(status: Status) -> Html:
    return el("span", LABEL.get(status, status.name), class_=f"badge st-{status.name}")


def stream(result: ScanResult) -> Iterator[str]:
    """One pass over the findings: the summaries are counted, each finding's row and each
    residency finding are spilled, then read back worst first."""
    tally: Counter[Status] = Counter()
    by_category: dict[str, Counter[Status]] = {}
    by_target: dict[str, Counter[Status]] = {name: Counter() for name in result.targets}
    with (
        Spill("attention", *_ORDER, "html") as rows,
        Spill(*_ORDER, "region", "country", "classification") as residency,
    ):
        for f in result.findings:
            tally[f.status] += 1
            by_category.setdefault(f.category, Counter())[f.status] += 1
            by_target.setdefault(f.target, Counter())[f.status] += 1
            keys = (int(f.status), int(f.severity), f.target, f.rule_id, f.resource_id)
            rows.add(f.status in ATTENTION, *keys, _row(f))
            if f.category == Category.RESIDENCY.value:
                residency.add(*keys, f.region, f.country, f.classification)
        attention = sum(tally[s] for s in ATTENTION)
        rest = tally.total() - attention
        yield from _page_start(result, tally)
        yield el("h2", "By category") + _breakdown("Category", by_category)
        yield el("h2", "By target") + _breakdown("Target", by_target)
        yield el("h2", "Data residency")
        yield from _residency(residency)
        yield el("h2", "Findings that need attention")
        yield from _findings(rows, True, attention, "Nothing failing, waived or unverified.")
        yield start("details") + el("summary", f"Passing and not applicable ({rest})")
        yield from _findings(rows, False, rest, "None.")
        yield "</details>" + _page_end()


def render(result: ScanResult) -> str:
    return "".join(stream(result))


# The columns findings are listed by: ERROR, then FAIL …; within a status the most severe
# first; then by name (and, for equal names, in the order they came).
_ORDER = ("status", "severity", "target", "rule", "resource")


def _page_start(result: ScanResult, tally: Counter[Status]) -> Iterator[str]:
    base = result.baseline
    title = f"souqscan report: {base.id} {base.version}"
    head = join(
        [
            Html('<meta charset="utf-8">'),
            Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            Html(f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">'),
            el("title", title),
            Html(f"<style>{CSS}</style>"),
        ]
    )
    yield "<!DOCTYPE html>\n" + start("html", lang="en", dir="ltr") + el("head", head)
    yield start("body") + start("main") + el("h1", "souqscan report")
    yield el(
        "p",
        f"{base.title} ({base.id} {base.version}) · scanned {utc(result.started)} · "
        f"{result.duration:.1f} s · {len(result.targets)} target(s) · souqscan {__version__}",
        class_="meta",
    )
    yield _notes(result.notes) + _cards(tally)


def _page_end() -> str:
    footer = el(
        "footer",
        "Statuses: ERROR = could not be verified (never a pass) · FAIL = failing · WAIVED = "
        "failing, accepted by a waiver until its expiry · PASS · N/A = not applicable. "
        "Long values are cut at 2,000 characters (…).",
    )
    return footer + "</main></body></html>\n"


def _notes(notes: Sequence[str]) -> Html:
    if not notes:
        return Html("")
    return el(
        "div",
        el("strong", "Notes"),
        el("ul", join(el("li", n, dir="auto") for n in notes)),
        class_="notes",
    )


def _cards(tally: Counter[Status]) -> Html:
    return el(
        "div",
        join(
            el(
                "div",
                el("b", str(tally[s])),
                f"{LABEL.get(s, s.name)}: {MEANING[s]}",
                class_=f"card st-{s.name}",
            )
            for s in STATUS_ORDER
        ),
        class_="cards",
    )


def _status_header(first: str) -> Html:
    cells = [el("th", first), *(el("th", LABEL.get(s, s.name), class_="n") for s in STATUS_ORDER)]
    return el("thead", el("tr", join(cells), el("th", "Total", class_="n")))


def _status_cells(tally: Counter[Status]) -> Html:
    cells = [
        el("td", str(tally[s]), class_=f"n st-{s.name}" if tally[s] and s in ATTENTION else "n")
        for s in STATUS_ORDER
    ]
    return join([*cells, el("td", str(sum(tally.values())), class_="n")])


def _breakdown(first: str, groups: Mapping[str, Counter[Status]]) -> Html:
    rows = [
        el("tr", el("th", name, dir="auto"), _status_cells(tally))
        for name, tally in sorted(groups.items())
    ]
    return el("table", _status_header(first), el("tbody", join(rows)))


def _residency(findings: Spill) -> Iterator[str]:
    """One row per resource, rolled up from its residency findings (worst first: its status
    is the worst, its place the first known), and the matrix of those rows."""
    rows = findings.select(
        "SELECT target, resource, rule, status, region, country, classification FROM rows "
        "ORDER BY target, resource, status DESC, severity DESC, rule, seq"
    )
    # (country, classification) -> how many resources, the worst of their statuses
    matrix: dict[tuple[str | None, str | None], tuple[int, Status]] = {}
    with Spill("status", "target", "resource", "html") as resources:
        for (target, resource), group in groupby(rows, key=lambda row: row[:2]):
            r = _Resource(target, resource)
            for _target, _resource, rule, status, *place in group:
                r.add(rule, Status(status), place)
            count, worst = matrix.get((r.country, r.classification), (0, r.status))
            matrix[(r.country, r.classification)] = (count + 1, max(worst, r.status))
            resources.add(int(r.status), r.target, r.resource, _residency_row(r))
        if not matrix:
            yield el("p", "No residency finding in this scan.", class_="dim")
            return
        yield _residency_matrix(matrix)
        yield start("table") + el("thead", _RESIDENCY_HEAD) + start("tbody")
        for (row,) in resources.select(
            "SELECT html FROM rows ORDER BY status DESC, target, resource, seq"
        ):
            yield row
        yield "</tbody></table>"


@dataclass
class _Resource:
    target: str
    resource: str
    region: str | None = None
    country: str | None = None
    classification: str | None = None
    status: Status = Status.NOT_APPLICABLE
    rules: set[str] = field(default_factory=set)

    def add(self, rule: str, status: Status, place: Sequence[str | None]) -> None:
        """One more of the resource's findings, worst first; an empty value is unknown."""
        region, country, classification = (value or None for value in place)
        self.region = self.region or region
        self.country = self.country or country
        self.classification = self.classification or classification
        self.status = max(self.status, status)  # Status is ordered so that max() is the roll-up
        self.rules.add(rule)


def _unknown_last(values: Iterable[str | None]) -> list[str | None]:
    seen = list(values)
    known: list[str | None] = [*sorted({v for v in seen if v})]
    return [*known, None] if any(not v for v in seen) else known


def _shown(value: str | None) -> Html:
    return esc(value) if value else el("span", UNKNOWN, class_="unknown")


def _residency_matrix(matrix: Mapping[tuple[str | None, str | None], tuple[int, Status]]) -> Html:
    countries = _unknown_last(country for country, _cls in matrix)
    classes = _unknown_last(cls for _country, cls in matrix)
    header = el(
        "tr",
        el("th", "Country \\ classification"),
        join(el("th", _shown(c), dir="auto") for c in classes),
    )
    rows = []
    for country in countries:
        cells = []
        for cls in classes:
            count, worst = matrix.get((country, cls), (0, None))
            cells.append(
                el(
                    "td",
                    str(count) if count else "",
                    class_=f"n st-{worst.name}" if worst is not None else "n",
                    title=f"worst: {worst.name}" if worst is not None else None,
                )
            )
        rows.append(el("tr", el("th", _shown(country), dir="auto"), join(cells)))
    return join(
        [
            el(
                "p",
                "Resources by country and data classification (cell colour: worst status).",
                class_="dim",
            ),
            el("table", el("thead", header), el("tbody", join(rows)), class_="narrow"),
        ]
    )


_RESIDENCY_HEAD = el(
    "tr",
    join(
        el("th", h)
        for h in ("Status", "Target", "Resource", "Region", "Country", "Classification", "Rules")
    ),
)


def _residency_row(r: _Resource) -> Html:
    return el(
        "tr",
        el("td", badge(r.status)),
        el("td", r.target, dir="auto"),
        el("td", el("code", r.resource), dir="auto", title=r.resource),
        # No region is normal (a host has none); no country or classification is not.
        el("td", r.region or el("span", "—", class_="dim")),
        el("td", _shown(r.country)),
        el("td", _shown(r.classification)),
        el("td", ", ".join(sorted(r.rules))),
    )


_FINDINGS_HEAD = el(
    "tr",
    join(
        el("th", h)
        for h in (
            "Status",
            "Severity",
            "Target",
            "Rule",
            "Resource",
            "Message",
            "Evidence",
            "Controls",
        )
    ),
)
_FINDINGS_COLUMNS = join(
    Html(f'<col class="{name}">')
    for name in (
        "status",
        "severity",
        "target",
        "rule",
        "resource",
        "message",
        "evidence",
        "controls",
    )
)


def _findings(rows: Spill, attention: bool, count: int, empty: str) -> Iterator[str]:
    """The spilled rows that need attention (or the others), worst first."""
    if not count:
        yield el("p", empty, class_="dim")
        return
    yield start("table", class_="findings") + el("colgroup", _FINDINGS_COLUMNS)
    yield el("thead", _FINDINGS_HEAD) + start("tbody")
    for (row,) in rows.select(
        "SELECT html FROM rows WHERE attention = ? "
        "ORDER BY status DESC, severity DESC, target, rule, resource, seq",
        attention,
    ):
        yield row
    yield "</tbody></table>"


def _row(f: Finding) -> Html:
    where = [x for x in (f.region, f.country, f.classification) if x]
    evidence = join(
        el("div", el("code", k), "=", el("code", show(v)), dir="auto")
        for k, v in f.evidence.items()
    )
    return el(
        "tr",
        el("td", badge(f.status)),
        el("td", str(f.severity)),
        el("td", f.target, dir="auto"),
        el("td", el("b", f.rule_id), Html("<br>"), el("small", f.title)),
        el(
            "td",
            el("code", f.resource_id),
            Html("<br>") if where else "",
            el("small", " · ".join(where)) if where else "",
            dir="auto",
            title=f"{f.target} / {f.resource_id}",
        ),
        el("td", f.message, dir="auto"),
        el("td", evidence),
        el("td", join(el("div", el("small", c), class_="control") for c in f.controls)),
        class_=f"st-{f.status.name}",
        data_fingerprint=f.fingerprint,
    )
