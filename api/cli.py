"""The `sunledger` command line: a thin face over the ledger's operations (no logic of its own)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from ledger.errors import LedgerError
from ledger.errors import NotInLog as NotInLogError

STORE_HELP = ("store URL: sqlite:///abs/path.db, sqlite:rel/path.db or "
              "postgresql://user@host:port/db[?schema=s] (default: $SUNLEDGER_STORE, else a "
              "SQLite file in your data directory)")


def _default_store() -> str:
    import os

    from ledger.store import default_store_url

    return os.environ.get("SUNLEDGER_STORE") or default_store_url()


store_option = click.option("--store", "store", default=_default_store, show_default="see help",
                            help=STORE_HELP)
key_option = click.option("--ledger-key", "ledger_key", type=click.Path(path_type=Path),
                          envvar="SUNLEDGER_LEDGER_KEY",
                          help="the ledger's private key file (default: beside a SQLite store, "
                               "or in your data directory for PostgreSQL); created on first use")


def _fail(error: LedgerError) -> None:
    click.echo(f"sunledger: {error.message}", err=True)
    sys.exit(2)


def _open_ledger(store: str, ledger_key: Path | None):
    from ledger.ledger import Ledger

    return Ledger.open(store, key_path=ledger_key)


def _tty() -> bool:
    return sys.stderr.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sunledger")
def cli() -> None:
    """Sunledger: the tamper-evident ledger of a public resource trading centre.

    Every trading action is a signed, hash-chained event; `verify` checks that none was
    altered, removed, reordered or inserted."""


@cli.command()
@store_option
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="verify an exported evidence bundle instead of a store (no database needed)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="processes that check signatures (default: one per core, one for "
                   "logs under 5,000 events)")
@click.option("--ledger-key-id", help="the ledger key id you expect (as published); "
              "a different key is a finding")
def verify(store: str, bundle: Path | None, as_json: bool, workers: int | None,
           ledger_key_id: str | None) -> None:
    """Verify every event, link, signature and receipt. Exit 0 intact, 1 findings, 2 cannot run."""
    from ledger.verify import StoreSource, verify as run_verify

    started = time.perf_counter()
    try:
        if bundle is not None:
            from ledger.bundle import BundleSource

            source = BundleSource(bundle)
            where = str(bundle)
        else:
            source = StoreSource(store)
            where = source.url.display()
        report = run_verify(source, workers=workers, progress=_tty() and not as_json)
    except LedgerError as error:
        _fail(error)
    if ledger_key_id and report.ledger_key_id != ledger_key_id:
        from ledger.verify import NO_LEDGER_KEY, Finding

        report.add(Finding(NO_LEDGER_KEY, "ledger", 1, None,
                           f"the ledger key id is {report.ledger_key_id}, not the expected {ledger_key_id}"))
    elapsed = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps({"source": where, "seconds": round(elapsed, 3), **report.to_json()},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(f"source:      {where}")
        click.echo(f"origin:      {report.origin}   ledger key id: {report.ledger_key_id}")
        click.echo(f"checked:     {report.events} events in {report.streams} streams, "
                   f"{report.receipts} receipts, in {elapsed:.1f} s")
        click.echo(f"merkle log:  {report.events} leaves, root {report.tree_root}")
        if report.latest_checkpoint is None:
            click.echo("checkpoints: none kept yet")
        else:
            witnesses = ", ".join(w.split("+", 1)[0] for w in report.cosigned_by) or "no witness"
            click.echo(f"checkpoints: {report.checkpoints} checked; the latest (size "
                       f"{report.latest_checkpoint}) cosigned by {witnesses}")
        if report.intact:
            click.echo("result:      INTACT — no event altered, removed, reordered or inserted")
        else:
            click.echo(f"result:      {report.findings_total} FINDINGS")
            for finding in report.findings:
                click.echo(f"  {finding}")
            if report.findings_total > len(report.findings):
                click.echo(f"  … and {report.findings_total - len(report.findings)} more")
    sys.exit(0 if report.intact else 1)


@cli.command()
@store_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the bundle file to write (a ZIP)")
def export(store: str, out: Path) -> None:
    """Write a self-contained evidence bundle that `verify --bundle` checks offline."""
    from ledger.bundle import export_bundle
    from ledger.store import open_recorder, parse_store_url

    try:
        url = parse_store_url(store)
        bar = _bar(open_recorder(url).counts()[0], "exporting")
        manifest = export_bundle(url, out, on_progress=bar.update if bar else None)
        if bar:
            bar.close()
    except LedgerError as error:
        _fail(error)
    click.echo(f"wrote {out}: {manifest['events']} events, {manifest['receipts']} receipts, "
               f"ledger key id {manifest['ledger_key_id']}")


def _bar(total: int, desc: str):
    if not _tty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="event", unit_scale=True, desc=desc, leave=False)


@cli.command()
@store_option
@key_option
@click.option("--projects", type=click.IntRange(1, 1_000_000), required=True,
              help="how many fictional projects to run")
@click.option("--seed", type=int, default=0, show_default=True,
              help="the same seed gives the same actions")
@click.option("--batch", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="actions per atomic append")
def simulate(store: str, ledger_key: Path | None, projects: int, seed: int, batch: int) -> None:
    """Drive fictional projects through the real procedure, in simulated time (the ledger's
    clock is the simulation's: the events carry 2025 dates)."""
    from ledger.simulate import simulate as run

    from ledger.checkpoints import CheckpointPolicy
    from ledger.ledger import Ledger

    started = time.perf_counter()
    try:
        # simulated time jumps days at a step: checkpoints by count only, and one at the end
        ledger = Ledger.open(store, key_path=ledger_key,
                             checkpoints=CheckpointPolicy(every_events=1000,
                                                          every_seconds=float("inf")))
        bar = _bar(0, "simulating")
        result = run(ledger, projects=projects, seed=seed, batch=batch,
                     on_progress=bar.update if bar else None)
        if bar:
            bar.close()
        ledger.checkpoint()  # this process ends: its events do not wait for the next one
    except LedgerError as error:
        _fail(error)
    elapsed = time.perf_counter() - started
    click.echo(f"simulated {result.projects} projects (seed {seed}): {result.actions} actions "
               f"by {result.actors} actors in {elapsed:.1f} s "
               f"({result.actions / elapsed:.0f} actions/s) into {ledger.url.display()}; "
               f"{result.refused} refused by the rules and recorded")


@cli.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="where to write the new private key (PEM, owner-only)")
def keygen(out: Path) -> None:
    """Create an actor's Ed25519 key; print its public key and key id (never the private key)."""
    from ledger.keys import SigningKey, encode_public_key, write_private_key

    key = SigningKey.generate()
    try:
        write_private_key(out, key)
    except FileExistsError:
        click.echo(f"sunledger: {out} exists; keys are never overwritten", err=True)
        sys.exit(2)
    click.echo(f"key id:     {key.key_id}\npublic key: {encode_public_key(key.public_key)}")


