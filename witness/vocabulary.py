"""The words of a witness report, in Chinese and English: the names of the steps, stages,
categories, methods, assets, grounds, decisions, deadlines and collusion indicators that the ledger
records as stable codes. Each entry is (中文, English); a code with no entry is shown as it is
(and a new code is caught by the report tests, which render every step's name)."""

from __future__ import annotations

Words = dict[str, tuple[str, str]]

STEPS: Words = {
    "intake": ("项目进场登记", "project intake"), "intake-accepted": ("进场受理", "intake accepted"),
    "intake-refused": ("不予受理", "intake refused"), "announced": ("发布招标公告", "announced"),
    "documents-issued": ("发出招标文件", "documents issued"),
    "documents-obtained": ("获取招标文件", "documents obtained"),
    "clarification-issued": ("澄清或修改招标文件", "clarification issued"),
    "objection-raised": ("对招标文件提出异议", "objection raised"),
    "objection-answered": ("答复异议", "objection answered"),
    "security-posted": ("递交投标保证金", "bid security posted"),
    "bid-submitted": ("递交投标文件", "bid submitted"), "bid-withdrawn": ("撤回投标文件", "bid withdrawn"),
    "submission-closed": ("投标截止", "submission closed"), "checked-in": ("开标签到", "checked in"),
    "key-released": ("提交解密密钥", "decryption key released"),
    "bid-decrypted": ("投标文件解密成功", "bid decrypted"),
    "decryption-failed": ("解密失败", "decryption failed"),
    "draw-prepared": ("准备抽取评标专家", "expert draw prepared"),
    "experts-drawn": ("抽取评标专家", "experts drawn"),
    "draw-disclosed": ("公开专家抽取输入", "expert draw inputs disclosed"),
    "expert-replaced": ("专家回避与补抽", "expert replaced"),
    "score-submitted": ("专家评分", "score submitted"), "bid-rejected": ("否决投标", "bid rejected"),
    "evaluation-reported": ("提交评标报告", "evaluation reported"),
    "evaluation-report-signed": ("评标报告签字", "evaluation report signed"),
    "candidates-published": ("公示中标候选人", "candidates published"),
    "publicity-objection-raised": ("对中标候选人公示提出异议", "objection to the candidates' publicity"),
    "complaint-filed": ("提出投诉", "complaint filed"),
    "complaint-accepted": ("受理投诉", "complaint accepted"),
    "complaint-decided": ("投诉处理决定", "complaint decided"),
    "opening-objection-raised": ("开标现场异议", "objection at the opening"),
    "opening-convened": ("开标会议召集", "opening convened"),
    "bid-clarified": ("投标文件澄清", "bid clarified"),
    "warning-referred": ("预警报送行政监督部门", "warning referred to the supervision body"),
    "evaluation-report-refused": ("拒绝在评标报告上签字", "refused to sign the evaluation report"),
    "challenge-raised": ("提出质疑", "challenge raised"),
    "challenge-answered": ("答复质疑", "challenge answered"),
    "supervision-report-filed": ("向行政监督部门提交书面报告", "report to the supervision body"),
    "re-evaluation-ordered": ("责令重新评标", "re-evaluation ordered"),
    "candidate-declined": ("中标候选人放弃中标", "candidate declined"),
    "candidate-disqualified": ("中标候选人不符合中标条件", "candidate disqualified"),
    "awarded": ("确定中标人", "awarded"),
    "contract-signed": ("签订合同", "contract signed"),
    "security-refunded": ("退还投标保证金", "bid security refunded"),
    "witness-assigned": ("指派见证人员", "witness officer assigned"),
    "witness-observation": ("见证记录", "witness observation"),
    "report-issued": ("出具见证报告", "witness report issued"),
    "report-signed-off": ("见证人员签认报告", "witness report signed off"),
    "terminated": ("终止", "terminated"), "archived": ("归档", "archived"),
    # a rights transaction by listing (挂牌) or online auction (网上竞价), 39号令
    "listing-announced": ("发布挂牌出让公告", "listing announced"),
    "reserve-committed": ("底价密封承诺", "reserve price committed"),
    "bidder-registered": ("竞买申请", "bidder registered"),
    "quote-submitted": ("报价", "quote submitted"),
    "increment-adjusted": ("调整增价幅度", "increment adjusted"),
    "continuation-requested": ("申请继续竞价", "continuation requested"),
    "listing-closed": ("挂牌截止", "listing closed"),
    "round-ended": ("限时竞价结束", "timed round ended"),
    "reserve-revealed": ("公开底价", "reserve price revealed"),
    "no-sale": ("未成交", "no sale"),
    "deal-confirmed": ("签订成交确认书", "deal confirmed"),
    "result-published": ("公布出让结果", "result published"),
}

# a listing's or online auction's own names for the steps it shares with a tender (39号令: the
# buyer is 竞得人, the deposit 竞买保证金)
LISTING_STEPS: Words = {**STEPS, "awarded": ("确定竞得人", "buyer fixed"),
                        "security-refunded": ("退还竞买保证金", "deposit refunded")}


