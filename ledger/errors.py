"""Typed errors of the ledger. Each has a stable `code` (the API maps it to RFC 9457
problem+json), says what was wrong and where, and what to do. A refused append writes nothing."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of all ledger errors."""

    code = "ledger-error"
    status = 400  # the HTTP status the API maps this error to

    def __init__(self, message: str, **details: object):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_problem(self) -> dict:
        """The error as an RFC 9457 problem object (a detail never replaces one of its four
        standard members: name an event's type `event_type`)."""
        standard = {
            "type": f"urn:sunledger:error:{self.code}",
            "title": self.code.replace("-", " "),
            "status": self.status,
            "detail": self.message,
        }
        return {**standard, **{k: v for k, v in self.details.items()
                               if v is not None and k not in standard}}


class StoreUnavailable(LedgerError):
    code = "store-unavailable"
    status = 503


class LedgerKeyError(LedgerError):
    code = "ledger-key"
    status = 500


class ActionRefused(LedgerError):
    """An action was refused before anything was stored."""


class UnknownActor(ActionRefused):
    code = "unknown-actor"
    status = 403


class UnknownKey(ActionRefused):
    code = "unknown-key"
    status = 403


class KeyRevoked(ActionRefused):
    code = "key-revoked"
    status = 403


class KeyNotValid(ActionRefused):
    """The key or certificate is outside its validity period, or its CA is not trusted."""

    code = "key-not-valid"
    status = 403


class BadSignature(ActionRefused):
    code = "bad-signature"
    status = 403


class NotPermitted(ActionRefused):
    code = "not-permitted"
    status = 403


class RuleRefused(ActionRefused):
    """The trading rules forbid this action now; the message names the rule and its article,
    and the refusal itself is recorded (refusal:<project>)."""

    code = "rule-refused"
    status = 409


class NonceReused(ActionRefused):
    code = "nonce-reused"
    status = 409


class StaleVersion(ActionRefused):
    """The expected stream version is not the stream's current version: a conflict."""

    code = "stale-version"
    status = 409


class MalformedAction(ActionRefused):
    code = "malformed-action"
    status = 422


class OversizedPayload(ActionRefused):
    code = "oversized-payload"
    status = 413


class BadCertificate(ActionRefused):
    code = "bad-certificate"
    status = 422


class BundleError(LedgerError):
    code = "bad-bundle"
    status = 422


class UntrustedFileError(LedgerError):
    """A file from outside (a bundle, a dossier, a proof, a report) refused before any of it
    was judged: not the kind of file it should be, damaged, or beyond a reader's limits (a zip
    bomb, a line or a document larger than any real one)."""

    code = "file-refused"
    status = 413


class NotInLog(LedgerError):
    """A stream version, leaf or checkpoint the log does not hold."""

    code = "not-in-log"
    status = 404


class BadTreeSize(LedgerError):
    """A tree size or leaf index outside the log as it stands."""

    code = "bad-tree-size"
    status = 400


class BadNote(LedgerError):
    """A signed note (checkpoint, cosignature), key or proof that is malformed or does not
    verify."""

    code = "bad-note"
    status = 400


class LogInconsistent(LedgerError):
    """The stored tree does not extend the last checkpoint: nothing is signed."""

    code = "log-inconsistent"
    status = 500


class WitnessRefusal(LedgerError):
    """The witness will not cosign: `code` says why (tlog-witness status in `status`)."""

    code = "witness-refused"


class UnknownLog(WitnessRefusal):
    code = "unknown-log"
    status = 404


class OldSizeMismatch(WitnessRefusal):
    """The request's old size is not the size the witness last cosigned (409)."""

    code = "old-size-mismatch"
    status = 409


class InconsistentCheckpoint(WitnessRefusal):
    """The checkpoint contradicts what the witness has cosigned: the log forked or rewrote."""

    code = "inconsistent-checkpoint"
    status = 422