@cli.group()
def actor() -> None:
    """Register actors and manage their keys (signed by the ledger key as registrar)."""


def _registrar_append(store: str, ledger_key: Path | None, stream: str, type_: str,
                      payload: dict) -> None:
    from ledger.client import ActorSigner
    from ledger.envelope import LEDGER_ACTOR

    try:
        ledger = _open_ledger(store, ledger_key)
        signer = ActorSigner(LEDGER_ACTOR, ledger.key)
        receipt, = ledger.submit(signer.sign(stream, type_, payload,
                                             expected_version=ledger.stream_version(stream),
                                             signed_at=ledger.clock.now()))
        ledger.checkpoint()  # this process ends: its event does not wait for the next one
    except LedgerError as error:
        _fail(error)
    click.echo(json.dumps(receipt.to_json(), ensure_ascii=False, indent=2))


@actor.command("register")
@store_option
@key_option
@click.option("--id", "actor_id", required=True, help="the actor's identifier")
@click.option("--name", required=True)
@click.option("--organisation", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              help="tenderee, agent, bidder, expert, witness, supervisor, operator, registrar")
def register(store, ledger_key, actor_id, name, organisation, roles) -> None:
    """Register an actor with its roles and organisation."""
    _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.registered/v1",
                      {"name": name, "organisation": organisation, "roles": list(roles)})


