"""The centre's register of witness reports (见证报告发文登记): who the centre is, how its
documents are numbered, and the number each report was given.

A document number is the centre's prefix, the year and a sequence within the year, as Chinese
official documents write it: 株交见〔2025〕第0012号. Numbers come from one stream of the
ledger (`register:witness-reports`), appended at an expected version like any stream: two
writers cannot take the same number, and a number taken for a report whose rendering then
failed stays on the record, with the project and kind it was taken for, rather than being
given again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ledger.errors import RuleRefused
from ledger.procedures.calendar import local_date

REGISTER = "register:witness-reports"
DEFAULT_PREFIX = "交见"  # until the centre describes itself (`sunledger centre`)


@dataclass
class Register:
    centre: str = ""  # the centre's name, as its reports print it
    prefix: str = DEFAULT_PREFIX
    portal: str = ""  # the base address of its verification page
    assigned: dict[int, int] = field(default_factory=dict)  # year -> last sequence

    def next_number(self, at: datetime) -> tuple[int, int, str]:
        """(year, sequence, document number) of the next report issued at `at`."""
        year = local_date(at).year
        sequence = self.assigned.get(year, 0) + 1
        return year, sequence, document_number(self.prefix, year, sequence)


def document_number(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}〔{year}〕第{sequence:04d}号"


def parse_number(number: str) -> tuple[int, int]:
    """(year, sequence) of a document number (0, 0: not one of a register)."""
    found = re.search(r"〔(\d{4})〕第(\d+)号", number)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def apply(register: Register, event: dict) -> None:
    payload = event["payload"]
    if event["type"] == "register.centre-described/v1":
        register.centre, register.prefix = payload["centre"], payload["prefix"]
        register.portal = payload["portal"]
    elif event["type"] == "register.number-assigned/v1":
        register.assigned[payload["year"]] = payload["sequence"]


def check(register: Register, event_type: str, payload: dict, at: datetime) -> None:
    """What the register admits: numbers in sequence within the ledger time's year (China
    Standard Time), each written as the centre's prefix makes it."""
    if event_type != "register.number-assigned/v1":
        return
    year, sequence, number = register.next_number(at)
    if (payload["year"], payload["sequence"], payload["number"]) != (year, sequence, number):
        raise RuleRefused(f"the next witness report number is {number} (year {year}, "
                          f"sequence {sequence}), not {payload['number']}; rule "
                          "report-number (Sunledger operating rule): report numbers follow "
                          "each other within a year", rule="report-number",
                          article="Sunledger operating rule")
