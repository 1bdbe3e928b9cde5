"""The page in a browser set to English (issue 18): no gradio English while uploading or answering, one
progress display for an ingest, and example questions remade from the archive after an upload.

Screenshots go to pytest's tmp dir. The page serves a private copy of the sample index (tests/test_app.py).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE_FILE
from tests.test_app import NEW_ISSUE, _browser_tab, _serving

pytestmark = pytest.mark.browser
# what gradio writes by itself: the upload box, its status text ("processing | 3.1/3.8s"), badges and toasts
ENGLISH = re.compile(r"Drop File|Click to Upload|Uploading|[Pp]rocessing|\bError\b|\bWarning\b|In queue|"
                     r"\d+(\.\d+)?/\d+(\.\d+)?s\b|\b(Textbox|Chatbot|Dropdown|Dataframe|Submit|Clear|Loading)\b")
# gradio's own progress overlays that are showing (each output of an event gets one unless told otherwise)
OVERLAYS = """() => [...document.querySelectorAll('[data-testid="status-tracker"]')]
  .filter(t => !t.classList.contains('hide') && t.offsetParent !== null).length"""


@pytest.fixture(scope="module")
def served(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("chinese-page")
    shutil.copytree(sample_index, folder / "index")
    with _serving(folder / "index") as url:
        yield url


@pytest.fixture
def page(served: str) -> Iterator[Any]:
    with _browser_tab(served, locale="en-US") as tab:
        yield tab


def _issue_copies(path: Path, first: int, copies: int) -> Path:
    """The sample issue again, each article titled anew: enough chunks for a few seconds of ingest."""
    sample = SAMPLE_FILE.read_text(encoding="utf-8")
    parts = [re.sub(r"^#+ (.+)$", lambda m, i=i: f"# {m.group(1)}（第{i}期）", sample, flags=re.MULTILINE)
             for i in range(first, first + copies)]
    path.write_text("\n\n".join(parts), encoding="utf-8")
    return path


def _upload(page: Any, *paths: Path) -> None:
    page.get_by_role("tab", name="档案库").click()
    page.set_input_files("#upload input[type=file]", [str(p) for p in paths])
    page.wait_for_function("names => names.every(n => document.querySelector('#upload').innerText.includes(n))",
                           arg=[p.stem for p in paths])
    page.click("#ingest")


def _while(page: Any, busy: Callable[[], bool], look: Callable[[], None], seconds: float = 300) -> None:
    """Call `look` every 100 ms until `busy` turns false."""
    deadline = time.monotonic() + seconds
    while busy():
        look()
        assert time.monotonic() < deadline, "still busy"
        page.wait_for_timeout(100)


def test_no_gradio_english_while_uploading_or_answering(page: Any, tmp_path: Path) -> None:
    page.get_by_role("tab", name="档案库").click()
    assert "将文件拖放到此处" in page.inner_text("#upload") and "点击选择文件" in page.inner_text("#upload")
    seen: list[str] = []

    def look() -> None:
        seen.extend(m.group(0) for m in ENGLISH.finditer(page.inner_text("body")))

    look()
    _upload(page, _issue_copies(tmp_path / "第二期.txt", 0, 3))
    _while(page, lambda: "导入完成" not in page.inner_text("#ingest-result"), look)
    page.screenshot(path=str(tmp_path / "uploaded.png"), full_page=True)

    page.get_by_role("tab", name="问答").click()
    page.fill("#question textarea", "王宏伟提出了哪几点要求")
    page.click("#ask")
    _while(page, lambda: page.locator("#sources .source-card").count() == 0, look)
    look()
    page.screenshot(path=str(tmp_path / "answered.png"))
    assert not seen, sorted(set(seen))


def test_one_progress_display_for_an_ingest(page: Any, tmp_path: Path) -> None:
    lines: list[str] = []
    overlays: list[int] = []

    def look() -> None:
        lines.append(page.inner_text("#ingest-result"))
        overlays.append(page.evaluate(OVERLAYS))

    _upload(page, _issue_copies(tmp_path / "第三期.txt", 3, 6), _issue_copies(tmp_path / "第四期.txt", 9, 2))
    _while(page, lambda: "导入完成" not in page.inner_text("#ingest-result"), look)
    page.screenshot(path=str(tmp_path / "ingested.png"), full_page=True)
    assert not any(overlays), "gradio's progress overlay showed over an output"
    running = [line for line in lines if line.startswith("正在导入")]
    assert running, lines
    assert all(re.search(r"已读取文件 [0-2]/2 个", line) for line in running)
    written = [int(m.group(1)) for line in running if (m := re.search(r"已写入文章 (\d+)/32 篇", line))]
    assert written and written == sorted(written), running  # articles done, counted up as they are written
    assert "2 个文件，新增文章 32 篇" in page.inner_text("#ingest-result")


def test_examples_are_remade_after_an_upload(page: Any, tmp_path: Path) -> None:
    title = "紫藤湾星光读书节在青石镇开幕"
    page.get_by_role("tab", name="问答").click()
    assert title not in page.inner_text("#examples")
    issue = tmp_path / "新一期.txt"
    issue.write_text(NEW_ISSUE, encoding="utf-8")
    _upload(page, issue)
    page.get_by_text("导入完成").wait_for()
    page.get_by_role("tab", name="问答").click()
    page.wait_for_function("t => document.querySelector('#examples').innerText.includes(t)", arg=title)
    page.screenshot(path=str(tmp_path / "examples.png"))
    page.locator("#examples").get_by_text(f"{title}的主要内容是什么").click()  # and it asks the new issue
    page.wait_for_function("q => document.querySelector('#question textarea').value === q",
                           arg=f"{title}的主要内容是什么")
    assert page.evaluate("() => window.__pwned") is None
