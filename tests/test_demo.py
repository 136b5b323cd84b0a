"""The demo page in a real browser: headless Chromium (Debian's package) driven by Playwright.

The page is started as a user starts it (``scripts/demo.py``); the test drops files on it, draws on
its canvas and reads the answers from the page. A screenshot goes to ``runs/demo/page.png``.
"""

import re
import shutil
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from hdsr_tf.demo.examples import HERE as EXAMPLES
from hdsr_tf.demo.examples import NAMES, make_examples

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


def test_the_bundled_examples_are_what_make_examples_writes(tmp_path, mnist_ready):
    written = make_examples(tmp_path)
    assert [p.name for p in written] == list(NAMES)
    for path in written:
        assert path.read_bytes() == (EXAMPLES / path.name).read_bytes(), path.name


@pytest.fixture(scope="module")
def demo_url():
    pytest.importorskip("gradio", reason="the demo extra is not installed: pip install -e .[demo]")
    pytest.importorskip("playwright", reason="playwright drives the browser")
    if not shutil.which(CHROMIUM):
        pytest.skip("no chromium: apt-get install chromium")
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "demo.py")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        line = ""
        while time.time() < deadline and not line.startswith("demo: "):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"demo.py exited: {proc.stderr.read()[-2000:]}")
        assert line.startswith("demo: http://127.0.0.1:"), line
        yield line.split()[1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _value(tab: str, box: str) -> str:
    """JavaScript for a text box's value (null while the page has not drawn it yet)."""
    return f"(document.querySelector('#{tab}-{box} textarea')?.value ?? null)"


def _answer(page, tab: str) -> tuple[str, str]:
    """(answer, error) of a tab once either is filled."""
    page.wait_for_function(f"{_value(tab, 'answer')} || {_value(tab, 'error')}", timeout=60_000)
    return (page.locator(f"#{tab}-answer textarea").input_value(),
            page.locator(f"#{tab}-error textarea").input_value())


def _drop(page, tab: str, path) -> None:
    """Drops a file on a tab's file box (the one shown before is taken away first, as a person would)."""
    clear = page.locator(f"#{tab}-file button[aria-label='Clear']")
    if clear.count():
        clear.click()
        page.wait_for_function(f"{_value(tab, 'answer')} === '' && {_value(tab, 'error')} === ''")
    page.locator(f"#{tab}-file input[type=file]").set_input_files(str(path))


@pytest.mark.slow
def test_the_page_reads_digits_numbers_drawings_and_bad_files_in_a_browser(demo_url, tmp_path):
    from playwright.sync_api import sync_playwright

    from hdsr_tf.reading.files import check_header

    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is a text file with an image's name")
    try:
        check_header(not_an_image.read_bytes())
    except ValueError as e:
        cli_error = str(e)  # what predict.py prints for this file
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        hosts = set()
        page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
        page.goto(demo_url)
        page.wait_for_selector("#digit-file")

        _drop(page, "digit", EXAMPLES / "digit_clean.png")
        answer, error = _answer(page, "digit")
        assert (answer[:1], error) == ("3", "")  # an MNIST test 3, read at 100% by the served model
        probs = page.locator("#digit-probs").inner_text()
        assert re.findall(r"^\d$", probs, re.M)[0] == "3"  # the chart's first bar is the answer's
        assert len(set(re.findall(r"^(\d)$", probs, re.M))) == 10  # all ten digits have a bar

        _drop(page, "digit", not_an_image)
        assert _answer(page, "digit") == ("", cli_error)

        _drop(page, "digit", EXAMPLES / "blank.png")
        assert _answer(page, "digit") == ("no digit", "")  # the page answers again after the bad file
        page.locator("#digit-file button[aria-label='Clear']").click()
        page.wait_for_function(f"{_value('digit', 'answer')} === ''")
        page.locator("#digit-draw button[aria-label='Brush']").click()
        box = page.locator("#digit-draw canvas").last.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y - 90)
        page.mouse.down()
        for i in range(19):
            page.mouse.move(x, y - 90 + 10 * i)
        page.mouse.up()
        page.locator("#read-drawing").click()
        assert _answer(page, "digit")[0].startswith("1 ")  # a vertical stroke

        page.get_by_role("tab", name="Number or form field").click()
        _drop(page, "number", EXAMPLES / "number.png")
        assert _answer(page, "number")[0].split()[0] == "86312"
        _drop(page, "number", EXAMPLES / "comb_field.png")
        answer, error = _answer(page, "number")
        assert (answer.split()[0], error) == ("38457", "")  # the comb field's digits, comb removed
        page.wait_for_timeout(500)
        (ROOT / "runs" / "demo").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ROOT / "runs" / "demo" / "page.png"), full_page=True)
        browser.close()
    assert hosts == {demo_url.split("/")[2]}, f"the page asked other hosts: {hosts}"