@actor.command("add-key")
@store_option
@key_option
@click.option("--id", "actor_id", required=True)
@click.option("--public-key", help="base64 Ed25519 public key (from `sunledger keygen`)")
@click.option("--certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="an X.509 certificate (PEM or DER) issued by a trusted CA")
@click.option("--not-after", help="last valid instant, e.g. 2027-01-01T00:00:00.000000Z")
def add_key(store, ledger_key, actor_id, public_key, certificate, not_after) -> None:
    """Add a key (or a CA-issued certificate) to an actor."""
    import base64

    from ledger.certificates import certificate_facts, load_der_or_pem
    from ledger.keys import decode_public_key, key_id

    try:
        if bool(public_key) == bool(certificate):
            raise click.UsageError("give exactly one of --public-key and --certificate")
        if public_key:
            raw = decode_public_key(public_key)
            payload = {"key_id": key_id(raw), "public_key": public_key}
            if not_after:
                payload["not_after"] = not_after
            _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.key-added/v1", payload)
        else:
            der = load_der_or_pem(certificate.read_bytes())
            facts = certificate_facts(der)
            _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.certificate-added/v1", {
                "key_id": key_id(facts.public_key), "certificate": base64.b64encode(der).decode(),
                "fingerprint": facts.fingerprint, "serial": facts.serial, "issuer": facts.issuer})
    except LedgerError as error:
        _fail(error)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@actor.command("revoke-key")
@store_option
@key_option
@click.option("--id", "actor_id", required=True)
@click.option("--key-id", required=True)
@click.option("--reason", required=True)
def revoke_key(store, ledger_key, actor_id, key_id, reason) -> None:
    """Revoke an actor's key: no action signed with it is accepted from now on."""
    _registrar_append(store, ledger_key, f"actor:{actor_id}", "actor.key-revoked/v1",
                      {"key_id": key_id, "reason": reason})


@cli.command("trust-ca")
@store_option
@key_option
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def trust_ca(store, ledger_key, certificate) -> None:
    """Trust a CA (PEM or DER): certificates it issues may identify actors (跨区域互认)."""
    import base64

    from ledger.certificates import certificate_facts, load_der_or_pem

    try:
        der = load_der_or_pem(certificate.read_bytes())
        facts = certificate_facts(der)
    except LedgerError as error:
        _fail(error)
    _registrar_append(store, ledger_key, "ledger", "ledger.ca-trusted/v1", {
        "certificate": base64.b64encode(der).decode(), "fingerprint": facts.fingerprint,
        "subject": facts.subject})


# --- the transparency log ---------------------------------------------------------------------

def _recorder(store: str):
    from ledger.store import open_recorder, parse_store_url

    return open_recorder(parse_store_url(store))


@cli.command()
@store_option
@key_option
@click.option("--issue", is_flag=True,
              help="sign a checkpoint of the log as it stands now (needs the ledger key)")
def checkpoint(store: str, ledger_key: Path | None, issue: bool) -> None:
    """Print the latest signed checkpoint (C2SP tlog-checkpoint) with its cosignatures."""
    from ledger.checkpoints import latest_checkpoint
    from ledger.proofs import cosigned_note

    try:
        if issue:
            ledger = _open_ledger(store, ledger_key)
            ledger.checkpoint()
            recorder = ledger.recorder
        else:
            recorder = _recorder(store)
        last = latest_checkpoint(recorder)
        if last is None:
            raise NotInLogError("no checkpoint has been issued yet; issue one with "
                                "`sunledger checkpoint --issue`")
        click.echo(cosigned_note(recorder, last[0]), nl=False)
    except LedgerError as error:
        _fail(error)


