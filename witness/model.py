"""What a witness report says, as plain data: a pure function of its evidence (evidence.py) and
the software that made it. The report is a list of numbered sections, each a list of blocks
(paragraphs, key–value tables, tables); the template (templates/report.html) only lays them
out, and the words come from vocabulary.py.

Names of the evaluation committee stay confidential until the award (法 §37; 条例 §46): before
it, members appear by their place on the committee only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from urllib.parse import quote
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from ledger.evidence.canonical import canonical_json, is_money, parse_time
from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.log.notes import parse_verifier_key
from ledger.log.proofs import check_completeness
from ledger.procedures.calendar import days_between
from ledger.procedures.register import parse_number
from ledger.procedures.rights import LISTING_METHODS
from ledger.procedures.tender import Procedure, ProjectState
from projections.project_state import replay
from projections.warnings import ARTICLES, CollusionWatch
from witness import vocabulary as v
from witness.citations import Citer, chinese_number

CST = timezone(timedelta(hours=8))
STATEMENT = {
    "zh": "见证人员对交易过程进行记录和见证，不代替交易主体和评标委员会作出决定。本报告依据账本记录自动生成，"
          "所附证据可由任何人独立复核；预警信息供行政监督部门参考，不构成认定。",
    "en": "The witness records and refers; the witness does not decide for the parties or the "
          "evaluation committee. This report was generated from the ledger's record, and anyone "
          "can check the evidence attached to it. Warnings inform the supervision body; they "
          "decide nothing.",
}
TITLES = {"opening": ("开标见证报告", "Opening witness report"),
          "evaluation": ("评标见证报告", "Evaluation witness report"),
          "full": ("全过程数字见证报告", "Full-process digital witness report"),
          "transaction": ("交易见证报告", "Transaction witness report")}
STAGES_FOR = {"opening": ("opened", "reported", "publicity", "awarded", "contracted", "archived"),
              "evaluation": ("reported", "publicity", "awarded", "contracted", "archived"),
              "full": ("contracted", "archived", "terminated", "failed")}
NUMERALS = "一二三四五六七八九十"


def report_reached(state: ProjectState, kind: str) -> bool:
    """Whether a project has reached the milestone of a report of `kind`: a tender's
    opening, evaluation and full reports at their stages (STAGES_FOR); a listing's or online
    auction's transaction report (its only kind) once its outcome is recorded — the deal
    confirmed, or no sale — and the result published, or once it ended otherwise."""
    if state.method in LISTING_METHODS:
        return kind == "transaction" and (state.stage in ("terminated", "archived") or (
            state.result_published_at is not None and state.stage in ("contracted", "failed")))
    return kind in STAGES_FOR and state.stage in STAGES_FOR[kind]


# --- the shapes a report is made of ---------------------------------------------------------

@dataclass
class Column:
    title: str
    width: int  # percent of the table's width
    kind: str = "text"  # text | hash (monospace, broken anywhere) | num (right-aligned) | nowrap


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[str] | str]  # a str is a heading row across the table
    caption: str = ""


@dataclass
class Pairs:
    pairs: list[tuple[str, str]]
    hashes: bool = False  # the values are hashes and keys: monospace


@dataclass
class Para:
    text: str
    style: str = ""  # "" | "note" | "none"


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)


@dataclass
class ReportModel:
    kind: str
    lang: str
    title: str
    report_id: str
    project: str
    subtitle: str
    centre: str
    sections: list[Section]
    statement: str
    officers: list[str]
    sign_note: str
    qr_payload: str
    qr_caption: str


# --- small pure helpers ----------------------------------------------------------------------

SIGNED_SUFFIX = "（签发版）"


def report_id(evidence: dict) -> str:
    """The report's id as the ledger records its issue: its document number (the signed
    edition's with 签发版), or, for evidence made before reports were numbered, the project,
    kind and last version."""
    number = evidence.get("number")
    if isinstance(number, str) and number:
        return number + (SIGNED_SUFFIX if evidence.get("edition") == "signed" else "")
    last = json.loads(evidence["completeness"]["events"][-1])["version"]
    suffix = "" if evidence.get("lang", "zh") == "zh" else f"-{evidence['lang']}"
    return f"{evidence['project'].split(':', 1)[1]}-{evidence['kind']}-v{last}{suffix}"


def evidence_digest(evidence: dict) -> str:
    return hashlib.sha256(canonical_json(evidence)).hexdigest()


def _local(value: str | datetime) -> datetime:
    return (parse_time(value) if isinstance(value, str) else value).astimezone(CST)


def cst(value: str | datetime | None, seconds: bool = True) -> str:
    """A compact Beijing time (the timeline's and the English report's form)."""
    if value is None:
        return "—"
    return _local(value).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def zh_time(value: str | datetime | None, seconds: bool = False) -> str:
    """A Beijing time as Chinese documents write it: 2025年3月24日 9时30分."""
    if value is None:
        return "—"
    t = _local(value)
    text = f"{t.year}年{t.month}月{t.day}日 {t.hour}时{t.minute:02d}分"
    return text + (f"{t.second:02d}秒" if seconds else "")


def zh_day(value: str | datetime) -> str:
    t = _local(value)
    return f"{t.year}年{t.month}月{t.day}日"


def _day_ended(due: datetime) -> datetime | None:
    """The last day allowed, when a deadline's first late instant is a midnight (CST)."""
    local = due.astimezone(CST)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return local - timedelta(days=1)
    return None


def zh_due(due: datetime) -> str:
    """A deadline's first late instant as people write it: 24时 of the last day allowed."""
    day = _day_ended(due)
    return f"{zh_day(day)} 24时" if day else zh_time(due)


def cst_due(due: datetime) -> str:
    """A deadline's first late instant as people write it: 24:00 of the last day allowed."""
    day = _day_ended(due)
    return f"{day:%Y-%m-%d} 24:00" if day else f"{due.astimezone(CST):%Y-%m-%d %H:%M}"


