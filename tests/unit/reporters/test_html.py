"""HTML: one self-contained file, every value escaped (text and attributes), the summaries
and the residency table right, long values cut."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from scanner.model import Status
from scanner.reporters import html_report
from tests.unit.reporters import sample

VOID = {"meta", "br", "col", "link", "img", "input", "hr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self, tag: str | None = None) -> list[Node]:
        found = [self] if tag in (None, self.tag) else []
        for c in self.children:
            if isinstance(c, Node):
                found += c.iter(tag)
        return found

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class TreeBuilder(HTMLParser):
    """A strict little DOM: fails on a close tag that does not match the open one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        assert len(names) == len(set(names)), f"duplicate attribute on <{tag}>: {names}"
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(text: str) -> TreeBuilder:
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder


@pytest.fixture(scope="module")
def page() -> str:
    return html_report.render(sample.result())


@pytest.fixture(scope="module")
def dom(page: str) -> Node:
    return parse(page).root


def section_table(dom: Node, heading: str, index: int = 0) -> Node:
    """The index-th table after the <h2> whose text is ``heading``."""
    main = dom.iter("main")[0]
    nodes = [c for c in main.children if isinstance(c, Node)]
    start = next(i for i, n in enumerate(nodes) if n.tag == "h2" and n.text == heading)
    tables = []
    for node in nodes[start + 1 :]:
        if node.tag == "h2":
            break
        tables += node.iter("table")
    return tables[index]


def cells(table: Node) -> list[list[str]]:
    return [[c.text for c in row.children if isinstance(c, Node)] for row in table.iter("tr")]


def test_well_formed_self_contained_page(page: str, dom: Node) -> None:
    assert parse(page).doctype == "DOCTYPE html"
    [html] = dom.iter("html")
    assert html.attrs["lang"] == "en"
    assert dom.iter("script") == []
    for node in dom.iter():
        for name, value in node.attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{node.tag}>"
            assert name not in ("src", "href", "srcset", "action"), f"{name}={value}"
    assert "url(" not in html_report.CSS and "@import" not in html_report.CSS
    [csp] = [m for m in dom.iter("meta") if m.attrs.get("http-equiv")]
    assert csp.attrs["content"] == html_report.CSP
    assert "default-src 'none'" in html_report.CSP
    assert len(dom.iter("style")) == 1


def test_hostile_names_render_as_text_in_text_and_attributes(page: str, dom: Node) -> None:
    # The raw file holds only escaped forms...
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'onmouseover="alert(2)' not in page
    assert "evil&quot; onmouseover=&quot;alert(2)" in page
    # ...which a browser's parser turns back into exactly the original text.
    texts = [n.text for n in dom.iter("td")]
    assert sample.HOSTILE_TARGET in texts
    assert any(t == sample.HOSTILE_RESOURCE for n in dom.iter("code") for t in [n.text])
    titles = [n.attrs.get("title") for n in dom.iter("td")]
    assert f"{sample.HOSTILE_TARGET} / {sample.HOSTILE_RESOURCE}" in titles
    assert {n.tag for n in dom.iter()} <= {
        "#document", "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "p",
        "div", "strong", "ul", "li", "b", "table", "colgroup", "col", "thead", "tbody", "tr",
        "th", "td", "span", "code", "br", "small", "details", "summary", "footer",
    }  # fmt: skip


def test_arabic_text_is_kept_and_set_to_auto_direction(dom: Node) -> None:
    arabic = [n for n in dom.iter() if n.text == sample.ARABIC and n.tag in ("td", "th")]
    assert arabic
    assert all(n.attrs.get("dir") == "auto" for n in arabic)


def test_status_cards(dom: Node) -> None:
    cards = [n for n in dom.iter("div") if "card" in n.classes()]
    tally = Counter(f.status for f in sample.FINDINGS)
    assert [(c.iter("b")[0].text, c.attrs["class"]) for c in cards] == [
        (str(tally[s]), f"card st-{s.name}") for s in sorted(Status, reverse=True)
    ]


