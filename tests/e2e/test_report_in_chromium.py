"""report.html in a real browser: headless Chromium (Debian's package, installed by `make browser`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.integration.test_cost_allocation import job
from tests.integration.test_focus_export import Aggregates, a_varied_month

from sagecost import clock
from sagecost.models.allocation import AllocationPolicy
from sagecost.models.config import SagecostConfig
from sagecost.services.allocation import MonthEndAllocator, render_outputs

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "out" / "test-artifacts"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH: `make browser` installs Debian's package (needs root and apt)",
)


def chromium(page: Path, *args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture
def report_page(tmp_path: Path) -> Path:
    records = [
        *a_varied_month(),
        job("xss", "12.00", project="<script>alert(1)</script>", team="<b>bold</b>"),
    ]
    config = SagecostConfig(allocation=AllocationPolicy(shared_projects=("platform",)))
    with clock.fixed_at(datetime(2026, 11, 1, 0, 30, tzinfo=UTC)):
        month_end = MonthEndAllocator(Aggregates(records), config).run("2026-10")
    page = tmp_path / "report.html"
    page.write_bytes(render_outputs(month_end, config.tags.primary_keys())["report.html"])
    return page


def test_the_harness_sees_script_errors(tmp_path: Path) -> None:
    """The check below can fail: a page with a broken script does show up in the console log."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><p>x</p><script>notAFunction()</script>")
    result = chromium(broken, "--dump-dom", profile=tmp_path / "profile")
    assert any("Uncaught ReferenceError" in line for line in console_messages(result.stderr))


def test_the_report_renders_with_its_chart_and_table_and_shows_tag_markup_as_text(
    report_page: Path, tmp_path: Path
) -> None:
    dom = chromium(report_page, "--dump-dom", profile=tmp_path / "profile")
    assert console_messages(dom.stderr) == []  # no script errors, no CSP violations, nothing blocked
    html = dom.stdout
    assert len(re.findall(r'<rect class="direct"', html)) >= 3  # the chart: a bar per project
    assert len(re.findall(r'<rect class="shared"', html)) >= 3
    assert "<script" not in html  # the tag value did not become an element...
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # ...it is shown as text
    assert "<b>bold</b>" not in html
    assert "SageMaker chargeback, October 2026" in html
    assert "$530.70" in html  # the metered total, as a finance person reads it

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    chromium(report_page, f"--screenshot={screenshot}", "--window-size=1200,1800", profile=tmp_path / "p2")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a page with a chart and tables, not a blank one
