"""Open the built book in a real (headless) Chromium and check what a reader sees."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE = "notebooks/scaling/parameter_growth.html"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass


@pytest.fixture
def served_book(built_book):
    if built_book.returncode != 0 or not built_book.html.is_dir():
        pytest.fail(f"the book did not build:\n{built_book.output[-4000:]}")
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", built_book.html
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.book
def test_parameter_growth_page_renders_figure_and_math(served_book):
    if not CHROMIUM.exists():
        pytest.skip(
            "/usr/bin/chromium is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does"
        )
    from playwright.sync_api import sync_playwright

    base, html_dir = served_book
    requests: list[str] = []
    external: list[str] = []
    page_errors: list[str] = []
    failed: list[str] = []

    def is_local(url: str) -> bool:
        parsed = urlparse(url)
        if parsed.scheme in {"data", "blob", "about"}:
            return True
        return parsed.scheme in {"http", "https"} and parsed.hostname in LOCAL_HOSTS

    def on_request(request):
        requests.append(request.url)
        if not is_local(request.url):
            external.append(request.url)

    def route(route_):
        # Never let a request leave the machine (and never wait for one to time out).
        if is_local(route_.request.url):
            route_.continue_()
        else:
            route_.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", route)
            page = context.new_page()
            page.on("request", on_request)
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.on(
                "requestfailed",
                lambda r: failed.append(f"{r.url} ({r.failure})") if is_local(r.url) else None,
            )
            response = page.goto(f"{base}/{PAGE}", wait_until="load", timeout=60_000)
            assert response is not None and response.ok, f"{PAGE}: HTTP {response and response.status}"

            # MathJax 3 (served from _static/mathjax) typesets the page.
            page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                timeout=30_000,
            )
            n_math = page.evaluate(
                "() => MathJax.startup.promise.then(() => document.querySelectorAll('mjx-container').length)"
            )
            assert n_math >= 1, "MathJax typeset no formula on the page"
            raw_tex = page.evaluate(
                "() => [...document.querySelectorAll('div.math, span.math')]"
                ".filter(e => !e.querySelector('mjx-container')).length"
            )
            assert raw_tex == 0, f"{raw_tex} formulas were left as raw TeX"
            mathjax_requests = [u for u in requests if "/_static/mathjax/" in u]
            assert mathjax_requests, "MathJax was not loaded from the book's _static folder"

            # The notebook's stored figure is in the page and the browser decoded it.
            images = page.eval_on_selector_all(
                "div.cell_output img",
                "els => els.map(e => ({src: e.currentSrc || e.src, complete: e.complete, width: e.naturalWidth}))",
            )
            assert images, f"{PAGE} shows no figure from a notebook output"
            for img in images:
                src = img["src"]
                assert src.startswith("data:image/png") or urlparse(src).path.endswith(".png"), src
                assert img["complete"] and img["width"] > 0, f"image did not load: {src[:120]}"

            shot = html_dir.parent / "parameter_growth.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
        finally:
            browser.close()

    assert not external, "the page made requests to other hosts:\n" + "\n".join(external)
    assert not failed, "local requests failed:\n" + "\n".join(failed)
    assert not page_errors, "JavaScript errors on the page:\n" + "\n".join(page_errors)
    assert os.path.getsize(shot) > 0


@pytest.mark.book
def test_the_claims_ledger_filters_by_article_chapter_and_verdict(served_book):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    from llmscale import claims

    records = claims.evaluate()
    base, _ = served_book
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/notebooks/ledger/claims_ledger.html", wait_until="load", timeout=60_000)

            def shown() -> tuple[int, int]:
                count = int(page.inner_text(".claims-ledger .ledger-count"))
                rows = page.eval_on_selector_all(
                    ".claims-ledger tbody tr", "rows => rows.filter(r => r.style.display !== 'none').length"
                )
                return count, rows

            assert shown() == (len(records), len(records))
            for verdict in ("consistent", "assumed", "out of scope"):
                page.select_option("select[data-field=verdict]", verdict)
                n = sum(r.verdict == verdict for r in records)
                assert shown() == (n, n), verdict
            page.select_option("select[data-field=verdict]", "")
            seed = claims.SEEDS[0]
            page.select_option("select[data-field=article]", seed)
            page.select_option("select[data-field=chapter]", "moe")
            n = sum(r.seed == seed and r.chapter == "moe" for r in records)
            assert shown() == (n, n) and n > 0
        finally:
            browser.close()
    assert not errors, errors