# the phase each step belongs to, for the timeline's headings
PHASES: list[tuple[tuple[str, str], frozenset[str]]] = [
    (("项目登记与招标", "Intake and tender"), frozenset((
        "intake", "intake-accepted", "intake-refused", "announced", "documents-issued",
        "documents-obtained", "clarification-issued", "objection-raised", "objection-answered",
        "draw-prepared"))),
    # a listing's or online auction's own phase: a tender never enters it, and a listing
    # goes from it to the award and its result (the last phase)
    (("挂牌与竞价", "Listing and bidding"), frozenset((
        "listing-announced", "reserve-committed", "bidder-registered", "quote-submitted",
        "increment-adjusted", "continuation-requested", "listing-closed", "round-ended"))),
    (("投标", "Bids"), frozenset(("security-posted", "bid-submitted", "bid-withdrawn",
                                  "submission-closed"))),
    (("开标", "Opening"), frozenset(("opening-convened", "checked-in", "key-released", "bid-decrypted",
                                     "decryption-failed", "opening-objection-raised"))),
    (("评标", "Evaluation"), frozenset(("experts-drawn", "expert-replaced", "score-submitted",
                                        "bid-rejected", "bid-clarified", "evaluation-reported",
                                        "evaluation-report-signed",
                                        "evaluation-report-refused"))),
    (("公示、定标与合同", "Publicity, award and contract"), frozenset((
        "candidates-published", "publicity-objection-raised", "complaint-filed",
        "complaint-accepted", "complaint-decided", "re-evaluation-ordered", "challenge-raised",
        "challenge-answered", "supervision-report-filed",
        "candidate-declined", "candidate-disqualified", "awarded", "draw-disclosed",
        "contract-signed", "security-refunded", "terminated", "archived",
        "reserve-revealed", "no-sale", "deal-confirmed", "result-published"))),
]

STAGES: Words = {
    "new": ("未登记", "new"), "intake": ("已登记", "intake"), "accepted": ("已受理", "accepted"),
    "refused": ("不予受理", "refused"), "announced": ("招标中", "announced"),
    "failed": ("流标", "failed"), "closed": ("投标截止", "closed"), "opened": ("已开标", "opened"),
    "reported": ("评标完成", "evaluated"), "publicity": ("公示中", "publicity"),
    "awarded": ("已定标", "awarded"), "contracted": ("已签订合同", "contracted"),
    "terminated": ("已终止", "terminated"), "archived": ("已归档", "archived"),
    "listing": ("挂牌中", "listing"), "timed-round": ("限时竞价中", "timed round"),
    "bidding-ended": ("竞价结束", "bidding ended"),
}
CATEGORIES: Words = {"construction": ("工程建设", "construction"),
                     "procurement": ("政府采购", "government procurement"),
                     "rights": ("产权交易", "rights transaction")}
METHODS: Words = {"lowest-price": ("经评审的最低投标价法", "lowest evaluated price"),
                  "comprehensive": ("综合评估法", "comprehensive evaluation"),
                  "highest-price": ("价高者得", "highest price"),
                  "listing": ("挂牌出让", "listing"),
                  "auction": ("拍卖（网上竞价）", "auction (online bidding)")}
ASSETS: Words = {  # what a rights transaction sells (ledger/evidence/catalogue.py ASSETS)
    "land": ("国有建设用地使用权", "state-owned construction land use right"),
    "mining": ("矿业权", "mining right"),
    "state-property": ("企业国有资产", "state-owned enterprise assets"),
    "concession": ("特许经营权", "concession"),
}
NO_SALE: Words = {  # why a listing or auction sold nothing (39号令 §19)
    "below-reserve": ("最高报价低于底价，不成交", "the highest quote is below the reserve: no sale"),
    "no-quote": ("无人报价，不成交", "nobody quoted: no sale"),
}
# the procedure the ledger enforces (ledger/procedures/tender.py): an open, fully electronic one
PROCEDURE = ("公开招标（全流程电子化，不见面开标）",
             "open tender (fully electronic, no-meeting opening)")
EXPERT_CATEGORIES: Words = {"technical": ("技术", "technical"), "economic": ("经济", "economic")}
SECURITY_FORMS: Words = {"deposit": ("保证金", "deposit"), "guarantee": ("保函", "guarantee")}
CAUSES: Words = {"bidder": ("投标人原因，视为撤销投标", "the bidder's fault: counts as revoking its bid"),
                 "others": ("非投标人原因，视为撤回投标", "not the bidder's fault: counts as a withdrawal")}
DECISIONS: Words = {"upheld": ("投诉成立", "upheld"), "dismissed": ("驳回投诉", "dismissed"),
                    "withdrawn": ("撤回投诉", "withdrawn")}
