"""The portal's words, in Chinese (the default) and English: one table, looked up by key."""

from __future__ import annotations

LANGUAGES = ("zh", "en")
DEFAULT = "zh"

WORDS: dict[str, tuple[str, str]] = {
    "portal": ("公共资源交易见证门户", "Trading witness portal"),
    "centre": ("阳光交易审计账本", "Sunledger audit ledger"),
    "home": ("公告与结果", "Announcements and results"),
    "log": ("账本检查点", "The log's checkpoint"),
    "verify": ("验证见证报告", "Verify a witness report"),
    "switch": ("English", "中文"),
    "projects_intro": ("已发布公告的项目，以及公示后的结果。", "Projects announced, and their results once published."),
    "no_projects": ("暂无已公告的项目。", "No project has been announced yet."),
    "project": ("项目", "Project"),
    "title": ("名称", "Title"),
    "category": ("类别", "Category"),
    "stage": ("阶段", "Stage"),
    "reached": ("已完成的环节", "Steps reached"),
    "withheld": ("依法暂不公开", "Withheld by law for now"),
    "not_visible": ("没有公众可见的此项目。", "No project of this name is visible to the public."),
    "field": ("事项", "Item"),
    "value": ("内容", "Value"),
    "checkpoint_intro": ("账本每个检查点都由账本密钥签名，并由外部见证方联署；任何人都可以用自己的工具核对。",
                         "Every checkpoint of the log is signed with the ledger key and cosigned by outside "
                         "witnesses; anyone can check it with their own tools."),
    "verifier_key": ("验证公钥", "Verifier key"),
    "latest_checkpoint": ("最新检查点", "Latest checkpoint"),
    "tree_size": ("日志大小（事件数）", "Log size (events)"),
    "no_checkpoint": ("账本尚无检查点。", "The log has no checkpoint yet."),
    "witnesses": ("见证方", "Witnesses"),
    "cosigned_size": ("最近联署的大小", "Size last cosigned"),
    "verify_intro": ("将数字见证报告（PDF）拖到下面，或选择文件。报告不会被保存：本页只核对它。",
                     "Drop a digital witness report (PDF) below, or choose the file. The report is not "
                     "kept: this page only checks it."),
    "drop_here": ("把 PDF 拖到这里，或点击选择文件", "Drop the PDF here, or click to choose it"),
    "checking": ("正在核对……（重新生成报告需要几秒钟）", "Checking… (rendering the report again takes a few seconds)"),
    "genuine": ("这份报告是真实的：四项核对全部通过。", "This report is genuine: all four checks hold."),
    "not_genuine": ("这份报告未通过核对，不能作为证据使用。", "This report fails its checks: do not rely on it."),
    "report_id": ("报告编号", "Report number"),
    "events_covered": ("涵盖事件数", "Events covered"),
    "step_evidence": ("报告内嵌的证据文件完整可读", "The report's embedded evidence is there and readable"),
    "step_completeness": ("证据中的事件就是该项目在账本中的全部事件，逐一经签名检查点证明",
                          "The evidence's events are every event of the project, each proved under a signed checkpoint"),
    "step_issued": ("账本记录了本账本签发的这一份文件（文件哈希一致）",
                    "The ledger recorded this very file as issued (its hash matches)"),
    "step_rendering": ("由证据重新生成报告，得到完全相同的字节：内容未被改动",
                       "Rendering the evidence again gives the same bytes: nothing was changed"),
    "holds": ("通过", "holds"),
    "fails": ("未通过", "fails"),
    "unchecked": ("未核对", "not checked"),
    "details": ("技术细节", "Technical details"),
    "not_a_pdf": ("这不是一份见证报告 PDF。", "This is not a witness report PDF."),
    "failed_request": ("核对未能完成：", "The check could not be made: "),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "sign_in_intro": ("用您在账本登记的密钥登录：选择 sunledger keygen 生成的密钥文件。私钥只在本浏览器中使用，不会发送给服务器；服务器只收到对一次性挑战的签名。",
                      "Sign in with the key you registered on the ledger: choose the key file sunledger keygen "
                      "wrote. The private key is used in this browser only and never sent; the server "
                      "receives only a signature of a one-time challenge."),
    "actor_id": ("参与方标识", "Actor id"),
    "key_file": ("密钥文件", "Key file"),
    "key_id": ("密钥标识", "Key id"),
    "roles": ("角色", "Roles"),
    "need_both": ("请填写参与方标识并选择密钥文件。", "Give the actor id and choose the key file."),
    "signing_in": ("正在登录……", "Signing in…"),
    "sign_in_refused": ("未能登录：", "Not signed in: "),
    "my_page": ("我的页面", "My page"),
    "signed_in_as": ("已登录：", "Signed in: "),
    "private_key_stays": ("您的私钥保存在本浏览器中，不可导出；退出时即被删除。在门户中作出的操作由您的密钥在浏览器中签名。",
                          "Your private key is kept in this browser, not exportable, and forgotten when you "
                          "sign out. What you do in the portal is signed by your key in the browser."),
    "witnessing": ("我见证的项目", "Projects I witness"),
    "none_witnessed": ("目前没有指派给您的见证项目。", "No project is assigned to you to witness now."),
    "timeline": ("过程记录", "Timeline"),
    "time": ("时间（北京时间）", "Time (China Standard Time)"),
    "event": ("事项", "Event"),
    "by": ("操作方", "By"),
    "partly_withheld": ("部分内容依法暂不公开", "partly withheld by law for now"),
    "not_witnessed": ("您不是此项目的见证人员，不能打开它的见证页面。", "You are not a witness officer of this project: its witness page is not yours to open."),
    "footer": ("本门户由账本直接提供；所见内容与 API 的公开读取一致。",
               "Served by the ledger itself; what it shows is what the API shows the public."),
    # --- the witness officer's project page (pages.py, witness_project.html)
    # --- the supervision pages (supervision.py)
    "supervision": ("监督", "Supervision"),
    # --- the dispute replay (replay.py)
    "replay": ("争议回放", "Dispute replay"),
}