def test_summary_per_category_and_per_target(dom: Node) -> None:
    by_category = cells(section_table(dom, "By category"))
    assert by_category[0] == ["Category", "ERROR", "FAIL", "WAIVED", "PASS", "N/A", "Total"]
    assert by_category[1:] == [
        ["encryption_in_transit", "1", "1", "0", "1", "0", "3"],
        ["firewall", "1", "0", "1", "0", "0", "2"],
        ["ids", "0", "0", "0", "0", "1", "1"],
        ["logging", "1", "1", "0", "0", "0", "2"],
        ["residency", "0", "2", "0", "1", "0", "3"],
    ]
    by_target = cells(section_table(dom, "By target"))
    assert by_target[1:] == [
        ["10.9.9.9", "2", "0", "0", "0", "0", "2"],
        ["db-1.souq.sa", "1", "0", "0", "0", "0", "1"],
        ["empty.souq.sa", "0", "0", "0", "0", "0", "0"],  # scanned, nothing judged: shown
        [sample.HOSTILE_TARGET, "0", "2", "0", "0", "0", "2"],
        ["web-1.souq.sa", "0", "2", "1", "1", "1", "5"],
        [sample.ARABIC, "0", "0", "0", "1", "0", "1"],
    ]


def test_residency_by_country_and_classification(dom: Node) -> None:
    matrix = section_table(dom, "Data residency", 0)
    assert cells(matrix) == [
        ["Country \\ classification", "regulated"],
        ["AE", "1"],
        ["SA", "1"],
        ["unknown", "1"],  # undeclared country: shown as unknown, coloured as its FAIL
    ]
    unknown_row = matrix.iter("tr")[3]
    assert "st-FAIL" in unknown_row.iter("td")[0].classes()
    listing = section_table(dom, "Data residency", 1)
    assert cells(listing)[1:] == [
        ["FAIL", sample.HOSTILE_TARGET, "site", "—", "unknown", "regulated", "RES-HOST-01"],
        ["FAIL", "web-1.souq.sa", "site", "me-central-1", "AE", "regulated", "RES-HOST-01"],
        ["PASS", sample.ARABIC, "site", "—", "SA", "regulated", "RES-HOST-01"],
    ]


def test_no_residency_findings_says_so() -> None:
    dom = parse(html_report.render(sample.result([sample.FAIL]))).root
    main = dom.iter("main")[0]
    assert any(n.text == "No residency finding in this scan." for n in main.iter("p"))


def test_findings_tables_worst_first_and_passes_folded(dom: Node) -> None:
    attention = section_table(dom, "Findings that need attention")
    statuses = [r.iter("span")[0].text for r in attention.iter("tr")[1:]]
    assert statuses == ["ERROR"] * 3 + ["FAIL"] * 4 + ["WAIVED"]
    [details] = dom.iter("details")
    assert details.iter("summary")[0].text == "Passing and not applicable (3)"
    folded = details.iter("table")[0]
    assert [r.iter("span")[0].text for r in folded.iter("tr")[1:]] == ["PASS"] * 2 + ["N/A"]
    rows = attention.iter("tr")[1:]
    first_fail = rows[3]
    assert first_fail.attrs["data-fingerprint"] in {f.fingerprint for f in sample.FINDINGS}


def test_long_values_are_cut_and_control_characters_replaced(dom: Node) -> None:
    messages = [n.text for n in dom.iter("td") if n.text.startswith(sample.FORMULA)]
    [message] = messages
    assert len(message) == 2000 and message.endswith("…")
    assert "\x00" not in message and "\x1b" not in message


def test_notes_are_shown(dom: Node) -> None:
    [notes] = [n for n in dom.iter("div") if "notes" in n.classes()]
    assert [li.text for li in notes.iter("li")] == [
        "web-1.souq.sa: host key SHA256:abc accepted WITHOUT verification"
    ]


def test_deterministic(page: str) -> None:
    result = sample.result()
    result.findings = list(reversed(list(result.findings)))
    assert html_report.render(result) == page


def test_el_escapes_everything_not_marked_safe() -> None:
    el = html_report.el
    assert el("td", "<b>&", title='"><x', class_="a b") == (
        '<td title="&quot;&gt;&lt;x" class="a b">&lt;b&gt;&amp;</td>'
    )
    assert el("td", html_report.Html("<b>ok</b>")) == "<td><b>ok</b></td>"
    assert el("td", "x", title=None) == "<td>x</td>"
    assert el("tr", data_fingerprint="'") == '<tr data-fingerprint="&#x27;"></tr>'
