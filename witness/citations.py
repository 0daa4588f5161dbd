"""Articles of law as a report cites them.

The rule table (ledger/procedures/rules.py) keeps each article in a compact form that a
refusal can carry: "法 §34", "法 §24; 政采法 §35", "条例 §71, §81", "法 §12–§13". A Chinese
document cites a law by its title in book-title marks, the full title on first use and the
usual short title after it, and the article by its Chinese numeral: 《中华人民共和国招标投标法》
第三十四条, then 《招标投标法》第三十四条. The English report names the law in English
("Bidding Law, Art. 34").

A construction tender is governed by the bidding law and its regulation, a government
procurement by the procurement law and its regulation: where a rule gives the sources of
both (a table row "法 §24; 政采法 §35"), a report cites those of its own project only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# abbreviation: (full Chinese title, short Chinese title, English name)
LAWS: dict[str, tuple[str, str, str]] = {
    "法": ("中华人民共和国招标投标法", "招标投标法", "Bidding Law"),
    "条例": ("中华人民共和国招标投标法实施条例", "招标投标法实施条例",
           "Regulation on the Implementation of the Bidding Law"),
    "政采法": ("中华人民共和国政府采购法", "政府采购法", "Government Procurement Law"),
    "政采条例": ("中华人民共和国政府采购法实施条例", "政府采购法实施条例",
             "Regulation on the Implementation of the Government Procurement Law"),
    "电子办法": ("电子招标投标办法", "电子招标投标办法", "Measures on Electronic Bidding"),
    "民法典": ("中华人民共和国民法典", "民法典", "Civil Code"),
    "39号令": ("招标拍卖挂牌出让国有建设用地使用权规定", "招标拍卖挂牌出让国有建设用地使用权规定",
             "Provisions on Granting State-owned Construction Land Use Rights (MLR Order No. 39)"),
    "32号令": ("企业国有资产交易监督管理办法", "企业国有资产交易监督管理办法",
             "Measures on Transactions of State-owned Assets of Enterprises (Order No. 32)"),
    "矿业权规则": ("矿业权交易规则", "矿业权交易规则", "Mining Rights Trading Rules"),
}
SHORT_EN = {"条例": "Bidding Regulation", "政采条例": "Procurement Regulation"}
PROCUREMENT = frozenset(("政采法", "政采条例"))
TENDER = frozenset(("法", "条例"))
# sources that are not laws, as the rule table writes them
OTHER = {"Sunledger operating rule": ("本交易系统运行规则", "the platform's operating rule"),
         "the centre's setting": ("交易中心设置", "the centre's setting")}
SIGNAL = " (signal)"

_PART = re.compile(r"^(?P<law>\S+?)(?: (?P<articles>§\d+(?:\([一二三四五六七八九十]+\))?"
                   r"(?:(?:–|, )§\d+(?:\([一二三四五六七八九十]+\))?)*))?$")
_ARTICLE = re.compile(r"§(\d+)(?:\(([一二三四五六七八九十]+)\))?")
DIGITS = "零一二三四五六七八九"
ITEMS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]


def chinese_number(n: int) -> str:
    """An article number as Chinese documents write it: 34 → 三十四, 201 → 二百零一,
    110 → 一百一十, 10 → 十."""
    if not 0 < n < 10000:
        raise ValueError(f"no article {n}")
    units = [(1000, "千"), (100, "百"), (10, "十"), (1, "")]
    out, zero = "", False
    for size, name in units:
        digit, n = divmod(n, size)
        if digit:
            if zero:
                out += "零"
            out += ("" if (size == 10 and digit == 1 and not out) else DIGITS[digit]) + name
            zero = False
        elif out:
            zero = True
    return out


class UnknownCitation(ValueError):
    """An article in a form the report cannot cite (a rule table edited by hand)."""


def _parts(article: str) -> list[tuple[str, list[str]]]:
    """("法", ["§24"]) and the like for each '; '-separated part; ("", [text]) for a
    source that is not a law."""
    parts = []
    for part in article.split("; "):
        part = part.strip()
        if part in OTHER:
            parts.append(("", [part]))
            continue
        found = _PART.match(part)
        if found is None or found["law"] not in LAWS:
            raise UnknownCitation(f"cannot cite {part!r}")
        parts.append((found["law"], [found["articles"] or ""]))
    return parts


def applicable(article: str, kind: str) -> list[tuple[str, list[str]]]:
    """The parts of `article` that govern a project of `kind`: a construction tender never
    cites the procurement law, a procurement the bidding law where its own law is cited too."""
    parts = _parts(article)
    if kind == "procurement":
        own = [p for p in parts if p[0] in PROCUREMENT or p[0] not in TENDER]
        if any(p[0] in PROCUREMENT for p in own):
            return own
        return parts
    return [p for p in parts if p[0] not in PROCUREMENT] or parts


@dataclass
class Citer:
    """Cites articles in one document: a law's full title on its first use, its short title
    after (zh); English names throughout (en)."""

    zh: bool = True
    kind: str = "construction"
    cited: set[str] = field(default_factory=set)

    def __call__(self, article: str) -> str:
        signal = article.endswith(SIGNAL)
        body = article.removesuffix(SIGNAL)
        try:
            parts = applicable(body, self.kind)
        except UnknownCitation:  # a centre's own wording: shown as it is, never as "§"
            return _ARTICLE.sub(lambda m: f"第{chinese_number(int(m[1]))}条" if self.zh
                                else f"Art. {m[1]}", article)
        words = [self._part(law, text) for law, texts in parts for text in texts]
        joined = ("；" if self.zh else "; ").join(words)
        if signal:
            joined += "（监测信号）" if self.zh else " (signal)"
        return joined

    def _part(self, law: str, articles: str) -> str:
        if not law:
            return OTHER[articles][0 if self.zh else 1]
        full, short, english = LAWS[law]
        found = _ARTICLE.findall(articles)
        ranged = "–" in articles
        if not self.zh:
            name = SHORT_EN.get(law, english) if law in self.cited else english
            self.cited.add(law)
            cited = [f"{n}({ITEMS.index(item) + 1})" if item else n for n, item in found]
            if not cited:
                return name
            if ranged:
                return f"{name}, Arts. {cited[0]}–{cited[-1]}"
            return f"{name}, Art{'s' if len(cited) > 1 else ''}. {', '.join(cited)}"
        title = short if law in self.cited else full
        self.cited.add(law)
        cited = [f"第{chinese_number(int(n))}条" + (f"第（{item}）项" if item else "") for n, item in found]
        if ranged:
            return f"《{title}》{cited[0]}至{cited[-1]}"
        return f"《{title}》" + "、".join(cited)
