"""The portal's words, in Chinese (the default) and English: one table, looked up by key."""

from __future__ import annotations

from witness.vocabulary import LISTING_STEPS, STEPS

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
    "footer": ("本门户由账本直接提供；所见内容与 API 对同一身份的读取一致。",
               "Served by the ledger itself; what it shows is what the API shows the same caller."),
    # --- the witness officer's project page (witnessing.py, witness_project.html)
    "public_page": ("公众页面", "Public page"),
    "legal_periods": ("法定期限", "Legal periods"),
    "period": ("期限", "Period"),
    "article": ("依据", "Article"),
    "due": ("截止（北京时间）", "Due (China Standard Time)"),
    "period_status": ("状态", "Status"),
    "time_left": ("剩余", "left:"),
    "overdue_by": ("已逾期", "overdue by"),
    "period_ended": ("已届满", "ended"),
    "bids_closed_at": ("已截标于", "bids closed at"),
    "met_on": ("按期完成于", "met on"),
    "met_late": ("逾期完成于", "met late on"),
    "no_periods": ("此阶段没有您可见的法定期限。", "No legal period visible to you at this stage."),
    "next_deadline": ("下一个期限", "Next deadline"),
    "none_due": ("暂无", "none"),
    "witness_reports": ("数字见证报告", "Digital witness reports"),
    "report_kind": ("类型", "Kind"),
    "issued_at": ("签发时间", "Issued"),
    "signed_off": ("见证人员签认", "Signed off by"),
    "superseded_by": ("已由此版本取代：", "superseded by "),
    "kind_opening": ("开标见证", "opening"),
    "kind_evaluation": ("评标见证", "evaluation"),
    "kind_full": ("全过程见证", "whole procedure"),
    "kind_transaction": ("交易见证", "transaction"),
    "edition_draft": ("待签认版", "for sign-off"),
    "edition_signed": ("签发版", "signed edition"),
    "download": ("下载", "Download"),
    "check_report": ("核验", "Check"),
    "sign_off": ("签认", "Sign off"),
    "you_signed_off": ("您已签认", "signed off by you"),
    "no_reports": ("尚无您可下载的见证报告。", "No witness report you may download yet."),
    "warnings": ("围标串标预警", "Collusion warnings"),
    "bidders_named": ("涉及投标人", "Bidders named:"),
    "figures": ("数据", "figures:"),
    "warnings_inform": ("预警仅供见证与监督参考，不构成认定（条例 §39–§40）。", "Warnings inform the witness and the supervision body; they decide nothing (条例 §39–§40)."),
    "no_warnings": ("没有您可见的预警。", "No warning visible to you."),
    "refusals": ("拒收与拒绝记录", "Refused actions"),
    "refused_action": ("被拒绝的操作", "Action refused"),
    "rule": ("规则", "Rule"),
    "no_refusals": ("没有您可见的拒绝记录。", "No refused action visible to you."),
    "observations": ("见证记录", "Observations"),
    "media_hash": ("音视频材料哈希", "media hash"),
    "no_observations": ("尚无见证记录。", "No observation recorded yet."),
    "observation_note": ("记录内容", "What you observed"),
    "observation_media": ("音视频或照片（可选）", "Recording or photo (optional)"),
    "choose_file": ("选择文件", "Choose a file"),
    "no_file": ("未选择文件", "no file chosen"),
    "media_stays": ("文件不会上传：浏览器只计算它的 SHA-256 哈希，记入账本；原件由您按规定存档。",
                    "The file is not uploaded: the browser computes its SHA-256 hash for the ledger; you keep the original as the rules require."),
    "record_observation": ("签名并记录", "Sign and record"),
    "signing": ("正在用您的密钥签名并提交……", "Signing with your key and submitting…"),
    "recorded": ("已记入账本，收据编号（日志位置）", "Recorded on the ledger, at log position"),
    "action_refused": ("账本拒绝了此操作：", "The ledger refused the action: "),
    "wrong_key": ("本浏览器保存的密钥不是当前登录者的：请重新登录。", "The key kept in this browser is not the signed-in actor's: sign in again."),
    "hash_differs": ("下载的文件与账本记录的签发文件不一致，不能签认。", "The file downloaded is not the one the ledger recorded as issued: not signed off."),
    "live": ("实时", "live"),
    "withheld_actor": ("依法暂不公开", "withheld"),
    "state_now": ("项目当前状态", "The project's state now"),
    "entries": ("项", "entries"),
    "yes": ("是", "yes"),
    "premium_rate": ("溢价率", "Premium"),
    "on_this_page": ("本页", "On this page"),
    "version_sealed": ("开标前项目版本号不公开（法 §22）。", "the version is sealed until the opening (法 §22)"),
    # --- the supervision pages (supervision.py)
    "supervision": ("监督", "Supervision"),
    "not_supervisor": ("监督页面只向行政监督部门开放。", "The supervision pages are for supervision bodies only."),
    "sup_overview": ("项目总览", "Projects"),
    "sup_warnings": ("围标串标预警", "Collusion warnings"),
    "sup_log": ("账本健康", "Log health"),
    "sup_statistics": ("交易统计", "Statistics"),
    "sup_intro": ("您作为行政监督部门可见的全部项目（与 API 的项目列表相同），以及每个项目您可见的围标串标预警数。",
                  "Every project you may see as a supervision body (as the API lists them to you), with the "
                  "number of collusion warnings you may see on each."),
    "sup_projects": ("可见项目", "Projects"),
    "sup_projects_warned": ("有预警的项目", "With warnings"),
    "sup_warnings_total": ("预警总数", "Warnings"),
    "sup_show_all": ("全部项目", "All projects"),
    "sup_show_warned": ("只看有预警的项目", "Only those with warnings"),
    "sup_warning_count": ("预警", "Warnings"),
    "sup_public_page": ("公开页面", "public page"),
    "sup_no_projects": ("没有您可见的项目。", "No project is visible to you."),
    "sup_no_warned": ("没有有预警的项目。", "No project has a warning."),
    "sup_inform": ("预警只是提示，不作任何认定：它们是系统从记录中计算出的围标串标迹象（《招标投标法实施条例》第三十九条、第四十条）。是否构成串通投标，由行政监督部门依法调查认定。",
                   "Warnings inform; they decide nothing. They are signs of collusion the system computes from "
                   "the record (条例 §39–§40); whether bidders colluded is for the supervision body to "
                   "investigate and decide by law."),
    "sup_article": ("依据条款", "Article"),
    "sup_found": ("发现", "Found"),
    "sup_figures": ("数据", "Figures"),
    "sup_bidders": ("涉及投标人", "Bidders named"),
    "sup_events_behind": ("依据的事件", "The events behind it"),
    "sup_bidder": ("投标人", "Bidder"),
    "sup_version": ("版本（回放）", "Version (replay)"),
    "sup_no_warnings": ("没有您可见的预警。", "No warning visible to you."),
    "sup_all_warnings": ("全部项目的预警", "The warnings of every project"),
    "indicator_about.same-bid-file": ("不同投标人的投标文件解密后完全相同（第四十条第四项：投标文件异常一致）。",
                                      "Different bidders' decrypted bids are the same file (§40(4): abnormally identical bids)."),
    "indicator_about.same-machine": ("不同投标人的投标文件由同一台计算机编制（机器指纹相同；第四十条第一项：由同一单位或者个人编制）。",
                                     "Different bidders' bids were prepared on one machine (the same fingerprint; §40(1): prepared by the same unit or person)."),
    "indicator_about.same-ip": ("不同投标人从同一IP地址办理投标事宜（第四十条第二项：委托同一单位或者个人办理投标事宜）。",
                                "Different bidders acted from one IP address (§40(2): bidding handled by the same unit or person)."),
    "indicator_about.same-certificate": ("不同投标人使用同一张CA数字证书（第四十条第二项）。",
                                         "Different bidders used one CA certificate (§40(2))."),
    "indicator_about.same-security-account": ("不同投标人的投标保证金从同一账户转出（第四十条第六项）。",
                                              "Different bidders' securities came from one account (§40(6))."),
    "indicator_about.clustered-uploads": ("多家投标人（至少3家）在2分钟内相继上传投标文件：一种迹象，需结合其他情况判断。",
                                          "Three or more bids uploaded within two minutes: a sign, to be weighed with others."),
    "indicator_about.certificates-issued-together": ("不同投标人的CA证书在30分钟内相继办理：一种迹象。",
                                                     "Different bidders' CA certificates issued within 30 minutes: a sign."),
    "indicator_about.price-series": ("三个以上报价呈等差或等比规律（第四十条第四项：投标报价呈规律性差异）。",
                                     "Three or more prices in an arithmetic or geometric series (§40(4): prices differing by a regular pattern)."),
    "indicator_about.many-downloads-few-bids": ("获取招标文件的至少10家，投标的不超过三成：一种迹象。",
                                                "Ten or more obtained the documents but at most three in ten bid: a sign."),
    "sup_log_intro": ("账本的最新检查点、各见证方联署到哪里，以及最近一次完整性核验的结果。",
                      "The log's latest checkpoint, how far each witness has cosigned it, and the last "
                      "verification of the whole log."),
    "sup_checkpoint_time": ("签发时间（北京时间）", "Issued (China Standard Time)"),
    "sup_root": ("根哈希", "Root hash"),
    "sup_log_events": ("已记录事件数", "Events recorded"),
    "sup_not_yet_in_checkpoint": ("尚待纳入下一个检查点：", "not yet in a checkpoint: "),
    "sup_witness": ("见证方", "Witness"),
    "sup_cosigned": ("联署到的大小", "Cosigned up to"),
    "sup_cosigned_at": ("联署时间（北京时间）", "Cosigned (China Standard Time)"),
    "sup_behind": ("落后（事件数）", "Behind (events)"),
    "sup_up_to_date": ("已是最新", "up to date"),
    "sup_never_cosigned": ("尚未联署", "never cosigned"),
    "sup_push": ("推送", "Pushing"),
    "sup_pushed_by_us": ("由本服务器推送", "pushed by this server"),
    "sup_not_pushed": ("本服务器不向其推送（联署由其他服务器或途径取得）", "not pushed by this server (cosigned through another)"),
    "sup_push_ok": ("正常", "working"),
    "sup_last_error": ("最近一次失败：", "Last failure: "),
    "sup_failures": ("连续失败次数：", "failures in a row: "),
    "sup_next_attempt": ("下次重试：", "next attempt: "),
    "sup_no_witnesses": ("还没有见证方联署过本账本的检查点。", "No witness has cosigned a checkpoint of this log yet."),
    "sup_verification": ("完整性核验", "Verification"),
    "sup_verification_intro": ("核验逐一检查每个事件的签名、哈希链和回执，由事件重新计算默克尔树，并与已签发的检查点及其联署比对（与命令 sunledger verify 相同）。",
                               "The verification checks every event's signature, hash link and receipt, computes the "
                               "Merkle tree from the events again and compares it with the checkpoints issued and their "
                               "cosignatures (as the command sunledger verify does)."),
    "sup_verify_now": ("立即核验", "Verify now"),
    "sup_verifying": ("正在核验……", "Verifying…"),
    "sup_seconds": ("秒", "s"),
    "sup_about": ("约", "about"),
    "sup_events_unit": ("个事件", "events"),
    "sup_verify_refused": ("未能开始核验：", "The verification did not start: "),
    "sup_verify_failed": ("最近一次核验未能完成：", "The last verification did not finish: "),
    "sup_last_run": ("最近一次核验", "The last verification"),
    "sup_no_run": ("尚无核验记录。", "No verification run recorded."),
    "sup_intact": ("完好：没有事件被篡改、删除、重排或插入。", "Intact: no event altered, removed, reordered or inserted."),
    "sup_not_intact": ("发现问题：账本未通过核验。", "Findings: the log does not verify."),
    "sup_run_finished": ("完成时间（北京时间）", "Finished (China Standard Time)"),
    "sup_run_by": ("执行者", "Run by"),
    "sup_run_seconds": ("用时（秒）", "Took (seconds)"),
    "sup_run_events": ("核验的事件数", "Events verified"),
    "sup_run_root": ("由事件重新计算的根哈希", "Root computed from the events"),
    "sup_run_checkpoint": ("核验时的最新检查点", "Latest checkpoint then"),
    "sup_findings": ("发现的问题", "Findings"),
    "sup_findings_shown": ("仅列出前面的部分，共计：", "Only the first are listed; in all: "),
    "sup_finding_kind": ("类型", "Kind"),
    "sup_finding_where": ("位置", "Where"),
    "sup_finding_detail": ("说明", "Detail"),
    "sup_statistics_intro": ("与公开的统计接口（GET /v1/statistics）口径相同：已确定中标结果的项目，按类别与定标月份（北京时间）分组。节约率 =（控制价合计 − 中标价合计）÷ 控制价合计；产权交易为竞价出让，成交价常高于底价，节约率为负。",
                             "As the public statistics (GET /v1/statistics) count them: the projects whose result is "
                             "fixed, by category and month of the award (China Standard Time). Savings rate = (Σ control "
                             "price − Σ award price) ÷ Σ control price; rights transactions sell to the highest bid, "
                             "often above the reserve: their rate is negative."),
    "sup_month": ("月份", "Month"),
    "sup_projects_count": ("项目数", "Projects"),
    "sup_awarded_count": ("定标数", "Awarded"),
    "sup_failed_count": ("流标数", "Failed"),
    "sup_control_total": ("控制价合计（元）", "Σ control price (yuan)"),
    "sup_award_total": ("中标价合计（元）", "Σ award price (yuan)"),
    "sup_savings_rate": ("节约率", "Savings rate"),
    "sup_chart_savings": ("节约率（按定标月份与类别）", "Savings rate, by month of the award and category"),
    "sup_bids": ("每个项目的投标数", "Bids per project"),
    "sup_chart_bids": ("每个项目的有效投标文件数", "The bids of each project"),
    "sup_bids_count": ("投标数", "Bids"),
    "sup_bids_intro": ("开标后才能看到投标情况（《招标投标法》第二十二条）：尚未开标的项目不计入。",
                       "Who bid, and how many, is secret until the opening (法 §22): projects not yet opened are "
                       "left out."),
    "sup_bids_left_out": ("未计入的项目数：", "Projects left out: "),
    "sup_failed": ("流标", "Failed tenders"),
    "sup_chart_failed": ("流标项目数（按截标月份与类别）", "Failed tenders, by month of the close and category"),
    "sup_failed_intro": ("流标：截标时投标人不足且未重新招标、或未定标即归档的项目，按截标月份（北京时间）计，与上表“流标数”一致。",
                         "Failed tenders (流标): closed without enough bids and not tendered again, or archived "
                         "without a winner, by the month they closed (China Standard Time), as the table's "
                         "Failed column counts them."),
    "sup_no_statistics": ("尚无已确定中标结果的项目。", "No project has a fixed result yet."),
    "sup_no_bids": ("没有已开标的项目。", "No project has been opened yet."),
    "sup_no_failed": ("没有流标的项目。", "No tender has failed."),
    "sup_figures_table": ("数据表", "The figures"),
    # --- the dispute replay (replay.py)
    "replay": ("争议回放", "Dispute replay"),
    "replay_intro": ("逐一查看项目的每个事项：它改变了什么，此后项目处于什么状态；每一步都可用账本的证明独立核对。",
                     "The project's events one by one: what each changed and the state after it; each step "
                     "can be checked on its own against the ledger's proofs."),
    "seen_as_public": ("视角：社会公众。登录后可看到依法可向您公开的更多内容。",
                       "Seen as the public. Signed in, you see what the law lets you see beyond that."),
    "seen_as": ("视角：", "Seen as "),
    "step_of": ("第 {k} 步 / 共 {n} 步", "Step {k} of {n}"),
    "first_step": ("« 第一步", "« First"),
    "previous_step": ("‹ 上一步", "‹ Previous"),
    "next_step": ("下一步 ›", "Next ›"),
    "last_step": ("最后一步 »", "Last »"),
    "arrow_keys": ("键盘 ← → 可前后翻步", "Keys ← → step back and forth"),
    "go_to_moment": ("跳到某一时刻（北京时间）", "Go to a moment (China Standard Time)"),
    "go": ("前往", "Go"),
    "version": ("版本号", "Version"),
    "event_hash": ("事件哈希", "Event hash"),
    "leaf_index": ("日志叶序号", "Leaf index in the log"),
    "proof": ("包含证明", "Inclusion proof"),
    "proof_json": ("查看本事件的包含证明", "This event's inclusion proof"),
    "proof_sealed": ("开标前版本号依法保密（法 §22），开标后才提供按版本的证明。",
                     "Before the opening versions are secret by law (法 §22): proofs by version are given from the opening."),
    "proof_not_seen": ("您看不到本事件的版本号，因此没有证明链接。", "You may not see this event's version, so there is no proof link."),
    "withheld_now": ("依法暂不公开", "withheld by law for now"),
    "what_changed": ("本步的变化", "What this step changed"),
    "no_change": ("本步没有改变您可见的项目状态。", "This step changed nothing in the state you may see."),
    "changes_withheld": ("本步的变化依法暂不公开。", "What this step changed is withheld by law for now."),
    "state_after": ("本步之后的项目状态", "The project's state after this step"),
    "all_steps": ("全部步骤", "All steps"),
    "dossier": ("争议卷宗", "Dispute dossier"),
    "dossier_intro": ("争议卷宗（ZIP）载有项目的全部事件、被拒绝的操作、签名人的公钥、完整性证明和回放，可用 sunledger check-dossier 离线核对。",
                      "The dispute dossier (ZIP) holds every event of the project, its refused actions, its "
                      "signers' keys, the completeness proofs and the replay: check it offline with sunledger "
                      "check-dossier."),
    "dossier_download": ("下载争议卷宗（ZIP）", "Download the dispute dossier (ZIP)"),
    "dossier_not_yours": ("您目前不能下载争议卷宗：卷宗载有完整、带签名的每一个事件，只提供给能完整查看项目全部事件的人。账本给出的理由：",
                          "You may not download the dispute dossier now: it carries every event whole and "
                          "signed, and is given only to whoever may see all of them whole. The ledger's reason: "),
    "dossier_refused": ("未能提供争议卷宗。账本给出的理由：", "The dispute dossier is not given. The ledger's reason: "),
    "bad_about": ("“about” 应当是版本号，而不是 “{asked}”。", "“about” is a version number, not “{asked}”."),
    "bad_step": ("没有第 “{asked}” 步：此回放共 {n} 步（1 至 {n}）。下面显示第 1 步。",
                 "There is no step “{asked}”: this replay has {n} steps (1 to {n}). Step 1 is shown below."),
    "bad_version": ("没有您可见的版本 “{asked}”。下面显示第 1 步。",
                    "No version “{asked}” is visible to you. Step 1 is shown below."),
    "versions_sealed": ("开标前项目的版本号依法保密（法 §22），不能按版本 “{asked}” 查找：请按步骤或时刻查找。下面显示第 1 步。",
                        "Before the opening a project's versions are secret by law (法 §22): version “{asked}” "
                        "cannot be looked up; go by step or by moment. Step 1 is shown below."),
    "bad_time": ("无法识别时刻 “{asked}”：请按 年-月-日T时:分（北京时间）填写，例如 2025-03-24T09:30。下面显示第 1 步。",
                 "“{asked}” is not a moment: give year-month-dayThour:minute (China Standard Time), such as "
                 "2025-03-24T09:30. Step 1 is shown below."),
    "before_first": ("{asked}（北京时间）之前没有您可见的步骤。下面显示第 1 步。",
                     "No step you may see is at or before {asked} (China Standard Time). Step 1 is shown below."),
    "back_to_replay": ("返回争议回放", "Back to the replay"),
    # --- a listed lot's ladder and live countdown (listing.py, _ladder.html, static/ladder.js)
    "lot_title": ("挂牌与竞价", "Listing and bidding"),
    "lot_terms": ("挂牌条件", "Terms of the listing"),
    "lot_asset": ("出让标的", "Asset"),
    "lot_listing_period": ("挂牌期（北京时间）", "Listing (China Standard Time)"),
    "lot_registration_until": ("竞买申请截止（北京时间）", "Registration until (China Standard Time)"),
    "lot_starting_price": ("起始价", "Starting price"),
    "lot_increment": ("增价幅度", "Increment"),
    "lot_deposit": ("竞买保证金", "Deposit"),
    "lot_countdown_length": ("限时竞价倒计时", "Timed round's countdown"),
    "lot_seconds": ("秒", "s"),
    "lot_yuan": ("元", "yuan"),
    "lot_highest": ("当前最高报价", "Highest quote so far"),
    "lot_highest_final": ("最高报价", "Highest quote"),
    "lot_count": ("报价次数", "Quotes"),
    "lot_least_next": ("下一次报价至少", "Next quote at least"),
    "lot_no_quote_yet": ("尚无报价", "no quote yet"),
    "lot_quotes": ("报价记录（按账本顺序）", "Quotes, in the ledger's order"),
    "lot_quote_n": ("序号", "No."),
    "lot_price": ("报价（元）", "Price (yuan)"),
    "lot_quoted_at": ("报价时间（北京时间）", "Time (China Standard Time)"),
    "lot_bidder": ("竞买人", "Bidder"),
    "lot_top": ("最高", "highest"),
    "lot_who_withheld": ("报价人不向公众公开：公众只看到报价和时间，竞得人随出让结果公布。",
                         "Who quoted is not made public: the public sees the prices and times; "
                         "the winner is published with the result."),
    "lot_clock.starts": ("距挂牌开始", "The listing starts in"),
    "lot_clock.listing": ("距挂牌截止", "The listing ends in"),
    "lot_clock.round": ("限时竞价倒计时", "Timed round: time left"),
    "lot_ends.starts": ("挂牌开始时间", "Starts at"),
    "lot_ends.listing": ("挂牌截止时间", "Ends at"),
    "lot_ends.round": ("本轮倒计时截止", "This countdown runs out at"),
    "lot_ran_out.listing": ("挂牌期已届满，等待系统记录挂牌截止……",
                            "The listing has run its time: waiting for the ledger to record its close…"),
    "lot_ran_out.round": ("倒计时结束，等待系统记录竞价结束……",
                          "The countdown has run out: waiting for the ledger to record the end of bidding…"),
    "lot_round_rule": ("每出现新的最高报价，倒计时重新开始；倒计时结束前没有新的报价，竞价即结束。",
                       "Each new highest quote restarts the countdown; when it runs out without a new "
                       "quote, bidding ends."),
    "lot_server_clock": ("按服务器时间计时，与本机时钟无关。", "Counted on the server's clock, not this device's."),
    "lot_days": ("天", "d"),
    "lot_offline": ("与服务器的连接中断，正在重试……", "Lost the connection to the server, retrying…"),
    "lot_bidding_ended": ("竞价已结束", "Bidding has ended"),
    "lot_countdowns": ("倒计时记录", "Countdown history"),
    "lot_started": ("开始（北京时间）", "Started (China Standard Time)"),
    "lot_runs_out": ("截止（北京时间）", "Runs out (China Standard Time)"),
    "lot_started_by": ("起因", "Started by"),
    "lot_round_opened": ("挂牌截止，进入限时竞价", "the listing's close: the timed round opens"),
    "lot_new_highest": ("新的最高报价", "new highest quote"),
    "lot_current": ("当前", "current"),
    "lot_reserve": ("底价", "Reserve price"),
    "lot_reserve_sealed": ("底价已在竞价开始前密封承诺（哈希），竞价结束后公开并核对。",
                           "The reserve was committed by its hash before bidding started; it is "
                           "revealed and checked against it once bidding has ended."),
    "lot_sold": ("成交", "Sold"),
    "lot_winner": ("竞得人", "Winner"),
    "lot_award_price": ("成交价", "Price"),
    "lot_no_sale": ("未成交", "No sale"),
    "lot_state_as_loaded": ("项目状态（页面打开时）", "The project's state (when the page was opened)"),
    "lot_reached.announced": ("已发布挂牌公告", "listing announced"),
    "lot_reached.opened": ("挂牌截止", "listing closed"),
    "lot_reached.published": ("出让结果已公布", "result published"),
    "lot_reached.fixed": ("已成交", "sold"),
    "period_closed.listing": ("挂牌截止于", "listing closed at"),
    "period_closed.timed-round": ("倒计时截止于", "the countdown ran out at"),
}