STAGE_NAMES: dict[str, tuple[str, str]] = {
    "intake": ("受理中", "intake"), "accepted": ("已受理", "accepted"),
    "refused": ("不予受理", "refused"), "announced": ("已公告", "announced"),
    "failed": ("流标", "failed"), "closed": ("已截标", "bids closed"),
    "opened": ("已开标", "opened"), "reported": ("评标完成", "evaluated"),
    "publicity": ("中标候选人公示", "candidates published"), "awarded": ("已定标", "awarded"),
    "contracted": ("已签合同", "contracted"), "terminated": ("已终止", "terminated"),
    "archived": ("已归档", "archived"),
}

STAGE_NAMES.update({  # the visibility milestones a project reached (projections/visibility.py)
    "published": ("结果公示", "candidates published"), "fixed": ("结果确定", "result fixed"),
})
PHASE_NAMES: dict[str, tuple[str, str]] = {  # the phases a timeline is grouped by
    "intake": ("受理与公告前", "before the announcement"), "announced": ("公告至开标", "announced, until the opening"),
    "opened": ("开标与评标", "opening and evaluation"), "reported": ("评标报告之后", "after the evaluation report"),
    "published": ("公示期", "publicity"), "fixed": ("定标之后", "after the award"),
}

CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "construction": ("工程建设", "construction"), "procurement": ("政府采购", "government procurement"),
    "rights": ("产权交易", "rights transaction"),
}

