"""Rendering a witness report: evidence → model → HTML → PDF/A-3b with the evidence attached.

The output is byte-identical for the same evidence: the document's dates are the ledger time
of the last event it covers, the PDF identifier is derived from the evidence, the fonts'
subset tables take their timestamp from SOURCE_DATE_EPOCH, and WeasyPrint is pinned. A
character that none of the report's fonts has is an error (`MissingGlyph`), never a blank box.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
import os
import re
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path

import jinja2
import markupsafe
import orjson
import segno
import weasyprint
from fontTools.ttLib import TTCollection, TTFont
from weasyprint import HTML, Attachment

from ledger.evidence.canonical import canonical_json, parse_time
from witness import model, transaction

TEMPLATES = Path(__file__).parent / "templates"
ATTACHMENT_NAME = "sunledger-evidence.json"
# as the template: one CJK family (its TrueType outlines subset fast; CFF ones such as Noto
# CJK took 5 s a font), from Debian's fonts-wqy-zenhei; WeasyPrint subsets them with
# HarfBuzz (Debian's libharfbuzz-subset0), which ./run installs
FONTS = ("WenQuanYi Zen Hei", "WenQuanYi Zen Hei Mono")
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
# a date and time is read whole: never broken across lines (CJK text may break anywhere)
_WHOLE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日(?: \d{1,2}时(?:\d{2}分(?:\d{2}秒)?)?)?"
                    r"|\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?")


def _nobreak(text: str) -> markupsafe.Markup:
    escaped = str(markupsafe.escape(text))
    return markupsafe.Markup(_WHOLE.sub(lambda m: f'<span class="nb">{m[0]}</span>', escaped))


_env.filters["nobreak"] = _nobreak


class MissingGlyph(RuntimeError):
    """The report would show characters no font of it can draw."""


@functools.cache
def software() -> str:
    """What renders the reports, as the report states it: a re-render gives the same bytes
    with the same versions of these."""
    fonts = []
    for family in FONTS[:1]:
        font = _font(family)
        version = (font["name"].getDebugName(5) or "").removeprefix("Version ").split(";")[0]
        fonts.append(f"{family} {version}".strip())
    return " · ".join([f"Sunledger {metadata.version('sunledger')}",
                       f"WeasyPrint {weasyprint.__version__}", *fonts])


def html_of(evidence: dict) -> str:
    m = (transaction.build if evidence["kind"] == transaction.KIND else model.build)(evidence, software())
    last = json.loads(evidence["completeness"]["events"][-1])
    out = io.BytesIO()
    segno.make(m.qr_payload, error="m").save(out, kind="svg", scale=4, border=1, xmldecl=False)
    return _env.get_template("report.html").render(
        m=m, qr=base64.b64encode(out.getvalue()).decode(),
        created=last["ledger_time"][:19] + "Z")


def _font(family: str) -> TTFont:
    """The font file fontconfig gives WeasyPrint for `family`, its tables read only when
    asked for (a CJK font parsed whole holds tens of MB the render needs for itself)."""
    found = subprocess.run(["fc-match", "-f", "%{file}|%{index}", f"{family}:lang=zh-cn"],
                           capture_output=True, text=True, check=True).stdout
    path, _, index = found.partition("|")
    return (TTCollection(path, lazy=True).fonts[int(index or 0)]
            if path.endswith((".ttc", ".otc")) else TTFont(path, lazy=True))


@functools.cache
def _covered() -> frozenset[int]:
    """Every code point the report's fonts have a glyph for."""
    return frozenset(point for family in FONTS for point in _font(family).getBestCmap())


def check_glyphs(page_html: str) -> None:
    text = html.unescape(re.sub(r"<style.*?</style>|<[^>]+>", " ", page_html, flags=re.S))
    missing = sorted({c for c in text if not c.isspace() and ord(c) not in _covered()})
    if missing:
        raise MissingGlyph("no font of the report can draw: " + " ".join(
            f"{c!r} U+{ord(c):04X}" for c in missing[:20]))


def render(evidence: dict) -> bytes:
    """The PDF of a report: deterministic for the same evidence."""
    return render_pdf(html_of(evidence), canonical_json(evidence), _issued(evidence))


def render_canonical(encoded: bytes) -> bytes:
    """The same PDF from the evidence's canonical bytes (as a report embeds it), the parsed
    evidence let go before the pages are laid out: the layout is the memory a render needs."""
    evidence = orjson.loads(encoded)
    page, when = html_of(evidence), _issued(evidence)
    del evidence
    return render_pdf(page, encoded, when)


def _issued(evidence: dict) -> datetime:
    last = json.loads(evidence["completeness"]["events"][-1])
    return parse_time(last["ledger_time"]).replace(microsecond=0)


def render_pdf(page: str, evidence_bytes: bytes, when: datetime) -> bytes:
    identifier = hashlib.sha256(evidence_bytes).hexdigest()[:32].encode()
    check_glyphs(page)
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(when.timestamp()))
    try:
        return HTML(string=page, base_url=str(TEMPLATES)).write_pdf(
            pdf_variant="pdf/a-3b", pdf_identifier=identifier,
            # the bytes as they are: a str of them (Chinese names make it two bytes a
            # character) cost some 50 MB more in a report of 800 bidders, for the same PDF
            attachments=[Attachment(file_obj=io.BytesIO(evidence_bytes), name=ATTACHMENT_NAME,
                                    description="the events, proofs and checkpoint of this report",
                                    created=when, modified=when, relationship="Source")])
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
