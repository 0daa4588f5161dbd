"""What a witness report says, as plain data: a pure function of its evidence (evidence.py).
The template (templates/report.html) only lays it out.

Names of the evaluation committee stay confidential until the award (法 §37; 条例 §46): before
it, members appear by their place on the committee only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from ledger.canonical import canonical_json, parse_time
from ledger.notes import parse_verifier_key
from ledger.proofs import check_completeness
from projections.project_state import replay
from projections.warnings import CollusionWatch

CST = timezone(timedelta(hours=8))
STATEMENT = {
    "zh": "见证人员对交易过程进行记录和见证，不代替交易主体和评标委员会作出决定。本报告依据账本记录自动生成，"
          "可由任何人依据所附证据独立复核。",
    "en": "The witness records and refers; the witness does not decide for the parties or the "
          "evaluation committee. This report was generated from the ledger's record and can be "
          "checked by anyone from the evidence attached to it.",
}
TITLES = {"opening": ("开标见证报告", "Opening witness report"),
          "evaluation": ("评标见证报告", "Evaluation witness report"),
          "full": ("全过程数字见证报告", "Full-process digital witness report")}
STEP_NAMES = {
    "intake": ("项目登记", "intake"), "intake-accepted": ("登记受理", "intake accepted"),
    "intake-refused": ("不予受理", "intake refused"), "announced": ("发布公告", "announced"),
    "documents-issued": ("发出招标文件", "documents issued"),
    "documents-obtained": ("获取招标文件", "documents obtained"),
    "clarification-issued": ("澄清或修改", "clarification"),
    "objection-raised": ("提出异议", "objection raised"),
    "objection-answered": ("异议答复", "objection answered"),
    "security-posted": ("递交保证金", "security posted"),
    "bid-submitted": ("递交投标文件", "bid submitted"), "bid-withdrawn": ("撤回投标", "bid withdrawn"),
    "submission-closed": ("投标截止", "submission closed"), "checked-in": ("开标签到", "checked in"),
    "key-released": ("投标人解密", "key released"), "bid-decrypted": ("解密成功", "bid decrypted"),
    "decryption-failed": ("解密失败", "decryption failed"),
    "draw-prepared": ("专家抽取准备", "draw prepared"), "experts-drawn": ("抽取评标专家", "experts drawn"),
    "draw-disclosed": ("抽取结果公开", "draw disclosed"), "expert-replaced": ("专家回避补抽", "expert replaced"),
    "score-submitted": ("专家评分", "score"), "bid-rejected": ("否决投标", "bid rejected"),
    "evaluation-reported": ("评标报告", "evaluation report"),
    "evaluation-report-signed": ("评标报告签字", "report signed"),
    "candidates-published": ("候选人公示", "candidates published"),
    "publicity-objection-raised": ("公示期异议", "objection to candidates"),
    "complaint-filed": ("投诉", "complaint filed"), "complaint-accepted": ("投诉受理", "complaint accepted"),
    "complaint-decided": ("投诉处理决定", "complaint decided"), "awarded": ("定标", "awarded"),
    "contract-signed": ("签订合同", "contract signed"),
    "security-refunded": ("退还保证金", "security refunded"), "terminated": ("终止", "terminated"),
    "archived": ("归档", "archived"),
}
RULE_NAMES = {  # the rules a report's deadline table shows, by id (ledger/rules.py)
    "objection-answer": ("异议答复（3日内）", "objection answered"),
    "publicity-start": ("公示候选人（3日内）", "candidates published"),
    "publicity-objection-answer": ("公示期异议答复", "objection to candidates answered"),
    "complaint-acceptance": ("投诉受理（3个工作日）", "complaint accepted"),
    "complaint-decision": ("投诉处理（30个工作日）", "complaint decided"),
    "contract": ("签订合同（30日内）", "contract signed"),
    "report-to-supervision": ("向监督部门提交报告（15日内）", "report to the supervision body"),
    "security-refund": ("退还投标保证金（合同签订后5日内）", "security refunded"),
    "security-refund-procurement": ("退还保证金（中标通知后5个工作日）", "security refunded"),
    "withdrawal-refund": ("退还保证金（5日内）", "security refunded"),
}
STAGES_FOR = {"opening": ("opened", "reported", "publicity", "awarded", "contracted", "archived"),
              "evaluation": ("reported", "publicity", "awarded", "contracted", "archived"),
              "full": ("contracted", "archived", "terminated", "failed")}


def cst(value: str | datetime | None) -> str:
    if value is None:
        return "—"
    instant = parse_time(value) if isinstance(value, str) else value
    return instant.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class ReportModel:
    kind: str
    lang: str
    title: str
    report_id: str
    project: str
    identity: list[tuple[str, str]]
    timeline: list[dict] = field(default_factory=list)
    deadlines: list[dict] = field(default_factory=list)
    documents: list[dict] = field(default_factory=list)
    bidders: list[dict] = field(default_factory=list)
    committee: list[dict] = field(default_factory=list)
    committee_note: str = ""
    evaluation: list[dict] = field(default_factory=list)
    recusals: list[dict] = field(default_factory=list)
    rejections: list[dict] = field(default_factory=list)
    dissent: list[dict] = field(default_factory=list)
    disputes: list[dict] = field(default_factory=list)
    observations: list[dict] = field(default_factory=list)
    outcome: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    integrity: list[tuple[str, str]] = field(default_factory=list)
    statement: str = ""
    qr_payload: str = ""


def report_id(evidence: dict) -> str:
    events = evidence["completeness"]["events"]
    last = json.loads(events[-1])["version"]
    return f"{evidence['project'].split(':', 1)[1]}-{evidence['kind']}-v{last}"


def evidence_digest(evidence: dict) -> str:
    return hashlib.sha256(canonical_json(evidence)).hexdigest()


def build(evidence: dict) -> ReportModel:
    """The report of the evidence (its kind, its language)."""
    zh = evidence["lang"] == "zh"
    t = (lambda a, b: a if zh else b)  # noqa: E731
    proof = evidence["completeness"]
    # a report is only made of evidence that holds: every event, link and proof checked
    events = check_completeness(proof, parse_verifier_key(evidence["log_key"]))
    state, transitions = replay(events, steps=False)
    names = evidence["actors"]
    who = lambda a: (f"{names[a]['organisation']}（{a}）" if zh else f"{names[a]['organisation']} ({a})") \
        if a in names else a  # noqa: E731
    intake = events[0]["payload"]
    kind = evidence["kind"]
    awarded = state.winner is not None
    model = ReportModel(
        kind=kind, lang=evidence["lang"], title=TITLES[kind][0 if zh else 1],
        report_id=report_id(evidence), project=evidence["project"],
        identity=[
            (t("报告编号", "Report number"), report_id(evidence)),
            (t("项目", "Project"), f"{intake['title']}（{evidence['project']}）"),
            (t("标段", "Section"), intake.get("section", "—")),
            (t("类别", "Category"), intake["category"]),
            (t("招标人", "Tenderee"), who(intake["tenderee"])),
            (t("代理机构", "Agent"), who(intake["agent"]) if intake.get("agent") else "—"),
            (t("行政监督部门", "Supervision body"), intake.get("supervisor", "—")),
            (t("评标办法", "Evaluation method"), state.method),
            (t("见证人员", "Witness officers"), ", ".join(sorted(
                {who(e["actor"]) for e in events if e["type"] == "project.report-signed-off/v1"}))
             or t("（签认后列出）", "(listed once they sign off)")),
            (t("最高投标限价", "Control price"),
             f"{state.estimated_price} 元" if state.estimated_price else "—"),
            (t("生成时间（账本时间）", "Generated at (ledger time)"), cst(events[-1]["ledger_time"])),
            (t("软件", "Software"), "Sunledger 0.1.0"),
        ])
    members = set(state.drawn) | set(state.committee)
    # a bid replaced before the deadline is superseded: the timeline shows each bidder's last
    # submission with how many there were (the attached evidence holds every one)
    submissions: dict[str, list[dict]] = {}
    for e in events:
        if e["type"] == "project.bid-submitted/v1":
            submissions.setdefault(e["payload"]["bidder"], []).append(e)
    superseded = {id(e) for runs in submissions.values() for e in runs[:-1]}
    for e in events:
        if id(e) in superseded:
            continue
        step = e["type"].split(".", 1)[1].split("/", 1)[0]
        actor = e["actor"] if awarded or e["actor"] not in members else t("评标委员会成员",
                                                                          "committee member")
        label = STEP_NAMES.get(step, (step, step))[0 if zh else 1]
        count = len(submissions.get(e["payload"].get("bidder", ""), ())) \
            if e["type"] == "project.bid-submitted/v1" else 1
        if count > 1:
            label += t(f"（共{count}次，以此为准）", f" (last of {count})")
        model.timeline.append({"version": e["version"], "time": cst(e["ledger_time"]),
                               "step": label, "actor": actor, "hash": e["hash"]})
    # the periods that bind the asking side, planned and actual (the rules refused anything
    # outside them, so each was met)
    announced = next((e for e in events if e["type"] == "project.announced/v1"), None)
    if announced is not None and state.bid_deadline is not None:
        p_ = announced["payload"]
        days = (parse_time(p_["bid_deadline"]).astimezone(CST).date()
                - parse_time(p_["documents_from"]).astimezone(CST).date()).days
        model.deadlines.append({"rule": t(f"投标准备时间（不少于20日，实际{days}日）",
                                          f"preparation time (≥ 20 days; {days})"),
                                "article": "法 §24", "due": cst(state.bid_deadline),
                                "met": cst(p_["documents_from"]), "kept": t("是", "yes")})
        model.deadlines.append({"rule": t("招标文件发售期（不少于5日）", "documents available (≥ 5 days)"),
                                "article": "条例 §16", "due": cst(p_["documents_until"]),
                                "met": cst(p_["documents_from"]), "kept": t("是", "yes")})
    if state.published_at is not None and state.publicity_until is not None:
        model.deadlines.append({"rule": t("中标候选人公示（不少于3日）", "candidate publicity (≥ 3 days)"),
                                "article": "条例 §54", "due": cst(state.publicity_until),
                                "met": cst(state.published_at), "kept": t("是", "yes")})
    for d in state.deadlines:
        rule, _, subject = d.rule.partition(":")
        name = RULE_NAMES.get(rule, (rule, rule))[0 if zh else 1]
        model.deadlines.append({"rule": f"{name} {subject}".strip(), "article": d.article,
                                "due": cst(d.due),
                                "met": cst(d.met) if d.met else "—",
                                "kept": {True: t("是", "yes"), False: t("否", "no"),
                                         None: t("未到", "open")}[d.kept]})
    model.documents = [{"edition": ed, "hash": h} for ed, h in state.documents]
    submitted = {e["payload"]["bidder"]: e for e in events if e["type"] == "project.bid-submitted/v1"}
    refunded = {e["payload"]["bidder"]: e for e in events if e["type"] == "project.security-refunded/v1"}
    for bidder in sorted(set(state.obtained) | set(submitted) | set(state.security)):
        bid = submitted.get(bidder)
        model.bidders.append({
            "bidder": who(bidder), "obtained": t("是", "yes") if bidder in state.obtained else "—",
            "submitted": cst(bid["ledger_time"]) if bid else "—",
            "checked_in": t("是", "yes") if bidder in state.checked_in else "—",
            "certificate": ", ".join(names.get(bidder, {}).get("certificates", [])) or "—",
            "bid_hash": bid["payload"]["bid_hash"] if bid else "—",
            "security": str(state.security.get(bidder, "—")),
            "opening": (str(state.prices[bidder]) if bidder in state.prices else
                        t(f"解密失败（{'投标人原因' if state.failed_decryption[bidder] == 'bidder' else '非投标人原因'}）",
                          f"decryption failed ({state.failed_decryption[bidder]})")
                        if bidder in state.failed_decryption else "—"),
            "refund": cst(refunded[bidder]["ledger_time"]) if bidder in refunded else "—"})
    if kind in ("evaluation", "full") and state.committee:
        for place, member in enumerate(state.committee, 1):
            model.committee.append({"place": place, "member": who(member) if awarded
                                    else t(f"第{place}号评委", f"member {place}"),
                                    "signed": t("是", "yes") if member in state.report_signed else "—"})
        model.committee_note = t(
            f"委员会 {len(state.committee)} 人；抽取输入以哈希记录（种子承诺 {state.draw.get('secret_commitment', '—')}）；"
            + ("已公开并复算一致。" if state.draw.get("disclosed") else "定标前专家姓名保密。"),
            f"{len(state.committee)} members; the draw's inputs recorded by hash (seed commitment "
            f"{state.draw.get('secret_commitment', '—')}); "
            + ("disclosed and replayed." if state.draw.get("disclosed") else
               "names confidential until the award."))
        drawn_at = next((e for e in events if e["type"] == "project.experts-drawn/v1"), None)
        if drawn_at is not None:
            quotas = state.draw.get("quotas", {})
            model.committee_note += t(
                f" 抽取时间 {cst(drawn_at['ledger_time'])}；构成 "
                + "、".join(f"{k} {v} 人" for k, v in sorted(quotas.items())) + "（不少于5人且为单数，专家占三分之二以上）。",
                f" Drawn at {cst(drawn_at['ledger_time'])}; composition "
                + ", ".join(f"{k} {v}" for k, v in sorted(quotas.items())) + " (5 or more, odd, at least two thirds experts).")
        for e in events:
            if e["type"] == "project.expert-replaced/v1":
                place = state.drawn.index(e["payload"]["recused"]) + 1 if e["payload"]["recused"] in state.drawn else "?"
                model.recusals.append({"time": cst(e["ledger_time"]), "place": place,
                                       "ground": e["payload"]["ground"]})
        scores: dict[str, list[Decimal]] = {}
        for (_, bidder), value in state.scores.items():
            scores.setdefault(bidder, []).append(value)
        model.evaluation = [{"rank": i, "bidder": who(b), "price": str(state.prices.get(b, "—")),
                             "score": (str((sum(scores[b]) / len(scores[b])).quantize(Decimal("0.01")))
                                       if b in scores else "—")}
                            for i, b in enumerate(state.ranking, 1)]
        model.rejections = [{"bidder": who(b), "ground": ground} for b, ground in sorted(state.rejected.items())]
        model.dissent = [{"member": who(e["actor"]) if awarded else t("评委", "a member"),
                          "text": e["payload"]["dissent"]} for e in events
                         if e["type"] in ("project.evaluation-reported/v1",
                                          "project.evaluation-report-signed/v1")
                         and e["payload"].get("dissent")]
    model.observations = [{"time": cst(e["ledger_time"]), "by": who(e["actor"]),
                           "note": e["payload"]["note"], "media": e["payload"].get("media_hash", "—")}
                          for e in events if e["type"] == "project.witness-observation/v1"]
    disputes = {"project.objection-raised/v1": t("对招标文件的异议", "objection to the documents"),
                "project.objection-answered/v1": t("异议答复", "answer to an objection"),
                "project.publicity-objection-raised/v1": t("公示期异议", "objection to the candidates"),
                "project.complaint-filed/v1": t("投诉", "complaint"),
                "project.complaint-accepted/v1": t("投诉受理", "complaint accepted"),
                "project.complaint-decided/v1": t("投诉处理决定", "complaint decided")}
    model.disputes = [{"version": e["version"], "time": cst(e["ledger_time"]), "what": disputes[e["type"]],
                       "by": who(e["actor"]), "detail": e["payload"].get("decision", "")}
                      for e in events if e["type"] in disputes]
    if kind == "full":
        rate = state.savings_rate()
        model.outcome = [
            (t("中标人", "Winner"), who(state.winner) if state.winner else "—"),
            (t("中标价", "Award price"), f"{state.award_price} 元" if state.award_price is not None else "—"),
            (t("节资率", "Savings rate"), f"{(rate * 100).quantize(Decimal('0.01'))}%" if rate is not None else "—"),
            (t("项目状态", "Stage"), state.stage),
        ]
        watch = CollusionWatch()
        for n, e in enumerate(events):
            watch.apply(e, n + 1)
        model.warnings = [{"indicator": w.indicator, "article": w.article, "text": w.text,
                           "bidders": ", ".join(w.bidders)}
                          for w in watch.warnings(evidence["project"])]
    checkpoint_text = proof["checkpoint"].split("\n\n")[0]
    cosigners = [line.split(" ")[1] for line in proof["checkpoint"].split("\n\n", 1)[1].splitlines()[1:]]
    model.integrity = [
        (t("事件范围", "Events"), f"v1–v{events[-1]['version']}"),
        (t("项目链头", "Stream head"), events[-1]["hash"]),
        (t("检查点", "Checkpoint"), checkpoint_text.replace("\n", " · ")),
        (t("见证签名", "Cosigned by"), ", ".join(cosigners) or "—"),
        (t("完整性证明", "Completeness"), t("所附证据证明上列事件为本项目截至该检查点的全部事件",
                                          "the attached evidence proves these are every event of the "
                                          "project up to that checkpoint")),
        (t("验证结果", "Verification"), t(
            f"通过：{len(events)} 个事件逐一重算哈希、核对链接并在检查点下证明完整（生成时核验）",
            f"holds: {len(events)} events rehashed, linked and proved complete under the "
            "checkpoint (checked when generated)")),
        (t("日志公钥", "Log key"), evidence["log_key"]),
    ]
    model.statement = STATEMENT[evidence["lang"]]
    model.qr_payload = json.dumps({"report": model.report_id, "project": evidence["project"],
                                   "evidence_sha256": evidence_digest(evidence)},
                                  separators=(",", ":"))
    return model