# a project's state members (ledger/procedures/tender.py ProjectState), as a page names them
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "stage": ("当前阶段", "stage"), "kind": ("项目类别", "category"),
    "method": ("评标办法", "evaluation method"), "tenderee": ("招标人", "tenderee"),
    "agent": ("招标代理", "agent"), "estimated_price": ("估算价（元）", "estimated price (yuan)"),
    "state_funded": ("国有资金投资", "state-funded"),
    "documents_from": ("招标文件发售起", "documents from"),
    "bid_deadline": ("投标截止时间", "bid deadline"), "documents": ("招标文件", "tender documents"),
    "clarifications": ("澄清与修改", "clarifications"), "closed_at": ("截标时间", "bids closed at"),
    "opening": ("开标", "opening"), "obtained": ("获取文件的投标人", "who obtained documents"),
    "bids": ("投标文件", "bids"), "withdrawn": ("撤回", "withdrawn"),
    "security": ("投标保证金", "bid security"), "security_form": ("保证金形式", "security form"),
    "checked_in": ("开标签到", "checked in at opening"), "keys_released": ("解密密钥", "keys released"),
    "prices": ("投标报价", "bid prices"), "failed_decryption": ("解密失败", "failed decryption"),
    "committee": ("评标委员会", "evaluation committee"), "draw": ("专家抽取", "expert draw"),
    "drawn": ("抽中专家", "experts drawn"), "declined": ("谢绝参加", "declined"),
    "replacements": ("补抽", "replacements"), "scores": ("评分", "scores"),
    "rejected": ("否决投标", "bids rejected"), "ranking": ("中标候选人排序", "ranking of candidates"),
    "report_hash": ("评标报告哈希", "evaluation report hash"),
    "report_signed": ("评标报告签字", "report signed"), "report_refused": ("拒签", "report refused"),
    "publicity_until": ("公示截止", "publicity until"), "published_at": ("公示时间", "published at"),
    "winner": ("中标人", "winner"), "award_price": ("中标价（元）", "award price (yuan)"),
    "objections": ("异议", "objections"), "raised_by": ("异议人", "raised by"),
    "challenges": ("质疑", "challenges"), "complaints": ("投诉", "complaints"),
    "referrals": ("移交", "referrals"), "witnesses": ("见证人员", "witness officers"),
    "reports": ("见证报告", "witness reports"), "refunded": ("保证金退还", "securities refunded"),
    "deadlines": ("法定期限", "legal periods"),
}


def word(key: str, language: str) -> str:
    zh, en = WORDS[key]
    return en if language == "en" else zh


def stage_name(stage: str, language: str) -> str:
    zh, en = STAGE_NAMES.get(stage, (stage, stage))
    return en if language == "en" else zh


def field_name(member: str, language: str) -> str:
    zh, en = FIELD_NAMES.get(member, (member, member))
    return en if language == "en" else zh


def category_name(category: str, language: str) -> str:
    zh, en = CATEGORY_NAMES.get(category, (category, category))
    return en if language == "en" else zh


ROLE_NAMES: dict[str, tuple[str, str]] = {
    "witness": ("见证人员", "witness officer"), "supervisor": ("行政监督部门", "supervision body"),
    "bidder": ("投标人", "bidder"), "tenderee": ("招标人", "tenderee"), "agent": ("招标代理", "agent"),
    "expert": ("评标专家", "expert"), "operator": ("交易中心", "centre operator"),
    "registrar": ("登记机构", "registrar"),
}


def role_name(role: str, language: str) -> str:
    zh, en = ROLE_NAMES.get(role, (role, role))
    return en if language == "en" else zh


def phase_name(phase: str, language: str) -> str:
    zh, en = PHASE_NAMES.get(phase, (phase, phase))
    return en if language == "en" else zh


