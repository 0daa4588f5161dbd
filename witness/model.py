"""What a witness report says, as plain data: a pure function of its evidence (evidence.py) and
the software that made it. The report is a list of numbered sections, each a list of blocks
(paragraphs, key–value tables, tables); the template (templates/report.html) only lays them
out, and the words come from vocabulary.py.

Names of the evaluation committee stay confidential until the award (法 §37; 条例 §46): before
it, members appear by their place on the committee only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from ledger.evidence.canonical import canonical_json, is_money, parse_time
from ledger.log.notes import parse_verifier_key
from ledger.log.proofs import check_completeness
from ledger.procedures.calendar import days_between
from ledger.procedures.tender import Procedure, ProjectState
from projections.project_state import replay
from projections.warnings import CollusionWatch
from witness import vocabulary as v

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
          "full": ("全过程数字见证报告", "Full-process digital witness report")}
STAGES_FOR = {"opening": ("opened", "reported", "publicity", "awarded", "contracted", "archived"),
              "evaluation": ("reported", "publicity", "awarded", "contracted", "archived"),
              "full": ("contracted", "archived", "terminated", "failed")}
NUMERALS = "一二三四五六七八九十"


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
    sections: list[Section]
    statement: str
    qr_payload: str
    qr_caption: str


# --- small pure helpers ----------------------------------------------------------------------

def report_id(evidence: dict) -> str:
    last = json.loads(evidence["completeness"]["events"][-1])["version"]
    suffix = "" if evidence.get("lang", "zh") == "zh" else f"-{evidence['lang']}"
    return f"{evidence['project'].split(':', 1)[1]}-{evidence['kind']}-v{last}{suffix}"


def evidence_digest(evidence: dict) -> str:
    return hashlib.sha256(canonical_json(evidence)).hexdigest()


def cst(value: str | datetime | None, seconds: bool = True) -> str:
    if value is None:
        return "—"
    instant = (parse_time(value) if isinstance(value, str) else value).astimezone(CST)
    return instant.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def cst_due(due: datetime) -> str:
    """A deadline's first late instant as people write it: 24:00 of the last day allowed."""
    local = due.astimezone(CST)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return f"{(local - timedelta(days=1)):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def money(value: Decimal | str | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


