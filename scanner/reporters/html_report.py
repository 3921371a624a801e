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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from scanner import __version__
from scanner.engine import ScanResult
from scanner.model import Category, Finding, Status
from scanner.reporters.cells import clip, show, utc, worst_first

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
    attributes = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{esc(value)}"'
        for name, value in attrs.items()
        if value is not None
    )
    return Html(f"<{tag}{attributes}>{''.join(esc(c) for c in children)}</{tag}>")


def join(parts: Iterable[object]) -> Html:
    return Html("".join(esc(p) for p in parts))


def badge(status: Status) -> Html:
    return el("span", LABEL.get(status, status.name), class_=f"badge st-{status.name}")


def render(result: ScanResult) -> str:
    findings = worst_first(result.findings)
    attention = [f for f in findings if f.status in ATTENTION]
    rest = [f for f in findings if f.status not in ATTENTION]
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
    body = el(
        "main",
        el("h1", "souqscan report"),
        el(
            "p",
            f"{base.title} ({base.id} {base.version}) · scanned {utc(result.started)} · "
            f"{result.duration:.1f} s · {len(result.targets)} target(s) · souqscan {__version__}",
            class_="meta",
        ),
        _notes(result.notes),
        _cards(findings),
        el("h2", "By category"),
        _breakdown("Category", findings, lambda f: f.category),
        el("h2", "By target"),
        _breakdown("Target", findings, lambda f: f.target, extra=result.targets),
        el("h2", "Data residency"),
        _residency([f for f in findings if f.category == Category.RESIDENCY.value]),
        el("h2", "Findings that need attention"),
        _findings(attention, "Nothing failing, waived or unverified."),
        el(
            "details",
            el("summary", f"Passing and not applicable ({len(rest)})"),
            _findings(rest, "None."),
        ),
        el(
            "footer",
            "Statuses: ERROR = could not be verified (never a pass) · FAIL = failing · WAIVED = "
            "failing, accepted by a waiver until its expiry · PASS · N/A = not applicable. "
            "Long values are cut at 2,000 characters (…).",
        ),
    )
    return (
        "<!DOCTYPE html>\n"
        + el("html", el("head", head), el("body", body), lang="en", dir="ltr")
        + "\n"
    )


def _notes(notes: Sequence[str]) -> Html:
    if not notes:
        return Html("")
    return el(
        "div",
        el("strong", "Notes"),
        el("ul", join(el("li", n, dir="auto") for n in notes)),
        class_="notes",
    )


def _cards(findings: Sequence[Finding]) -> Html:
    tally = Counter(f.status for f in findings)
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


def _breakdown(
    first: str,
    findings: Sequence[Finding],
    key: Callable[[Finding], str],
    extra: Iterable[str] = (),
) -> Html:
    groups: dict[str, Counter[Status]] = {name: Counter() for name in extra}
    for f in findings:
        groups.setdefault(key(f), Counter())[f.status] += 1
    rows = [
        el("tr", el("th", name, dir="auto"), _status_cells(tally))
        for name, tally in sorted(groups.items())
    ]
    return el("table", _status_header(first), el("tbody", join(rows)))


@dataclass
class _Resource:
    target: str
    resource: str
    region: str | None
    country: str | None
    classification: str | None
    status: Status
    rules: set[str]


def _residency(findings: Sequence[Finding]) -> Html:
    if not findings:
        return el("p", "No residency finding in this scan.", class_="dim")
    resources: dict[tuple[str, str], _Resource] = {}
    for f in findings:
        key = (f.target, f.resource_id)
        r = resources.get(key)
        if r is None:
            r = _Resource(f.target, f.resource_id, None, None, None, f.status, set())
            resources[key] = r
        r.region = r.region or f.region
        r.country = r.country or f.country
        r.classification = r.classification or f.classification
        r.status = max(r.status, f.status)  # Status is ordered so that max() is the roll-up
        r.rules.add(f.rule_id)
    listed = sorted(resources.values(), key=lambda r: (-r.status, r.target, r.resource))
    return join([_residency_matrix(listed), _residency_list(listed)])


def _unknown_last(values: Iterable[str | None]) -> list[str | None]:
    seen = list(values)
    known: list[str | None] = [*sorted({v for v in seen if v})]
    return [*known, None] if any(not v for v in seen) else known


def _shown(value: str | None) -> Html:
    return esc(value) if value else el("span", UNKNOWN, class_="unknown")


def _residency_matrix(resources: Sequence[_Resource]) -> Html:
    countries = _unknown_last(r.country for r in resources)
    classes = _unknown_last(r.classification for r in resources)
    header = el(
        "tr",
        el("th", "Country \\ classification"),
        join(el("th", _shown(c), dir="auto") for c in classes),
    )
    rows = []
    for country in countries:
        cells = []
        for cls in classes:
            here = [r for r in resources if r.country == country and r.classification == cls]
            worst = max((r.status for r in here), default=None)
            cells.append(
                el(
                    "td",
                    str(len(here)) if here else "",
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


def _residency_list(resources: Sequence[_Resource]) -> Html:
    head = el(
        "tr",
        join(
            el("th", h)
            for h in (
                "Status",
                "Target",
                "Resource",
                "Region",
                "Country",
                "Classification",
                "Rules",
            )
        ),
    )
    rows = [
        el(
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
        for r in resources
    ]
    return el("table", el("thead", head), el("tbody", join(rows)))


def _findings(findings: Sequence[Finding], empty: str) -> Html:
    if not findings:
        return el("p", empty, class_="dim")
    head = el(
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
    columns = join(
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
    return el(
        "table",
        el("colgroup", columns),
        el("thead", head),
        el("tbody", join(_row(f) for f in findings)),
        class_="findings",
    )


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
