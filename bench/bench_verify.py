#!/usr/bin/env python
"""Verification speed: `ledger.audit.verify.verify` events per second against raw Ed25519.

Run by hand (`./run bench`, or `python bench/bench_verify.py [--quick]`); not a test.

1. Build a SQLite store of about N events (default 50,000; --quick 10,000) with the load
   generator (`api.simulate.simulate`: registrations, then overlapping projects through
   the real procedure, in simulated time), through `Ledger.submit`, actions of the same
   instant in batches of up to 100.
2. Raw rate: PyNaCl `VerifyKey.verify` of 300-byte messages (a typical signed action is
   about 340 bytes), in as many processes as the verifier has workers (2), in parallel:
   total verifications per second. The key objects are built beforehand. Each process
   cycles through 1,024 distinct keys, messages and signatures, as a verifier meets them;
   the rate for one signature verified over and over (its data always in cache, about 10%
   faster on this kind of machine) is printed beside it.
3. `verify(StoreSource(url), workers=2)`, the whole call timed (reading the
   store, decoding, hashing, both signatures, sequencing). Also workers=1.

The store's events are all covered by its last checkpoint, which vouches for their receipts
(evidence-format §14.3 step 6): each event then costs one Ed25519 verification (its actor's),
and the ceiling is the raw rate itself. Target: >= 75% of it. Beside it, `verify
--all-receipts` (two verifications an event, ceiling raw_rate / 2; the former target, 80% of
it, printed). Raw and verify runs are interleaved and the medians compared.

Each build and verify run is a fresh subprocess that reports its own peak resident memory
(getrusage ru_maxrss of itself and of its children, i.e. the verifier's worker processes),
so the figures are not mixed with the build's or each other's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGET_FRACTION = 0.75  # verify events/s >= 0.75 x raw_rate (receipts vouched for)
ALL_RECEIPTS_FRACTION = 0.8  # verify --all-receipts events/s >= 0.8 x raw_rate / 2
INCREMENTAL_SHARE = 0.02  # verifying the last 1% after a remembered checkpoint: < 2% of a full run
WORKERS = 2
SIGNATURES_PER_EVENT = 2
MESSAGE_BYTES = 300
DISTINCT = 1024  # distinct signatures the raw baseline cycles through
RAW_SECONDS = 1.5  # per raw measurement
BATCH = 100  # actions per Ledger.submit while building the store

SIZES = {False: {"events": 50_000, "repeats": 5}, True: {"events": 10_000, "repeats": 3}}


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _rusage() -> dict:
    """Peak resident memory (MiB) of this process and of its waited-for children."""
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"maxrss_self_mib": self_kb / 1024, "maxrss_children_mib": children_kb / 1024}


# --- phases run in fresh subprocesses ------------------------------------------------------

def phase_build(url: str, events: int, key_path: str, seed: int) -> dict:
    from api.simulate import simulate
    from ledger.ledger import Ledger
    from ledger.log.checkpoints import CheckpointPolicy

    start = time.perf_counter()
    ledger = Ledger.open(url, key_path=Path(key_path),
                         checkpoints=CheckpointPolicy(1000, float("inf")))
    # about 48 events per project, registrations included: the store holds about `events`
    result = simulate(ledger, projects=max(1, events // 48), seed=seed, batch=BATCH)
    ledger.checkpoint()
    ledger.close()
    written = result.actions + result.refused + 1
    return {"events": written, "seconds": time.perf_counter() - start, **_rusage()}


def phase_verify(url: str, workers: int, all_receipts: bool = False) -> dict:
    from ledger.audit.verify import StoreSource, verify

    source = StoreSource(url)
    source.count()  # open the store before the clock starts
    # importing psycopg runs `ldconfig -p` (ctypes library lookup): a child before any worker
    before = _rusage()["maxrss_children_mib"]
    cpu_self, cpu_children = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    report = verify(source, workers=workers, all_receipts=all_receipts)
    seconds = time.perf_counter() - start
    cpu_self = _cpu(resource.RUSAGE_SELF) - cpu_self
    if workers > 1:
        # The pool's workers are children of the forkserver, not of this process: stop the
        # forkserver (it has reaped them) so that RUSAGE_CHILDREN includes their peak.
        from multiprocessing import forkserver

        forkserver._forkserver._stop()
    cpu_children = _cpu(resource.RUSAGE_CHILDREN) - cpu_children
    return {"events": report.events, "receipts": report.receipts, "streams": report.streams,
            "intact": report.intact, "findings_total": report.findings_total,
            "receipts_covered": report.receipts_covered,
            "seconds": seconds, "cpu_main_seconds": cpu_self, "cpu_workers_seconds": cpu_children,
            "maxrss_children_before_mib": before, **_rusage()}


def phase_incremental(url: str, key_path: str, grow: int) -> dict:
    """A full run that remembers its checkpoint; the store grown by about `grow` events and
    checkpointed; then the run after the remembered checkpoint and a full run, both timed."""
    from api.simulate import simulate
    from ledger.audit.verify import StoreSource, verify
    from ledger.ledger import Ledger

    state = verify(StoreSource(url), workers=WORKERS).trusted
    ledger = Ledger.open(url, key_path=Path(key_path))
    simulate(ledger, projects=max(1, grow // 48), seed=97, batch=BATCH)
    ledger.checkpoint()
    ledger.close()
    start = time.perf_counter()
    since = verify(StoreSource(url), since=state)  # workers as the command chooses them
    since_seconds = time.perf_counter() - start
    start = time.perf_counter()
    full = verify(StoreSource(url), workers=WORKERS)
    full_seconds = time.perf_counter() - start
    return {"since_events": since.events, "since_seconds": since_seconds,
            "full_events": full.events, "full_seconds": full_seconds,
            "agree": since.intact and full.intact and since.trusted == full.trusted}


def phase_idle(url: str) -> dict:
    """The same imports and an open recorder, no verification: the memory floor."""
    from ledger.audit.verify import StoreSource, verify  # noqa: F401
    from ledger.stores.url import open_recorder, parse_store_url

    open_recorder(parse_store_url(url)).counts()
    return _rusage()


def run_phase(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--phase", *args], check=False,
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"bench_verify: phase {args[0]} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- raw Ed25519 ---------------------------------------------------------------------------

def _signatures(distinct: bool) -> list[tuple]:
    """(verify key, message, signature) triples: 1,024 distinct keys and messages, as a
    verifier meets them, or one triple repeated (the primitive with its data in cache)."""
    import nacl.signing

    triples = []
    for _ in range(DISTINCT if distinct else 1):
        key = nacl.signing.SigningKey.generate()
        message = os.urandom(MESSAGE_BYTES)
        triples.append((key.verify_key, message, key.sign(message).signature))
    return triples


def _raw_worker(count: int, distinct: bool, barrier, results) -> None:
    triples = _signatures(distinct)
    for verify_key, message, signature in triples[:200] * (200 // len(triples[:200])):
        verify_key.verify(message, signature)  # warm-up
    work = (triples * (count // len(triples) + 1))[:count]
    barrier.wait()
    start = time.perf_counter()
    for verify_key, message, signature in work:
        verify_key.verify(message, signature)
    results.put((count, time.perf_counter() - start))


def raw_rate(processes: int, seconds: float = RAW_SECONDS, distinct: bool = True) -> float:
    """Total Ed25519 verifications per second of `processes` processes in parallel."""
    import nacl.signing

    key = nacl.signing.SigningKey.generate()
    message = os.urandom(MESSAGE_BYTES)
    signature = key.sign(message).signature
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < 0.2:
        key.verify_key.verify(message, signature)
        n += 1
    count = max(1000, int(n / (time.perf_counter() - start) * seconds))

    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(processes), context.Queue()
    procs = [context.Process(target=_raw_worker, args=(count, distinct, barrier, results))
             for _ in range(processes)]
    for p in procs:
        p.start()
    done = [results.get() for _ in procs]
    for p in procs:
        p.join()
    # all started together: the total over the slowest one's time
    return sum(c for c, _ in done) / max(t for _, t in done)


# --- report ----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--events", type=int, help="events in the store")
    parser.add_argument("--repeats", type=int, help="interleaved raw/verify repeats")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args, unknown = parser.parse_known_args(argv)
    if args.phase:
        name, *rest = args.phase
        if name == "build":
            out = phase_build(rest[0], int(rest[1]), rest[2], int(rest[3]))
        elif name == "verify":
            out = phase_verify(rest[0], int(rest[1]), rest[2:] == ["all"])
        elif name == "incremental":
            out = phase_incremental(rest[0], rest[1], int(rest[2]))
        else:
            out = phase_idle(rest[0])
        print(json.dumps(out))
        return 0
    if unknown:
        print(f"bench_verify: ignoring arguments {unknown}", file=sys.stderr)
    sizes = dict(SIZES[args.quick])
    events = args.events or sizes["events"]
    repeats = args.repeats or sizes["repeats"]

    print(f"bench_verify{' --quick' if args.quick else ''}: Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.platform()}")
    with tempfile.TemporaryDirectory(prefix="sunledger-bench-") as tmp:
        db = Path(tmp) / "ledger.db"
        url = f"sqlite://{db}"
        build = run_phase("build", url, str(events), str(Path(tmp) / "ledger.key"), "11")
        size_mib = sum(p.stat().st_size for p in Path(tmp).glob("ledger.db*")) / 2**20
        print(f"  built {build['events']} events in {build['seconds']:.1f} s "
              f"({build['events'] / build['seconds']:.0f} events/s through Ledger.submit, "
              f"batches of {BATCH}, client signing included); store {size_mib:.1f} MiB",
              flush=True)

        raws, fixed, runs2, alls = [], [], [], []
        for r in range(repeats):
            raws.append(raw_rate(WORKERS))
            fixed.append(raw_rate(WORKERS, distinct=False))
            runs2.append(run_phase("verify", url, str(WORKERS)))
            alls.append(run_phase("verify", url, str(WORKERS), "all"))
            print(f"  repeat {r + 1}/{repeats}: raw {raws[-1]:8.0f} verifications/s "
                  f"({WORKERS} processes; one repeated signature: {fixed[-1]:.0f})   "
                  f"verify workers={WORKERS} "
                  f"{runs2[-1]['events'] / runs2[-1]['seconds']:8.0f} events/s, "
                  f"--all-receipts {alls[-1]['events'] / alls[-1]['seconds']:8.0f}", flush=True)
        raw1 = raw_rate(1)
        run1 = run_phase("verify", url, "1")
        print(f"  raw {raw1:8.0f} verifications/s (1 process)   verify workers=1 "
              f"{run1['events'] / run1['seconds']:8.0f} events/s", flush=True)
        idle = run_phase("idle", url)
        grown = run_phase("incremental", url, str(Path(tmp) / "ledger.key"),
                          str(max(48, build["events"] // 100)))

    for run in runs2 + alls + [run1]:
        if not run["intact"] or run["events"] != build["events"]:
            print(f"WARNING: verify reported {run['events']} events, intact={run['intact']}, "
                  f"{run['findings_total']} findings (expected {build['events']}, intact)")

    raw2 = statistics.median(raws)
    fixed2 = statistics.median(fixed)
    v2 = statistics.median(r["events"] / r["seconds"] for r in runs2)
    v_all = statistics.median(r["events"] / r["seconds"] for r in alls)
    v1 = run1["events"] / run1["seconds"]
    ceiling2, ceiling1 = raw2, raw1  # one verification an event: receipts vouched for
    ratio2, ratio1 = v2 / ceiling2, v1 / ceiling1
    ratio_all = v_all / (raw2 / SIGNATURES_PER_EVENT)
    if runs2[0]["receipts_covered"] != build["events"]:
        print(f"WARNING: the checkpoint vouched for {runs2[0]['receipts_covered']} receipts, "
              f"not all {build['events']}")
    mid2 = sorted(runs2, key=lambda r: r["seconds"])[len(runs2) // 2]
    worst = max(runs2, key=lambda r: r["maxrss_self_mib"] + r["maxrss_children_mib"])

    print()
    print(f"Verification of {build['events']} events ({run1['streams']} streams, "
          f"{run1['receipts']} receipts), SQLite store; medians of {repeats} interleaved repeats")
    header = (f"{'measure':<42} {'rate/s':>10} {'ceiling ev/s':>13} {'of ceiling':>11}")
    print(header)
    print("-" * len(header))
    print(f"{'raw Ed25519 verify, ' + str(WORKERS) + ' processes (verif./s)':<42} {raw2:>10.0f}")
    print(f"{'raw Ed25519 verify, 1 process (verif./s)':<42} {raw1:>10.0f}")
    print(f"{'(one signature repeated, 2 processes)':<42} {fixed2:>10.0f} "
          f"{fixed2:>13.0f} {v2 / fixed2:>11.2f}")
    print(f"{'verify workers=' + str(WORKERS) + ' (events/s)':<42} {v2:>10.0f} {ceiling2:>13.0f} "
          f"{ratio2:>11.2f}")
    print(f"{'verify workers=1 (events/s)':<42} {v1:>10.0f} {ceiling1:>13.0f} {ratio1:>11.2f}")
    print(f"{'verify --all-receipts workers=' + str(WORKERS):<42} {v_all:>10.0f} "
          f"{raw2 / SIGNATURES_PER_EVENT:>13.0f} {ratio_all:>11.2f}")
    print(f"(ceiling = the raw rate: the checkpoint vouches for every receipt, one signature an "
          f"event; with --all-receipts, raw rate / {SIGNATURES_PER_EVENT})")
    print(f"verify workers={WORKERS} wall seconds: "
          + ", ".join(f"{r['seconds']:.2f}" for r in runs2)
          + f"; workers=1: {run1['seconds']:.2f}")
    print(f"CPU seconds of the median workers={WORKERS} run: main process "
          f"{mid2['cpu_main_seconds']:.2f}, pool (workers + forkserver, start-up included) "
          f"{mid2['cpu_workers_seconds']:.2f}; cores busy on average "
          f"{(mid2['cpu_main_seconds'] + mid2['cpu_workers_seconds']) / mid2['seconds']:.2f} "
          f"of {os.cpu_count()}")
    print()
    def workers_mib(run: dict) -> str:
        grew = run["maxrss_children_mib"] > run["maxrss_children_before_mib"]
        return f"{run['maxrss_children_mib']:.1f}" if grew else "-"

    print(f"Peak resident memory (getrusage ru_maxrss), MiB, {build['events']} events")
    print(f"{'process':<42} {'self':>8} {'children':>9}")
    print(f"{'imports + open recorder only (floor)':<42} {idle['maxrss_self_mib']:>8.1f} "
          f"{'-':>9}")
    print(f"{'verify workers=' + str(WORKERS) + ' (largest run)':<42} "
          f"{worst['maxrss_self_mib']:>8.1f} {workers_mib(worst):>9}")
    print(f"{'verify workers=1':<42} {run1['maxrss_self_mib']:>8.1f} {workers_mib(run1):>9}")
    print(f"{'build (Ledger.submit, for reference)':<42} {build['maxrss_self_mib']:>8.1f} "
          f"{'-':>9}")
    print("(self = the verifier's main process; children = the largest of its pool's worker "
          "processes.\n Bounded: compare a --quick and a full run, the figures should not grow "
          "with the number of events.)")
    print()
    share = grown["since_seconds"] / grown["full_seconds"]
    print(f"Incremental: {grown['since_events']} events after the remembered checkpoint in "
          f"{grown['since_seconds']:.2f} s; the full run of {grown['full_events']} events in "
          f"{grown['full_seconds']:.2f} s; same verdict and state: {grown['agree']}")
    verdict = "PASS" if share < INCREMENTAL_SHARE and grown["agree"] else "FAIL"
    print(f"TARGET incremental run of the last "
          f"{grown['since_events'] / grown['full_events']:.1%} < {INCREMENTAL_SHARE:.0%} of the "
          f"full run's time: {share:.1%} {verdict}")
    verdict = "PASS" if ratio2 >= TARGET_FRACTION else "FAIL"
    print(f"TARGET verify workers={WORKERS} >= {TARGET_FRACTION:.0%} of the raw Ed25519 rate "
          f"(receipts vouched for by the checkpoint): {ratio2:.2f} {verdict}")
    verdict = "PASS" if ratio_all >= ALL_RECEIPTS_FRACTION else "FAIL"
    print(f"TARGET verify --all-receipts workers={WORKERS} >= {ALL_RECEIPTS_FRACTION:.0%} of raw "
          f"rate / {SIGNATURES_PER_EVENT}: {ratio_all:.2f} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