@cli.command("log-key")
@store_option
def log_key(store: str) -> None:
    """Print the log's verifier key (name+hash+key) that checks its checkpoints."""
    from ledger.checkpoints import log_verifier_key
    from ledger.proofs import log_identity

    try:
        click.echo(log_verifier_key(*log_identity(_recorder(store))))
    except LedgerError as error:
        _fail(error)


@cli.group()
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
@click.option("--index", type=click.IntRange(0), help="the leaf index instead")
@click.option("--size", type=click.IntRange(1), help="tree size (default: the latest checkpoint)")
@click.option("--tlog-proof", "as_tlog_proof", is_flag=True,
              help="print a C2SP tlog-proof with the signed, cosigned checkpoint instead of JSON")
def prove_inclusion(store, event, index, size, as_tlog_proof) -> None:
    """Prove that one event is in the log at a tree size."""
    from ledger.proofs import inclusion_proof, tlog_proof

    ref = _event_ref(event)
    if (ref is None) == (index is None):
        raise click.UsageError("give exactly one of --event and --index")
    try:
        recorder = _recorder(store)
        proof = inclusion_proof(recorder, index=index, stream=ref and ref[0],
                                version=ref and ref[1], size=size)
        if as_tlog_proof:
            click.echo(tlog_proof(recorder, proof), nl=False)
        else:
            click.echo(json.dumps(proof, indent=2))
    except LedgerError as error:
        _fail(error)


@prove.command("consistency")
@store_option
@click.option("--old", type=click.IntRange(0), required=True, help="the older tree size")
@click.option("--new", type=click.IntRange(0), help="the newer size (default: latest checkpoint)")
def prove_consistency(store, old, new) -> None:
    """Prove that the tree of --new leaves extends the tree of --old leaves."""
    from ledger.proofs import consistency_proof

    try:
        click.echo(json.dumps(consistency_proof(_recorder(store), old, new), indent=2))
    except LedgerError as error:
        _fail(error)


@prove.command("completeness")
@store_option
@click.option("--project", help="the project's id (its stream is project:ID)")
@click.option("--stream", help="any stream by name instead, e.g. actor:bidder-0001")
@click.option("--size", type=click.IntRange(1), help="a kept checkpoint's size (default: the latest)")
def prove_completeness(store, project, stream, size) -> None:
    """Prove that a list of events is every event of a project up to a checkpoint (JSON)."""
    from ledger.proofs import completeness_proof

    if (project is None) == (stream is None):
        raise click.UsageError("give exactly one of --project and --stream")
    try:
        click.echo(json.dumps(completeness_proof(_recorder(store), stream or f"project:{project}",
                                                 size), ensure_ascii=False, indent=2))
    except LedgerError as error:
        _fail(error)


@cli.command("check-proof")
@click.argument("proof", type=click.File("r"))
@click.option("--log-key", required=True, help="the log's verifier key, as published")
@click.option("--event-hash", help="for a tlog-proof: the hash (hex) of the event it proves")
def check_proof(proof, log_key: str, event_hash: str | None) -> None:
    """Check a proof offline with the log's published key: a completeness proof (JSON) or a
    C2SP tlog-proof (with --event-hash). Exit 0 when it holds, 1 when it does not."""
    from ledger.notes import parse_verifier_key
    from ledger.proofs import TLOG_PROOF_HEADER, check_completeness, check_tlog_proof

    text = proof.read()
    try:
        log = parse_verifier_key(log_key)
        if text.startswith(TLOG_PROOF_HEADER):
            if not event_hash:
                raise click.UsageError("a tlog-proof is checked against --event-hash")
            checkpoint = check_tlog_proof(text, event_hash, log)
            click.echo(f"holds: event {event_hash} is in {checkpoint.origin} at tree size "
                       f"{checkpoint.size}")
        else:
            try:
                data = json.loads(text)
            except ValueError:
                raise click.UsageError("not a tlog-proof and not JSON") from None
            events = check_completeness(data, log)
            click.echo(f"holds: these {len(events)} events are every event of {data['stream']} "
                       f"up to tree size {data['tree_size']}")
    except LedgerError as error:
        click.echo(f"does not hold: {error.message}")
        sys.exit(1)


