"""The chat tab in headless Chromium (issue 18): a bad date keeps the conversation, a refusal's closest
passages never look like evidence, and a marker [n] brings its card into view at 1400×1000.

Screenshots go to pytest's tmp dir. The page serves a private copy of the sample index (tests/test_app.py).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_app import _ask, _browser_tab, _serving

pytestmark = pytest.mark.browser
# "Error" as gradio writes it on a failed output or toast, in any casing of a whole word
ERROR_WORD = re.compile(r"\berror\b", re.IGNORECASE)
# true when the middle of the card's head is what the reader sees at that point (not clipped, not covered)
CARD_HEAD_SEEN = """id => {
  const card = document.getElementById(id);
  if (!card) return false;
  const head = card.querySelector('.source-head').getBoundingClientRect();
  const y = head.top + head.height / 2;
  if (y < 0 || y > window.innerHeight) return false;
  return card.contains(document.elementFromPoint(head.left + 12, y));
}"""


@pytest.fixture(scope="module")
def served(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(url, folder holding the server's log) of the page over a private copy of the sample index."""
    folder = tmp_path_factory.mktemp("chat-page")
    shutil.copytree(sample_index, folder / "index")
    with _serving(folder / "index") as url:
        yield url, folder


@pytest.fixture
def page(served: tuple[str, Path]) -> Iterator[Any]:
    with _browser_tab(served[0]) as tab:
        yield tab


def _server_log(folder: Path) -> str:
    return "".join(path.read_text(encoding="utf-8", errors="replace") for path in folder.glob("server-*.log"))


def test_bad_date_keeps_the_conversation(page: Any, served: tuple[str, Path], tmp_path: Path) -> None:
    _ask(page, "王宏伟提出了哪几点要求")
    first = page.locator('#chat [data-testid="bot"]').first.inner_text()
    sources = page.inner_html("#sources")
    log_before = _server_log(served[1])

    page.fill("#since textarea", "2023/05/01")
    page.fill("#question textarea", "他还强调了什么")
    page.click("#ask")
    page.get_by_text("起始日期须为 YYYY-MM-DD 格式的日期").first.wait_for()
    page.wait_for_timeout(1500)  # anything the refused event would have done to the outputs has happened
    page.screenshot(path=str(tmp_path / "bad-date.png"))

    assert page.locator('#chat [data-testid="bot"]').count() == 1
    assert page.locator('#chat [data-testid="bot"]').first.inner_text() == first
    assert page.inner_html("#sources") == sources
    assert page.input_value("#question textarea") == "他还强调了什么"  # kept, to ask again once the date is fixed
    assert not ERROR_WORD.findall(page.inner_text("body"))  # no red "Error" badge or toast title
    toast = page.locator('[data-testid="toast-body"]').first
    assert "起始日期" in toast.inner_text() and toast.evaluate(
        "t => getComputedStyle(t.querySelector('.toast-title'), '::before').content") == '"出错"'
    added = _server_log(served[1])[len(log_before):]
    assert "Traceback" not in added and added.count("起始日期须为") == 1, added

    page.fill("#since textarea", "2020-11-01")  # fixed: the same conversation goes on
    page.click("#ask")
    page.locator('#chat [data-testid="bot"]').nth(1).wait_for()
    assert page.locator('#chat [data-testid="bot"]').first.inner_text() == first


def test_refusal_shows_related_passages_not_evidence(page: Any, tmp_path: Path) -> None:
    sources = _ask(page, "火星移民计划的进展如何")
    answer = page.locator('#chat [data-testid="bot"]').last
    assert answer.inner_text().startswith("档案中没有找到能回答这个问题的内容。")
    assert answer.locator("a.cite").count() == 0 and not re.search(r"\[\d+\]", answer.inner_text())
    assert "可能相关的段落（未必回答问题）" in page.inner_text("#sources")
    cards = page.locator("#sources .source-card")
    assert cards.count() >= 1 and cards.count() == page.locator("#sources .source-card.related").count()
    assert "<mark>" not in sources  # nothing highlighted as if it supported an answer
    assert cards.first.evaluate("c => getComputedStyle(c).borderTopStyle") == "dashed"
    assert not re.search(r"\[\d+\]\s*\[\d+\]", page.inner_text("#sources"))  # no markers run together
    page.screenshot(path=str(tmp_path / "refusal.png"))

    sources = _ask(page, "王宏伟提出了哪几点要求")  # an answer after it is shown as evidence again
    assert "<mark>" in sources and "可能相关的段落" not in sources and "related" not in sources


def test_marker_scrolls_its_card_into_view(page: Any, tmp_path: Path) -> None:
    assert page.viewport_size == {"width": 1400, "height": 1000}
    _ask(page, "王宏伟提出了哪几点要求")
    assert page.locator("#sources .source-card").count() >= 4
    assert not page.evaluate(CARD_HEAD_SEEN, "src-1-4")  # below the fold before the click
    page.locator("#chat a.cite", has_text="[4]").first.click()
    page.wait_for_function(CARD_HEAD_SEEN, arg="src-1-4", timeout=5000)
    assert page.locator("#src-1-4 details[open] .article-text mark").count() == 1  # and its article opened
    page.screenshot(path=str(tmp_path / "card-4.png"))
    page.locator("#chat a.cite", has_text="[1]").first.click()  # and back up to [1]
    page.wait_for_function(CARD_HEAD_SEEN, arg="src-1-1", timeout=5000)


def test_server_says_where_the_page_is_and_nothing_else(served: tuple[str, Path]) -> None:
    log = _server_log(served[1])
    assert f"newsqa: the chat page is on {served[0]}" in log
    assert "share=True" not in log and "Traceback" not in log


def test_a_who_answer_shows_only_the_sentence_that_names_the_person(page: Any, tmp_path: Path) -> None:
    sources = _ask(page, "县扶贫开发中心主任是谁")
    answer = page.locator('#chat [data-testid="bot"]').last.inner_text()
    assert "史红兵" in answer and "潘鹏" not in answer  # the 副主任 of the city's centre is not the answer
    assert page.locator("#chat a.cite").count() == 1 and page.locator("#sources .source-card").count() == 1
    assert "<mark>" in sources
    page.screenshot(path=str(tmp_path / "who.png"))
