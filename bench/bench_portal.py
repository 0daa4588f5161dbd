#!/usr/bin/env python
"""The portal's project pages at a project of about 2,000 events, against the API's reads of
the same project in the same run.

Run by hand (`./run bench`, or `python bench/bench_portal.py [--quick]`); not a test.

The project of bench_reports.py (50 bidders, sealed bids resubmitted until the project holds
about 2,000 events, the opening, evaluation, award, contract, refunds) is built on SQLite
through the real procedure, with a witness officer assigned to it after its intake. A real `sunledger serve`
process serves it; one keep-alive client asks, in interleaved rounds:
- the public project page (GET /portal/projects/{p}),
- the witness officer's project page (GET /portal/witness/{p}: periods, reports, warnings,
  refusals, observations, the whole timeline grouped by phase, the state), signed in with
  the officer's key as the browser does (a session cookie from a signed challenge),
- the dispute replay at its first and its last step (GET /portal/replay/{p}?step=k),
and, as baselines from the same server, GET /healthz (HTTP alone) and the API's state read
(GET /v1/projects/{p}). Each request's time is taken from sending to the last byte of the
answer: on the loopback, the server's time. The first request of each page (the project
folded once by the server process) is printed apart.

Target: each portal page's p99 under 300 ms.
"""

from __future__ import annotations

import argparse
import base64
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_reports import STREAM, build  # noqa: E402 (bench/ is on the path)

from api.portal.session import sign_in_message  # noqa: E402
from ledger.evidence.keys import SigningKey  # noqa: E402

PAGE_P99_MS = 300.0
EVENTS = 2050  # bench_reports.build comes about 30 short: at least 2,000
OFFICER = "bench-witness"
SUNLEDGER = str(Path(sys.executable).parent / "sunledger")


def serve(url: str, key_path: Path, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([SUNLEDGER, "serve", "--store", url, "--ledger-key", str(key_path),
                                "--port", str(port)], cwd=ROOT, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not start:\n{log.read_text()}")
        time.sleep(0.1)


def signed_in(client: httpx.Client, key: SigningKey) -> None:
    """The session cookie, as the portal's sign-in page gets it (static/sign_in.js)."""
    asked = client.post("/portal/session/challenge").json()
    signature = key.sign(sign_in_message(asked["origin"], asked["challenge"]))
    answer = client.post("/portal/session", json={
        "actor": OFFICER, "key_id": key.key_id, "challenge": asked["challenge"],
        "signature": base64.b64encode(signature).decode()})
    if answer.status_code != 200:
        raise SystemExit(f"sign-in refused: {answer.text}")


def timed(client: httpx.Client, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:300]}")
    return elapsed * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args(argv)
    rounds, per_round = (3, 10) if args.quick else (5, 40)
    print(f"bench_portal: Python {platform.python_version()}, {rounds} rounds of {per_round} "
          "requests a page")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:{tmp}/portal.db"
        key_path = Path(tmp) / "portal.db.key"
        started = time.perf_counter()
        version = build(url, witnesses=(OFFICER,), events=EVENTS)
        key = SigningKey.derived(b"bench", OFFICER)  # as bench_reports derives its actors'
        print(f"project {STREAM}: {version + 1} events, built in {time.perf_counter() - started:.1f} s")
        process, base = serve(url, key_path, Path(tmp) / "serve.log")
        project = STREAM.split(":", 1)[1]
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                signed_in(client, key)
                steps = len(client.get(f"/v1/projects/{project}/replay?limit=1000").json()["steps"])
                kinds = {
                    "healthz (baseline)": "/healthz",
                    "API state (baseline)": f"/v1/projects/{project}",
                    "public project page": f"/portal/projects/{project}",
                    "witness officer's page": f"/portal/witness/{project}",
                    "replay, first step": f"/portal/replay/{project}?step=1",
                    "replay, last step": f"/portal/replay/{project}?step={steps}",
                }
                first = {name: timed(client, path) for name, path in kinds.items()}
                times: dict[str, list[float]] = {name: [] for name in kinds}
                for _ in range(rounds):
                    for name, path in kinds.items():
                        times[name].extend(timed(client, path) for _ in range(per_round))
                size = {name: len(client.get(path).content) for name, path in kinds.items()}
        finally:
            process.terminate()
            process.wait(timeout=60)
    print(f"\n{'request':26} {'first':>8} {'p50':>8} {'p99':>8} {'max':>8} {'bytes':>9}")
    for name, values in times.items():
        print(f"{name:26} {first[name]:7.1f}  {statistics.median(values):7.1f}  "
              f"{percentile(values, 0.99):7.1f}  {max(values):7.1f}  {size[name]:9,}")
    api = statistics.median(times["API state (baseline)"])
    failed = False
    print()
    for name, values in times.items():
        if "baseline" in name:
            continue
        p99 = percentile(values, 0.99)
        verdict = "PASS" if p99 < PAGE_P99_MS else "FAIL"
        failed |= verdict == "FAIL"
        print(f"TARGET {name}: p99 {p99:.1f} ms < {PAGE_P99_MS:.0f} ms "
              f"({statistics.median(values) / api:.1f}x the API's state read at p50) {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
