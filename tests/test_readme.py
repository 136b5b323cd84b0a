"""The README is a front door: short, its commands are CI's, and every figure in its results table is in
the committed report it names."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def results_rows():
    section = README.split("## Results", 1)[1].split("\n## ", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| ") and "`" in line.split("|")[-2]]


def test_the_readme_is_short_and_runs_what_ci_runs():
    assert len(README.splitlines()) <= 200
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in README  # the test command, word for word
    assert not re.search(r"\bissues? \d+", README, re.IGNORECASE)  # no internal work-item numbers


def test_every_results_figure_is_in_the_report_it_names():
    rows = results_rows()
    assert len(rows) >= 5
    for name, figure, source in rows:
        path = ROOT / source.strip("`")
        assert path.is_file(), source
        text = path.read_text()
        figures = re.findall(r"\d+\.\d+", figure)
        assert figures, name
        for value in figures:
            forms = {value, f"{float(value):.2f}", f"{float(value):.1f}"}
            assert any(f in text for f in forms), f"{name}: {value} is not in {source}"


def test_every_linked_doc_exists():
    for link in re.findall(r"\]\(([^)#]+)\)", README):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link
