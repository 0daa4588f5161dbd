"""The log and its proofs: checkpoints, the log's verifier key, inclusion, consistency and
completeness proofs, and checking a proof offline."""

from __future__ import annotations

import base64
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from ledger.errors import BadNote as BadNoteError
from ledger.errors import LedgerError
from ledger.errors import NotInLog as NotInLogError
from .options import (
    beijing, fail, key_option, number, open_ledger, project_stream, read_store, store_option,
)


@click.command()
@store_option
@key_option
@click.option("--issue", is_flag=True,
              help="sign a checkpoint of the log as it stands now (needs the ledger key)")
@click.option("--add-cosignature", "cosignature", type=click.File("rb"), metavar="FILE",
              help="record a witness's cosignature: FILE holds the line `sunledger witness "
                   "add-checkpoint` printed (- for stdin); checked against the kept checkpoint "
                   "it signs, with --witness-key")
@click.option("--witness-key", metavar="VKEY",
              help="with --add-cosignature: the witness's verifier key as it published it "
                   "(`sunledger witness init` or `witness key` prints it)")
def checkpoint(store: str, ledger_key: Path | None, issue: bool, cosignature,
               witness_key: str | None) -> None:
    """Print the latest signed checkpoint (C2SP tlog-checkpoint) with its cosignatures; or
    sign one now (--issue); or record a witness's cosignature line (--add-cosignature)."""
    from ledger.log.checkpoints import latest_checkpoint
    from ledger.log.proofs import cosigned_note

    if (cosignature is None) != (witness_key is None):
        raise click.UsageError("--add-cosignature FILE and --witness-key VKEY go together")
    if cosignature is not None:
        if issue:
            raise click.UsageError("give one of --issue and --add-cosignature")
        add_cosignature(store, cosignature, witness_key)
        return
    try:
        if issue:
            ledger = open_ledger(store, ledger_key)
            ledger.checkpoint()
            recorder = ledger.recorder
        else:
            recorder = read_store(store)
        last = latest_checkpoint(recorder)
        if last is None:
            raise NotInLogError("no checkpoint has been issued yet; issue one with "
                                "`sunledger checkpoint --issue`")
        click.echo(cosigned_note(recorder, last[0]), nl=False)
    except LedgerError as error:
        fail(error)


def _kept_newest_first(recorder):
    """The kept checkpoints (size, note), newest first, read in growing windows of sizes:
    a cosignature is nearly always over one of the last few."""
    newest = recorder.checkpoints(newest=True)
    if not newest:
        return
    high, span = newest[0][0], 1024
    while high >= 0:
        low = max(0, high - span + 1)
        for size, note, *_ in reversed(recorder.checkpoints(low, high)):
            yield size, note
        high, span = low - 1, span * 4


def add_cosignature(store: str, source, witness_key: str) -> None:
    """Record each cosignature line of `source` (by the witness of `witness_key`) beside the
    kept checkpoint it verifies over; a line that verifies over none is refused, exit 2."""
    from eventsourcing.persistence import PersistenceError

    from ledger.evidence.untrusted import MAX_DOCUMENT_BYTES
    from ledger.log.checkpoints import parse_checkpoint
    from ledger.log.notes import (
        COSIGNATURE_V1, DASH, cosignature_time, parse_verifier_key, split_note,
    )

    data = source.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise click.UsageError(f"the cosignature file is over {MAX_DOCUMENT_BYTES:,} bytes: "
                               "not a cosignature line")
    try:  # the signature lines (the line `witness cosign` prints before its own is passed over)
        lines = [line for line in data.decode("utf-8").split("\n")
                 if line.startswith(DASH + " ")]
    except UnicodeDecodeError:
        raise click.UsageError("the cosignature file is not UTF-8 text: not a cosignature "
                               "line") from None
    if not lines:
        raise click.UsageError("the cosignature file holds no cosignature line (an em dash, "
                               "the witness's name, base64): give it what `sunledger witness "
                               "add-checkpoint` printed")
    try:
        witness = parse_verifier_key(witness_key)
        if witness.key_type != COSIGNATURE_V1:
            raise BadNoteError(f"{witness.name}'s key is not a witness's (cosignature/v1) key: "
                               "give the key `sunledger witness key` prints")
        recorder = read_store(store)
        for line in lines:
            _, (signature,) = split_note("x\n\n" + line + "\n")
            if (signature.name, signature.key_hash) != (witness.name, witness.key_hash):
                raise BadNoteError(f"the line {line[:48]!r}… is a signature by "
                                   f"{signature.name}, not by the witness key {witness}")
            for size, note in _kept_newest_first(recorder):
                text = parse_checkpoint(split_note(note)[0]).text()
                try:
                    when = cosignature_time(text, line + "\n", witness)
                except BadNoteError:
                    continue
                recorder.add_cosignature(size, str(witness), line + "\n")
                stamp = (f"{beijing(datetime.fromtimestamp(when, timezone.utc))} 北京时间"
                         if when < 2**37 else f"at POSIX time {when}")
                click.echo(f"recorded the cosignature of {witness.name} on the checkpoint of "
                           f"size {size} (cosigned {stamp})")
                break
            else:
                raise BadNoteError(f"the cosignature of {witness.name} verifies over no "
                                   "checkpoint this store keeps: it is over another log's "
                                   "checkpoint, or it was changed")
    except LedgerError as error:
        fail(error)
    except PersistenceError as error:
        click.echo(f"sunledger: cannot record the cosignature in the store: {error}", err=True)
        sys.exit(2)