STAGE_NAMES: dict[str, tuple[str, str]] = {
    "intake": ("受理中", "intake"), "accepted": ("已受理", "accepted"),
    "refused": ("不予受理", "refused"), "announced": ("已公告", "announced"),
    "failed": ("流标", "failed"), "closed": ("已截标", "bids closed"),
    "opened": ("已开标", "opened"), "reported": ("评标完成", "evaluated"),
    "publicity": ("中标候选人公示", "candidates published"), "awarded": ("已定标", "awarded"),
    "contracted": ("已签合同", "contracted"), "terminated": ("已终止", "terminated"),
    "archived": ("已归档", "archived"),
    # a rights transaction by listing or online auction (39号令)
    "listing": ("挂牌中", "listing"), "timed-round": ("限时竞价中", "timed round"),
    "bidding-ended": ("竞价结束", "bidding ended"),
}

STAGE_NAMES.update({  # the visibility milestones a project reached (projections/visibility.py)
    "published": ("结果公示", "candidates published"), "fixed": ("结果确定", "result fixed"),
})
PHASE_NAMES: dict[str, tuple[str, str]] = {  # the phases a timeline is grouped by
    "intake": ("受理与公告前", "before the announcement"), "announced": ("公告至开标", "announced, until the opening"),
    "opened": ("开标与评标", "opening and evaluation"), "reported": ("评标报告之后", "after the evaluation report"),
    "published": ("公示期", "publicity"), "fixed": ("定标之后", "after the award"),
    # a listing's or an online auction's (witnessing.LISTING_PHASES)
    "listing": ("挂牌与竞价", "listing and bidding"), "bidding-ended": ("竞价结束之后", "after bidding"),
    "sold": ("成交之后", "after the sale"), "result-published": ("结果公布之后", "after the result's publication"),
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
    # a rights transaction by listing or online auction (39号令)
    "asset": ("出让标的", "asset"), "listing_from": ("挂牌起始时间", "listing from"),
    "listing_until": ("挂牌截止时间", "listing until"),
    "registration_until": ("竞买申请截止时间", "registration until"),
    "starting_price": ("起始价（元）", "starting price (yuan)"),
    "increment": ("增价幅度（元）", "increment (yuan)"),
    "deposit_required": ("竞买保证金（元）", "deposit required (yuan)"),
    "countdown_seconds": ("限时竞价倒计时（秒）", "timed round countdown (seconds)"),
    "reserve_commitment": ("底价承诺（哈希）", "reserve price commitment (hash)"),
    "reserve": ("底价（元）", "reserve price (yuan)"),
    "registered": ("竞买人及保证金", "registered bidders and deposits"),
    "quotes": ("报价记录", "quotes"), "highest_quote": ("当前最高报价（元）", "highest quote (yuan)"),
    "quote_count": ("报价次数", "number of quotes"),
    "continuing": ("申请继续竞价的竞买人", "who asked to continue"),
    "round_opened_at": ("限时竞价开始时间", "timed round opened at"),
    "round_ends_at": ("限时竞价截止时间", "timed round ends at"),
    "no_sale": ("未成交原因", "why nothing was sold"),
    "confirmation_hash": ("成交确认书哈希", "deal confirmation hash"),
    "result_published_at": ("结果公布时间", "result published at"),
}


