"""Group commit: single actions sent at the same moment by different callers (the threads of
a server, each answering one request) are appended in one transaction, each judged on its own
merits (Ledger.submit_each): one write and one flush for the group instead of one each.

No caller waits for a timer. The first caller to find nobody appending becomes the leader:
it takes every action waiting (its own first, at most MAX_BATCH), appends them, hands each
caller its answer, and passes the lead to the oldest action that arrived meanwhile. A group
is whatever gathered while the previous one was being written, so under light load every
action is a group of one, and under heavy load the groups grow and the flushes are shared."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import LedgerError
from ledger.evidence.envelope import SignedAction
from ledger.evidence.receipts import Receipt
from ledger.ledger import MAX_BATCH, Ledger

Outcome = tuple[Receipt, int] | LedgerError  # (receipt, leaf index) or what refused it


@dataclass(eq=False)
class _Waiting:
    signed: SignedAction
    woken: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    done: bool = False
    outcome: Any = None


class GroupCommit:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._leading = False

    def submit(self, signed: SignedAction) -> Outcome:
        """Append `signed` with whatever else is waiting: its receipt and leaf index, or the
        LedgerError that refused it (returned, not raised). An error that is no refusal of
        this action (the store failing) is raised."""
        me = _Waiting(signed)
        with self._lock:
            self._waiting.append(me)
            if not self._leading:
                self._leading = me.leads = True
        while not me.done:
            if me.leads:
                self._lead()
            else:
                me.woken.wait()
                me.woken.clear()
        if isinstance(me.outcome, BaseException) and not isinstance(me.outcome, LedgerError):
            raise me.outcome
        return me.outcome

    def _lead(self) -> None:
        """Append the oldest waiting actions (the leader's own among them), answer them, and
        pass the lead on to the oldest that is left, if any."""
        with self._lock:
            group, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        try:
            outcomes: list = self.ledger.submit_each(*[w.signed for w in group])
        except BaseException as error:  # noqa: BLE001 - the whole group failed: each is told
            outcomes = [error] * len(group)
        with self._lock:
            for waiting, outcome in zip(group, outcomes, strict=True):
                waiting.outcome, waiting.done, waiting.leads = outcome, True, False
                waiting.woken.set()
            if self._waiting:
                self._waiting[0].leads = True
                self._waiting[0].woken.set()
            else:
                self._leading = False