GROUNDS: Words = {  # 条例 §51
    "unsigned-or-unsealed": ("未经投标单位盖章和单位负责人签字", "not sealed or signed"),
    "consortium-agreement-missing": ("联合体未提交共同投标协议", "no consortium agreement"),
    "not-qualified": ("投标人不符合资格条件", "bidder not qualified"),
    "several-bids-or-prices": ("提交两份以上投标文件或两个以上报价", "several bids or prices"),
    "price-above-ceiling": ("投标报价高于最高投标限价", "price above the ceiling"),
    "price-below-cost": ("投标报价低于成本", "price below cost"),
    "not-responsive": ("未对招标文件作出实质性响应", "not responsive"),
    "collusion-or-fraud": ("串通投标、弄虚作假或行贿", "collusion or fraud"),
}
DEADLINES: Words = {  # tracked deadlines of the answering party, by rule id (ledger/procedures/rules.py)
    "objection-answer": ("答复对招标文件的异议", "answer the objection to the documents"),
    "publicity-start": ("公示中标候选人", "publish the candidates"),
    "publicity-objection-answer": ("答复公示期异议", "answer the objection to the candidates"),
    "complaint-acceptance": ("决定是否受理投诉", "decide whether to accept the complaint"),
    "complaint-decision": ("作出投诉处理决定", "decide the complaint"),
    "contract": ("签订书面合同", "sign the contract"),
    "report-to-supervision": ("向行政监督部门提交招标投标情况报告", "report to the supervision body"),
    "security-refund": ("退还投标保证金及利息", "refund the bid security with interest"),
    "security-refund-procurement": ("退还未中标人保证金", "refund the losing bidders' security"),
    "withdrawal-refund": ("退还撤回投标的保证金", "refund the withdrawn bid's security"),
    "opening-objection": ("当场答复开标异议", "answer the objection at the opening"),
    "challenge-answer-procurement": ("答复质疑", "answer the challenge"),
    "complaint-decision-procurement": ("作出投诉处理决定", "decide the complaint"),
    "deposit-refund": ("退还竞买保证金（不计利息）", "refund the deposit (without interest)"),
    "result-publication": ("公布出让结果", "publish the result"),
}
ROLES: Words = {  # the registered roles, as a report names an actor's part
    "tenderee": ("招标人", "tenderee"), "agent": ("招标代理机构", "tendering agent"),
    "operator": ("交易中心", "trading centre"), "witness": ("见证人员", "witness officer"),
    "bidder": ("投标人", "bidder"), "expert": ("评标专家", "expert"),
    "supervisor": ("行政监督部门", "supervision body"), "registrar": ("交易系统", "trading system"),
}
# roles held by organisations (named by their organisation), the others by persons
ORGANISATION_ROLES = frozenset(("tenderee", "agent", "bidder", "supervisor"))
SYSTEM = ("交易系统", "the trading system")  # the ledger itself, as an actor
UNITS: Words = {"days": ("日", "days"), "working_days": ("个工作日", "working days")}
INDICATORS: Words = {  # projections/warnings.py
    "same-bid-file": ("不同投标人的投标文件相同", "the same bid file from different bidders"),
    "same-machine": ("不同投标人使用同一机器", "the same machine for different bidders"),
    "same-ip": ("不同投标人使用同一IP地址", "the same IP address for different bidders"),
    "same-certificate": ("不同投标人使用同一CA证书", "the same CA certificate for different bidders"),
    "same-security-account": ("保证金从同一账户转出", "security paid from one account"),
    "clustered-uploads": ("投标文件集中上传", "bids uploaded together"),
    "certificates-issued-together": ("CA证书申领时间相近", "CA certificates issued minutes apart"),
    "price-series": ("投标报价呈规律性差异", "prices in a regular series"),
    "many-downloads-few-bids": ("获取文件多而投标少", "many downloads but few bids"),
}
REFUSED_RULES: Words = {  # the rules a recorded refusal names most often
    "late-bid": ("逾期送达的投标文件，拒收", "a late bid, refused"),
    "bid-change-before-deadline": ("截止后修改或撤回投标，拒绝", "a change after the deadline, refused"),
    "objection-to-documents": ("异议提出时间不足", "an objection raised too late"),
    "security-cap": ("保证金超过限额", "security above the cap"),
    "opening-at-deadline": ("截止时间前开标，拒绝", "an opening before the deadline"),
    "who-may-act": ("非本人或无权限的操作，拒绝", "an action for another party, refused"),
    "procedure-order": ("不符合程序顺序的操作，拒绝", "a step out of the procedure's order"),
    "recorded-once": ("已记录事项的重复或修改，拒绝", "a recorded result changed, refused"),
    "security-before-deadline": ("截止后递交保证金，拒绝", "security after the deadline"),
    "quote-increment": ("报价低于起始价或当前最高价加增价幅度，拒绝",
                        "a quote below the starting price or the highest plus the increment, refused"),
    "timed-round": ("限时竞价倒计时结束后的报价，拒绝", "a quote after the countdown ran out, refused"),
}


def word(words: Words, code: str, zh: bool) -> str:
    entry = words.get(code)
    return code if entry is None else entry[0 if zh else 1]


def phase_of(step: str) -> int | None:
    """The index in PHASES of the phase `step` belongs to (None: a step of any phase)."""
    return next((i for i, (_, steps) in enumerate(PHASES) if step in steps), None)
