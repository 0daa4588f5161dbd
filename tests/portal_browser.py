"""What the portal's browser tests share: a copy of the demo's store served by a real
`sunledger serve`, actors registered on it with keys from `sunledger keygen`, Debian's
Chromium driven by Playwright (a page that fails its test on any console error), and signing
in through the sign-in page with a key file."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ledger.evidence.envelope import LEDGER_ACTOR
from ledger.evidence.keys import encode_public_key, read_private_key
from ledger.evidence.signer import ActorSigner
from ledger.ledger import Ledger
from servers import SUNLEDGER, Server

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Debian's chromium is missing: ./run setup installs it")


def now() -> datetime:
    return datetime.now(timezone.utc)


def serve_demo_copy(demo_run, folder: Path, *extra: str) -> tuple[Server, Path]:
    """A server on a copy of the demo's output (its store, ledger key and reports, which it
    serves) in `folder`: the server and the copy's folder."""
    shutil.copytree(demo_run.out, folder / "demo")
    store = folder / "demo" / "ledger.db"
    server = Server(["--store", f"sqlite:{store}", "--ledger-key",
                     str(store.with_name("ledger.db.ledger-key")), "--reports",
                     str(folder / "demo"), *extra], folder / "serve.log")
    return server, folder / "demo"


def open_ledger(demo: Path) -> Ledger:
    store = demo / "ledger.db"
    return Ledger.open(f"sqlite:{store}", key_path=store.with_name("ledger.db.ledger-key"))


def as_centre(demo: Path, stream: str, type_: str, payload: dict) -> None:
    """Record an action of the centre (signed with the ledger key) on the served store."""
    ledger = open_ledger(demo)
    try:
        ledger.submit(ActorSigner(LEDGER_ACTOR, ledger.key).sign(
            stream, type_, payload, expected_version=ledger.stream_version(stream),
            signed_at=now()))
    finally:
        ledger.close()


def register_actor(demo: Path, folder: Path, actor: str, name: str, roles: list[str],
                   organisation: str = "株洲市公共资源交易中心（虚构）"):
    """An actor registered on the served store (the registrar: the ledger key) with a key
    from `sunledger keygen`: its key file and the key."""
    key_file = folder / f"{actor}.key"
    subprocess.run([SUNLEDGER, "keygen", "--out", str(key_file)], check=True,
                   capture_output=True)
    key = read_private_key(key_file)
    ledger = open_ledger(demo)
    registrar, stream = ActorSigner(LEDGER_ACTOR, ledger.key), f"actor:{actor}"
    try:
        ledger.submit(registrar.sign(stream, "actor.registered/v1", {
            "name": name, "roles": roles, "organisation": organisation},
            expected_version=0, signed_at=now()),
            registrar.sign(stream, "actor.key-added/v1", {
                "key_id": key.key_id, "public_key": encode_public_key(key.public_key)},
                expected_version=1, signed_at=now()))
    finally:
        ledger.close()
    return key_file, key


def sign_in(page, url: str, key_file: Path, actor: str, then: str = "**/portal/me") -> None:
    """Sign in through the sign-in page with the key file, and wait for the page after."""
    page.goto(url + "/portal/sign-in?lang=zh")
    page.fill("input[name=actor]", actor)
    page.set_input_files("input[name=keyfile]", str(key_file))
    page.click("button[type=submit]")
    if then:
        page.wait_for_url(then, timeout=20_000)


def follow(page, link, to: str) -> None:
    """Click a link (a selector or a locator) and wait until the page it leads to, whose
    address ends with `to`, has loaded. A click returns once the navigation has started, while
    the old page or half the new one may still be what there is to read: reading then races."""
    page.click(link) if isinstance(link, str) else link.click()  # a selector: its first match
    page.wait_for_url(lambda address: address.endswith(to), wait_until="load", timeout=20_000)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                            "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A page at a laptop's width that fails the test on any console error (a test takes
    out of `page.console_errors` one it caused on purpose)."""
    opened = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.console_errors = errors
    yield opened
    opened.close()
    assert errors == [], errors