@click.command("log-key")
@store_option
def log_key(store: str) -> None:
    """Print the log's verifier key (name+hash+key) that checks its checkpoints."""
    from ledger.log.checkpoints import log_verifier_key
    from ledger.log.proofs import log_identity

    try:
        click.echo(log_verifier_key(*log_identity(read_store(store))))
    except LedgerError as error:
        fail(error)


@click.group()
def prove() -> None:
    """Proofs from the Merkle log (RFC 9162 audit paths, base64 hashes)."""


def _event_ref(value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    stream, sep, version = value.rpartition(":")
    if not sep or not version.isdigit():
        raise click.BadParameter("use STREAM:VERSION, e.g. project:ZB-2025-001:3")
    return stream, int(version)


@prove.command("inclusion")
@store_option
@click.option("--event", help="the event as STREAM:VERSION, e.g. project:ZB-2025-001:3")
@click.option("--index", type=number(0), help="the leaf index instead")
@click.option("--size", type=number(1), help="tree size (default: the latest checkpoint)")
@click.option("--tlog-proof", "as_tlog_proof", is_flag=True,
              help="print a C2SP tlog-proof with the signed, cosigned checkpoint instead of JSON")
def prove_inclusion(store, event, index, size, as_tlog_proof) -> None:
    """Prove that one event is in the log at a tree size."""
    from ledger.log.proofs import inclusion_proof, tlog_proof

    ref = _event_ref(event)
    if (ref is None) == (index is None):
        raise click.UsageError("give exactly one of --event and --index")
    try:
        recorder = read_store(store)
        proof = inclusion_proof(recorder, index=index, stream=ref and ref[0],
                                version=ref and ref[1], size=size)
        if as_tlog_proof:
            click.echo(tlog_proof(recorder, proof), nl=False)
        else:
            click.echo(json.dumps(proof, indent=2))
    except LedgerError as error:
        fail(error)


@prove.command("consistency")
@store_option
@click.option("--old", type=number(0), required=True, help="the older tree size")
@click.option("--new", type=number(0), help="the newer size (default: latest checkpoint)")
def prove_consistency(store, old, new) -> None:
    """Prove that the tree of --new leaves extends the tree of --old leaves."""
    from ledger.log.proofs import consistency_proof

    try:
        click.echo(json.dumps(consistency_proof(read_store(store), old, new), indent=2))
    except LedgerError as error:
        fail(error)


@prove.command("completeness")
@store_option
@click.option("--project", help="the project's id, ID or project:ID")
@click.option("--stream", help="any stream by name instead, e.g. actor:bidder-0001")
@click.option("--size", type=number(1), help="a kept checkpoint's size (default: the latest)")
def prove_completeness(store, project, stream, size) -> None:
    """Prove that a list of events is every event of a project up to a checkpoint (JSON)."""
    from ledger.log.proofs import completeness_proof

    if (project is None) == (stream is None):
        raise click.UsageError("give exactly one of --project and --stream")
    try:
        click.echo(json.dumps(completeness_proof(read_store(store), stream or project_stream(project),
                                                 size), ensure_ascii=False, indent=2))
    except LedgerError as error:
        fail(error)


WHERE_EVENT_HASH = (
    "the event_hash of the event's receipt, or of `sunledger prove inclusion --event "
    "STREAM:VERSION` (its JSON, without --tlog-proof); the event's hash member in an evidence "
    "bundle (events.jsonl), a completeness proof or a witness report's evidence; the "
    "事件哈希 column of a witness report's timeline (交易过程记录); or steps[].hash of "
    "`sunledger replay --project ID --steps --json` (the text form of --steps shows its "
    "first 16 digits only)")


@click.command("check-proof")
@click.argument("proof", type=click.File("rb"))
@click.option("--log-key", required=True, help="the log's verifier key, as published")
@click.option("--event-hash", metavar="HEX", help="for a tlog-proof: the hash of the event it "
              "proves (64 hex digits). Find it as " + WHERE_EVENT_HASH)
def check_proof(proof, log_key: str, event_hash: str | None) -> None:
    """Check a proof offline with the log's published key: a completeness proof (JSON) or a
    C2SP tlog-proof (with --event-hash). Exit 0 when it holds, 1 when it does not."""
    from ledger.evidence.envelope import HASH_HEX
    from ledger.evidence.untrusted import MAX_DOCUMENT_BYTES, parse_json
    from ledger.log.notes import parse_verifier_key
    from ledger.log.proofs import TLOG_PROOF_HEADER, check_completeness, check_tlog_proof

    data = proof.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise click.UsageError(f"the proof is over {MAX_DOCUMENT_BYTES:,} bytes: not a proof")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise click.UsageError("the proof is not UTF-8 text: not a proof") from None
    try:
        log = parse_verifier_key(log_key)
        if text.startswith(TLOG_PROOF_HEADER):
            if not event_hash:
                raise click.UsageError("a tlog-proof is checked against --event-hash HEX, the "
                                       "hash of the event it proves; find it as "
                                       + WHERE_EVENT_HASH)
            if not HASH_HEX.fullmatch(event_hash):
                raise click.BadParameter("an event hash is 64 lowercase hex digits",
                                         param_hint="--event-hash")
            checkpoint = check_tlog_proof(text, event_hash, log)
            click.echo(f"holds: event {event_hash} is in {checkpoint.origin} at tree size "
                       f"{checkpoint.size}")
        else:
            try:
                document = parse_json(data, "the proof")
            except ValueError as error:
                raise click.UsageError(f"not a tlog-proof and not ledger JSON: {error}") from None
            events = check_completeness(document, log)
            click.echo(f"holds: these {len(events)} events are every event of "
                       f"{document['stream']} up to tree size {document['tree_size']}")
    except LedgerError as error:
        click.echo(f"does not hold: {error.message}")
        sys.exit(1)


@click.command("rebuild-log")
@store_option
def rebuild_log_command(store: str) -> None:
    """Rebuild the Merkle log's derived tables (leaves and nodes) from the events, after they
    were damaged or edited (checkpoint --issue says when). Stop the ledger's writers first;
    run `sunledger verify` afterwards: it checks the rebuilt tree against every checkpoint."""
    from ledger.log.checkpoints import latest_checkpoint, parse_checkpoint
    from ledger.log.tree import StoredLog, rebuild_log

    try:
        recorder = read_store(store)
        leaves = rebuild_log(recorder)
        log = StoredLog(recorder)
        size = log.size()
        click.echo(f"rebuilt the Merkle log from the events: {leaves} leaves, root "
                   f"{base64.b64encode(log.root(size)).decode()}")
        last = latest_checkpoint(recorder)
        if last is not None:
            kept = parse_checkpoint(last[1].split("\n\n", 1)[0] + "\n")
            holds = kept.size <= size and log.root(kept.size) == kept.root
            click.echo(f"the latest checkpoint (size {kept.size}) "
                       + ("holds over the rebuilt tree" if holds else
                          "does NOT hold over the rebuilt tree: the events were changed"))
    except LedgerError as error:
        fail(error)
    click.echo("now run `sunledger verify`")


COMMANDS = [checkpoint, log_key, prove, check_proof, rebuild_log_command]