# --- witnessing (a supervision body's own key and state) -------------------------------------

state_option = click.option("--state", required=True, type=click.Path(dir_okay=False, path_type=Path),
                            help="the witness's state file (its key is STATE.key beside it)")


def _witness(state: Path):
    from ledger.cosigning import Witness
    from ledger.keys import read_private_key

    if not state.exists():
        raise click.UsageError(f"no witness state at {state}; create one with `sunledger witness init`")
    return Witness(state, read_private_key(state.with_name(state.name + ".key")))


@cli.group()
def witness() -> None:
    """Cosign a log's checkpoints as an outside witness (C2SP tlog-witness, cosignature/v1).

    The witness keeps its own key and state; it cosigns a checkpoint only with a valid
    consistency proof from the last one it cosigned, and refuses one that contradicts it."""


@witness.command("init")
@state_option
@click.option("--name", required=True, help="the witness's key name, e.g. jgj.example.gov.cn/witness")
def witness_init(state: Path, name: str) -> None:
    """Create a witness: its state file and its key (owner-only). Prints its verifier key."""
    from ledger.cosigning import Witness
    from ledger.keys import SigningKey, write_private_key

    try:
        Witness.create(state, name)
        write_private_key(state.with_name(state.name + ".key"), SigningKey.generate())
        click.echo(_witness(state).verifier_key)
    except FileExistsError as error:
        raise click.UsageError(f"{error.filename} exists already; a witness is created once")
    except LedgerError as error:
        _fail(error)


@witness.command("key")
@state_option
def witness_key(state: Path) -> None:
    """Print the witness's verifier key (type 0x04, cosignature/v1)."""
    click.echo(_witness(state).verifier_key)


@witness.command("add-log")
@state_option
@click.option("--log-key", required=True, help="the log's verifier key (`sunledger log-key`)")
def witness_add_log(state: Path, log_key: str) -> None:
    """Follow a log: its checkpoints will be checked with this key."""
    try:
        _witness(state).add_log(log_key)
    except LedgerError as error:
        _fail(error)


@witness.command("add-checkpoint")
@state_option
@click.argument("request", type=click.File("r"), default="-")
def witness_add_checkpoint(state: Path, request) -> None:
    """Cosign the checkpoint of an add-checkpoint REQUEST (tlog-witness form; - for stdin).
    Prints the cosignature line; exit 1 when refused, saying why."""
    from ledger.cosigning import parse_add_checkpoint

    try:
        line = _witness(state).add_checkpoint(parse_add_checkpoint(request.read()), int(time.time()))
    except LedgerError as error:
        click.echo(f"sunledger: refused ({error.code}): {error.message}", err=True)
        sys.exit(1)
    click.echo(line, nl=False)


@witness.command("cosign")
@state_option
@store_option
def witness_cosign(state: Path, store: str) -> None:
    """Fetch the store's latest checkpoint and a consistency proof from the last one this
    witness cosigned, cosign it, and leave the cosignature in the store."""
    from ledger.checkpoints import latest_checkpoint
    from ledger.cosigning import AddCheckpoint
    from ledger.log import StoredLog
    from ledger.notes import parse_verifier_key

    try:
        recorder = _recorder(store)
        last = latest_checkpoint(recorder)
        if last is None:
            raise NotInLogError("the log has issued no checkpoint yet")
        signer = _witness(state)
        origin = last[1].split("\n", 1)[0]
        known = signer.logs.get(origin, {}).get("size", 0)
        proof = StoredLog(recorder).consistency(known, last[0]) if known <= last[0] else []
        line = signer.add_checkpoint(AddCheckpoint(known, proof, last[1]), int(time.time()))
        recorder.add_cosignature(last[0], str(parse_verifier_key(signer.verifier_key)), line)
    except LedgerError as error:
        click.echo(f"sunledger: refused ({error.code}): {error.message}", err=True)
        sys.exit(1)
    click.echo(f"cosigned {origin} at size {last[0]}")
    click.echo(line, nl=False)