def money(value: Decimal | str | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


def grouped(digest: str, size: int = 8) -> str:
    """A hash in groups a reader can compare by eye: 'de56d0d9 635de95a …'."""
    return " ".join(digest[i:i + size] for i in range(0, len(digest), size))


def runs_of(numbers: tuple[int, ...], most: int = 8) -> list[str]:
    """Numbers as runs ("13–15", "28"), the first `most` runs."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return [f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:most]] + (["…"] if len(runs) > most else [])


def versions(numbers: tuple[int, ...], zh: bool, most: int = 8) -> str:
    """Event numbers (序号) as runs: "序号 13–15、28", "nos. 13–15, 28"."""
    shown = runs_of(numbers, most)
    if zh:
        return "序号 " + "、".join(shown) + (f"（共 {len(numbers)} 项）" if shown[-1] == "…" else "")
    return "nos. " + ", ".join(shown) + (f" ({len(numbers)} in all)" if shown[-1] == "…" else "")


def step_of(event: dict) -> str:
    return event["type"].split(".", 1)[1].split("/", 1)[0]


LISTED_AT_MOST = 200  # a per-bidder table of more rows than this is summed up, not printed row by
#   row: the attached evidence holds every row and checking the report recomputes each (the
#   opening record alone always lists every bidder: it is the record the law requires)


def _runs(events: list[dict]) -> list[list[dict]]:
    """The events as rows of the timeline: each run of consecutive events of one step is one
    row, with how many there are (the attached evidence holds each event)."""
    runs: list[list[dict]] = []
    for e in events:
        if runs and step_of(runs[-1][-1]) == step_of(e):
            runs[-1].append(e)
        else:
            runs.append([e])
    return runs


def numbered(index: int, title: str, zh: bool) -> str:
    if zh:
        return f"{chinese_number(index)}、{title}"
    return f"{index}. {title}"


# --- the report ------------------------------------------------------------------------------

class _Builder:
    """The sections of one report, from its checked events and the actors' registered names."""

    ROLES = v.ROLES  # the parts actors play, as this report names them
    STEPS = v.STEPS  # the steps, as this report names them
    STATEMENT = STATEMENT  # the witness's statement closing the report
    # the matters a witness record would list, when none happened
    QUIET = ("解密失败、操作被拒绝、开标异议或围标串标预警",
             "failed decryption, refused action, objection at the opening or collusion warning")

    def __init__(self, evidence: dict, events: list[dict], refusals: list[dict], software: str):
        self.evidence, self.events, self.refusals, self.software = evidence, events, refusals, software
        self.zh = evidence.get("lang", "zh") == "zh"
        self.kind = evidence["kind"]
        self.names = evidence["actors"]
        self.centre = evidence.get("centre") or {}
        self.procedure = Procedure()
        self.state: ProjectState = replay(events, steps=False)[0]
        self.awarded = self.state.winner is not None
        self.members = set(self.state.drawn) | set(self.state.committee)
        self.intake = events[0]["payload"]
        self.by_step: dict[str, list[dict]] = {}
        for e in events:
            self.by_step.setdefault(step_of(e), []).append(e)
        self.cite = Citer(zh=self.zh, kind=self.state.kind)

    # words
    def t(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def phase_name(self, index: int) -> str:
        """The heading of a phase of the timeline (vocabulary.PHASES)."""
        return v.PHASES[index][0][0 if self.zh else 1]

    def w(self, words: v.Words, code: str) -> str:
        return v.word(words, code, self.zh)

    def when(self, value: str | datetime | None, seconds: bool = False) -> str:
        return zh_time(value, seconds) if self.zh else cst(value, seconds)

    def due(self, value: datetime) -> str:
        return zh_due(value) if self.zh else cst_due(value)

    def centre_name(self) -> str:
        if self.centre.get("name"):
            return self.centre["name"]
        operators = [self.names[a]["organisation"] for a in
                     (e["actor"] for e in self.by_step.get("intake-accepted", [])) if a in self.names]
        return operators[0] if operators else self.t("交易中心", "the trading centre")

    def who(self, actor: str) -> str:
        """An actor by its registered name: an organisation (bidder, tenderee, agent) by the
        organisation's name, a person by name; the ledger itself is the trading system; a
        committee member before the award by role only; the code only where no name is."""
        if actor == LEDGER_ACTOR:
            return self.t(*v.SYSTEM)
        if actor in self.members and not self.awarded:
            return self.t("评标委员会成员", "committee member")
        entry = self.names.get(actor)
        if entry is None:
            return actor
        if set(entry["roles"]) & v.ORGANISATION_ROLES:
            return entry["organisation"]
        return entry["name"]

    def label(self, actor: str) -> str:
        """An actor with its part, for the actor columns: 见证人员：陈静 (a bidder by its name)."""
        if actor == LEDGER_ACTOR or (actor in self.members and not self.awarded):
            return self.who(actor)
        role = self.role(actor)
        if role is None or role == "bidder":
            return self.who(actor)
        return f"{self.w(self.ROLES, role)}：{self.who(actor)}" if self.zh else f"{self.who(actor)} ({self.w(self.ROLES, role)})"

    def role(self, actor: str) -> str | None:
        entry = self.names.get(actor)
        if entry is None:
            return None
        return next((r for r in ("bidder", "tenderee", "agent", "expert", "witness", "operator",
                                 "supervisor") if r in entry["roles"]), None)

    def person(self, actor: str) -> str:
        """A person with the organisation they act for: 株洲市公共资源交易中心 陈静."""
        entry = self.names.get(actor)
        if entry is None or actor == LEDGER_ACTOR:
            return self.who(actor)
        return (f"{entry['organisation']} {entry['name']}" if self.zh
                else f"{entry['name']} ({entry['organisation']})")

    def several(self, actors: list[str]) -> str:
        return ("、" if self.zh else ", ").join(self.who(a) for a in actors)

    def yes(self, flag: bool) -> str:
        return self.t("是", "yes") if flag else "—"

    def first(self, step: str) -> dict | None:
        return (self.by_step.get(step) or [None])[0]

    def officers(self) -> list[str]:
        """The witness officers of the project: those the centre assigned to it, in order,
        then any other that recorded on it (a store from before assignments were recorded)."""
        found: list[str] = [e["payload"]["officer"] for e in self.by_step.get("witness-assigned", [])]
        for step in ("witness-observation", "warning-referred", "report-signed-off"):
            for e in self.by_step.get(step, []):
                if e["actor"] not in found:
                    found.append(e["actor"])
        return found

    # sections
    def identity(self) -> Section:
        s, t, intake = self.state, self.t, self.intake
        limit = {"construction": t("最高投标限价", "Control price"),
                 "procurement": t("采购预算", "Budget"), "rights": t("底价", "Reserve price")}
        return Section(t("项目与报告信息", "Project and report"), [Pairs([
            (t("报告编号", "Report number"), report_id(self.evidence)),
            (t("报告类型", "Report"), TITLES[self.kind][0 if self.zh else 1]
             + (t("（签发版）", " (signed edition)") if self.evidence.get("edition") == "signed" else "")),
            (t("项目名称", "Project"), intake["title"]),
            (t("项目编号", "Project number"), self.evidence["project"].split(":", 1)[1]),
            (t("标段", "Section"), intake.get("section", "—")),
            (t("项目类别", "Category"), self.w(v.CATEGORIES, s.kind)),
            (t("交易方式", "Procedure"), v.PROCEDURE[0 if self.zh else 1]),
            (t("评标办法", "Evaluation method"), self.w(v.METHODS, s.method)),
            (limit[s.kind], f"{money(s.estimated_price)} {t('元', 'yuan')}" if s.estimated_price else "—"),
            (t("招标人", "Tenderee"), self.who(intake["tenderee"])),
            (t("招标代理机构", "Agent"), self.who(intake["agent"]) if intake.get("agent") else "—"),
            *self.oversight(),
        ])])

    def oversight(self) -> list[tuple[str, str]]:
        """The identity's last rows: the centre, the supervision body, the witness officers
        and what the report covers."""
        t, last = self.t, self.events[-1]
        return [
            (t("交易中心", "Trading centre"), self.centre_name()),
            (t("行政监督部门", "Supervision body"), self.intake.get("supervisor", "—")),
            (t("见证人员", "Witness officers"), ("、" if self.zh else ", ").join(self.person(a) for a in self.officers())
             or t("（未记录）", "(none recorded)")),
            (t("报告范围", "Covers"), t(f"本项目序号 1 至 {last['version']} 的全部事件，截至 {self.when(last['ledger_time'])}",
                                       f"every event of the project, nos. 1 to {last['version']}, up to "
                                       f"{self.when(last['ledger_time'])} (CST)")),
        ]

    def timeline(self) -> Section:
        t = self.t
        # a bid replaced before the deadline is superseded: the timeline counts each bidder's
        # last submission, with how many replaced ones there were (the evidence holds every one)
        bids: dict[str, list[dict]] = {}
        for e in self.by_step.get("bid-submitted", []):
            bids.setdefault(e["payload"]["bidder"], []).append(e)
        replaced = {id(e) for runs in bids.values() for e in runs[:-1]}
        rows: list[list[str] | str] = []
        phase = -1  # headings only move forward: a late download stays under 投标, say
        for run in _runs([e for e in self.events if id(e) not in replaced]):
            e, step = run[-1], step_of(run[-1])
            here = v.phase_of(step)
            if here is not None and here > phase:
                phase = here
                rows.append(self.phase_name(here))
            label = self.w(self.STEPS, step)
            if step == "bid-submitted" and any(len(bids[x["payload"]["bidder"]]) > 1 for x in run):
                extra = sum(len(bids[x["payload"]["bidder"]]) - 1 for x in run)
                label += t(f"（另有 {extra} 次被替换的递交）", f" ({extra} replaced submissions)")
            actors = list(dict.fromkeys(x["actor"] for x in run))
            span = (cst(run[0]["ledger_time"], False) if run[0]["ledger_time"][:16] == e["ledger_time"][:16]
                    else f"{cst(run[0]['ledger_time'], False)}\n– {cst(e['ledger_time'], False)}")
            rows.append([str(e["version"]) if len(run) == 1 else f"{run[0]['version']}–{e['version']}",
                         span, label, str(len(run)),
                         self.label(actors[0]) if len(actors) == 1 else self.many(actors)])
        replaced_too = t("（含被替换的投标文件递交）", " (replaced bid submissions too)") if bids else ""
        note = Para(t("下表按环节汇总记录本项目的全部事件，每个事件由操作主体签名，并按顺序以哈希相链；"
                      f"逐项事件{replaced_too}及其哈希见所附证据，可逐一复算；各环节末项事件的哈希见“完整性与验证”。",
                      "Every event of the project, by step: each is signed by its actor and "
                      f"hash-chained in order. The attached evidence holds each event{replaced_too} "
                      "with its hash, which anyone can recompute; the last hash of "
                      "each phase is under Integrity and verification."), "note")
        return Section(t("交易过程（按环节汇总）", "Timeline, by step"), [note, Table([
            Column(t("序号", "Nos."), 10), Column(t("时间（北京时间）", "Time (CST)"), 22, "nowrap"),
            Column(t("环节", "Step"), 33), Column(t("数量", "Count"), 8, "num"),
            Column(t("操作主体", "Actor"), 27)], rows)])

    def many(self, actors: list[str]) -> str:
        """Several actors of one step, by their part: 11 家投标人, 7 名评标委员会成员."""
        if actors and all(a in self.members for a in actors):
            return self.t(f"{len(actors)} 名评标委员会成员", f"{len(actors)} committee members")
        roles = {self.role(a) for a in actors}
        if len(roles) == 1 and None not in roles:
            role = roles.pop()
            unit = "家" if role in v.ORGANISATION_ROLES else "名"
            return self.t(f"{len(actors)} {unit}{self.w(self.ROLES, role)}", f"{len(actors)} {self.w(self.ROLES, role)}s")
        return self.t(f"{len(actors)} 个主体", f"{len(actors)} actors")

    def periods(self) -> Section:
        t, s, rules, cite, ok = self.t, self.state, self.procedure.rules, self.cite, self.met
        rows: list[list[str]] = []
        announced = self.first("announced")
        if announced is not None:
            p = announced["payload"]
            opened = self.first("submission-closed")
            planned, actual = parse_time(p["bid_deadline"]), s.bid_deadline
            rows.append([t("投标截止时间与开标时间", "Bid deadline and opening"),
                         t("开标在投标截止时间公开进行", "the opening is at the bid deadline"),
                         cite(rules["opening-at-deadline"].article),
                         self.when(planned),
                         t(f"截止 {self.when(actual)}", f"closed {self.when(actual)}")
                         + (t("（澄清后顺延）", " (moved by a clarification)") if actual != planned else "")
                         + (t(f"；开标 {self.when(opened['ledger_time'])}", f"; opened {self.when(opened['ledger_time'])}")
                            if opened else ""),
                         ok(opened is None or parse_time(opened["ledger_time"]) >= actual)])
            prep, days, enough = self.procedure.preparation_time(
                s.kind, parse_time(p["documents_from"]), actual)
            rows.append([t("投标准备时间", "Preparation time"),
                         t(f"自招标文件开始发出之日起不少于 {prep.value} 日", f"at least {prep.value} days"),
                         cite(prep.article),
                         f"{self.when(p['documents_from'])} – {self.when(actual)}",
                         t(f"{days} 日", f"{days} days"), ok(enough)])
            rule, available, enough = self.procedure.documents_available(
                s.kind, parse_time(p["documents_from"]), parse_time(p["documents_until"]))
            unit = self.w(v.UNITS, rule.unit)
            rows.append([t("招标文件获取期", "Documents available"),
                         t(f"不少于 {rule.value} {unit}", f"at least {rule.value} {unit}"), cite(rule.article),
                         f"{self.when(p['documents_from'])} – {self.when(p['documents_until'])}",
                         t(f"{available} {unit}，{len(s.obtained)} 家获取", f"{available} {unit}; "
                           f"{len(s.obtained)} obtained them"), ok(enough)])
        if s.published_at is not None and s.publicity_until is not None:
            period = rules["publicity-period"]
            awarded = self.first("awarded")
            awarded_at = parse_time(awarded["ledger_time"]) if awarded else None
            # full days from the day after publication to the last day it covers
            days = days_between(s.published_at, s.publicity_until - timedelta(microseconds=1))
            rows.append([t("中标候选人公示期", "Candidate publicity"),
                         t(f"不少于 {period.value} 日", f"at least {period.value} days"), cite(period.article),
                         f"{self.when(s.published_at)} – {self.due(s.publicity_until)}",
                         t(f"{days} 日", f"{days} days") + (t(f"；定标 {self.when(awarded_at)}",
                                                              f"; awarded {self.when(awarded_at)}")
                                                            if awarded_at else ""),
                         ok(self.procedure.publicity_held(s.published_at, s.publicity_until, awarded_at))])
        return self.periods_section(rows + self.tracked_rows(), t(
            "投标人一方的期限由交易系统在受理时核验，超期的操作被拒绝并记录；答复、合同、退款等另一方的期限"
            "由交易系统跟踪，逐项列明应于何时前完成及实际完成时间。期间自次日起算，最后一日为法定节假日的顺延至节假日后的第一个工作日。",
            "Periods that bind the asking side are checked when an action is admitted "
            "(late ones are refused and recorded); deadlines of the answering side "
            "(answers, the contract, refunds) are tracked, each with its due time and when "
            "it was met. A period starts the next day; one ending on a public holiday "
            "ends on the next working day."))

    def met(self, flag: bool) -> str:
        return self.t("符合", "met") if flag else self.t("不符合", "NOT met")

    def tracked_rows(self) -> list[list[str]]:
        """The tracked deadlines of the answering side (state.deadlines), alike ones (a refund
        to every bidder) on one row: what, the limit, the article, due, met, kept."""
        t, rules = self.t, self.procedure.rules
        grouped_deadlines: dict[tuple, list[str]] = {}
        for d in self.state.deadlines:
            rule_id, _, subject = d.rule.partition(":")
            grouped_deadlines.setdefault((rule_id, d.article, d.due, d.met and self.when(d.met), d.kept),
                                         []).append(subject)
        rows = []
        for (rule_id, article, due, met, kept), subjects in grouped_deadlines.items():
            rule = rules[rule_id]
            unit = self.w(v.UNITS, rule.unit)
            subjects = [x for x in subjects if x]
            what = self.w(v.DEADLINES, rule_id) + (t(f"（{len(subjects)} 家）", f" ({len(subjects)})")
                                                   if len(subjects) > 1 else
                                                   (t(f"（{self.who(subjects[0])}）", f" ({self.who(subjects[0])})")
                                                    if subjects else ""))
            rows.append([what, t(f"{rule.value} {unit}内", f"within {rule.value} {unit}"), self.cite(article),
                         t(f"{self.due(due)} 前", f"before {self.due(due)}"), met or "—",
                         {True: t("按期", "kept"), False: t("逾期", "LATE"), None: t("未到期或未完成", "open")}[kept]])
        return rows

    def periods_section(self, rows: list[list[str]], note: str) -> Section:
        t = self.t
        return Section(t("法定期限", "Legal periods"), [Para(note, "note"), Table([
            Column(t("事项", "Period"), 14), Column(t("法定要求", "Limit"), 13), Column(t("依据", "Article"), 16),
            Column(t("计划 / 期限", "Planned / due"), 24), Column(t("实际", "Actual"), 26),
            Column(t("结论", "Result"), 7)], rows) if rows else Para(t("无", "none"), "none")])

    def documents(self) -> Section:
        t = self.t
        rows: list[list[str] | str] = []
        for e in self.events:
            if e["type"] == "project.documents-issued/v1":
                rows.append([t(f"招标文件 第 {e['payload']['edition']} 版", f"documents, edition {e['payload']['edition']}"),
                             self.when(e["ledger_time"]), grouped(e["payload"]["document_hash"]), "—"])
            elif e["type"] == "project.clarification-issued/v1":
                p = e["payload"]
                note = t("影响投标文件编制", "affects bids") if p["affects_bids"] else t("不影响投标", "does not affect bids")
                if "bid_deadline" in p:
                    note += t(f"；截止时间调整为 {self.when(p['bid_deadline'])}", f"; deadline now {self.when(p['bid_deadline'])}")
                rows.append([t("澄清或修改", "clarification"), self.when(e["ledger_time"]),
                             grouped(p["document_hash"]), note])
        return Section(t("招标文件与澄清", "Documents and clarifications"), [Table([
            Column(t("文件", "Document"), 15), Column(t("发出时间", "Issued"), 24),
            Column(t("文件哈希（SHA-256）", "Hash (SHA-256)"), 40, "hash"), Column(t("说明", "Note"), 21)],
            rows) if rows else Para(t("无", "none"), "none")])

    def _answers(self) -> dict[int, dict]:
        """The answers to objections, by the version of the objection they answer."""
        return {e["payload"]["objection_version"]: e for e in self.by_step.get("objection-answered", [])}

    def _late(self) -> dict[str, dict]:
        """The refused late bids, by bidder: the last refusal of each."""
        late: dict[str, dict] = {}
        for r in self.refusals:
            if r["payload"]["rule"] == "late-bid":
                late[r["payload"]["action"]["actor"]] = r
        return late

    def bids(self) -> Section:
        t = self.t
        submitted = {e["payload"]["bidder"]: e for e in self.by_step.get("bid-submitted", [])}
        obtained = {e["payload"]["bidder"]: e for e in self.by_step.get("documents-obtained", [])}
        posted = {e["payload"]["bidder"]: e for e in self.by_step.get("security-posted", [])}
        refunded = {e["payload"]["bidder"]: e for e in self.by_step.get("security-refunded", [])}
        withdrawn = {e["payload"]["bidder"] for e in self.by_step.get("bid-withdrawn", [])}
        late = self._late()
        bidders = sorted(set(obtained) | set(submitted) | set(posted) | set(late))
        summary = t(
            f"获取招标文件 {len(obtained)} 家；递交投标文件 {len(submitted)} 家"
            + (f"（撤回 {len(withdrawn)} 家）" if withdrawn else "")
            + (f"；逾期递交被拒收 {len(late)} 家（见“拒收与拒绝记录”）" if late else "") + "。",
            f"{len(obtained)} obtained the documents; {len(submitted)} submitted bids"
            + (f" ({len(withdrawn)} withdrawn)" if withdrawn else "")
            + (f"; {len(late)} late submission(s) refused (see refusals)" if late else "") + ".")
        if len(bidders) > LISTED_AT_MOST:
            security_block = self._security_summed(posted, refunded)
        else:
            security = []
            for b in bidders:
                post = posted.get(b)
                security.append([self.who(b), self.when(obtained[b]["ledger_time"]) if b in obtained else "—",
                                 money(post["payload"]["amount"]) if post else "—",
                                 self.w(v.SECURITY_FORMS, post["payload"]["form"]) if post else "—",
                                 self.when(refunded[b]["ledger_time"]) if b in refunded else "—"])
            security_block = Table([
                Column(t("投标人", "Bidder"), 27), Column(t("获取招标文件", "Documents"), 23),
                Column(t("保证金（元）", "Security (yuan)"), 16, "num"), Column(t("形式", "Form"), 11),
                Column(t("退还时间", "Refunded"), 23)], security, t("投标人与投标保证金", "Bidders and security"))
        sealed = [[self.who(b), grouped(submitted[b]["payload"]["bid_hash"]),
                   "\n".join(self.names.get(b, {}).get("certificates", [])) or "—"]
                  for b in bidders if b in submitted]
        sealed_block = Table(
            [Column(t("投标人", "Bidder"), 30),
             Column(t("密封投标文件哈希（SHA-256）", "Sealed bid hash (SHA-256)"), 44, "hash"),
             Column(t("CA 数字证书序列号", "CA certificate serial"), 26, "hash")], sealed,
            t("密封投标文件与数字证书", "Sealed bids and certificates"))
        if len(sealed) > LISTED_AT_MOST:  # read by a machine, not by eye: the evidence holds them
            sealed_block = self._not_listed(
                len(sealed), "密封投标文件哈希与数字证书", "sealed bid hashes and certificates")
        return Section(t("投标文件递交与投标保证金", "Bids and bid security"),
                       [Para(summary), security_block, sealed_block])

    def _not_listed(self, count: int, zh: str, en: str) -> Para:
        return Para(self.t(
            f"{zh}共 {count} 项，超过 {LISTED_AT_MOST} 项不逐行印出；逐项见所附证据，核验报告时逐一复算。",
            f"The {count} {en} (more than {LISTED_AT_MOST}) are not printed row by row; the "
            "attached evidence holds each, and checking the report recomputes every one."), "note")

    def _security_summed(self, posted: dict[str, dict], refunded: dict[str, dict]) -> Pairs:
        """The bid security of more bidders than a table lists: counts and sums by form."""
        t = self.t
        forms: dict[str, list[Decimal]] = {}
        for e in posted.values():
            forms.setdefault(e["payload"]["form"], []).append(Decimal(e["payload"]["amount"]))
        by_form = [(t(f"投标保证金（{self.w(v.SECURITY_FORMS, form)}）", f"Bid security ({self.w(v.SECURITY_FORMS, form)})"),
                    t(f"{len(amounts)} 家，合计 {money(sum(amounts))} 元", f"{len(amounts)} bidders, {money(sum(amounts))} yuan in all"))
                   for form, amounts in sorted(forms.items())]
        last = max((e["ledger_time"] for e in refunded.values()), default=None)
        return Pairs([
            *(by_form or [(t("投标保证金", "Bid security"), t("无人递交", "none posted"))]),
            (t("已退还", "Refunded"), t(f"{len(refunded)} 家" + (f"，最后一笔于 {self.when(last)}" if last else ""),
                                        f"{len(refunded)}" + (f", the last at {self.when(last)}" if last else ""))),
            (t("逐家记录", "Per bidder"), t(f"共 {len(posted)} 家，超过 {LISTED_AT_MOST} 家不逐行印出；逐项见所附证据",
                                           f"{len(posted)} bidders, more than {LISTED_AT_MOST}: not printed row "
                                           "by row; the attached evidence holds each")),
        ])

    def opening(self) -> Section:
        """The opening record (开标记录, 法 §36; 条例 §44)."""
        t, s = self.t, self.state
        convened = self.first("opening-convened")
        closed = self.first("submission-closed")
        submitted = {e["payload"]["bidder"]: e for e in self.by_step.get("bid-submitted", [])}
        withdrawn = {e["payload"]["bidder"] for e in self.by_step.get("bid-withdrawn", [])}
        late = self._late()
        venue = (convened["payload"].get("venue") if convened else None) or t(
            f"{self.centre_name()}电子交易平台（不见面开标）", f"{self.centre_name()}'s electronic platform (no-meeting opening)")
        # the officers who recorded anything during the opening: after submission closed and
        # before the committee was drawn (all the project's officers, if none did)
        drawn = self.first("experts-drawn")
        start, end = (closed["version"] if closed else 0), (drawn["version"] if drawn else None)
        witnesses = list(dict.fromkeys(
            e["actor"] for step in ("witness-observation", "warning-referred")
            for e in self.by_step.get(step, [])
            if closed and start < e["version"] and (end is None or e["version"] < end))) \
            or self.officers()
        pairs = [
            (t("开标时间", "Opened at"), self.when(s.closed_at) if s.closed_at else "—"),
            (t("开标地点", "Place"), venue),
            (t("主持人", "Host"), self.person(convened["payload"]["host"]) if convened else t("（未记录）", "(not recorded)")),
            (t("记录人", "Recorder"), self.person(convened["payload"]["recorder"]) if convened else t("（未记录）", "(not recorded)")),
            (t("见证人员", "Witness officers"), ("、" if self.zh else ", ").join(self.person(a) for a in witnesses)
             or t("（未记录）", "(none recorded)")),
            (t("投标人签到", "Bidders checked in"), t(f"{len(s.checked_in)} 家（递交投标文件 {len(submitted) - len(withdrawn)} 家）",
                                                    f"{len(s.checked_in)} (of {len(submitted) - len(withdrawn)} bids)")),
            (t("解密情况", "Decryption"), t(f"解密成功 {len(s.prices)} 家，解密失败 {len(s.failed_decryption)} 家",
                                            f"{len(s.prices)} decrypted, {len(s.failed_decryption)} failed")),
        ]
        rows = []
        for b in sorted(set(submitted) | set(late),
                        key=lambda b: (b not in submitted, submitted[b]["version"] if b in submitted else 0)):
            if b in late and b not in submitted:
                r = late[b]
                rows.append([self.who(b), self.when(r["ledger_time"], seconds=True), "—",
                             t("逾期递交，交易系统拒收，未参加开标", "late: refused by the system, not opened"),
                             t("—（未开启）", "— (not opened)")])
                continue
            if b in s.prices:
                result = t("解密成功", "decrypted")
            elif b in s.failed_decryption:
                result = t("解密失败：", "failed: ") + self.w(v.CAUSES, s.failed_decryption[b])
            elif b in withdrawn:
                result = t("投标截止前已撤回", "withdrawn before the deadline")
            else:
                result = "—"
            rows.append([self.who(b), self.when(submitted[b]["ledger_time"]), self.yes(b in s.checked_in), result,
                         money(s.prices.get(b)) if b in s.prices else t("—（未解密）", "— (not decrypted)")])
        blocks: list = [Pairs(pairs), Table([
            Column(t("投标人", "Bidder"), 27), Column(t("递交时间", "Submitted"), 25),
            Column(t("签到", "In"), 6), Column(t("解密结果", "Decryption"), 24),
            Column(t("投标报价（元）", "Price (yuan)"), 18, "num")], rows, t("开标记录", "The opening"))]
        objections = []
        answers = self._answers()
        for e in self.by_step.get("opening-objection-raised", []):
            answer = answers.get(e["version"])
            objections.append([self.when(e["ledger_time"]), self.who(e["payload"]["bidder"]),
                               grouped(e["payload"]["text_hash"]),
                               t(f"{self.when(answer['ledger_time'])} 由{self.who(answer['actor'])}当场答复",
                                 f"answered by {self.who(answer['actor'])} at {self.when(answer['ledger_time'])}")
                               if answer else t("未答复", "not answered")])
        blocks.append(Table([Column(t("提出时间", "Raised"), 24), Column(t("异议人", "By"), 22),
                             Column(t("异议文书哈希", "Text (hash)"), 27, "hash"), Column(t("答复", "Answer"), 27)],
                            objections, t("开标现场异议及答复", "Objections at the opening")) if objections
                      else Para(t("开标现场无异议。", "No objection was raised at the opening."), "none"))
        return Section(t("开标记录", "The opening"), blocks)

    def refusal_reason(self, payload: dict) -> str:
        """Why the rules refused an action: the rule's words, else the recorded message with
        its articles cited as this report cites them."""
        if payload["rule"] in v.REFUSED_RULES:
            return self.w(v.REFUSED_RULES, payload["rule"])
        return re.sub(r"\(((?:法|条例|政采法|政采条例|电子办法|民法典) §[^)]*)\)",
                      lambda m: f"（{self.cite(m[1])}）" if self.zh else f"({self.cite(m[1])})",
                      payload["message"])

    def refused(self) -> Section:
        t = self.t
        rows = []
        for r in self.refusals:
            p = r["payload"]
            action = p["action"]
            step = action["type"].split(".", 1)[1].split("/", 1)[0]
            what = self.w(self.STEPS, step)
            why = self.refusal_reason(p)
            rows.append([self.when(r["ledger_time"], seconds=True), self.label(action["actor"]), what,
                         f"{why}（{self.cite(p['article'])}）" if self.zh else f"{why} ({self.cite(p['article'])})",
                         str(r["version"])])
        note = Para(t("被规则拒绝的操作同样是证据：交易系统连同操作主体签名的原始操作一并记录，签名可在所附证据中复核。",
                      "Refused actions are evidence too: the system records each with the actor's own "
                      "signed action, which the attached evidence lets anyone check."), "note")
        if len(rows) > LISTED_AT_MOST:  # by action and rule: how many, when, and their record numbers
            kinds: dict[tuple[str, str], list[list[str]]] = {}
            for row in rows:
                kinds.setdefault((row[2], row[3]), []).append(row)
            summed = [[what, why, str(len(same)), f"{same[0][0]} – {same[-1][0]}",
                       versions(tuple(int(r[4]) for r in same), self.zh, most=4)]
                      for (what, why), same in sorted(kinds.items(), key=lambda k: -len(k[1]))]
            return Section(t("拒收与拒绝记录", "Refused actions"), [note, Table([
                Column(t("被拒绝的操作", "Action"), 13), Column(t("规则与依据", "Rule and article"), 32),
                Column(t("次数", "Times"), 8, "num"), Column(t("时间", "Between"), 25),
                Column(t("拒绝记录", "Records"), 22)], summed),
                self._not_listed(len(rows), "拒绝记录", "refusal records")])
        return Section(t("拒收与拒绝记录", "Refused actions"), [note, Table([
            Column(t("时间", "Time"), 25), Column(t("操作主体", "Actor"), 20),
            Column(t("被拒绝的操作", "Action"), 13), Column(t("规则与依据", "Rule and article"), 32),
            Column(t("拒绝记录序号", "Record no."), 10, "num")], rows) if rows else Para(t("无", "none"), "none")])

    def committee(self) -> Section:
        t, s, rules = self.t, self.state, self.procedure.rules
        blocks: list = []
        if not s.committee:
            return Section(t("评标委员会", "Evaluation committee"), [Para(t("尚未组建", "not formed yet"), "none")])
        size_rule = rules["panel-size-procurement" if s.kind == "procurement" else "committee-size"]
        size = len(s.committee)
        quotas = s.draw.get("quotas", {})
        composition = "、".join(f"{self.w(v.EXPERT_CATEGORIES, k)}专家 {n} 人" for k, n in sorted(quotas.items())) if self.zh \
            else ", ".join(f"{n} {self.w(v.EXPERT_CATEGORIES, k)}" for k, n in sorted(quotas.items()))
        size_ok = size >= size_rule.value and size % 2 == 1
        prepared, drawn = self.first("draw-prepared"), self.first("experts-drawn")
        blocks.append(Pairs([
            (t("人数与构成", "Size and composition"),
             t(f"{size} 人（{composition}）；不少于 {size_rule.value} 人且为单数：{'符合' if size_ok else '不符合'}"
               f"（{self.cite(size_rule.article)}）；全部成员随机抽取产生，专家占比不低于三分之二：符合"
               f"（{self.cite(rules['expert-share'].article)}）",
               f"{size} ({composition}); {size_rule.value} or more and odd: {'met' if size_ok else 'NOT met'} "
               f"({self.cite(size_rule.article)}); every member drawn at random, so at least two thirds are "
               f"experts: met ({self.cite(rules['expert-share'].article)})")),
            (t("抽取承诺", "Draw committed"), (self.when(prepared["ledger_time"]) + t("，早于投标截止", ", before the bid deadline")
                                            if prepared else "—")),
            (t("种子承诺（SHA-256）", "Seed commitment (SHA-256)"), grouped(s.draw["secret_commitment"])
             if s.draw.get("secret_commitment") else "—"),
            (t("抽取时间", "Drawn at"), self.when(drawn["ledger_time"]) if drawn else "—"),
            (t("抽取输入", "Draw inputs"), t("专家库与回避名单以哈希记录；定标后已公开并复算一致",
                                            "pool and exclusions recorded by hash; disclosed after the award "
                                            "and replayed to the same committee")
             if s.draw.get("disclosed") else t("专家库与回避名单以哈希记录，定标后公开", "pool and exclusions "
                                                "recorded by hash, disclosed after the award")),
        ]))
        if not self.awarded:
            blocks.append(Para(t(f"定标前评标委员会成员名单保密（{self.cite('法 §37; 条例 §46')}），本报告只列人数与构成。",
                                 f"Until the award the members' names are confidential ({self.cite('法 §37; 条例 §46')}): "
                                 "this report gives the committee's size and composition only."), "note"))
        else:
            categories = {}
            for e in self.by_step.get("draw-disclosed", []):
                categories.update({x["id"]: x["category"] for x in e["payload"]["pool"]})
            chair = self._chair()
            members = [[str(place), self.who(m) + (t("（负责人）", " (chair)") if m == chair else ""),
                        self.w(v.EXPERT_CATEGORIES, categories[m]) if m in categories else "—",
                        self.names.get(m, {}).get("organisation", "—")]
                       for place, m in enumerate(s.committee, 1)]
            blocks.append(Table([Column(t("序号", "No."), 8), Column(t("姓名", "Name"), 30),
                                 Column(t("专业类别", "Specialty"), 17), Column(t("所在专家库", "Pool"), 45)],
                                members, t("评标委员会成员（定标后公布）", "Members (published after the award)")))
        recusals = []
        for e in self.by_step.get("expert-replaced", []):
            recused = e["payload"]["recused"]
            place = str(s.drawn.index(recused) + 1) if recused in s.drawn else "?"
            recusals.append([self.when(e["ledger_time"]), place, e["payload"]["ground"]])
        blocks.append(Table([Column(t("回避时间", "Recused at"), 24), Column(t("原席位", "Place"), 10),
                             Column(t("回避事由（补抽同类别下一顺位专家）", "Ground (replaced by the next-ranked expert of the category)"), 66)],
                            recusals, t("回避与补抽", "Recusals")) if recusals
                      else Para(t("无专家回避。", "No expert recused."), "none"))
        return Section(t("评标委员会", "Evaluation committee"), blocks)

    def _chair(self) -> str | None:
        """The member who submitted the (latest) evaluation report: the committee's chair."""
        reported = self.by_step.get("evaluation-reported", [])
        return reported[-1]["actor"] if reported else None

    def evaluation(self) -> Section:
        """The evaluation record (评标报告, 评标委员会和评标方法暂行规定 §42; 条例 §53)."""
        t, s = self.t, self.state
        drawn, reported = self.first("experts-drawn"), (self.by_step.get("evaluation-reported") or [None])[-1]
        chair = self._chair()
        blocks: list = [Pairs([
            (t("评标时间", "Evaluated"), f"{self.when(drawn['ledger_time'])} – {self.when(reported['ledger_time'])}"
             if drawn and reported else "—"),
            (t("评标地点", "Place"), t(f"{self.centre_name()}电子评标系统", f"{self.centre_name()}'s electronic evaluation system")),
            (t("评标办法", "Method"), self.w(v.METHODS, s.method)),
            (t("评标委员会负责人", "Chair"), (self.who(chair) if self.awarded else t("（定标后公布）", "(published after the award)"))
             if chair else "—"),
        ])]
        scores: dict[str, list[Decimal]] = {}
        for (_, bidder), value in s.scores.items():
            scores.setdefault(bidder, []).append(value)
        compliant = [b for b in s.prices if b not in s.rejected]
        order = {b: i for i, b in enumerate(s.ranking, 1)}
        compliant.sort(key=lambda b: (order.get(b, 10**6), s.prices[b]))
        columns = [Column(t("投标人", "Bidder"), 44), Column(t("投标报价（元）", "Price (yuan)"), 20, "num"),
                   Column(t("评审结论", "Result"), 22)]
        if scores:
            columns.append(Column(t("平均得分", "Mean score"), 14, "num"))
        else:
            columns[0].width = 58
        rows: list[list[str] | str] = []
        unranked = [b for b in compliant if b not in order]
        summed = len(compliant) > LISTED_AT_MOST
        for b in ([b for b in compliant if b in order] if summed else compliant):
            row = [self.who(b), money(s.prices[b]),
                   t(f"推荐第 {order[b]} 名中标候选人", f"candidate no. {order[b]}") if b in order
                   else t("合格，未列入推荐", "compliant, not ranked")]
            if scores:
                row.append(str((sum(scores[b]) / len(scores[b])).quantize(Decimal("0.01"))) if b in scores else "—")
            rows.append(row)
        blocks.append(Table(columns, rows, t("通过评审的投标及报价比较", "Compliant bids compared"))
                      if rows else Para(t("尚无通过评审的投标。", "No compliant bid yet."), "none"))
        if summed and unranked:
            low, high = min(s.prices[b] for b in unranked), max(s.prices[b] for b in unranked)
            blocks.append(Para(t(
                f"其余 {len(unranked)} 家投标通过评审、未列入推荐，报价 {money(low)} 元至 {money(high)} 元"
                f"（逐家报价见开标记录）。通过评审的投标超过 {LISTED_AT_MOST} 家，其评审结论与得分不逐行印出；"
                "逐项见所附证据，核验报告时逐一复算。",
                f"The other {len(unranked)} compliant bids were not ranked; their prices run from "
                f"{money(low)} to {money(high)} yuan (each in the opening record). With more than "
                f"{LISTED_AT_MOST} compliant bids, their results and scores are not printed row by row; "
                "the attached evidence holds each, and checking the report recomputes every one."), "note"))
        rejected = [[self.who(b), self.w(v.GROUNDS, g)] for b, g in sorted(s.rejected.items())]
        ground = Column(t(f"否决理由（{self.cite('条例 §51')}）", f"Ground ({self.cite('条例 §51')})"), 60)
        if len(rejected) > LISTED_AT_MOST:  # by ground
            grounds: dict[str, int] = {}
            for _, why in rejected:
                grounds[why] = grounds.get(why, 0) + 1
            blocks.append(Table([ground, Column(t("被否决的投标（家）", "Rejected bids"), 40, "num")],
                                [[why, str(n)] for why, n in sorted(grounds.items(), key=lambda g: -g[1])]))
            blocks.append(self._not_listed(len(rejected), "被否决的投标", "rejected bids"))
        else:
            blocks.append(Table([Column(t("被否决的投标", "Rejected bid"), 40), ground], rejected) if rejected
                          else Para(t("无被否决的投标。", "No bid was rejected."), "none"))
        clarified = [[self.when(e["ledger_time"]), self.who(e["payload"]["bidder"]),
                      grouped(e["payload"]["question_hash"]),
                      grouped(e["payload"]["answer_hash"]) if e["payload"].get("answer_hash") else t("未答复", "none")]
                     for e in self.by_step.get("bid-clarified", [])]
        blocks.append(Table([Column(t("时间", "Time"), 24), Column(t("被要求澄清的投标人", "Bidder"), 22),
                             Column(t("书面问题哈希", "Question (hash)"), 27, "hash"),
                             Column(t("澄清答复哈希", "Answer (hash)"), 27, "hash")], clarified,
                            t(f"投标文件澄清（{self.cite('条例 §52')}）", f"Clarifications ({self.cite('条例 §52')})"))
                      if clarified else Para(t("评标过程中未要求投标人澄清。", "No bidder was asked to clarify."), "none"))
        if s.report_hash:
            members = set(s.committee)
            signed, refused = s.report_signed & members, {m: r for m, r in s.report_refused.items() if m in members}
            reported_by = {chair} if chair else set()
            text = (t(f"评标报告（SHA-256 {grouped(s.report_hash)}）由评标委员会全体 {len(members)} 名成员签字。",
                      f"The evaluation report (SHA-256 {grouped(s.report_hash)}) is signed by all {len(members)} members.")
                    if (signed | reported_by) >= members else
                    t(f"评标报告（SHA-256 {grouped(s.report_hash)}）由 {len(signed | reported_by)} 名成员签字，"
                      f"{len(refused)} 名成员拒绝签字。",
                      f"The evaluation report (SHA-256 {grouped(s.report_hash)}) is signed by "
                      f"{len(signed | reported_by)} members; {len(refused)} refused to sign."))
            blocks.append(Para(text))
            refusals = [[self.who(m) if self.awarded else t("评标委员会成员", "a member"),
                         r or t(f"未说明理由，视为同意评标结果（{self.cite('条例 §53')}）",
                                f"no reason given: counts as consent ({self.cite('条例 §53')})")]
                        for m, r in refused.items()]
            if refusals:
                blocks.append(Table([Column(t("拒绝签字的成员", "Member refusing"), 30),
                                     Column(t("书面理由", "Reasons"), 70)], refusals))
        dissent = [[self.who(e["actor"]) if self.awarded else t("评标委员会成员", "a member"), e["payload"]["dissent"]]
                   for step in ("evaluation-reported", "evaluation-report-signed")
                   for e in self.by_step.get(step, []) if e["payload"].get("dissent")]
        blocks.append(Table([Column(t("持不同意见的成员", "Dissenting member"), 30),
                             Column(t("书面意见", "Dissent"), 70)], dissent) if dissent
                      else Para(t("无书面不同意见。", "No written dissent."), "none"))
        return Section(t("评标记录", "The evaluation"), blocks)

    def disputes(self) -> Section:
        t, s = self.t, self.state
        what = {"objection-raised": (t("对招标文件的异议", "objection to the documents"), "text_hash"),
                "objection-answered": (t("异议答复", "answer to the objection"), "answer_hash"),
                "publicity-objection-raised": (t("公示期异议", "objection to the candidates"), "text_hash"),
                "challenge-raised": (t("质疑", "challenge"), "text_hash"),
                "challenge-answered": (t("质疑答复", "answer to the challenge"), "answer_hash"),
                "complaint-filed": (t("投诉", "complaint"), "text_hash"),
                "complaint-accepted": (t("投诉受理", "complaint accepted"), None),
                "complaint-decided": (t("投诉处理决定", "complaint decided"), "text_hash")}
        rows = []
        for e in self.events:
            step = step_of(e)
            if step in what:
                name, document = what[step]
                outcome = (self.w(v.DECISIONS, e["payload"]["decision"]) if "decision" in e["payload"]
                           else t("已答复", "answered") if step in ("objection-answered", "challenge-answered")
                           else t("已受理", "accepted") if step == "complaint-accepted" else "—")
                rows.append([str(e["version"]), self.when(e["ledger_time"]), name, self.label(e["actor"]),
                             outcome, grouped(e["payload"][document]) if document else "—"])
        blocks: list = []
        if s.published_at is not None:
            blocks.append(Para(t(f"中标候选人于 {self.when(s.published_at)} 公示，公示期至 {self.due(s.publicity_until)}。",
                                 f"The candidates were published at {self.when(s.published_at)}, until "
                                 f"{self.due(s.publicity_until)}.")))
        blocks.append(Table([Column(t("序号", "No."), 6), Column(t("时间", "Time"), 24), Column(t("事项", "What"), 14),
                             Column(t("提出或处理方", "By"), 20), Column(t("结果", "Outcome"), 10),
                             Column(t("文书哈希", "Document hash"), 26, "hash")], rows) if rows
                      else Para(t("无异议或投诉。", "No objection or complaint."), "none"))
        return Section(t("公示、异议与投诉", "Publicity, objections and complaints"), blocks)

    def outcome(self) -> Section:
        t, s = self.t, self.state
        awarded, contract = self.first("awarded"), self.first("contract-signed")
        rate = s.savings_rate()
        kept = [b for b, cause in s.failed_decryption.items() if cause == "bidder"]
        owed = set(s.security) - set(kept)
        refunded = s.refunded & set(s.security)
        rate_label = t("溢价率", "Premium over reserve") if s.kind == "rights" else t("节资率", "Savings rate")
        rate_text = "—" if rate is None else f"{(abs(rate) * 100).quantize(Decimal('0.01'))}%"
        return Section(t("定标、合同与保证金退还", "Award, contract and refunds"), [Pairs([
            (t("中标人", "Winner"), self.who(s.winner) if s.winner else "—"),
            (t("中标价", "Award price"), f"{money(s.award_price)} {t('元', 'yuan')}" if s.award_price is not None else "—"),
            (rate_label, rate_text),
            (t("定标时间", "Awarded at"), self.when(awarded["ledger_time"]) if awarded else "—"),
            (t("合同签订时间", "Contract signed"), self.when(contract["ledger_time"]) if contract else "—"),
            (t("保证金退还", "Security refunds"),
             t(f"应退 {len(owed)} 家，已退 {len(refunded & owed)} 家", f"{len(refunded & owed)} of {len(owed)} owed refunded")
             + (t(f"；不予退还 {len(kept)} 家（解密失败，投标人原因）", f"; {len(kept)} kept (decryption failed by the bidder)")
                if kept else "")),
            (t("项目状态", "Stage"), self.w(v.STAGES, s.stage)),
        ])])

    def _warnings(self) -> list:
        watch = CollusionWatch()
        for e in self.events:
            watch.apply(e, e["version"])  # a warning's events are named by version
        return watch.warnings(self.evidence["project"])

    def _referral(self, warning) -> dict | None:
        """The event that passed this warning on to the supervision body, if one did."""
        for e in self.by_step.get("warning-referred", []):
            if e["payload"]["indicator"] == warning.indicator and set(e["payload"]["bidders"]) >= set(warning.bidders):
                return e
        return None

    @functools.cached_property
    def _warning_rows(self) -> list[tuple]:
        """(indicator, article, bidders, figures, events, referral) of every warning: those the
        project's events raise, and those an officer passed on that need facts beyond them
        (a certificate's issue time is in the bidder's own record, not the project's)."""
        rows = []
        computed = self._warnings()
        for w in computed:
            rows.append((w.indicator, w.article, list(w.bidders), self._figures(w),
                         versions(w.events, self.zh), self._referral(w)))
        for e in self.by_step.get("warning-referred", []):
            p = e["payload"]
            if not any(w.indicator == p["indicator"] and set(p["bidders"]) >= set(w.bidders)
                       for w in computed):
                rows.append((p["indicator"], ARTICLES.get(p["indicator"], ""), list(p["bidders"]),
                             "—", self.t("依据投标人主体记录", "from the bidders' own records"), e))
        return rows

    def warnings(self) -> Section:
        t = self.t
        rows = []
        for indicator, article, bidders, figures, events, referral in self._warning_rows:
            rows.append([self.w(v.INDICATORS, indicator), self.cite(article) if article else "—",
                         self.several(bidders), figures, events,
                         t(f"{self.when(referral['ledger_time'])} 报送{referral['payload']['supervisor']}",
                           f"passed to {referral['payload']['supervisor']} at {self.when(referral['ledger_time'])}")
                         if referral else t("尚未报送", "not yet passed on")])
        blocks: list = [Para(t("依据事件自动计算的围标串标监测信号，供行政监督部门参考，不构成认定。",
                               "Computable signals of collusion, from the events; they inform the supervision "
                               "body and decide nothing."), "note")]
        blocks.append(Table([Column(t("预警信号", "Indicator"), 15), Column(t("依据", "Article"), 15),
                             Column(t("涉及投标人", "Bidders"), 21), Column(t("数据", "Figures"), 14, "num"),
                             Column(t("触发事件", "Events"), 14), Column(t("报送情况", "Passed on"), 21)], rows) if rows
                      else Para(t("未发现围标串标预警信号。", "No collusion indicator fired."), "none"))
        return Section(t("围标串标预警", "Collusion warnings"), blocks)

    def _figures(self, warning) -> str:
        """What the bidders share or how they line up, in figures a reader can use: amounts
        as money; a fingerprint, address or account itself stays in the evidence."""
        parts = [x for x in warning.detail.split(", ") if x]
        if parts and all(is_money(x) for x in parts):
            return "\n".join(money(x) for x in parts)  # one amount a line: none breaks
        return self.t("见所附证据", "in the evidence") if parts else "—"

    def statement(self) -> Section:
        """The witness record (见证意见): what the officers witnessed, derived from the events
        (every failed decryption, refused action, objection at the opening and warning, with
        what was done), then the officers' own observations."""
        t = self.t
        items: list[list[str]] = []
        for e in self.by_step.get("decryption-failed", []):
            b, cause = e["payload"]["bidder"], e["payload"]["cause"]
            done = (t(f"按{self.cite('电子办法')}规定视为撤销投标文件，其投标保证金不予退还", "counted as revoking its bid; its security is kept")
                    if cause == "bidder" else
                    t(f"按{self.cite('电子办法')}规定视为撤回投标文件，其投标保证金予以退还", "counted as withdrawing its bid; its security is refunded"))
            items.append([e["ledger_time"], self.when(e["ledger_time"]), t(f"{self.who(b)}的投标文件解密失败（{self.w(v.CAUSES, cause).split('，')[0]}）",
                                                          f"the bid of {self.who(b)} failed to decrypt ({self.w(v.CAUSES, cause)})"), done])
        items += self.refusal_items(self.refusals)
        answers = self._answers()
        for e in self.by_step.get("opening-objection-raised", []):
            answer = answers.get(e["version"])
            items.append([e["ledger_time"], self.when(e["ledger_time"]), t(f"{self.who(e['payload']['bidder'])}在开标现场提出异议", f"{self.who(e['payload']['bidder'])} objected at the opening"),
                          t(f"{self.when(answer['ledger_time'])} 当场答复", f"answered at {self.when(answer['ledger_time'])}") if answer
                          else t("尚未答复", "not answered")])
        for indicator, _, bidders, _, _, referral in self._warning_rows:
            at = (referral or self.events[-1])["ledger_time"]
            items.append([at, self.when(at) if referral else "—",
                          t(f"围标串标预警：{self.w(v.INDICATORS, indicator)}（{self.several(bidders)}）",
                            f"collusion warning: {self.w(v.INDICATORS, indicator)} ({self.several(bidders)})"),
                          t(f"已于 {self.when(referral['ledger_time'])} 由{self.who(referral['actor'])}报送{referral['payload']['supervisor']}",
                            f"passed to {referral['payload']['supervisor']} by {self.who(referral['actor'])} at {self.when(referral['ledger_time'])}")
                          if referral else t("尚未报送行政监督部门", "not yet passed to the supervision body")])
        scope = {"opening": t("开标", "the opening"), "evaluation": t("开标和评标", "the opening and evaluation"),
                 "full": t("交易全过程", "the whole process"),
                 "transaction": t("交易全过程", "the whole transaction")}[self.kind]
        blocks: list = []
        items.sort(key=lambda row: row[0])
        if items:
            blocks.append(Para(t(f"见证人员对本项目{scope}进行了见证。依据交易系统记录，见证期间发生以下事项，处理情况如下：",
                                 f"The witness officers witnessed {scope} of this project. The system's record "
                                 "shows these matters, and what was done:")))
            blocks.append(Table([Column(t("序号", "No."), 6), Column(t("时间", "Time"), 25), Column(t("事项", "Matter"), 38),
                                 Column(t("处理情况", "What was done"), 31)],
                                [[str(i), *row[1:]] for i, row in enumerate(items, 1)]))
        else:
            blocks.append(Para(t(f"见证人员对本项目{scope}进行了见证。依据交易系统记录，见证期间未发生{self.QUIET[0]}事项。",
                                 f"The witness officers witnessed {scope} of this project. The system's record "
                                 f"shows no {self.QUIET[1]}.")))
        rows = [[self.when(e["ledger_time"]), self.person(e["actor"]), e["payload"]["note"],
                 grouped(e["payload"]["media_hash"]) if e["payload"].get("media_hash") else "—"]
                for e in self.by_step.get("witness-observation", [])]
        blocks.append(Table([
            Column(t("时间", "Time"), 24), Column(t("见证人员", "Officer"), 20),
            Column(t("见证情况", "Observation"), 32), Column(t("音视频记录哈希", "Recorded media (hash)"), 24, "hash")],
            rows, t("见证人员的见证记录", "The officers' observations")) if rows
            else Para(t("见证人员未另行记录见证情况。", "The officers recorded no observation of their own."), "none"))
        return Section(t("见证意见", "Witness record"), blocks)

    def refusal_items(self, refusals: list[dict]) -> list[list[str]]:
        """The witness record's rows of refused actions (sort key, time, matter, what was
        done): one each."""
        t, items = self.t, []
        for r in refusals:
            p = r["payload"]
            what = self.w(self.STEPS, step_of(p["action"]))
            items.append([r["ledger_time"], self.when(r["ledger_time"], seconds=True),
                          t(f"{self.who(p['action']['actor'])}的“{what}”操作被拒绝：", f"{what} by {self.who(p['action']['actor'])} refused: ")
                          + self.refusal_reason(p),
                          t(f"交易系统拒绝并记录（{self.cite(p['article'])}）", f"refused and recorded ({self.cite(p['article'])})")])
        return items

    def sign_off(self) -> Section | None:
        """The signed edition's sign-offs: which officer signed off the issued draft, when."""
        draft = self.evidence.get("draft")
        if self.evidence.get("edition") != "signed" or not isinstance(draft, dict):
            return None
        t = self.t
        rows = [[self.person(e["actor"]), self.when(e["ledger_time"]), str(e["version"])]
                for e in self.by_step.get("report-signed-off", [])
                if e["payload"]["report_id"] == draft.get("report_id") and e["payload"]["pdf_hash"] == draft.get("pdf_hash")]
        return Section(t("签发", "Sign-off"), [
            Para(t(f"本报告为签发版。见证人员对所出具的报告（SHA-256 {grouped(draft.get('pdf_hash', ''))}）逐一签认，"
                   "签认记录已记入交易系统并作为本报告证据的一部分：",
                   f"This is the signed edition. The witness officers signed off the issued report (SHA-256 "
                   f"{grouped(draft.get('pdf_hash', ''))}); each sign-off is recorded and is part of this "
                   "report's evidence:")),
            Table([Column(t("签认人", "Signed off by"), 50), Column(t("签认时间", "At"), 35),
                   Column(t("事件序号", "Event no."), 15, "num")], rows)])

    def integrity(self) -> Section:
        t, proof, last = self.t, self.evidence["completeness"], self.events[-1]
        body, _, signatures = proof["checkpoint"].partition("\n\n")
        origin, size, root = body.splitlines()[:3]
        cosigners = [line.split(" ")[1] for line in signatures.splitlines()[1:]]
        pairs = [
            (t("事件范围", "Events"), t(f"本项目序号 1 至 {last['version']}", f"nos. 1 to {last['version']} of the project")),
            (t("项目链头哈希", "Stream head"), grouped(last["hash"])),
        ]
        if self.refusals:
            pairs.append((t("拒绝记录链头哈希", "Refusals head"),
                          t(f"序号 {self.refusals[-1]['version']}：", f"no. {self.refusals[-1]['version']}: ")
                          + grouped(self.refusals[-1]["hash"])))
        pairs += [
            (t("检查点", "Checkpoint"), f"{origin} · {t('树大小', 'size')} {size}"),
            (t("检查点根哈希", "Checkpoint root"), root),
            (t("检查点签名", "Signed by"), ("、" if self.zh else ", ").join([origin] + cosigners)),
            (t("包含与完整性证明", "Inclusion and completeness"),
             t("项目链头在已签名的链头映射中，且包含于上述检查点的默克尔树；逐一重算的哈希链表明所列事件即本项目截至该检查点的全部事件",
               "the stream head is in the signed heads map and included in the checkpointed Merkle tree; "
               "the rehashed chain shows these are every event of the project up to that checkpoint")),
            (t("验证结果", "Verification"),
             t(f"通过：{len(self.events)} 个项目事件" + (f"、{len(self.refusals)} 条拒绝记录" if self.refusals else "")
               + " 逐一重算哈希、核对链接，并在检查点下证明完整",
               f"holds: {len(self.events)} project events" + (f" and {len(self.refusals)} refusal records" if self.refusals else "")
               + " rehashed, linked and proved complete under the checkpoint")),
            (t("日志公钥", "Log key"), self.evidence["log_key"]),
            (t("证据附件", "Evidence attached"), f"sunledger-evidence.json · SHA-256 {grouped(evidence_digest(self.evidence))}"),
            (t("生成软件", "Software"), self.software),
        ]
        heads = []
        phase_last: dict[int, dict] = {}
        for e in self.events:
            here = v.phase_of(step_of(e))
            if here is not None:
                phase_last[here] = e
        for here, e in sorted(phase_last.items()):
            heads.append([self.phase_name(here), str(e["version"]), grouped(e["hash"])])
        portal = verification_url(self.evidence)
        how = Para(t("核验方法：扫描首页二维码或访问下列核验地址，上传本报告 PDF 即可核验；也可由任何人使用公开的核验工具，"
                     "以交易中心公布的日志公钥独立核验本报告所附证据，并重新生成本报告比对是否逐字节一致。"
                     f"核验地址：{portal}",
                     "To check this report, scan the code on its first page or open the address below and "
                     "upload this PDF; anyone can also check the attached evidence with the published "
                     "verification tools and the log key the centre publishes, and render the report "
                     f"again to compare it byte for byte. Address: {portal}"))
        return Section(t("完整性与验证", "Integrity and verification"), [
            Pairs(pairs, hashes=True),
            Table([Column(t("环节", "Phase"), 28), Column(t("末项序号", "Last no."), 12, "num"),
                   Column(t("末项事件哈希（SHA-256）", "Last event hash (SHA-256)"), 60, "hash")], heads,
                  t("各环节末项事件哈希", "Last event hash of each phase")),
            how])

    def sections(self) -> list[Section]:
        parts = [self.identity, self.timeline, self.periods, self.documents, self.bids, self.opening,
                 self.refused]
        if self.kind in ("evaluation", "full"):
            parts += [self.committee, self.evaluation]
        if self.kind == "full":
            parts += [self.disputes, self.outcome]
        parts += [self.warnings, self.statement, self.sign_off, self.integrity]
        built = [section for part in parts if (section := part()) is not None]
        for n, section in enumerate(built, 1):
            section.title = numbered(n, section.title, self.zh)
        return built


def verification_url(evidence: dict) -> str:
    """Where the report is checked: the centre's verification page with the report's
    register number (year-sequence, in plain characters) and its evidence's hash (the
    portal's base address as the centre's register states it)."""
    centre = evidence.get("centre") or {}
    base = (centre.get("portal") or "https://sunledger.invalid/verify").rstrip("/")
    year, sequence = parse_number(evidence.get("number") or "")
    key = (f"{year}-{sequence:04d}" + ("-signed" if evidence.get("edition") == "signed" else "")
           if sequence else quote(report_id(evidence)))
    return f"{base}?report={key}&evidence={evidence_digest(evidence)}"


def build(evidence: dict, software: str = "Sunledger", kind_of: type[_Builder] = _Builder) -> ReportModel:
    """The report of the evidence (its kind, its language), by `kind_of` (a transaction
    report's: witness/transaction.py). The evidence is checked first: a report is only made
    of evidence that holds (every event, link and proof)."""
    log = parse_verifier_key(evidence["log_key"])
    events = check_completeness(evidence["completeness"], log)
    refusals = check_completeness(evidence["refusals"], log) if evidence.get("refusals") else []
    builder = kind_of(evidence, events, refusals, software)
    zh, kind = builder.zh, evidence["kind"]
    rid = report_id(evidence)
    return ReportModel(
        kind=kind, lang=evidence.get("lang", "zh"), title=TITLES[kind][0 if zh else 1], report_id=rid,
        project=evidence["project"], subtitle=builder.intake["title"], centre=builder.centre_name(),
        sections=builder.sections(), statement=builder.STATEMENT["zh" if zh else "en"],
        officers=[builder.person(a) for a in builder.officers()],
        sign_note=builder.t("已由见证人员签认，见“签发”一节", "signed off: see the Sign-off section")
        if evidence.get("edition") == "signed" else
        builder.t("见证人员签认后出具签发版；签认记录以交易系统为准", "the signed edition follows the "
                  "officers' sign-off, as the system records it"),
        qr_payload=verification_url(evidence),
        qr_caption=builder.t("扫码核验本报告", "scan to check this report"))