# the event types (ledger/evidence/catalogue.py), as a timeline names them
EVENT_NAMES: dict[str, tuple[str, str]] = {
    "actor.registered/v1": ("参与方登记", "actor registered"),
    "actor.key-added/v1": ("登记密钥", "key added"),
    "actor.key-revoked/v1": ("吊销密钥", "key revoked"),
    "actor.key-rotated/v1": ("更换密钥", "key rotated"),
    "actor.certificate-added/v1": ("登记数字证书", "certificate added"),
    "ledger.started/v1": ("账本启用", "ledger started"),
    "ledger.ca-trusted/v1": ("信任证书机构", "certificate authority trusted"),
    "project.intake/v1": ("项目进场登记", "project intake"),
    "project.intake-accepted/v1": ("进场受理", "intake accepted"),
    "project.intake-refused/v1": ("不予受理", "intake refused"),
    "project.witness-assigned/v1": ("指派见证人员", "witness officer assigned"),
    "project.announced/v1": ("发布招标公告", "announced"),
    "project.documents-issued/v1": ("发出招标文件", "documents issued"),
    "project.documents-obtained/v1": ("获取招标文件", "documents obtained"),
    "project.clarification-issued/v1": ("澄清或修改招标文件", "clarification issued"),
    "project.objection-raised/v1": ("提出异议", "objection raised"),
    "project.objection-answered/v1": ("答复异议", "objection answered"),
    "project.security-posted/v1": ("递交投标保证金", "bid security posted"),
    "project.bid-submitted/v1": ("递交投标文件", "bid submitted"),
    "project.bid-withdrawn/v1": ("撤回投标文件", "bid withdrawn"),
    "project.draw-prepared/v1": ("准备抽取评标专家", "expert draw prepared"),
    "project.experts-drawn/v1": ("抽取评标专家", "experts drawn"),
    "project.expert-replaced/v1": ("补抽评标专家", "expert replaced"),
    "project.draw-disclosed/v1": ("公开抽取结果", "draw disclosed"),
    "project.submission-closed/v1": ("投标截止", "submission closed"),
    "project.opening-convened/v1": ("开标", "opening convened"),
    "project.checked-in/v1": ("开标签到", "checked in"),
    "project.key-released/v1": ("提交解密密钥", "decryption key released"),
    "project.bid-decrypted/v1": ("投标文件解密", "bid decrypted"),
    "project.decryption-failed/v1": ("解密失败", "decryption failed"),
    "project.opening-objection-raised/v1": ("开标现场异议", "objection at the opening"),
    "project.bid-clarified/v1": ("投标文件澄清", "bid clarified"),
    "project.bid-rejected/v1": ("否决投标", "bid rejected"),
    "project.score-submitted/v1": ("专家评分", "score submitted"),
    "project.evaluation-reported/v1": ("提交评标报告", "evaluation reported"),
    "project.evaluation-report-signed/v1": ("评标报告签字", "evaluation report signed"),
    "project.evaluation-report-refused/v1": ("拒绝在评标报告上签字", "evaluation report refused"),
    "project.re-evaluation-ordered/v1": ("责令重新评审", "re-evaluation ordered"),
    "project.candidates-published/v1": ("公示中标候选人", "candidates published"),
    "project.publicity-objection-raised/v1": ("对公示提出异议", "objection to the publicity"),
    "project.candidate-declined/v1": ("中标候选人放弃", "candidate declined"),
    "project.candidate-disqualified/v1": ("中标候选人被取消资格", "candidate disqualified"),
    "project.awarded/v1": ("确定中标人", "awarded"),
    "project.contract-signed/v1": ("签订合同", "contract signed"),
    "project.security-refunded/v1": ("退还投标保证金", "security refunded"),
    "project.challenge-raised/v1": ("提出质疑", "challenge raised"),
    "project.challenge-answered/v1": ("答复质疑", "challenge answered"),
    "project.complaint-filed/v1": ("提出投诉", "complaint filed"),
    "project.complaint-accepted/v1": ("受理投诉", "complaint accepted"),
    "project.complaint-decided/v1": ("投诉处理决定", "complaint decided"),
    "project.warning-referred/v1": ("预警移交监督部门", "warning referred"),
    "project.supervision-report-filed/v1": ("监督部门报告", "supervision report filed"),
    "project.witness-observation/v1": ("见证记录", "witness observation"),
    "project.report-issued/v1": ("出具见证报告", "witness report issued"),
    "project.report-signed-off/v1": ("见证报告签发", "witness report signed off"),
    "project.terminated/v1": ("终止", "terminated"),
    "project.archived/v1": ("归档", "archived"),
    "refusal.recorded/v1": ("记录被拒绝的操作", "refusal recorded"),
    "register.centre-described/v1": ("登记交易中心信息", "centre described"),
    "register.number-assigned/v1": ("分配报告编号", "report number assigned"),
}


def event_name(event_type: str, language: str) -> str:
    zh, en = EVENT_NAMES.get(event_type, (event_type, event_type))
    return en if language == "en" else zh