# --- the read side: replay, statistics, warnings ---------------------------------------------

def _project_stream(project: str) -> str:
    return project if project.startswith("project:") else f"project:{project}"


@cli.command()
@store_option
@click.option("--project", required=True, help="the project's id (or its stream name)")
@click.option("--at", "at", help="a version (e.g. 12) or a ledger time "
              "(e.g. 2025-03-24T01:30:00.000000Z): the state as of then")
@click.option("--steps", is_flag=True, help="print each transition with the event that caused it")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def replay(store: str, project: str, at: str | None, steps: bool, as_json: bool) -> None:
    """Rebuild a project's state from its events, as of now or as of an event or a time."""
    from ledger.canonical import parse_time
    from projections.project_state import project_events, rejudge, replay as run_replay

    stream = _project_stream(project)
    try:
        events = project_events(_recorder(store), stream)
        if not events:
            raise NotInLogError(f"{stream} has no events in this store")
        if at is None:
            state, transitions = run_replay(events, steps=steps)
        elif at.isdigit():
            state, transitions = run_replay(events, at_version=int(at), steps=steps)
        else:
            try:
                state, transitions = run_replay(events, at_time=parse_time(at), steps=steps)
            except ValueError as error:
                raise click.BadParameter(str(error), param_hint="--at") from None
    except LedgerError as error:
        _fail(error)
    summary = {"project": stream, "version": transitions[-1].version if transitions else 0,
               "stage": state.stage, "bid_deadline": state.bid_deadline and
               state.bid_deadline.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
               "bids": sorted(state.bids), "prices": {b: str(p) for b, p in state.prices.items()},
               "committee": state.committee, "ranking": state.ranking, "winner": state.winner,
               "award_price": str(state.award_price) if state.award_price is not None else None,
               "savings_rate": str(round(state.savings_rate(), 4)) if state.savings_rate() is not None else None,
               "deadlines": [{"rule": d.rule, "article": d.article, "due": d.due.strftime(
                   "%Y-%m-%dT%H:%M:%S.%fZ"), "kept": d.kept} for d in state.deadlines],
               "rejudged": rejudge(events[:len(transitions)]) or "every step holds by the rules"}
    if as_json:
        if steps:
            summary["steps"] = [t.__dict__ for t in transitions]
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=list))
        return
    if steps:
        for t in transitions:
            click.echo(f"v{t.version:<4} {t.ledger_time}  {t.type:<38} {t.actor}  {t.hash[:16]}…")
            for change in t.changes:
                click.echo(f"        {change}")
    for key, value in summary.items():
        if value not in (None, [], {}) and key != "deadlines":
            click.echo(f"{key + ':':14} {value}")
    for d in summary["deadlines"]:
        kept = {True: "kept", False: "MISSED", None: "open"}[d["kept"]]
        click.echo(f"{'deadline:':14} {d['rule']} ({d['article']}) due {d['due']}: {kept}")


@cli.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def stats(store: str, as_json: bool) -> None:
    """Projects, amounts and savings rates by category and month of award."""
    from projections.follower import Follower
    from projections.project_state import ProjectStates
    from projections.statistics import statistics

    try:
        projects = ProjectStates()
        Follower(_recorder(store), projects).follow()
    except LedgerError as error:
        _fail(error)
    rows = [{"category": c, "month": m, "projects": g.projects, "awarded": g.awarded,
             "failed": g.failed, "control_total": str(g.control_total),
             "award_total": str(g.award_total),
             "savings_rate": str(round(g.savings_rate, 4)) if g.savings_rate is not None else None}
            for (c, m), g in sorted(statistics(projects).items())]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'category':13} {'month':8} {'projects':>8} {'awarded':>8} {'failed':>7} "
               f"{'control (yuan)':>18} {'award (yuan)':>18} {'savings':>8}")
    for r in rows:
        rate = f"{float(r['savings_rate']) * 100:.2f}%" if r["savings_rate"] else "-"
        click.echo(f"{r['category']:13} {r['month']:8} {r['projects']:>8} {r['awarded']:>8} "
                   f"{r['failed']:>7} {r['control_total']:>18} {r['award_total']:>18} {rate:>8}")


