"""Reactions: steps the ledger takes itself when their time comes, without anyone applying
for them, the way Xiangxi's centre refunds bid security at once: the close of submission at
the bid deadline, and every security refund that is owed (after the contract; for a bid
withdrawn before the deadline; for a decryption failure that was not the bidder's fault); a
listing's close at its end and its timed round's end when the countdown has run out, and its
bidders' deposits (39号令 §21).

Each reaction is an action signed by the ledger key (actor `ledger`, role registrar), judged
by the procedure like any other, with a nonce derived from what it does: run twice, or in two
processes, a reaction is recorded once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from ledger.errors import LedgerError
from ledger.evidence.canonical import format_money, format_time
from ledger.evidence.envelope import LEDGER_ACTOR, Action, SignedAction
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from projections.follower import ChangedProjects, Follower


def _nonce(stream: str, type_: str, subject: str) -> str:
    return hashlib.sha256(f"reaction\x00{stream}\x00{type_}\x00{subject}".encode()).hexdigest()[:32]


class Reactor:
    """Follows the log and records the reactions that are due on the ledger's clock."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.changed = ChangedProjects()
        self.follower = Follower(ledger.recorder, self.changed)
        self.watched: set[str] = set()  # projects a reaction may still come due in

    def _action(self, stream: str, type_: str, payload: dict, subject: str,
                now: datetime) -> SignedAction:
        signer = ActorSigner(LEDGER_ACTOR, self.ledger.key)
        action = Action(stream, type_, payload, LEDGER_ACTOR, self.ledger.key.key_id,
                        self.ledger.stream_version(stream), _nonce(stream, type_, subject),
                        format_time(now))
        return SignedAction(action, signer.key.sign(action.signing_bytes()))

    def due(self) -> list[tuple[str, str, dict, str]]:
        """(stream, type, payload, subject) of every reaction due now."""
        self.follower.follow()
        self.watched |= self.changed.take()
        now = self.ledger.clock.now()
        found, waiting = [], set()
        for stream in sorted(self.watched):
            # each through the ledger's bounded cache: the reactor holds names, not states
            current = self.ledger.stream(stream)
            if current is None:
                continue
            state = current.state
            if state.stage == "announced" and state.bid_deadline:
                waiting.add(stream)  # the close comes due with time, without an event
                if now >= state.bid_deadline and not state.suspended:
                    found.append((stream, "project.submission-closed/v1", {}, "close"))
            if state.stage == "listing" and state.listing_until:  # a listing's end (rights.py)
                waiting.add(stream)
                if now >= state.listing_until:
                    found.append((stream, "project.listing-closed/v1", {}, "listing-close"))
            if state.stage == "timed-round" and state.round_ends_at:  # its countdown ran out
                waiting.add(stream)
                if now >= state.round_ends_at:
                    found.append((stream, "project.round-ended/v1", {},
                                  f"round-end:{format_time(state.round_ends_at)}"))
            for bidder, due in self.ledger.procedure.refunds_due(state):
                if state.failed_decryption.get(bidder) == "bidder" or bidder in state.refunded:
                    continue
                waiting.add(stream)
                held = state.registered.get(bidder, state.security.get(bidder))  # a deposit
                found.append((stream, "project.security-refunded/v1",
                              {"bidder": bidder, "amount": format_money(held)},
                              f"refund:{bidder}:{format_time(due)}"))  # a re-tender's is another
        # nothing else comes due without an event of the project's, which brings it back
        self.watched = waiting
        return found

    def run(self) -> list[tuple[str, str, str]]:
        """Record what is due; return (stream, type, outcome) for each reaction tried."""
        outcomes = []
        for stream, type_, payload, subject in self.due():
            try:
                self.ledger.submit(self._action(stream, type_, payload, subject,
                                                self.ledger.clock.now()))
                outcomes.append((stream, type_, "recorded"))
            except LedgerError as error:  # already recorded elsewhere, or not (yet) allowed
                outcomes.append((stream, type_, f"not recorded: {error.code}"))
        self.follower.follow()
        return outcomes