def versions(numbers: tuple[int, ...], zh: bool, most: int = 8) -> str:
    """Event versions as runs ("v13–v15, v28"), the first `most` runs and how many in all."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    shown = ", ".join(f"v{a}" if a == b else f"v{a}–v{b}" for a, b in runs[:most])
    if len(runs) > most:
        shown += f" …（共 {len(numbers)} 个）" if zh else f" … ({len(numbers)} in all)"
    return shown


def step_of(event: dict) -> str:
    return event["type"].split(".", 1)[1].split("/", 1)[0]


RUN_LISTED = 12  # more events of one step in a row than this are one row of the timeline
SEALED_LISTED = 200  # more sealed bids than this: their hashes are in the evidence, not printed


def _runs(events: list[dict]) -> list[list[dict]]:
    """The events as rows of the timeline: each alone, but a run of more than RUN_LISTED
    consecutive events of one step (the scores of a large tender, its decryptions) as one."""
    runs: list[list[dict]] = []
    for e in events:
        if runs and step_of(runs[-1][-1]) == step_of(e):
            runs[-1].append(e)
        else:
            runs.append([e])
    return [part for run in runs for part in ([run] if len(run) > RUN_LISTED else [[e] for e in run])]


def numbered(index: int, title: str, zh: bool) -> str:
    if zh:
        tens, unit = divmod(index, 10)
        numeral = (NUMERALS[unit - 1] if tens == 0 else
                   ("十" if tens == 1 else NUMERALS[tens - 1] + "十") + (NUMERALS[unit - 1] if unit else ""))
        return f"{numeral}、{title}"
    return f"{index}. {title}"


# --- the report ------------------------------------------------------------------------------

class _Builder:
    """The sections of one report, from its checked events and the actors' registered names."""

    def __init__(self, evidence: dict, events: list[dict], refusals: list[dict], software: str):
        self.evidence, self.events, self.refusals, self.software = evidence, events, refusals, software
        self.zh = evidence.get("lang", "zh") == "zh"
        self.kind = evidence["kind"]
        self.names = evidence["actors"]
        self.procedure = Procedure()
        self.state: ProjectState = replay(events, steps=False)[0]
        self.awarded = self.state.winner is not None
        self.members = set(self.state.drawn) | set(self.state.committee)
        self.intake = events[0]["payload"]
        self.by_step: dict[str, list[dict]] = {}
        for e in events:
            self.by_step.setdefault(step_of(e), []).append(e)

    # words
    def t(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def w(self, words: v.Words, code: str) -> str:
        return v.word(words, code, self.zh)

    def who(self, actor: str, short: bool = False) -> str:
        """An actor as the report may name it: the organisation and the id; a committee member
        before the award by role only."""
        if actor in self.members and not self.awarded:
            return self.t("评标委员会成员", "committee member")
        entry = self.names.get(actor)
        if entry is None or short:
            return actor
        return f"{entry['organisation']}（{actor}）" if self.zh else f"{entry['organisation']} ({actor})"

    def yes(self, flag: bool) -> str:
        return self.t("是", "yes") if flag else "—"

    def first(self, step: str) -> dict | None:
        return (self.by_step.get(step) or [None])[0]

    # sections
    def identity(self) -> Section:
        s, t, intake = self.state, self.t, self.intake
        operators = sorted({e["actor"] for e in self.by_step.get("intake-accepted", [])})
        officers = sorted({e["actor"] for step in ("witness-observation", "report-signed-off")
                           for e in self.by_step.get(step, [])})
        limit = {"construction": t("最高投标限价", "Control price"),
                 "procurement": t("采购预算", "Budget"), "rights": t("底价", "Reserve price")}
        last = self.events[-1]
        return Section(t("项目与报告信息", "Project and report"), [Pairs([
            (t("报告编号", "Report number"), report_id(self.evidence)),
            (t("报告类型", "Report"), TITLES[self.kind][0 if self.zh else 1]),
            (t("项目名称", "Project"), intake["title"]),
            (t("项目编号", "Project number"), self.evidence["project"].split(":", 1)[1]),
            (t("标段", "Section"), intake.get("section", "—")),
            (t("项目类别", "Category"), self.w(v.CATEGORIES, s.kind)),
            (t("交易方式", "Procedure"), v.PROCEDURE[0 if self.zh else 1]),
            (t("评标办法", "Evaluation method"), self.w(v.METHODS, s.method)),
            (limit[s.kind], f"{money(s.estimated_price)} {t('元', 'yuan')}" if s.estimated_price else "—"),
            (t("招标人", "Tenderee"), self.who(intake["tenderee"])),
            (t("招标代理机构", "Agent"), self.who(intake["agent"]) if intake.get("agent") else "—"),
            (t("交易中心", "Trading centre"), "、".join(self.who(a) for a in operators) or "—"),
            (t("行政监督部门", "Supervision body"), intake.get("supervisor", "—")),
            (t("见证人员", "Witness officers"), "、".join(self.who(a) for a in officers)
             or t("（未记录）", "(none recorded)")),
            (t("报告范围", "Covers"), t(f"本项目第 1–{last['version']} 号事件，截至账本时间 {cst(last['ledger_time'])}",
                                       f"events 1–{last['version']} of the project, up to ledger time "
                                       f"{cst(last['ledger_time'])} (CST)")),
            (t("生成时间（账本时间）", "Generated at (ledger time)"), cst(last["ledger_time"])),
            (t("生成软件", "Software"), self.software),
        ])])

    def timeline(self) -> Section:
        t = self.t
        # a bid replaced before the deadline is superseded: the timeline shows each bidder's
        # last submission with how many there were (the attached evidence holds every one)
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
                rows.append(v.PHASES[here][0][0 if self.zh else 1])
            label = self.w(v.STEPS, step)
            if len(run) > 1:  # a long run of one step: one row, its last event's hash
                actors = {x["actor"] for x in run}
                rows.append([f"{run[0]['version']}–{e['version']}",
                             f"{cst(run[0]['ledger_time'])}\n– {cst(e['ledger_time'])}"
                             if run[0]["ledger_time"] != e["ledger_time"] else cst(e["ledger_time"]),
                             label + t(f"（连续 {len(run)} 项）", f" ({len(run)} in a row)"),
                             self.who(e["actor"], short=True) if len(actors) == 1
                             else t(f"{len(actors)} 个主体", f"{len(actors)} actors"), e["hash"]])
                continue
            count = len(bids.get(e["payload"].get("bidder", ""), ())) if step == "bid-submitted" else 1
            if count > 1:
                label += t(f"（共 {count} 次，以此为准）", f" (last of {count})")
            rows.append([str(e["version"]), cst(e["ledger_time"]), label,
                         self.who(e["actor"], short=True), e["hash"]])
        note = Para(t("每个事件由操作主体签名，并按顺序以哈希相链；下表的事件哈希可在所附证据中逐一复算。"
                      "投标截止前被替换的投标文件只列最后一次，全部递交记录见所附证据。"
                      f"同一环节连续超过 {RUN_LISTED} 项时合并为一行，列其最后一项的哈希（它经哈希链连接此前每一项），"
                      "逐项记录见所附证据。",
                      "Each event is signed by its actor and hash-chained in order; every hash below can "
                      "be recomputed from the attached evidence. A bid replaced before the deadline is "
                      "listed once, at its last submission; the evidence holds every one. More than "
                      f"{RUN_LISTED} events of one step in a row are one row, with the hash of the last "
                      "(the chain links it to every one before it); the evidence holds each."), "note")
        return Section(t("交易过程记录", "Timeline"), [note, Table([
            Column(t("序号", "v"), 6), Column(t("账本时间（北京时间）", "Ledger time (CST)"), 18, "nowrap"),
            Column(t("环节", "Step"), 20), Column(t("操作主体", "Actor"), 15),
            Column(t("事件哈希（SHA-256）", "Event hash (SHA-256)"), 41, "hash")], rows)])

    def periods(self) -> Section:
        t, s, rules = self.t, self.state, self.procedure.rules
        rows: list[list[str] | str] = []
        ok = lambda flag: t("符合", "met") if flag else t("不符合", "NOT met")  # noqa: E731
        announced = self.first("announced")
        if announced is not None:
            p = announced["payload"]
            opened = self.first("submission-closed")
            planned, actual = parse_time(p["bid_deadline"]), s.bid_deadline
            rows.append([t("投标截止时间与开标时间", "Bid deadline and opening"),
                         t("开标在投标截止时间公开进行", "the opening is at the bid deadline"), "法 §34",
                         cst(planned, False),
                         t(f"截止 {cst(actual, False)}", f"closed {cst(actual, False)}")
                         + (t("（澄清后顺延）", " (moved by a clarification)") if actual != planned else "")
                         + (t(f"；开标 {cst(opened['ledger_time'], False)}", f"; opened {cst(opened['ledger_time'], False)}")
                            if opened else ""),
                         ok(opened is None or parse_time(opened["ledger_time"]) >= actual)])
            prep, days, enough = self.procedure.preparation_time(
                s.kind, parse_time(p["documents_from"]), actual)
            rows.append([t("投标准备时间", "Preparation time"),
                         t(f"自招标文件开始发出之日起不少于 {prep.value} 日", f"at least {prep.value} days"),
                         prep.article,
                         f"{cst(p['documents_from'], False)} – {cst(actual, False)}",
                         t(f"{days} 日", f"{days} days"), ok(enough)])
            rule, available, enough = self.procedure.documents_available(
                s.kind, parse_time(p["documents_from"]), parse_time(p["documents_until"]))
            unit = self.w(v.UNITS, rule.unit)
            rows.append([t("招标文件获取期", "Documents available"),
                         t(f"不少于 {rule.value} {unit}", f"at least {rule.value} {unit}"), rule.article,
                         f"{cst(p['documents_from'], False)} – {cst(p['documents_until'], False)}",
                         t(f"{available} {unit}，{len(s.obtained)} 家获取", f"{available} {unit}; "
                           f"{len(s.obtained)} obtained them"), ok(enough)])
        if s.published_at is not None and s.publicity_until is not None:
            period = rules["publicity-period"]
            awarded = self.first("awarded")
            # full days from the day after publication to the last day it covers
            days = days_between(s.published_at, s.publicity_until - timedelta(microseconds=1))
            ends = self.procedure.publicity_ends(s.published_at)
            held = s.publicity_until >= ends and (
                awarded is None or parse_time(awarded["ledger_time"]) >= ends)
            rows.append([t("中标候选人公示期", "Candidate publicity"),
                         t(f"不少于 {period.value} 日", f"at least {period.value} days"), period.article,
                         f"{cst(s.published_at, False)} – {cst(s.publicity_until, False)}",
                         t(f"{days} 日", f"{days} days") + (t(f"；定标 {cst(awarded['ledger_time'], False)}",
                                                              f"; awarded {cst(awarded['ledger_time'], False)}")
                                                            if awarded else ""),
                         ok(held)])
        # deadlines of the answering side, alike ones (a refund to every bidder) on one row
        grouped: dict[tuple, list[str]] = {}
        for d in s.deadlines:
            rule_id, _, subject = d.rule.partition(":")
            met_day = cst(d.met, False) if d.met else None
            grouped.setdefault((rule_id, d.article, d.due, met_day, d.kept), []).append(subject)
        for (rule_id, article, due, met_day, kept), subjects in grouped.items():
            rule = rules[rule_id]
            unit = self.w(v.UNITS, rule.unit)
            subjects = [x for x in subjects if x]
            what = self.w(v.DEADLINES, rule_id) + (t(f"（{len(subjects)} 家）", f" ({len(subjects)})")
                                                   if len(subjects) > 1 else
                                                   (f" {subjects[0]}" if subjects else ""))
            rows.append([what, t(f"{rule.value} {unit}内", f"within {rule.value} {unit}"), article,
                         t(f"{cst_due(due)} 前", f"before {cst_due(due)}"), met_day or "—",
                         {True: t("按期", "kept"), False: t("逾期", "LATE"), None: t("未到期或未完成", "open")}[kept]])
        blocks: list = [Para(t("投标人一方的期限由账本在受理时核验，超期的操作被拒绝并记录；答复、合同、退款等另一方的期限"
                               "由账本跟踪，逐项列明应于何时前完成及实际完成时间。",
                               "Periods that bind the asking side are checked by the ledger when it admits an "
                               "action (late ones are refused and recorded); deadlines of the answering side "
                               "(answers, the contract, refunds) are tracked, each with its due time and when "
                               "it was met."), "note")]
        blocks.append(Table([
            Column(t("事项", "Period"), 22), Column(t("法定要求", "Limit"), 19), Column(t("依据", "Article"), 12),
            Column(t("计划 / 期限", "Planned / due"), 18), Column(t("实际", "Actual"), 19),
            Column(t("结论", "Result"), 10)], rows) if rows else Para(t("无", "none"), "none"))
        return Section(t("法定期限", "Legal periods"), blocks)

    def documents(self) -> Section:
        t = self.t
        rows: list[list[str] | str] = []
        for e in self.events:
            if e["type"] == "project.documents-issued/v1":
                rows.append([t(f"招标文件 第 {e['payload']['edition']} 版", f"documents, edition {e['payload']['edition']}"),
                             cst(e["ledger_time"], False), e["payload"]["document_hash"], "—"])
            elif e["type"] == "project.clarification-issued/v1":
                p = e["payload"]
                note = t("影响投标文件编制", "affects bids") if p["affects_bids"] else t("不影响投标", "does not affect bids")
                if "bid_deadline" in p:
                    note += t(f"；截止时间调整为 {cst(p['bid_deadline'], False)}", f"; deadline now {cst(p['bid_deadline'], False)}")
                rows.append([t("澄清或修改", "clarification"), cst(e["ledger_time"], False), p["document_hash"], note])
        return Section(t("招标文件与澄清", "Documents and clarifications"), [Table([
            Column(t("文件", "Document"), 18), Column(t("发出时间", "Issued"), 17, "nowrap"),
            Column(t("文件哈希（SHA-256）", "Hash (SHA-256)"), 45, "hash"), Column(t("说明", "Note"), 20)],
            rows) if rows else Para(t("无", "none"), "none")])

    def bids(self) -> Section:
        t, s = self.t, self.state
        submitted = {e["payload"]["bidder"]: e for e in self.by_step.get("bid-submitted", [])}
        obtained = {e["payload"]["bidder"]: e for e in self.by_step.get("documents-obtained", [])}
        posted = {e["payload"]["bidder"]: e for e in self.by_step.get("security-posted", [])}
        refunded = {e["payload"]["bidder"]: e for e in self.by_step.get("security-refunded", [])}
        withdrawn = {e["payload"]["bidder"] for e in self.by_step.get("bid-withdrawn", [])}
        bidders = sorted(set(obtained) | set(submitted) | set(posted))
        late = [r for r in self.refusals if r["payload"]["rule"] == "late-bid"]
        summary = t(
            f"获取招标文件 {len(obtained)} 家；递交投标文件 {len(submitted)} 家"
            + (f"（撤回 {len(withdrawn)} 家）" if withdrawn else "")
            + (f"；逾期递交被拒收 {len(late)} 次（见“拒收与拒绝记录”）" if late else "")
            + f"；开标签到 {len(s.checked_in)} 家；解密成功 {len(s.prices)} 家，解密失败 {len(s.failed_decryption)} 家。",
            f"{len(obtained)} obtained the documents; {len(submitted)} submitted bids"
            + (f" ({len(withdrawn)} withdrawn)" if withdrawn else "")
            + (f"; {len(late)} late submission(s) refused (see refusals)" if late else "")
            + f"; {len(s.checked_in)} checked in; {len(s.prices)} decrypted, {len(s.failed_decryption)} failed.")
        security = []
        for b in bidders:
            post = posted.get(b)
            security.append([self.who(b), cst(obtained[b]["ledger_time"], False) if b in obtained else "—",
                             money(post["payload"]["amount"]) if post else "—",
                             self.w(v.SECURITY_FORMS, post["payload"]["form"]) if post else "—",
                             cst(refunded[b]["ledger_time"], False) if b in refunded else "—"])
        opening = []
        for b in bidders:
            bid = submitted.get(b)
            if b in s.prices:
                result = t("解密成功", "decrypted")
            elif b in s.failed_decryption:
                result = t("解密失败：", "failed: ") + self.w(v.CAUSES, s.failed_decryption[b])
            else:
                result = t("已撤回", "withdrawn") if b in withdrawn else "—"
            opening.append([b, cst(bid["ledger_time"]) if bid else "—", self.yes(b in s.checked_in), result,
                            money(s.prices.get(b))])
        sealed = [[b, submitted[b]["payload"]["bid_hash"],
                   ", ".join(self.names.get(b, {}).get("certificates", [])) or "—"]
                  for b in bidders if b in submitted]
        sealed_block = Table(
            [Column(t("投标人", "Bidder"), 21),
             Column(t("密封投标哈希（SHA-256）", "Sealed bid hash (SHA-256)"), 54, "hash"),
             Column(t("CA 证书序列号", "CA certificate serial"), 25, "hash")], sealed,
            t("密封投标文件与数字证书", "Sealed bids and certificates"))
        if len(sealed) > SEALED_LISTED:  # read by a machine, not by eye: the evidence holds them
            sealed_block = Para(t(
                f"密封投标文件哈希与数字证书共 {len(sealed)} 项，超过 {SEALED_LISTED} 项不逐行印出；"
                "逐项见所附证据（sunledger-evidence.json），核验报告时逐一复算。",
                f"The {len(sealed)} sealed bid hashes and certificates (more than {SEALED_LISTED}) "
                "are not printed row by row; the attached evidence (sunledger-evidence.json) holds "
                "each, and checking the report recomputes every one."), "note")
        blocks = [Para(summary), Table([
            Column(t("投标人", "Bidder"), 38), Column(t("获取文件", "Documents"), 17, "nowrap"),
            Column(t("保证金（元）", "Security (yuan)"), 16, "num"), Column(t("形式", "Form"), 10),
            Column(t("退还时间", "Refunded"), 19, "nowrap")], security, t("投标人与投标保证金", "Bidders and security")),
            Table([Column(t("投标人", "Bidder"), 22), Column(t("递交时间", "Submitted"), 20, "nowrap"),
                   Column(t("签到", "Checked in"), 8), Column(t("解密结果", "Decryption"), 27),
                   Column(t("开标报价（元）", "Price (yuan)"), 23, "num")], opening,
                  t("递交与开标记录", "Submissions and the opening")), sealed_block]
        return Section(t("投标与开标", "Bids and the opening"), blocks)

    def refused(self) -> Section:
        t = self.t
        rows = []
        for r in self.refusals:
            p = r["payload"]
            action = p["action"]
            step = action["type"].split(".", 1)[1].split("/", 1)[0]
            what = self.w(v.STEPS, step)
            why = self.w(v.REFUSED_RULES, p["rule"]) if self.zh and p["rule"] in v.REFUSED_RULES else p["message"]
            rows.append([cst(r["ledger_time"]), self.who(action["actor"], short=True), what,
                         f"{why}（{p['article']}）" if self.zh else f"{why} ({p['article']})", r["hash"]])
        note = Para(t("被规则拒绝的操作同样是证据：账本连同操作主体签名的原始操作一并记录，签名可在所附证据中复核。",
                      "Refused actions are evidence too: the ledger records each with the actor's own "
                      "signed action, which the attached evidence lets anyone check."), "note")
        return Section(t("拒收与拒绝记录", "Refused actions"), [note, Table([
            Column(t("账本时间", "Ledger time"), 18, "nowrap"), Column(t("操作主体", "Actor"), 13),
            Column(t("被拒绝的操作", "Action"), 15), Column(t("规则与依据", "Rule and article"), 26),
            Column(t("记录哈希", "Record hash"), 28, "hash")], rows) if rows else Para(t("无", "none"), "none")])

    def committee(self) -> Section:
        t, s, rules = self.t, self.state, self.procedure.rules
        blocks: list = []
        if not s.committee:
            return Section(t("评标委员会", "Evaluation committee"), [Para(t("尚未组建", "not formed yet"), "none")])
        size_rule = rules["panel-size-procurement" if s.kind == "procurement" else "committee-size"]
        size = len(s.committee)
        quotas = s.draw.get("quotas", {})
        composition = "、".join(f"{self.w(v.EXPERT_CATEGORIES, k)} {n} 人" for k, n in sorted(quotas.items())) if self.zh \
            else ", ".join(f"{self.w(v.EXPERT_CATEGORIES, k)} {n}" for k, n in sorted(quotas.items()))
        size_ok = size >= size_rule.value and size % 2 == 1
        prepared, drawn = self.first("draw-prepared"), self.first("experts-drawn")
        lines = [
            (t("人数与构成", "Size and composition"),
             t(f"{size} 人（{composition}）；不少于 {size_rule.value} 人且为单数：{'符合' if size_ok else '不符合'}"
               f"（{size_rule.article}）；全部成员由随机抽取产生，专家占比不低于三分之二：符合（{rules['expert-share'].article}）",
               f"{size} ({composition}); {size_rule.value} or more and odd: {'met' if size_ok else 'NOT met'} "
               f"({size_rule.article}); every member drawn at random, so at least two thirds are experts: met "
               f"({rules['expert-share'].article})")),
            (t("抽取承诺", "Draw committed"), (cst(prepared["ledger_time"]) + t("，早于投标截止", ", before the bid deadline")
                                            if prepared else "—")),
            (t("种子承诺（SHA-256）", "Seed commitment (SHA-256)"), s.draw.get("secret_commitment", "—")),
            (t("抽取时间", "Drawn at"), cst(drawn["ledger_time"]) if drawn else "—"),
            (t("抽取输入", "Draw inputs"), t("专家库与回避名单以哈希记录；定标后已公开并复算一致",
                                            "pool and exclusions recorded by hash; disclosed after the award "
                                            "and replayed to the same committee")
             if s.draw.get("disclosed") else t("专家库与回避名单以哈希记录，定标后公开", "pool and exclusions "
                                                "recorded by hash, disclosed after the award")),
        ]
        blocks.append(Pairs(lines))
        if not self.awarded:
            blocks.append(Para(t("定标前评标委员会成员名单保密（法 §37、条例 §46），以席位号表示。",
                                 "Until the award the members' names are confidential (法 §37; 条例 §46): "
                                 "they appear by place."), "note"))
        members = [[str(place), self.who(m) if self.awarded else t(f"第 {place} 号评委", f"member {place}"),
                    self.yes(m in s.report_signed)] for place, m in enumerate(s.committee, 1)]
        blocks.append(Table([Column(t("席位", "Place"), 10), Column(t("评委", "Member"), 70),
                             Column(t("评标报告签字", "Signed the report"), 20)], members))
        recusals = []
        for e in self.by_step.get("expert-replaced", []):
            recused = e["payload"]["recused"]
            place = str(s.drawn.index(recused) + 1) if recused in s.drawn else "?"
            recusals.append([cst(e["ledger_time"]), place, e["payload"]["ground"]])
        blocks.append(Table([Column(t("回避时间", "Recused at"), 22, "nowrap"), Column(t("原席位", "Place"), 12),
                             Column(t("回避事由（补抽同类别下一顺位专家）", "Ground (replaced by the next-ranked expert of the category)"), 66)],
                            recusals, t("回避与补抽", "Recusals")) if recusals
                      else Para(t("无专家回避。", "No expert recused."), "none"))
        return Section(t("评标委员会", "Evaluation committee"), blocks)

    def evaluation(self) -> Section:
        t, s = self.t, self.state
        scores: dict[str, list[Decimal]] = {}
        for (_, bidder), value in s.scores.items():
            scores.setdefault(bidder, []).append(value)
        columns = [Column(t("排名", "Rank"), 10), Column(t("中标候选人", "Candidate"), 50),
                   Column(t("报价（元）", "Price (yuan)"), 22, "num")]
        rows: list[list[str] | str] = []
        for rank, b in enumerate(s.ranking, 1):
            row = [str(rank), self.who(b), money(s.prices.get(b))]
            if scores:
                row.append(str((sum(scores[b]) / len(scores[b])).quantize(Decimal("0.01"))) if b in scores else "—")
            rows.append(row)
        if scores:
            columns.append(Column(t("平均得分", "Mean score"), 18, "num"))
        else:
            columns[1].width = 68
        blocks: list = [Table(columns, rows, t("评标报告推荐的中标候选人", "Candidates the report ranks"))
                        if rows else Para(t("尚无评标报告", "no evaluation report yet"), "none")]
        rejected = [[self.who(b), self.w(v.GROUNDS, g)] for b, g in sorted(s.rejected.items())]
        blocks.append(Table([Column(t("被否决的投标", "Rejected bid"), 45),
                             Column(t("否决依据（条例 §51）", "Ground (条例 §51)"), 55)], rejected) if rejected
                      else Para(t("无被否决的投标。", "No bid was rejected."), "none"))
        if s.report_hash:
            signed = len(s.report_signed & set(s.committee))
            blocks.append(Para(t(f"评标报告（SHA-256 {s.report_hash}）已由 {signed}/{len(s.committee)} 名成员签字。",
                                 f"The evaluation report (SHA-256 {s.report_hash}) is signed by {signed} of "
                                 f"{len(s.committee)} members.")))
        dissent = [[self.who(e["actor"]) if self.awarded else t("评委", "a member"), e["payload"]["dissent"]]
                   for step in ("evaluation-reported", "evaluation-report-signed")
                   for e in self.by_step.get(step, []) if e["payload"].get("dissent")]
        blocks.append(Table([Column(t("持不同意见的评委", "Dissenting member"), 30),
                             Column(t("书面意见", "Dissent"), 70)], dissent) if dissent
                      else Para(t("无书面不同意见。", "No written dissent."), "none"))
        return Section(t("评标结果", "Evaluation"), blocks)

    def disputes(self) -> Section:
        t, s = self.t, self.state
        what = {"objection-raised": (t("对招标文件的异议", "objection to the documents"), "text_hash"),
                "objection-answered": (t("异议答复", "answer to the objection"), "answer_hash"),
                "publicity-objection-raised": (t("公示期异议", "objection to the candidates"), "text_hash"),
                "complaint-filed": (t("投诉", "complaint"), "text_hash"),
                "complaint-accepted": (t("投诉受理", "complaint accepted"), None),
                "complaint-decided": (t("投诉处理决定", "complaint decided"), "text_hash")}
        rows = []
        for e in self.events:
            step = step_of(e)
            if step in what:
                name, document = what[step]
                outcome = (self.w(v.DECISIONS, e["payload"]["decision"]) if "decision" in e["payload"]
                           else t("已答复", "answered") if step == "objection-answered"
                           else t("已受理", "accepted") if step == "complaint-accepted" else "—")
                rows.append([str(e["version"]), cst(e["ledger_time"], False), name, self.who(e["actor"]),
                             outcome, e["payload"][document] if document else "—"])
        blocks: list = []
        if s.published_at is not None:
            blocks.append(Para(t(f"中标候选人于 {cst(s.published_at, False)} 公示，公示期至 {cst(s.publicity_until, False)}。",
                                 f"The candidates were published at {cst(s.published_at, False)}, until "
                                 f"{cst(s.publicity_until, False)}.")))
        blocks.append(Table([Column("v", 6), Column(t("时间", "Time"), 16, "nowrap"), Column(t("事项", "What"), 17),
                             Column(t("提出或处理方", "By"), 23), Column(t("结果", "Outcome"), 10),
                             Column(t("文书哈希", "Document hash"), 28, "hash")], rows) if rows
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
            (t("定标时间", "Awarded at"), cst(awarded["ledger_time"]) if awarded else "—"),
            (t("合同签订时间", "Contract signed"), cst(contract["ledger_time"]) if contract else "—"),
            (t("保证金退还", "Security refunds"),
             t(f"应退 {len(owed)} 家，已退 {len(refunded & owed)} 家", f"{len(refunded & owed)} of {len(owed)} owed refunded")
             + (t(f"；不予退还 {len(kept)} 家（解密失败，投标人原因）", f"; {len(kept)} kept (decryption failed by the bidder)")
                if kept else "")),
            (t("项目状态", "Stage"), self.w(v.STAGES, s.stage)),
        ])])

    def warnings(self) -> Section:
        t = self.t
        watch = CollusionWatch()
        for e in self.events:
            watch.apply(e, e["version"])  # a warning's events are named by version
        rows = []
        for w in watch.warnings(self.evidence["project"]):
            article = w.article.replace(" (signal)", t("（监测信号）", " (signal)"))
            rows.append([self.w(v.INDICATORS, w.indicator), article, "、".join(w.bidders) if self.zh else ", ".join(w.bidders),
                         ", ".join(money(x) if is_money(x) else x for x in w.detail.split(", ")) or "—",
                         versions(w.events, self.zh)])
        blocks: list = [Para(t("依据事件自动计算的围标串标监测信号，供行政监督部门参考，不构成认定。",
                               "Computable signals of collusion, from the events; they inform the supervision "
                               "body and decide nothing."), "note")]
        blocks.append(Table([Column(t("预警信号", "Indicator"), 21), Column(t("依据", "Article"), 14),
                             Column(t("涉及投标人", "Bidders"), 20), Column(t("数据", "Figures"), 25),
                             Column(t("触发事件", "Events"), 20)], rows) if rows
                      else Para(t("未发现围标串标预警信号。", "No collusion indicator fired."), "none"))
        return Section(t("围标串标预警", "Collusion warnings"), blocks)

    def observations(self) -> Section:
        t = self.t
        rows = [[cst(e["ledger_time"], False), self.who(e["actor"]), e["payload"]["note"],
                 e["payload"].get("media_hash", "—")] for e in self.by_step.get("witness-observation", [])]
        return Section(t("见证记录", "Witness observations"), [Table([
            Column(t("时间", "Time"), 15, "nowrap"), Column(t("见证人员", "Officer"), 20),
            Column(t("见证情况", "Observation"), 37), Column(t("音视频记录哈希", "Recorded media (hash)"), 28, "hash")],
            rows) if rows else Para(t("无", "none"), "none")])

    def integrity(self) -> Section:
        t, proof, last = self.t, self.evidence["completeness"], self.events[-1]
        body, _, signatures = proof["checkpoint"].partition("\n\n")
        origin, size, root = body.splitlines()[:3]
        cosigners = [line.split(" ")[1] for line in signatures.splitlines()[1:]]
        pairs = [
            (t("事件范围", "Events"), f"{self.evidence['project']} v1–v{last['version']}"),
            (t("项目链头", "Stream head"), last["hash"]),
        ]
        if self.refusals:
            pairs.append((t("拒绝记录链头", "Refusals head"),
                          f"{self.evidence['refusals']['stream']} v{self.refusals[-1]['version']} {self.refusals[-1]['hash']}"))
        pairs += [
            (t("检查点", "Checkpoint"), f"{origin} · {t('树大小', 'size')} {size} · {t('根', 'root')} {root}"),
            (t("检查点签名", "Signed by"), "、".join([origin] + cosigners) if self.zh else ", ".join([origin] + cosigners)),
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
            (t("证据附件", "Evidence attached"), f"sunledger-evidence.json · SHA-256 {evidence_digest(self.evidence)}"),
            (t("自行核验", "Check it yourself"), "sunledger verify-report <PDF> --log-key <" + t("日志公钥", "log key") + ">"),
        ]
        return Section(t("完整性与验证", "Integrity and verification"), [Pairs(pairs, hashes=True)])

    def sections(self) -> list[Section]:
        parts = [self.identity, self.timeline, self.periods, self.documents, self.bids, self.refused]
        if self.kind in ("evaluation", "full"):
            parts += [self.committee, self.evaluation]
        if self.kind == "full":
            parts += [self.disputes, self.outcome]
        parts += [self.warnings, self.observations, self.integrity]
        built = [part() for part in parts]
        for n, section in enumerate(built, 1):
            section.title = numbered(n, section.title, self.zh)
        return built


def build(evidence: dict, software: str = "Sunledger") -> ReportModel:
    """The report of the evidence (its kind, its language). The evidence is checked first: a
    report is only made of evidence that holds (every event, link and proof)."""
    log = parse_verifier_key(evidence["log_key"])
    events = check_completeness(evidence["completeness"], log)
    refusals = check_completeness(evidence["refusals"], log) if evidence.get("refusals") else []
    builder = _Builder(evidence, events, refusals, software)
    zh, kind = builder.zh, evidence["kind"]
    rid = report_id(evidence)
    return ReportModel(
        kind=kind, lang=evidence.get("lang", "zh"), title=TITLES[kind][0 if zh else 1], report_id=rid,
        project=evidence["project"], subtitle=builder.intake["title"], sections=builder.sections(),
        statement=STATEMENT["zh" if zh else "en"],
        qr_payload=json.dumps({"report": rid, "project": evidence["project"],
                               "evidence_sha256": evidence_digest(evidence)}, separators=(",", ":")),
        qr_caption=builder.t("扫码获取报告编号与证据哈希", "report id and evidence hash"))