@cli.command()
@store_option
@click.option("--project", help="one project's warnings only")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def warnings(store: str, project: str | None, as_json: bool) -> None:
    """Collusion indicators (围标串标预警), each with its rule, article and events. They inform
    the supervision body; they decide nothing."""
    from projections.follower import Follower
    from projections.warnings import CollusionWatch

    try:
        watch = CollusionWatch()
        Follower(_recorder(store), watch).follow()
    except LedgerError as error:
        _fail(error)
    found = watch.all_warnings() if project is None else \
        {_project_stream(project): watch.warnings(_project_stream(project))}
    if as_json:
        click.echo(json.dumps({p: [w.__dict__ for w in ws] for p, ws in found.items()},
                              ensure_ascii=False, indent=2))
        return
    for stream, items in found.items():
        for w in items:
            click.echo(f"{stream}  {w.indicator} ({w.article}): {w.text}")
            click.echo(f"    bidders {', '.join(w.bidders)}; events at positions "
                       f"{', '.join(map(str, w.events[:12]))}{' …' if len(w.events) > 12 else ''}")
    if not any(found.values()):
        click.echo("no warnings")


@cli.command()
@store_option
@click.option("--project", required=True, help="the project's id (or its stream name)")
@click.option("--about", type=int, multiple=True,
              help="a version of the project the dispute is about (repeatable)")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the dossier to write (a ZIP)")
def dossier(store: str, project: str, about: tuple[int, ...], out: Path) -> None:
    """Write a dispute dossier: the project's events proved complete, its refusals, its
    signers' keys, proofs of the events in dispute, and the replay; checkable offline."""
    from projections.dossier import write_dossier

    try:
        manifest = write_dossier(_recorder(store), _project_stream(project), out, list(about))
    except LedgerError as error:
        _fail(error)
    click.echo(f"wrote {out}: {manifest['events']} events of {manifest['project']} at tree "
               f"size {manifest['tree_size']}; check it with `sunledger check-dossier {out} "
               f"--log-key '{manifest['log_key']}'`")


@cli.command("check-dossier")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--log-key", required=True, help="the log's verifier key, as published")
def check_dossier_command(path: Path, log_key: str) -> None:
    """Check a dispute dossier offline. Exit 0 when everything in it holds, 1 when not."""
    from ledger.notes import parse_verifier_key
    from projections.dossier import check_dossier

    try:
        result = check_dossier(path, parse_verifier_key(log_key))
    except LedgerError as error:
        click.echo(f"does not hold: {error.message}")
        sys.exit(1)
    click.echo(f"holds: {result['events']} events of {result['project']}, complete at tree "
               f"size {result['tree_size']}, every signature by a key its actor held then "
               f"({len(result['actors'])} actors); {len(result['about'])} events in dispute "
               "proved in the log; the replay is what the events give")


@cli.command()
@store_option
@key_option
@click.option("--project", required=True, help="the project's id (or its stream name)")
@click.option("--kind", type=click.Choice(["opening", "evaluation", "full"]), default="full",
              show_default=True, help="开标 / 评标 / 全过程 witness report")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the PDF to write")
def report(store, ledger_key, project, kind, lang, out) -> None:
    """Render a digital witness report (数字见证报告) as a verifiable PDF and record its issue."""
    from witness.reports import issue_report

    try:
        pdf, issued = issue_report(_open_ledger(store, ledger_key), _project_stream(project),
                                   kind, lang)
    except LedgerError as error:
        _fail(error)
    out.write_bytes(pdf)
    click.echo(f"wrote {out}: {issued['report_id']} ({len(pdf):,} bytes), SHA-256 "
               f"{issued['pdf_hash']}, recorded on the ledger")


