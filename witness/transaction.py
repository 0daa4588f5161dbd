"""The transaction witness report (交易见证报告) of a rights transaction sold by listing (挂牌)
or online auction (网上竞价), 39号令: what model.py's report says of a tender, said of a lot.

Its sections: the project and the listing's terms; the timeline; the legal periods (the
announcement before the listing, the listing's length, the registration deadline, the
reserve sealed before bidding, the timed round's end, then the tracked refunds and the
result's publication); the bidders and their deposits; the reserve price, its commitment and
its reveal checked again here; every quote accepted, in the ledger's order; the timed round's
countdowns; the refused actions; the outcome, worked out again from the quotes and the
reserve (39号令 §19) and set beside the one recorded; warnings; the witness record; sign-off;
integrity. Like every report, a pure function of its evidence.

Who quoted is named: a report carries the events whole, and is given only to whoever may see
every one of them whole (api/http/reports.py), never to the public (docs/visibility.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ledger.evidence.canonical import parse_money, parse_time
from ledger.procedures.listing import highest, outcome, reveal_holds
from projections.quote_ladder import countdowns
from projections.statistics import premium_rate
from witness import vocabulary as v
from witness.model import (
    Column, Pairs, Para, ReportModel, Section, Table, _Builder, build as build_report, grouped,
    cst, money, numbered, report_id, TITLES,
)

KIND = "transaction"
QUOTES_LISTED_AT_MOST = 2000  # a ladder longer than this prints its last quotes (the race
#   that decided it); the attached evidence holds every one and checking recomputes each
ROLES: v.Words = {**v.ROLES, "tenderee": ("出让人", "seller"), "bidder": ("竞买人", "bidder")}
STEPS = v.LISTING_STEPS
STATEMENT = {
    "zh": "见证人员对交易过程进行记录和见证，不代替交易主体作出决定。本报告依据账本记录自动生成，"
          "所附证据可由任何人独立复核；预警信息供行政监督部门参考，不构成认定。",
    "en": "The witness records and refers; the witness does not decide for the parties. This "
          "report was generated from the ledger's record, and anyone can check the evidence "
          "attached to it. Warnings inform the supervision body; they decide nothing.",
}
# the timeline's headings, a listing's way (vocabulary.PHASES: intake, listing, …, the end)
PHASE_NAMES = {0: ("项目登记", "Intake"), 5: ("成交与结果", "Outcome and result")}


def premium(price: Decimal, starting: Decimal) -> Decimal:
    """The premium over the starting price (溢价率), in percent, two decimals."""
    return (premium_rate(price, starting) * 100).quantize(Decimal("0.01"))


class TransactionBuilder(_Builder):
    """The sections of a transaction witness report."""

    ROLES, STEPS, STATEMENT = ROLES, STEPS, STATEMENT
    QUIET = ("操作被拒绝或围标串标预警", "refused action or collusion warning")

    def phase_name(self, index: int) -> str:
        names = PHASE_NAMES.get(index)
        return names[0 if self.zh else 1] if names else super().phase_name(index)

    @property
    def announcement(self) -> dict | None:
        return self.first("listing-announced")

    # --- the sections ------------------------------------------------------------------------

    def identity(self) -> Section:
        s, t, intake = self.state, self.t, self.intake
        method = self.w(v.METHODS, s.method) + (t("（含限时竞价）", " (with a timed round)")
                                                if s.round_opened_at else "")
        return Section(t("项目与报告信息", "Project and report"), [Pairs([
            (t("报告编号", "Report number"), report_id(self.evidence)),
            (t("报告类型", "Report"), TITLES[KIND][0 if self.zh else 1]
             + (t("（签发版）", " (signed edition)") if self.evidence.get("edition") == "signed" else "")),
            (t("项目名称", "Project"), intake["title"]),
            (t("项目编号", "Project number"), self.evidence["project"].split(":", 1)[1]),
            (t("项目类别", "Category"), self.w(v.CATEGORIES, s.kind)),
            (t("交易标的", "Sold"), self.w(v.ASSETS, s.asset) if s.asset else "—"),
            (t("交易方式", "Procedure"), method),
            (t("出让人", "Seller"), self.who(intake["tenderee"])),
            *self.oversight(),
        ])])

    def periods(self) -> Section:
        t, s, ok = self.t, self.state, self.met
        rows: list[list[str]] = []
        announced = self.announcement
        if announced is not None and s.listing_from and s.listing_until and s.asset:
            at = parse_time(announced["ledger_time"])
            rule, first_day, early = self.procedure.listing_notice(s.asset, at, s.listing_from)
            unit = self.w(v.UNITS, rule.unit)
            rows.append([t("挂牌公告", "Announcement"),
                         t(f"挂牌起始前不少于 {rule.value} {unit}", f"at least {rule.value} {unit} ahead"),
                         self.cite(rule.article),
                         t(f"{self.when(at)} 公告；挂牌起始 {self.when(s.listing_from)}",
                           f"announced {self.when(at)}; listing from {self.when(s.listing_from)}"),
                         t(f"最早可于 {first_day:%Y-%m-%d} 起始", f"could start on {first_day:%Y-%m-%d} at the earliest"),
                         ok(early)])
            rule, last_day, long_enough = self.procedure.listing_length(s.asset, s.listing_from, s.listing_until)
            unit = self.w(v.UNITS, rule.unit)
            closed = self.first("listing-closed")
            rows.append([t("挂牌期", "Listing"), t(f"不少于 {rule.value} {unit}", f"at least {rule.value} {unit}"),
                         self.cite(rule.article),
                         f"{self.when(s.listing_from)} – {self.when(s.listing_until)}",
                         t(f"第 {rule.value} {unit}为 {last_day:%Y-%m-%d}", f"its last day {last_day:%Y-%m-%d}")
                         + (t(f"；{self.when(closed['ledger_time'])} 挂牌截止", f"; closed {self.when(closed['ledger_time'])}")
                            if closed else ""),
                         ok(long_enough and (closed is None or parse_time(closed["ledger_time"]) >= s.listing_until))])
        if s.registration_until is not None:
            registered = self.by_step.get("bidder-registered", [])
            last = registered[-1]["ledger_time"] if registered else None
            rows.append([t("竞买申请", "Registration"),
                         t("公告确定的截止时间前申请并交纳竞买保证金", "before the deadline announced, with the deposit"),
                         self.cite(self.procedure.rules["listing-registration"].article),
                         t(f"{self.when(s.registration_until)} 前", f"before {self.when(s.registration_until)}"),
                         t(f"{len(registered)} 家申请", f"{len(registered)} registered")
                         + (t(f"，最后一家 {self.when(last)}", f", the last {self.when(last)}") if last else ""),
                         ok(last is None or parse_time(last) < s.registration_until)])
        committed = self.first("reserve-committed")
        if s.listing_from is not None:
            rows.append([t("底价密封", "Reserve sealed"), t("竞价开始前集体决策确定并密封", "fixed and sealed before bidding"),
                         self.cite(self.procedure.rules["reserve-sealed"].article),
                         t(f"{self.when(s.listing_from)} 前", f"before {self.when(s.listing_from)}"),
                         self.when(committed["ledger_time"]) if committed else t("未记录", "not recorded"),
                         ok(committed is not None and parse_time(committed["ledger_time"]) < s.listing_from)])
        rounds = self.countdowns()
        ended = self.first("round-ended")
        if rounds:
            rows.append([t("限时竞价", "Timed round"),
                         t(f"每次新的最高报价重新计时 {s.countdown_seconds} 秒，倒计时结束即止",
                           f"each new highest restarts a {s.countdown_seconds} s countdown; it ends when one runs out"),
                         self.cite(self.procedure.rules["timed-round"].article),
                         t(f"最后一次倒计时至 {self.when(rounds[-1].runs_out, True)}",
                           f"the last countdown ran out {self.when(rounds[-1].runs_out, True)}"),
                         t(f"{self.when(ended['ledger_time'], True)} 记录结束", f"ended {self.when(ended['ledger_time'], True)}")
                         if ended else t("尚未结束", "not ended"),
                         ok(ended is None or parse_time(ended["ledger_time"]) >= rounds[-1].runs_out)])
        return self.periods_section(rows + self.tracked_rows(), t(
            "竞买人一方的期限（申请截止、挂牌期、限时竞价倒计时）由交易系统在受理时核验，超期的操作被拒绝并记录；"
            "退还保证金、公布结果等出让一方的期限由交易系统跟踪，逐项列明应于何时前完成及实际完成时间。"
            "期间自次日起算，最后一日为法定节假日的顺延至节假日后的第一个工作日。",
            "Periods that bind the bidders (the registration deadline, the listing, the timed round's "
            "countdown) are checked when an action is admitted (late ones are refused and recorded); "
            "those of the seller's side (refunds, the result's publication) are tracked, each with its "
            "due time and when it was met. A period starts the next day; one ending on a public "
            "holiday ends on the next working day."))

    def countdowns(self):
        return countdowns(self.state.round_opened_at, tuple(self.state.quotes), self.state.countdown_seconds)

    def bidders(self) -> Section:
        """The listing's terms, and each registered bidder with its deposit and what became of it."""
        t, s = self.t, self.state
        announced = self.announcement
        terms: list[tuple[str, str]] = []
        if announced is not None:
            p = announced["payload"]
            adjusted = self.by_step.get("increment-adjusted", [])
            terms = [
                (t("公告时间", "Announced"), self.when(announced["ledger_time"])),
                (t("挂牌期", "Listing"), f"{self.when(p['listing_from'])} – {self.when(p['listing_until'])}"),
                (t("竞买申请截止", "Registration until"), self.when(p["registration_until"])),
                (t("起始价", "Starting price"), f"{money(p['starting_price'])} {t('元', 'yuan')}"),
                (t("增价幅度", "Increment"), f"{money(p['increment'])} {t('元', 'yuan')}" + "".join(
                    t(f"；{self.when(e['ledger_time'])} 调整为 {money(e['payload']['increment'])} 元",
                      f"; {money(e['payload']['increment'])} from {self.when(e['ledger_time'])}") for e in adjusted)),
                (t("竞买保证金", "Deposit"), f"{money(p['deposit'])} {t('元', 'yuan')}"),
                (t("限时竞价倒计时", "Timed round's countdown"), t(f"{p['countdown_seconds']} 秒", f"{p['countdown_seconds']} s")),
            ]
        refunded = {e["payload"]["bidder"]: e for e in self.by_step.get("security-refunded", [])}
        rows = []
        for e in self.by_step.get("bidder-registered", []):
            b = e["payload"]["bidder"]
            if b == s.winner:
                became = t("转作成交价款（定金）", "became the down payment")
            elif b in refunded:
                became = t(f"{self.when(refunded[b]['ledger_time'])} 退还（不计利息）",
                           f"refunded {self.when(refunded[b]['ledger_time'])} (no interest)")
            else:
                became = t("尚未退还", "not refunded yet")
            rows.append([self.who(b), self.when(e["ledger_time"]), money(e["payload"]["deposit"]), became])
        table = Table([Column(t("竞买人", "Bidder"), 32), Column(t("申请时间", "Registered"), 22),
                       Column(t("竞买保证金（元）", "Deposit (yuan)"), 20, "num"),
                       Column(t("保证金处理", "The deposit"), 26)], rows, t("竞买人与竞买保证金", "Bidders and deposits"))
        blocks: list = [Pairs(terms)] if terms else []
        blocks.append(table if rows else Para(t("无人申请竞买。", "Nobody registered."), "none"))
        return Section(t("挂牌公告与竞买人", "The listing and its bidders"), blocks)

    def reserve(self) -> Section:
        """The reserve price: its commitment before bidding, its reveal after, checked here
        again (39号令 §10)."""
        t = self.t
        committed, revealed = self.first("reserve-committed"), self.first("reserve-revealed")
        pairs = [(t("确定方式", "Fixed by"), t("出让人集体决策", "the seller's collective decision")
                  + (t(f"（决策文件哈希 {grouped(committed['payload']['decision_hash'])}）",
                       f" (decision's hash {grouped(committed['payload']['decision_hash'])})") if committed else ""))]
        if committed is None:
            pairs.append((t("密封承诺", "Commitment"), t("未记录", "not recorded")))
        else:
            pairs += [(t("密封承诺时间", "Committed"), self.when(committed["ledger_time"], True)),
                      (t("承诺值（SHA-256）", "Commitment (SHA-256)"), grouped(committed["payload"]["reserve_commitment"]))]
        if revealed is None:
            pairs.append((t("底价", "Reserve price"), t("竞价结束后公开，尚未公开", "revealed after bidding; not yet")))
        else:
            p = revealed["payload"]
            holds = committed is not None and reveal_holds(committed["payload"]["reserve_commitment"],
                                                           parse_money(p["reserve"]), bytes.fromhex(p["salt"]))
            pairs += [(t("公开时间", "Revealed"), self.when(revealed["ledger_time"], True)),
                      (t("底价", "Reserve price"), f"{money(p['reserve'])} {t('元', 'yuan')}"),
                      (t("随机盐值", "Salt"), grouped(p["salt"])),
                      (t("核验", "Check"), t("以公开的底价与盐值重新计算承诺值，与竞价开始前密封的承诺一致" if holds
                                             else "以公开的底价与盐值重新计算承诺值，与密封的承诺不一致",
                                             "the commitment recomputed from the reserve and salt revealed is the one "
                                             "sealed before bidding" if holds else
                                             "the commitment recomputed from the reserve and salt revealed is NOT the one sealed"))]
        note = Para(t(f"底价在竞价开始前由出让人集体决策确定，以“底价 + 随机盐值”的 SHA-256 承诺值记入交易系统，竞价结束前保密"
                      f"（{self.cite(self.procedure.rules['reserve-sealed'].article)}）；竞价结束后公开底价与盐值，任何人可复算承诺值。",
                      f"The reserve is fixed by the seller's collective decision before bidding and recorded as "
                      f"the SHA-256 commitment of the price and a random salt, secret until bidding ends "
                      f"({self.cite(self.procedure.rules['reserve-sealed'].article)}); after it the price and salt "
                      "are revealed, and anyone can recompute the commitment."), "note")
        return Section(t("底价", "Reserve price"), [note, Pairs(pairs, hashes=True)])

    def quotes(self) -> Section:
        """Every quote accepted, in the ledger's order: which one is the highest, and in the
        timed round when the countdown it restarted would run out."""
        t, s = self.t, self.state
        quotes = list(s.quotes)
        top = highest(quotes)
        opened = s.round_opened_at
        length = timedelta(seconds=s.countdown_seconds)
        in_round = sum(1 for q in quotes if opened is not None and q.at >= opened)
        refused = sum(1 for r in self.refusals if step_is_quote(r))
        summary = Para(t(
            f"共接受报价 {len(quotes)} 次（挂牌期 {len(quotes) - in_round} 次，限时竞价 {in_round} 次），"
            f"{len({q.bidder for q in quotes})} 家竞买人报价；被拒绝的报价 {refused} 次（见“拒收与拒绝记录”）。"
            "先后以交易系统记录的顺序（事件序号）为准。",
            f"{len(quotes)} quotes accepted ({len(quotes) - in_round} during the listing, {in_round} in the "
            f"timed round) from {len({q.bidder for q in quotes})} bidders; {refused} quotes refused (see "
            "refusals). Which came first is the ledger's order (the event number)."))
        shown = quotes[-QUOTES_LISTED_AT_MOST:]
        rows: list[list[str] | str] = []
        for n, q in enumerate(shown, len(quotes) - len(shown) + 1):
            in_timed = opened is not None and q.at >= opened
            rows.append([str(n), cst(q.at), self.who(q.bidder),
                         money(q.price) + (t("（最高）", " (highest)") if q is top else ""),
                         t("限时竞价", "timed round") if in_timed else t("挂牌期", "listing"),
                         later_time(q.at, q.at + length) if in_timed else "—", str(q.order)])
        blocks: list = [summary]
        if len(shown) < len(quotes):
            blocks.append(Para(t(
                f"报价超过 {QUOTES_LISTED_AT_MOST} 次，下表列出最后 {len(shown)} 次；此前 {len(quotes) - len(shown)} 次"
                "逐项见所附证据，核验报告时逐一复算。",
                f"With more than {QUOTES_LISTED_AT_MOST} quotes, the table lists the last {len(shown)}; the "
                f"{len(quotes) - len(shown)} before them are in the attached evidence, and checking the "
                "report recomputes every one."), "note"))
        blocks.append(Table([Column(t("次序", "No."), 6), Column(t("报价时间", "Time (CST)"), 20, "nowrap"),
                             Column(t("竞买人", "Bidder"), 25), Column(t("报价（元）", "Quote (yuan)"), 19, "num"),
                             Column(t("阶段", "Phase"), 10), Column(t("倒计时至", "Countdown to"), 11, "nowrap"),
                             Column(t("事件序号", "Event"), 9, "num")],
                            rows, t("报价记录（按交易系统记录顺序）", "Quotes, in the ledger's order"))
                      if rows else Para(t("无人报价。", "Nobody quoted."), "none"))
        return Section(t("报价记录", "Quotes"), blocks)

    def timed_round(self) -> Section:
        """The continue-bidding question at the listing's end, and the timed round's
        countdowns: from its opening, and again from each new highest quote."""
        t, s = self.t, self.state
        closed, ended = self.first("listing-closed"), self.first("round-ended")
        asked = [e["payload"]["bidder"] for e in self.by_step.get("continuation-requested", [])]
        if closed is None:
            return Section(t("挂牌截止与限时竞价", "The listing's end and the timed round"),
                           [Para(t("挂牌尚未截止。", "The listing has not closed."), "none")])
        rule = self.cite(self.procedure.rules["timed-round"].article)
        if not asked:
            return Section(t("挂牌截止与限时竞价", "The listing's end and the timed round"), [Para(t(
                f"{self.when(closed['ledger_time'])} 挂牌截止，无竞买人申请继续竞价，未进入限时竞价；"
                f"按挂牌期报价确定结果（{rule}）。",
                f"The listing closed at {self.when(closed['ledger_time'])}; nobody asked to go on, so no timed "
                f"round was held, and the listing's quotes decide ({rule})."))])
        rounds = self.countdowns()
        pairs = [
            (t("挂牌截止", "Listing closed"), self.when(closed["ledger_time"], True)),
            (t("申请继续竞价", "Asked to go on"), self.several(asked)),
            (t("限时竞价开始", "Round opened"), self.when(s.round_opened_at, True)),
            (t("倒计时", "Countdown"), t(f"{s.countdown_seconds} 秒，每次新的最高报价重新计时",
                                         f"{s.countdown_seconds} s, restarted by each new highest quote")),
            (t("重新计时", "Restarts"), t(f"{len(rounds) - 1} 次", f"{len(rounds) - 1}")),
            (t("最后一次倒计时截止", "Last countdown ran out"), self.when(rounds[-1].runs_out, True) if rounds else "—"),
            (t("限时竞价结束记录", "Round's end recorded"),
             t(f"{self.when(ended['ledger_time'], True)}（事件序号 {ended['version']}），不早于倒计时截止",
               f"{self.when(ended['ledger_time'], True)} (event {ended['version']}), not before the countdown ran out")
             if ended else t("尚未结束", "not ended")),
        ]
        shown = rounds[-QUOTES_LISTED_AT_MOST:]
        rows = []
        for n, c in enumerate(shown, len(rounds) - len(shown) + 1):
            why = (t("限时竞价开始", "the round opened") if c.restarted_by is None else
                   t(f"{self.who(c.restarted_by.bidder)} 报价 {money(c.restarted_by.price)} 元",
                     f"{self.who(c.restarted_by.bidder)} quoted {money(c.restarted_by.price)}"))
            fate = (t("倒计时结束，竞价终止", "ran out: bidding ended") if n == len(rounds) and ended
                    else t("被新的最高报价重新计时", "restarted by a new highest") if n < len(rounds)
                    else t("进行中", "running"))
            rows.append([str(n), cst(c.started), why, later_time(c.started, c.runs_out), fate])
        return Section(t("挂牌截止与限时竞价", "The listing's end and the timed round"), [
            Pairs(pairs), Table([Column(t("轮次", "No."), 6), Column(t("起算时间", "Started (CST)"), 20, "nowrap"),
                                 Column(t("起算原因", "Started by"), 32), Column(t("倒计时截止", "Runs out"), 20, "nowrap"),
                                 Column(t("结果", "Then"), 22)], rows, t("倒计时记录", "Countdowns"))])

    def result(self) -> Section:
        """The outcome as recorded, and as worked out again from the quotes and the reserve
        (39号令 §19); the confirmation (§20) and the result's publication (§22)."""
        t, s = self.t, self.state
        rule = self.cite(self.procedure.rules["listing-outcome"].article)
        awarded, no_sale = self.first("awarded"), self.first("no-sale")
        confirmed, published = self.first("deal-confirmed"), self.first("result-published")
        again = outcome(s.quotes, s.reserve)
        pairs: list[tuple[str, str]] = []
        if awarded is not None:
            price = parse_money(awarded["payload"]["price"])
            pairs += [(t("交易结果", "Outcome"), t(f"成交（{self.when(awarded['ledger_time'])} 确定）",
                                                  f"sold (recorded {self.when(awarded['ledger_time'])})")),
                      (t("竞得人", "Buyer"), self.who(awarded["payload"]["winner"])),
                      (t("成交价", "Price"), f"{money(price)} {t('元', 'yuan')}")]
            if s.starting_price:
                pairs.append((t("起始价与溢价率", "Starting price and premium"),
                              t(f"起始价 {money(s.starting_price)} 元，溢价率 {premium(price, s.starting_price)}%",
                                f"{money(s.starting_price)} yuan; premium {premium(price, s.starting_price)}%")))
            if s.reserve is not None:
                pairs.append((t("底价", "Reserve"), t(f"{money(s.reserve)} 元；成交价不低于底价：{self.met(price >= s.reserve)}",
                                                     f"{money(s.reserve)} yuan; the price is at least the reserve: "
                                                     f"{self.met(price >= s.reserve)}")))
            same = again.winner is not None and (again.winner.bidder, again.winner.price) == (
                awarded["payload"]["winner"], price)
        elif no_sale is not None:
            pairs.append((t("交易结果", "Outcome"), self.w(v.NO_SALE, no_sale["payload"]["reason"])))
            same = again.winner is None and again.reason == no_sale["payload"]["reason"]
        else:
            return Section(t("交易结果", "Outcome"), [Para(t("尚未确定结果。", "No outcome yet."), "none")])
        pairs.append((t("复算", "Worked out again"), t(
            f"依据报价记录与公开的底价，按价高者得、报价相同者先报者得、低于底价不成交（{rule}）复算，"
            + ("结果与记录一致" if same else "结果与记录不一致"),
            f"from the quotes and the revealed reserve, by the highest quote winning, the earlier of "
            f"equal quotes, and no sale below the reserve ({rule}): "
            + ("the same outcome as recorded" if same else "NOT the outcome recorded"))))
        if confirmed is not None:
            deposit = s.registered.get(confirmed["payload"]["winner"])
            at, digest = self.when(confirmed["ledger_time"]), grouped(confirmed["payload"]["confirmation_hash"])
            article = self.cite(self.procedure.rules["deal-confirmation"].article)
            pairs.append((t("成交确认书", "Confirmation"), t(
                f"{at} 签订（哈希 {digest}）" + (f"；竞得人竞买保证金 {money(deposit)} 元转作定金" if deposit else "")
                + f"（{article}）",
                f"signed {at} (hash {digest})" + (f"; the buyer's deposit of {money(deposit)} yuan became "
                                                  "the down payment" if deposit else "") + f" ({article})")))
        pairs.append((t("结果公布", "Result published"),
                      (self.when(published["ledger_time"]) + (f" · {published['payload']['url']}"
                                                              if published["payload"].get("url") else ""))
                      if published else t("尚未公布", "not yet")))
        return Section(t("交易结果", "Outcome"), [Pairs(pairs)])

    def refusal_items(self, refusals: list[dict]) -> list[list[str]]:
        """A listing's refused quotes (a timed round's lost races: possibly hundreds) as one
        row per rule, with how many and between when; any other refusal one row each."""
        t = self.t
        quotes: dict[str, list[dict]] = {}
        for r in refusals:
            if step_is_quote(r):
                quotes.setdefault(r["payload"]["rule"], []).append(r)
        rows = super().refusal_items([r for r in refusals if not step_is_quote(r)])
        for rule, same in quotes.items():
            if len(same) == 1:
                rows += super().refusal_items(same)
                continue
            first, last = same[0], same[-1]
            p = first["payload"]
            span = self.when(first["ledger_time"], True) + (
                f" – {self.when(last['ledger_time'], True)}" if len(same) > 1 else "")
            rows.append([first["ledger_time"], span,
                         t(f"{len({r['payload']['action']['actor'] for r in same})} 家竞买人的报价被拒绝 {len(same)} 次：",
                           f"{len(same)} quotes by {len({r['payload']['action']['actor'] for r in same})} bidders refused: ")
                         + self.refusal_reason(p),
                         t(f"交易系统拒绝并逐次记录（{self.cite(p['article'])}）", f"each refused and recorded ({self.cite(p['article'])})")])
        return rows

    def sections(self) -> list[Section]:
        parts = [self.identity, self.timeline, self.periods, self.bidders, self.reserve, self.quotes,
                 self.timed_round, self.refused, self.result, self.warnings, self.statement, self.sign_off,
                 self.integrity]
        built = [section for part in parts if (section := part()) is not None]
        for n, section in enumerate(built, 1):
            section.title = numbered(n, section.title, self.zh)
        return built


def later_time(start: datetime, end: datetime) -> str:
    """A time after `start`, as a table writes it: the time of day alone on the same day."""
    return cst(end)[11:] if cst(start)[:10] == cst(end)[:10] else cst(end)


def step_is_quote(refusal: dict) -> bool:
    return refusal["payload"]["action"]["type"] == "project.quote-submitted/v1"


def build(evidence: dict, software: str = "Sunledger") -> ReportModel:
    """The transaction witness report of the evidence."""
    return build_report(evidence, software, TransactionBuilder)

