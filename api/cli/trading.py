"""Trading and projections: the simulation and the demo through the real procedure, replay,
statistics, collusion warnings, the dispute dossier, and the ledger's own reactions."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from ledger.errors import LedgerError, UntrustedFileError
from ledger.errors import NotInLog as NotInLogError
from .options import (
    CST, MAX_NUMBER, checkpoint_after_appends, fail, key_option, number, open_ledger,
    progress_bar, project_stream, read_store, store_option,
)


@click.command()
@store_option
@key_option
@click.option("--projects", type=click.IntRange(1, 1_000_000), required=True,
              help="how many fictional projects to run")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True,
              help="the same seed gives the same actions")
@click.option("--batch", type=click.IntRange(1, 1000), default=1, show_default=True,
              help="actions per atomic append")
@click.option("--large-centre", is_flag=True,
              help="project sizes of a large centre's year: one project in five with 100 to "
              "500 bidders, one comprehensive-evaluation tender in fifty with about 800 "
              "(a stream of about 10,000 events); without it, 4 to 9 bidders")
def simulate(store: str, ledger_key: Path | None, projects: int, seed: int, batch: int,
             large_centre: bool) -> None:
    """Drive fictional projects through the real procedure, in simulated time (the ledger's
    clock is the simulation's: a new store's events carry 2025 dates; in a store that holds
    events already, the simulation begins on the first Monday after the newest). A missing
    store is created: give it a store of its own."""
    from api.simulate import COUNTY_CENTRE, EPOCH, LARGE_CENTRE, SimulatedClock
    from api.simulate import simulate as run
    from ledger.ledger import Ledger
    from ledger.log.checkpoints import CheckpointPolicy

    started = time.perf_counter()
    try:
        # simulated time jumps days at a step: checkpoints by count only, and one at the end
        ledger = Ledger.open(store, key_path=ledger_key, clock=SimulatedClock(EPOCH),
                             checkpoints=CheckpointPolicy(every_events=1000,
                                                          every_seconds=float("inf")))
        bar = progress_bar(0, "simulating")
        result = run(ledger, projects=projects, seed=seed, batch=batch,
                     sizes=LARGE_CENTRE if large_centre else COUNTY_CENTRE,
                     on_progress=bar.update if bar else None)
        if bar:
            bar.close()
        checkpoint_after_appends(ledger)  # this process ends: its events do not wait for the next one
    except LedgerError as error:
        fail(error)
    elapsed = time.perf_counter() - started
    click.echo(f"simulated {result.projects} projects (seed {seed}): {result.actions} actions "
               f"by {result.actors} actors in {elapsed:.1f} s "
               f"({result.actions / elapsed:.0f} actions/s) into {ledger.url.display()}; "
               f"{result.refused} refused by the rules and recorded")


_AT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
                      r"(?:[Zz]|[+-](?P<hours>\d{2}):(?P<minutes>\d{2}))?", re.ASCII)
AT_FORMS = ("a version such as 12, or a time such as 2025-03-24T09:30+08:00, "
            "2025-03-24T01:30:00Z or 2025-03-24 09:30 (China Standard Time, UTC+8, when it "
            "has no offset)")


def as_of(at: str | None) -> tuple[int | None, datetime | None]:
    """(version, None) or (None, the instant in UTC) of a --at value, or (None, None)
    without one. A time without an offset is China Standard Time (UTC+8)."""
    if at is None:
        return None, None
    text = at.strip()
    if text.isascii() and text.isdigit():
        if len(text) > 16 or int(text) > MAX_NUMBER:
            raise click.BadParameter(f"version {text} is beyond any stream's (at most "
                                     f"{MAX_NUMBER})", param_hint="--at")
        return int(text), None
    match = _AT_TIME.fullmatch(text)
    if match is None:
        raise click.BadParameter(f"{at[:80]!r} is not {AT_FORMS}", param_hint="--at")
    if match["hours"] and (int(match["hours"]) > 23 or int(match["minutes"]) > 59):
        raise click.BadParameter(f"{at!r}: an offset from UTC is at most ±23:59 (Beijing "
                                 "time is +08:00)", param_hint="--at")
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T").replace("z", "Z"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=CST)
        return None, moment.astimezone(timezone.utc)
    except (ValueError, OverflowError) as error:
        raise click.BadParameter(f"{at!r} is not a valid time ({error}); give {AT_FORMS}",
                                 param_hint="--at") from None


def _fraction(moment: datetime) -> str:
    return f".{moment.microsecond:06d}" if moment.microsecond else ""


@click.command()
@store_option
@click.option("--project", required=True, help="the project's id (or its stream name)")
@click.option("--at", "at", metavar="VERSION|TIME",
              help="the state as of a version (e.g. 12) or a time: with an offset "
              "(2025-03-24T09:30+08:00, 2025-03-24T01:30:00Z) or without one, in China "
              "Standard Time, UTC+8 (2025-03-24 09:30 is 09:30 Beijing time)")
@click.option("--steps", is_flag=True, help="print each transition with the event that caused it")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def replay(store: str, project: str, at: str | None, steps: bool, as_json: bool) -> None:
    """Rebuild a project's state from its events, as of now or as of an event or a time.
    A time without an offset is China Standard Time (北京时间, UTC+8); the output names the
    instant in Beijing time and in UTC."""
    from ledger.evidence.canonical import format_time
    from projections.project_state import project_events, rejudge, replay as run_replay

    stream = project_stream(project)
    at_version, at_time = as_of(at)
    try:
        events = project_events(read_store(store), stream)
        if not events:
            raise NotInLogError(f"{stream} has no events in this store")
        state, transitions = run_replay(events, at_version=at_version, at_time=at_time,
                                        steps=steps)
    except LedgerError as error:
        fail(error)
    as_of_json = None
    if at_version is not None:
        as_of_json = {"version": at_version}
        as_of_text = f"version {at_version} (序号)"
    elif at_time is not None:
        local = at_time.astimezone(CST)
        as_of_json = {"utc": format_time(at_time), "beijing": local.isoformat()}
        as_of_text = (f"{local.strftime('%Y-%m-%d %H:%M:%S')}{_fraction(local)} Beijing time "
                      f"(UTC+8) = {format_time(at_time)} (UTC)")
    summary = {"project": stream, "as_of": as_of_json,
               "version": transitions[-1].version if transitions else 0,
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
        if key == "as_of":
            if value is not None:
                click.echo(f"{'as of:':14} {as_of_text}")
        elif value not in (None, [], {}) and key != "deadlines":
            click.echo(f"{key + ':':14} {value}")
    for d in summary["deadlines"]:
        kept = {True: "kept", False: "MISSED", None: "open"}[d["kept"]]
        click.echo(f"{'deadline:':14} {d['rule']} ({d['article']}) due {d['due']}: {kept}")


@click.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def stats(store: str, as_json: bool) -> None:
    """Projects, amounts, savings rates and premiums (溢价率) by category and month of award."""
    from projections.project_state import each_project
    from projections.statistics import as_rows, grouped

    try:  # one project at a time: memory holds the largest, not all of them
        rows = as_rows(grouped(each_project(read_store(store))))
    except LedgerError as error:
        fail(error)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'category':13} {'month':8} {'projects':>8} {'awarded':>8} {'failed':>7} "
               f"{'control (yuan)':>18} {'award (yuan)':>18} {'savings':>8} {'premium':>8}")
    for r in rows:
        rate = f"{float(r['savings_rate']) * 100:.2f}%" if r["savings_rate"] else "-"
        premium = f"{float(r['premium_rate']) * 100:.2f}%" if r.get("premium_rate") else "-"
        click.echo(f"{r['category']:13} {r['month']:8} {r['projects']:>8} {r['awarded']:>8} "
                   f"{r['failed']:>7} {r['control_total']:>18} {r['award_total']:>18} {rate:>8} "
                   f"{premium:>8}")


@click.command()
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
        Follower(read_store(store), watch).follow()
    except LedgerError as error:
        fail(error)
    found = watch.all_warnings() if project is None else \
        {project_stream(project): watch.warnings(project_stream(project))}
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


@click.command()
@store_option
@click.option("--project", required=True, help="the project's id (or its stream name)")
@click.option("--about", type=number(1), multiple=True,
              help="a version of the project the dispute is about (repeatable)")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the dossier to write (a ZIP)")
def dossier(store: str, project: str, about: tuple[int, ...], out: Path) -> None:
    """Write a dispute dossier: the project's events proved complete, its refusals, its
    signers' keys, proofs of the events in dispute, and the replay; checkable offline."""
    from projections.dossier import write_dossier

    try:
        manifest = write_dossier(read_store(store), project_stream(project), out, list(about))
    except LedgerError as error:
        fail(error)
    click.echo(f"wrote {out}: {manifest['events']} events of {manifest['project']} at tree "
               f"size {manifest['tree_size']}; check it with `sunledger check-dossier {out} "
               f"--log-key '{manifest['log_key']}'`")