@cli.command()
@store_option
@key_option
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="where the PDFs go")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--follow", is_flag=True, help="keep following the log and issue each report "
              "as its milestone is reached (stop with Ctrl-C)")
@click.option("--every", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="with --follow: seconds between looks at the log")
def reports(store, ledger_key, out, lang, follow, every) -> None:
    """Issue every witness report that is due: each project that reached a milestone (the
    opening, the evaluation, the end) and has no report of that kind yet. Once, or with
    --follow as the centre's reporter that keeps following the log."""
    import time

    from witness.reports import Reporter

    try:
        reporter = Reporter(_open_ledger(store, ledger_key), out, lang)
        while True:
            written = reporter.run()
            for path in written:
                click.echo(f"wrote {path}")
            if not follow:
                if not written:
                    click.echo("no report is due")
                return
            time.sleep(every)
    except LedgerError as error:
        _fail(error)
    except KeyboardInterrupt:
        click.echo("stopped: every report due so far is issued")


@cli.command("verify-report")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--store", "store", default=None, help=STORE_HELP)
@click.option("--bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="an evidence bundle instead of a store")
@click.option("--log-key", help="the log's verifier key as published (default: the one the "
              "store or bundle states)")
def verify_report_command(pdf: Path, store: str | None, bundle: Path | None,
                          log_key: str | None) -> None:
    """Check a witness report PDF: its embedded evidence, that re-rendering it gives the same
    bytes, and that the ledger recorded it as issued. Exit 0 when all hold, 1 when not."""
    from ledger.notes import parse_verifier_key
    from witness.reports import (
        embedded_evidence, recorded_in_bundle, recorded_in_store, verify_report,
    )

    data = pdf.read_bytes()
    try:
        project = embedded_evidence(data)["project"]
        recorded = None
        if bundle is not None:
            recorded = recorded_in_bundle(bundle, project)
        elif store is not None:
            recorded = recorded_in_store(_recorder(store), project)
        check = verify_report(data, log=parse_verifier_key(log_key) if log_key else None,
                              recorded_hashes=recorded)
    except LedgerError as error:
        click.echo(f"report {pdf}\n  FAILS: {error.message}")
        sys.exit(1)
    click.echo(f"report {check.report_id or '?'} of {check.project or '?'}")
    for line in check.holds:
        click.echo(f"  holds: {line}")
    for line in check.fails:
        click.echo(f"  FAILS: {line}")
    sys.exit(0 if check.ok else 1)


@cli.command()
@click.option("--store", "store", default=None,
              help="where to run it (default: a new SQLite file in --out)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help="where the store, the witness and the reports go")
def demo(store: str | None, out: Path) -> None:
    """Run a complete, realistic project (醴陵棚户区改造二期) through the real procedure, and
    show what happened, the verification, the latest checkpoint and the witness reports."""
    from api.demo import Demo

    if store is None:
        db = out / "ledger.db"
        for old in (db, db.with_name("ledger.db.ledger-key")):
            old.unlink(missing_ok=True)
        store = f"sqlite:{db}"
    try:
        code = Demo(store, out, click.echo).run()
    except LedgerError as error:
        _fail(error)
    sys.exit(code)


@cli.command()
@store_option
@key_option
def react(store: str, ledger_key: Path | None) -> None:
    """Record what the ledger does itself when it is due (close submission at the deadline,
    refund every security that is owed); run it every minute, or let a server do it."""
    from projections.reactions import Reactor

    try:
        outcomes = Reactor(_open_ledger(store, ledger_key)).run()
    except LedgerError as error:
        _fail(error)
    for stream, type_, outcome in outcomes:
        click.echo(f"{stream}  {type_}  {outcome}")
    if not outcomes:
        click.echo("nothing is due")


def main() -> None:
    cli(prog_name="sunledger")