def word(key: str, language: str) -> str:
    zh, en = WORDS[key]
    return en if language == "en" else zh


# the stages a listing names its own way: nothing sold is not a failed tender (流标), a
# confirmed deal not a signed contract
LISTING_STAGE_NAMES: dict[str, tuple[str, str]] = {
    "failed": ("未成交", "no sale"), "awarded": ("已确定竞得人", "buyer fixed"),
    "contracted": ("已成交", "deal confirmed"),
}


def stage_name(stage: str, language: str, listing: bool = False) -> str:
    zh, en = (listing and LISTING_STAGE_NAMES.get(stage)) or STAGE_NAMES.get(stage, (stage, stage))
    return en if language == "en" else zh


# the members a listing names its own way (39号令: a seller, a buyer, the listing's close)
LISTING_FIELD_NAMES: dict[str, tuple[str, str]] = {
    "method": ("交易方式", "procedure"), "tenderee": ("出让人", "seller"),
    "closed_at": ("挂牌截止时间", "listing closed at"), "winner": ("竞得人", "buyer"),
    "award_price": ("成交价（元）", "price (yuan)"), "refunded": ("竞买保证金退还", "deposits refunded"),
}


def field_name(member: str, language: str, listing: bool = False) -> str:
    zh, en = (listing and LISTING_FIELD_NAMES.get(member)) or FIELD_NAMES.get(member, (member, member))
    return en if language == "en" else zh


