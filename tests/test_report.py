"""The HTML and Markdown report: content, files, and rendering in a browser."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile

import pytest

import calmech
from calmech.cli import main
from calmech.errors import FormatError
from calmech.report import build_report, write_report

#: Seconds a headless browser may take to render the page.
BROWSER_TIMEOUT = 90

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def monopoly():
    return calmech.solve(calmech.examples.monopoly())


@pytest.fixture(scope="module")
def quality():
    return calmech.solve(calmech.examples.quality())


def test_html_states_values_mechanism_and_verdict(monopoly):
    page = build_report(monopoly).to_html()
    text = html.unescape(page)
    env = monopoly.environment
    for label in (*env.states, *env.types, *env.allocations):
        assert label in text
    for value in monopoly.values.values():
        assert f'<td class="num">{value:.6g}</td>' in page
    # The textbook optimum's verdict and the private-values theorem.
    assert monopoly.standard.calibration.verdict in text
    assert "Private values" in text
    for sentence in monopoly.explain():
        assert sentence in text
    for sig in monopoly.calibrated.signals:
        assert f"probability {sig.probability:.4g}" in text
    assert page.count("data:image/png;base64,") == 2


def test_markdown_mirrors_html(quality):
    report = build_report(quality)
    md = report.to_markdown()
    assert "![The four values](values.png)" in md
    assert "(value_function.png)" in md
    assert "## The textbook optimum" in md
    assert quality.standard.calibration.verdict in md
    assert "Private values" not in md  # quality has interdependent values
    assert md.count("**Signal ") == len(quality.calibrated.signals)


def test_write_report_refuses_then_forces(tmp_path, monopoly):
    out = tmp_path / "rep"
    paths = write_report(monopoly, out)
    assert paths["html"].read_text().startswith("<!DOCTYPE html>")
    assert (out / "values.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(FormatError, match="exists; pass --force"):
        write_report(monopoly, out)
    write_report(monopoly, out, force=True)


def test_cli_report(tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["report", "quality", "--out", str(out)]) == 0
    assert (out / "report.md").exists()
    assert main(["report", "quality", "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["report", "quality", "--out", str(tmp_path / "no" / "x")]) == 2


def _chromium(*args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp()
    try:
        return subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=BROWSER_TIMEOUT,
            env={**os.environ, "HOME": profile},
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH")
def test_page_renders_in_a_browser_with_every_image(tmp_path, quality):
    paths = write_report(quality, tmp_path / "rep")
    url = paths["html"].resolve().as_uri()
    dom = _chromium("--dump-dom", url).stdout
    found = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom)
    assert found, "the page's load script did not run"
    loaded, total = map(int, found.groups())
    assert total == 2 and loaded == total
    shot = tmp_path / "shot.png"
    _chromium(f"--screenshot={shot}", "--window-size=1200,2000", url)
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 50_000


def test_four_states_report_has_no_value_figure():
    # Known limitation: V is drawn for two or three states only.
    env = calmech.Environment(
        states=list("abcd"),
        types=["t"],
        allocations=["keep", "sell"],
        prior=[[0.25] * 4],
        agent_payoff=[0, 1],
    )
    report = build_report(calmech.solve(env))
    assert sorted(report.figures()) == ["values.png"]