@click.command("check-dossier")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--log-key", required=True, help="the log's verifier key, as published")
def check_dossier_command(path: Path, log_key: str) -> None:
    """Check a dispute dossier offline. Exit 0 when everything in it holds, 1 when not, 2
    when the file is refused unread (not a ZIP, or beyond the reader's limits)."""
    from ledger.log.notes import parse_verifier_key
    from projections.dossier import check_dossier

    try:
        result = check_dossier(path, parse_verifier_key(log_key))
    except UntrustedFileError as error:
        fail(error)
    except LedgerError as error:
        click.echo(f"does not hold: {error.message}")
        sys.exit(1)
    click.echo(f"holds: {result['events']} events of {result['project']}, complete at tree "
               f"size {result['tree_size']}, every signature by a key its actor held then "
               f"({len(result['actors'])} actors); {len(result['about'])} events in dispute "
               "proved in the log; the replay is what the events give")
    if result["unchecked"]:
        click.echo(f"withheld: the committee's registrations until the award (法 §37): "
                   f"{result['unchecked']} events of its {len(result['withheld'])} members are "
                   "proved in the log, their signatures not checked here")


@click.command()
@store_option
@key_option
@click.option("--every", type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="keep reacting, this many seconds apart (stop with Ctrl-C)")
def react(store: str, ledger_key: Path | None, every: float | None) -> None:
    """Record what the ledger does itself when it is due (close submission at the deadline,
    close a listing at its end, end a timed round when its countdown ran out, refund every
    security and deposit that is owed): once (run it every minute from cron or a timer), or
    with --every, keep doing it (a centre running online timed rounds: every second or two)."""
    from projections.reactions import Reactor

    try:
        reactor = Reactor(open_ledger(store, ledger_key))
        while True:
            outcomes = reactor.run()
            for stream, type_, outcome in outcomes:
                click.echo(f"{stream}  {type_}  {outcome}")
            if every is None:
                if not outcomes:
                    click.echo("nothing is due")
                return
            time.sleep(every)
    except LedgerError as error:
        fail(error)
    except KeyboardInterrupt:
        click.echo("stopped: everything due so far is recorded")


@click.command()
@click.option("--store", "store", default=None,
              help="where to run it, created if missing (default: a new SQLite file in --out)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help="where the store, the witness and the reports go")
@click.option("--http", is_flag=True,
              help="the actors' actions over HTTP: POST /v1/actions to a server of the demo's "
                   "ledger on a free loopback port (the same events and reports)")
def demo(store: str | None, out: Path, http: bool) -> None:
    """Run a complete, realistic project (醴陵棚户区改造二期) through the real procedure, then two
    rights sold by listing (a land parcel through a timed round, the 九郎山 concession), and
    show what happened, the verification, the latest checkpoint and the witness reports."""
    from api.demo import Demo

    if store is None:
        db = out / "ledger.db"
        for old in (db, *(db.with_name(f"ledger.db{end}") for end in ("-wal", "-shm",
                                                                          ".ledger-key"))):
            old.unlink(missing_ok=True)  # a previous run's store, whole
        store = f"sqlite:{db}"
    try:
        code = Demo(store, out, click.echo, http=http).run()
    except LedgerError as error:
        fail(error)
    sys.exit(code)


COMMANDS = [simulate, replay, stats, warnings, dossier, check_dossier_command, react, demo]