def word_of(table: dict[str, tuple[str, str]], code: str, language: str) -> str:
    """A code's name in a (中文, English) table, the code itself when it has none."""
    zh, en = table.get(code, (code, code))
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


# the event types (ledger/evidence/catalogue.py), as a timeline names them: a project's steps
# by the names the witness reports give them (witness/vocabulary.py: one name for one step,
# on the page and in the PDF), a listing's by its own; the others here
_OTHER_EVENT_NAMES: dict[str, tuple[str, str]] = {
    "actor.registered/v1": ("参与方登记", "actor registered"),
    "actor.key-added/v1": ("登记密钥", "key added"),
    "actor.key-revoked/v1": ("吊销密钥", "key revoked"),
    "actor.key-rotated/v1": ("更换密钥", "key rotated"),
    "actor.certificate-added/v1": ("登记数字证书", "certificate added"),
    "ledger.started/v1": ("账本启用", "ledger started"),
    "ledger.ca-trusted/v1": ("信任证书机构", "certificate authority trusted"),
    "refusal.recorded/v1": ("记录被拒绝的操作", "refusal recorded"),
    "register.centre-described/v1": ("登记交易中心信息", "centre described"),
    "register.number-assigned/v1": ("分配报告编号", "report number assigned"),
}


def _project_events(steps: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {f"project.{code}/v1": words for code, words in steps.items()}


EVENT_NAMES = {**_OTHER_EVENT_NAMES, **_project_events(STEPS)}
LISTING_EVENT_NAMES = {**_OTHER_EVENT_NAMES, **_project_events(LISTING_STEPS)}


def event_name(event_type: str, language: str, listing: bool = False) -> str:
    """An event type's name (in a project sold by listing, `listing`)."""
    names = LISTING_EVENT_NAMES if listing else EVENT_NAMES
    zh, en = names.get(event_type, (event_type, event_type))
    return en if language == "en" else zh


# --- a listed lot's timeline (witnessing.ROUND_PHASES): its timed round, a phase of its own
PHASE_NAMES["timed-round"] = ("限时竞价", "the timed round")
