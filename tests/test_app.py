"""The chat page: pure rendering helpers (fast), then the real page in headless Chromium (`pytest -m browser`).

The browser tests start `app.serve` in a subprocess on a free loopback port over a copy of the sample
index and drive Debian's Chromium (`apt-get install chromium fonts-noto-cjk`) with Playwright.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

import app
import app_llm
from app_render import SourceView, answer_html, example_questions, highlight, related_note, sources_html
from tests.conftest import SAMPLE_FILE as SAMPLE_ISSUE
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCRIPT = "<script>window.__pwned=1</script>"
# a made-up event with a distinctive name, and an article whose title and text carry markup
NEW_ISSUE = f"""# 紫藤湾星光读书节在青石镇开幕

本报讯 11月20日,第一届紫藤湾星光读书节在青石镇文化广场开幕。读书节由县图书馆主办,为期七天,设置古籍修复展、亲子共读会和乡村作家见面会三项活动。县委常委冯景岚出席开幕式并讲话。

# 档案馆收到测试{SCRIPT}来稿

本报讯 11月21日,县档案馆收到一份含有{SCRIPT}字样的来稿<img src=x onerror="window.__pwned=2">${{window.__pwned=3}}{{{{x}}}},编辑部决定照原文存档,以备核查。
"""


# ---- fast: rendering and the Blocks ------------------------------------------------------------------
def test_highlight_escapes_and_marks_the_span() -> None:
    text = "前文<b>加粗</b>要求一、扛起政治责任。后文"
    start = text.index("要求")
    assert highlight(text, (start, start + 4)) == "前文&lt;b&gt;加粗&lt;/b&gt;<mark>要求一、</mark>扛起政治责任。后文"
    assert "<mark>" not in highlight(text, (5, 99))  # a span outside the text marks nothing


def test_sources_html_escapes_titles_and_opens_the_whole_article() -> None:
    article = f"导语。{SCRIPT}提出三点要求,一、扛起政治责任。"
    passage_start = article.index(SCRIPT)
    passage = article[passage_start:]
    span = (passage.index("一、"), len(passage))
    view = SourceView(1, f"标题{SCRIPT}", "11月15日", "a.txt", passage, span, article,
                      (passage_start + span[0], passage_start + span[1]))
    page = sources_html([view], turn=3)
    assert "<script>" not in page and page.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") == 3
    assert page.count("<mark>一、扛起政治责任。</mark>") == 2  # in the passage and in the whole article
    assert 'id="src-3-1"' in page and "查看全文" in page


def test_refusal_passages_are_shown_as_related_not_as_evidence() -> None:
    article = "导语。提出三点要求,一、扛起政治责任。"
    views = [SourceView(n, f"标题{n}", "", "a.txt", article, (3, 9), article, (3, 9)) for n in (1, 2)]
    page = sources_html(views, turn=1, related=True)
    assert page.startswith('<div class="related-head">可能相关的段落（未必回答问题）</div>')
    assert "<mark>" not in page and page.count('class="source-card related"') == 2
    assert "[1]" not in page and "相关段落 1" in page  # not numbered like citations
    assert "<mark>" in sources_html(views, turn=1)  # an answer's sources keep their highlight
    assert "可能相关的段落" in related_note(2) and "[" not in related_note(2)


def test_answer_html_links_complete_markers_only() -> None:
    rendered = answer_html("要求：[1]\n一、扛起[2]<i>x</i>[3", turn=2)
    assert '<a class="cite" href="#src-2-1">[1]</a>' in rendered and 'href="#src-2-2"' in rendered
    assert rendered.endswith("&lt;i&gt;x&lt;/i&gt;[3")


def test_example_questions_come_from_the_archive() -> None:
    articles = [("全县脱贫工作成效考核推进会召开", "县委书记王宏伟提出三点要求,一、……"), ("短讯", "无")]
    assert example_questions(articles) == ["王宏伟提出了哪几点要求", "全县脱贫工作成效考核推进会召开的主要内容是什么",
                                           "短讯的主要内容是什么"]


def test_dates_are_checked_in_chinese() -> None:
    assert app._checked_date(" 2023-01-31 ", "起始日期") == "2023-01-31"
    assert app._checked_date("", "起始日期") is None
    for bad in ("2023-13-01", "2023/01/31", "11月15日"):
        with pytest.raises(gr.Error, match="起始日期须为 YYYY-MM-DD"):
            app._checked_date(bad, "起始日期")


def test_build_app_on_an_empty_archive(tmp_path: Path) -> None:
    page = app.build_app(tmp_path / "no-index-yet")
    assert isinstance(page, gr.Blocks)
    chat = list(app._chat(app.Archive(tmp_path / "no-index-yet"), "问题", [], [], "", ""))
    assert "档案库还是空的" in chat[-1][0][-1]["content"]


def test_chat_follow_up_uses_the_earlier_question(sample_index: Path) -> None:
    archive = app.Archive(sample_index)
    *_, (chat, asked, sources, _) = app._chat(archive, "王宏伟提出了哪几点要求", [], [], "", "")
    assert asked == ["王宏伟提出了哪几点要求"] and "扛起政治责任" in chat[-1]["content"] and "<mark>" in sources
    *_, (chat, asked, sources, note) = app._chat(archive, "他在下高池村调研了什么", chat, asked, "", "")
    assert len(asked) == 2 and len(chat) == 4 and "按上下文理解为：王宏伟" in note
    assert "王宏伟在下高池村调研脱贫攻坚工作" in sources


def test_chat_says_so_when_nothing_is_found(sample_index: Path) -> None:
    *_, (chat, _, _, _) = app._chat(app.Archive(sample_index), "火星移民计划的进展如何", [], [], "", "")
    assert chat[-1]["content"].startswith("档案中没有找到")


def test_llm_form_checks_the_address_and_keeps_the_server_key_at_home(tmp_path: Path) -> None:
    from rag.llm import LLMConfig

    home = LLMConfig(base_url="http://127.0.0.1:8080/v1", model="qwen", api_key="server-secret", timeout=30)
    archive = app.Archive(tmp_path, llm=home)
    assert app_llm.llm_from_form(archive, "  ", "qwen", "", 30) is None  # empty address: extractive
    assert "摘录式" in app_llm.llm_status(None)
    for url, seconds in (("ftp://127.0.0.1/v1", 30), ("127.0.0.1:8080", 30), ("http://127.0.0.1:8080/v1", 0)):
        with pytest.raises(gr.Error):
            app_llm.llm_from_form(archive, url, "qwen", "", seconds)
    assert app_llm.llm_from_form(archive, home.base_url, "qwen", "", 30).api_key == "server-secret"
    elsewhere = app_llm.llm_from_form(archive, "http://203.0.113.9/v1", "m", "", 5)
    assert elsewhere.api_key is None and elsewhere.model == "m" and elsewhere.timeout == 5  # never sent elsewhere
    assert app_llm.llm_from_form(archive, "https://api.example.com/v1", "", "mine", 5).api_key == "mine"


def test_chat_with_a_dead_llm_from_the_form_falls_back(sample_index: Path) -> None:
    archive = app.Archive(sample_index)  # started without an LLM; this session names one that is down
    dead = app_llm.llm_from_form(archive, "http://127.0.0.1:9/v1", "", "", 5)
    *_, (chat, _, _, note) = app._chat(archive, "王宏伟提出了哪几点要求", [], [], "", "", dead)
    assert "扛起政治责任" in chat[-1]["content"] and "大模型服务无法连接" in note and "摘录式" in note
    *_, (chat, _, _, note) = app._chat(archive, "王宏伟提出了哪几点要求", [], [], "", "", None)
    assert "扛起政治责任" in chat[-1]["content"] and "大模型" not in note


# ---- browser -----------------------------------------------------------------------------------------
def _wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    raise TimeoutError(f"the app did not answer at {url} within {seconds}s")


@contextmanager
def _serving(index_dir: Path, **env: str) -> Iterator[str]:
    """The page over `index_dir` in a subprocess on a free loopback port; yields its URL."""
    port = free_port()
    code = f"import app, pathlib; app.serve(pathlib.Path({str(index_dir)!r}), '127.0.0.1', {port})"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_AUTH")} | env
    log_path = index_dir.parent / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=environ, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/", process)
            yield f"http://127.0.0.1:{port}/"
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(url, index dir) of the page serving a private copy of the sample index."""
    index_dir = tmp_path_factory.mktemp("served") / "index"
    shutil.copytree(sample_index, index_dir)
    with _serving(index_dir) as url:
        yield url, index_dir


@contextmanager
def _browser_tab(url: str, locale: str | None = None) -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium: apt-get install -y chromium fonts-noto-cjk")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # locale "zh-CN": Gradio's own words (the upload box's 「拖放文件到此处」) follow the browser's language
        tab = browser.new_page(viewport={"width": 1400, "height": 1000}, locale=locale)
        tab.set_default_timeout(120_000)  # two shared cores: the first answer loads jieba and BM25
        tab.goto(url)
        try:
            yield tab
        finally:
            browser.close()


@pytest.fixture
def page(server: tuple[str, Path]) -> Iterator[Any]:
    with _browser_tab(server[0]) as tab:
        yield tab


def _ask(page: Any, question: str) -> str:
    """Ask on the chat tab; returns the source panel's HTML once the answer is final."""
    page.get_by_role("tab", name="问答").click()
    answers = page.locator('#chat [data-testid="bot"]').count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.locator('#chat [data-testid="bot"]').nth(answers).wait_for()
    page.wait_for_function("() => !document.querySelector('#sources').innerText.includes('正在检索')")
    page.wait_for_selector("#sources .source-card, #sources .sources-empty")
    return str(page.inner_html("#sources"))


@pytest.mark.browser
def test_chat_answers_with_highlighted_sources(page: Any, tmp_path: Path) -> None:
    sources = _ask(page, "王宏伟提出了哪几点要求")
    answer = page.locator('#chat [data-testid="bot"]').last.inner_text()
    for requirement in ("扛起政治责任", "抓住关键环节", "强化组织领导"):
        assert requirement in answer
    assert "<mark>" in sources and page.locator("#chat a.cite").count() >= 3
    page.screenshot(path=str(tmp_path / "chat.png"))
    if os.environ.get("NEWSQA_UPDATE_DOCS_SCREENSHOT") == "1":  # README's picture: remade only when asked
        shutil.copy(tmp_path / "chat.png", ROOT / "docs" / "screenshot-chat.png")
    page.locator("#chat a.cite").nth(2).click()  # a [n] opens its source's whole article
    assert page.locator("#sources details[open] .article-text mark").count() == 1
    page.wait_for_timeout(800)  # the smooth scroll settles before the picture
    page.screenshot(path=str(tmp_path / "chat-source-open.png"))


@pytest.mark.browser
def test_bad_date_is_refused_in_chinese(page: Any) -> None:
    page.fill("#since textarea, #since input", "2023-13-01")
    page.fill("#question textarea", "王宏伟提出了哪几点要求")
    page.click("#ask")
    page.get_by_text("起始日期须为 YYYY-MM-DD").first.wait_for()


@pytest.mark.browser
def test_upload_is_answerable_and_shown_escaped(page: Any, tmp_path: Path) -> None:
    issue = tmp_path / "新一期.txt"
    issue.write_text(NEW_ISSUE, encoding="utf-8")
    broken = tmp_path / "坏文件.pdf"
    broken.write_bytes(b"not a pdf at all")
    page.get_by_role("tab", name="档案库").click()
    page.set_input_files("#upload input[type=file]", [str(issue), str(broken)])
    # the file list appears once both uploads are done (it shows name and suffix in separate elements)
    page.wait_for_function("() => ['新一期', '坏文件'].every(n => document.querySelector('#upload').innerText.includes(n))")
    page.click("#ingest")
    page.get_by_text("导入完成").wait_for()
    result = page.inner_text("#ingest-result")
    assert "新增文章 2 篇" in result and "坏文件.pdf" in result
    page.screenshot(path=str(tmp_path / "archive.png"), full_page=True)

    sources = _ask(page, "紫藤湾星光读书节设置了哪些活动")
    assert "紫藤湾星光读书节在青石镇开幕" in sources and "<mark>" in sources
    assert "古籍修复展" in page.locator('#chat [data-testid="bot"]').last.inner_text()  # the activities themselves

    sources = _ask(page, "县档案馆收到的来稿如何处理")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in sources
    page.get_by_role("tab", name="档案库").click()
    page.fill("#title-search textarea, #title-search input", "档案馆收到测试")
    page.wait_for_function("s => document.querySelector('#articles').innerText.includes(s)", arg=SCRIPT)
    page.click("#pick input")
    page.get_by_role("option").first.click()  # the search left one article: open it whole
    page.wait_for_selector("#article .article-view")
    shown = page.inner_text("#article")
    assert SCRIPT in shown and "onerror" in shown and "${window.__pwned=3}{{x}}" in shown
    page.screenshot(path=str(tmp_path / "escaped.png"), full_page=True)
    assert page.evaluate("() => window.__pwned") is None


def _use_llm(page: Any, url: str, seconds: str = "120") -> None:
    page.get_by_text("大模型（可选）").click()
    page.locator("#llm-apply").wait_for(state="visible")  # the panel has opened
    page.fill("#llm-url textarea, #llm-url input", url)
    page.fill("#llm-timeout input", seconds)
    page.locator("#llm-timeout input").press("Tab")  # the number is committed before the click
    assert page.input_value("#llm-url textarea, #llm-url input") == url
    page.click("#llm-apply")


@pytest.mark.browser
@pytest.mark.server
def test_llm_from_the_page_answers_with_valid_citations(page: Any, llama_server: str) -> None:
    _use_llm(page, llama_server)
    page.get_by_text("当前：由大模型").wait_for()
    sources = _ask(page, "王宏伟提出了哪几点要求")
    answer = page.locator('#chat [data-testid="bot"]').last.inner_text()
    cards = sources.count('class="source-card')
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    # the tiny model's answer may be poor, or be dropped for the extractive one; either way every [n] has its card
    assert answer.strip() and cited <= set(range(1, cards + 1)), (answer, cards)
    note = page.inner_text("#note")
    assert "摘录式" in note or not note.strip() or "按上下文" in note


@pytest.mark.browser
def test_llm_form_in_the_page_falls_back_on_a_dead_server(page: Any) -> None:
    _use_llm(page, f"http://127.0.0.1:{free_port()}/v1", "5")
    page.get_by_text("当前：由大模型").wait_for()
    _ask(page, "王宏伟提出了哪几点要求")
    assert "扛起政治责任" in page.locator('#chat [data-testid="bot"]').last.inner_text()
    assert "大模型服务无法连接" in page.inner_text("#note")
    page.fill("#llm-url textarea, #llm-url input", "not a url")
    page.click("#llm-apply")
    page.get_by_text("大模型地址须以 http:// 或 https:// 开头").first.wait_for()


@pytest.mark.browser
def test_index_directory_is_not_served(server: tuple[str, Path]) -> None:
    url, index_dir = server
    for path in (index_dir / "articles.sqlite", ROOT / "pyproject.toml"):
        try:
            with urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status in (403, 404), path


# ---- eval tab ----------------------------------------------------------------------------------------
EVAL_HEADERS = ("集合", "划分", "题数", "答对率", "答错率", "误拒率", "拒答精确率", "拒答召回率", "近似陷阱拒答率",
                "检索命中@5", "引用支撑率", "中位耗时(毫秒)")
# line 3 of each: a mistake eval/sets.py refuses, and the Chinese the page must say for it
BAD_SETS = {
    '{"qid": "b", "type": "fakt", "question": "问？", "gold": "标题"}': "'type' 必须是 fact、list、date、person-role、no-answer、follow-up 之一",
    '{"qid": "b", "type": "fact", "question": "问？"}': "fact 类问题需要 'gold'（答案所在文章的标题）",
    '{"qid": "b", "type": "no-answer", "question": "问？", "gold": "标题"}': "no-answer 类问题不能有 'gold' 或 'key_points'",
    '{"qid": "b", "type": "follow-up", "question": "他呢？", "gold": "标题"}': "follow-up 类问题需要 'history'（之前问过的问题）",
    '{"qid": "b", "type": "fact", "question": "  ", "gold": "标题"}': "'question' 必须是非空字符串",
    '{"qid": "b", "type": "fact", "question": "问？", "gold": "标题", "key_points": [1]}': "'key_points' 必须是非空字符串",
    '{"qid": "b", "type": "fact", "question": "问？", "gold": "标题", "since": "2020/01/01"}': "'since' 必须是 YYYY-MM-DD",
    '["a list"]': "每行必须是一个 JSON 对象",
    '{"qid": "b", "type": "fact",': "不是合法的 JSON",
}


def _bad_set(folder: Path, third_line: str) -> Path:
    path = folder / "bad.jsonl"
    path.write_text('{"qid": "a", "type": "fact", "question": "问？", "gold": "标题"}\n\n' + third_line + "\n",
                    encoding="utf-8")
    return path


def test_eval_set_errors_are_said_in_chinese_with_their_line(tmp_path: Path) -> None:
    import app_eval

    for line, chinese in BAD_SETS.items():
        with pytest.raises(app_eval.SetProblem) as caught:
            app_eval.chosen_halves("sample", [str(_bad_set(tmp_path, line))])  # an upload wins over the chosen set
        assert str(caught.value).startswith(f"bad.jsonl 第3行：{chinese}"), (line, str(caught.value))
        assert not re.search(r"\b(must|needs|not JSON|each line)\b", str(caught.value))
    repeated = tmp_path / "twice.jsonl"
    repeated.write_text('{"qid": "a", "type": "no-answer", "question": "问？"}\n' * 2, encoding="utf-8")
    with pytest.raises(app_eval.SetProblem, match="twice.jsonl：qid 重复"):
        app_eval.chosen_halves(None, [str(repeated)])
    with pytest.raises(app_eval.SetProblem, match="须为 .jsonl 文件"):
        app_eval.chosen_halves(None, [str(SAMPLE_ISSUE)])


def test_eval_labels_cover_the_table() -> None:
    import app_eval
    from eval.report import TABLE_COLUMNS

    assert [app_eval.LABELS[n] for n in TABLE_COLUMNS] == list(EVAL_HEADERS[3:])
    assert all(app_eval.MEANINGS.get(n) for n in TABLE_COLUMNS)
    assert "sample" in app_eval.set_choices()


def _store_perfect_previous_run(*index_dirs: Path) -> None:
    """A stored sample.test run in which every question passed with its gold article first."""
    from eval.report import RUNS_DIR
    from eval.sets import load_set

    questions = [{"qid": q.qid, "passed": True, "hit_rank": 1 if q.expects_answer else None, "missed": []}
                 for q in load_set(ROOT / "eval" / "data" / "sample.test.jsonl").questions]
    metrics = {"questions": len(questions), "answered_correctly": 1.0, "wrong_answer": 0.0, "false_refusal": 0.0,
               "refusal_precision": 1.0, "refusal_recall": 1.0, "near_miss_refused": 1.0, "retrieval_hit@5": 1.0,
               "citation_support": 1.0, "p50_ms": 30.0}
    for index_dir in index_dirs:
        (index_dir / RUNS_DIR).mkdir(parents=True)
        (index_dir / RUNS_DIR / "20200101T000000000000Z.json").write_text(json.dumps(
            {"set_name": "sample", "split": "test", "run_name": "sample.test", "metrics": metrics, "questions": questions},
            ensure_ascii=False), encoding="utf-8")


@pytest.fixture
def eval_server(sample_index: Path, embedder: Any, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(url, index dir) of the page over a copy of the sample index plus NEW_ISSUE's two articles
    (no sample question is about them), with a perfect previous run of sample.test stored."""
    from ingest.pipeline import ingest_paths

    index_dir = tmp_path / "index"
    shutil.copytree(sample_index, index_dir)
    issue = tmp_path / "新一期.txt"
    issue.write_text(NEW_ISSUE, encoding="utf-8")
    assert ingest_paths([str(issue)], index_dir, embedder=embedder).articles_added == 2
    _store_perfect_previous_run(index_dir, tmp_path / "before")  # the second copy is what the test compares with
    with _serving(index_dir) as url:
        yield url, index_dir


def _check_eval_table(page: Any) -> None:
    headers = page.locator("#eval-table th").all_inner_texts()
    assert tuple(h.strip() for h in headers) == EVAL_HEADERS
    rows = [row.split("\t") for row in page.locator("#eval-table tbody tr").all_inner_texts()]
    assert [(r[0].strip(), r[1].strip()) for r in rows] == [("sample", "开发集"), ("sample", "测试集")]
    assert "上次 100.0%" in rows[1][3] and "上次" not in rows[0][3]  # only sample.test had a stored run
    assert "答对率：档案中有答案的问题里，未拒答且答案包含全部要点的比例" in page.inner_text("#eval-table")


def _check_eval_changes(page: Any, index_dir: Path) -> list[dict[str, Any]]:
    """What the page says got worse matches `regressions` and `drops` on the runs it saved; returns those runs."""
    from eval.report import previous_run, regressions
    from eval.run import EvalResult

    runs = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((index_dir / "eval_runs").glob("*.json"))]
    assert [run["run_name"] for run in runs] == ["sample.test", "sample.dev", "sample.test"]  # stored, then these
    saved = runs[-1]
    worse = regressions(previous_run(index_dir.parent / "before", "sample.test"),
                        EvalResult(saved["set_name"], saved["metrics"], saved["questions"], split=saved["split"]))
    changes = page.inner_text("#eval-changes")
    if worse:  # the stored run passed everything with the gold article first
        assert f"比上次变差的题目（{len(worse)} 道）" in changes and worse[0]["qid"] in changes
    else:
        assert "没有变差" in changes
    if any(not q["passed"] for q in saved["questions"]):
        assert "上次通过，这次未通过" in changes
    if saved["metrics"]["answered_correctly"] < 0.98:
        assert "测试集指标下降" in changes and "答对率从 100.0% 变为" in changes
    assert not re.search(r"expected a refusal|\(refused\)|gold rank|now misses", changes)  # all in Chinese
    return runs[1:]


@pytest.mark.browser
def test_eval_tab_runs_both_halves_and_says_what_got_worse(eval_server: tuple[str, Path], tmp_path: Path) -> None:
    url, index_dir = eval_server
    with _browser_tab(url, locale="zh-CN") as page:
        page.get_by_role("tab", name="评测").click()
        assert page.input_value("#eval-set input") == "sample"
        page.click("#run-eval")
        page.get_by_text(re.compile(r"正在评测 sample\.(dev|test) 第 \d+/\d+ 题")).first.wait_for()
        page.locator("#eval-status .eval-status").wait_for(timeout=600_000)
        _check_eval_table(page)
        runs = _check_eval_changes(page, index_dir)
        uncovered = page.inner_text("#eval-uncovered")
        assert "以下 2 篇文章没有任何评测问题覆盖" in uncovered and "紫藤湾星光读书节在青石镇开幕" in uncovered
        assert SCRIPT in uncovered and "README" in uncovered  # a title is shown as text, never run
        page.screenshot(path=str(tmp_path / "eval.png"), full_page=True)

        page.get_by_text("未通过的题目").click()
        failed = [q for run in runs for q in run["questions"] if not q["passed"]]
        page.wait_for_function("n => document.querySelectorAll('#eval-failed tbody tr').length === n || "
                               "(n === 0 && document.querySelector('#eval-failed').innerText.includes('均已通过'))",
                               arg=len(failed))

        page.set_input_files("#eval-upload input[type=file]", str(_bad_set(tmp_path, next(iter(BAD_SETS)))))
        page.get_by_text("bad.jsonl 第3行：'type' 必须是 fact、list").first.wait_for()  # checked on upload
        page.click("#run-eval")
        page.wait_for_function("() => document.querySelector('#eval-status').innerText.includes('无法评测') && "
                               "!document.querySelector('#eval-table table')")  # the old table is gone
        assert "bad.jsonl 第3行：'type' 必须是" in page.inner_text("#eval-status")
        assert page.locator('[data-testid="toast-body"]').count() == 0  # said in the page, not as an "Error" popup
        assert page.evaluate("() => window.__pwned") is None
        page.screenshot(path=str(tmp_path / "eval-bad-set.png"), full_page=True)


@pytest.mark.browser
def test_login_is_required_when_credentials_are_set(tmp_path: Path) -> None:
    """An empty archive starts without the model, so this server is quick."""
    with _serving(tmp_path / "index", NEWSQA_AUTH_USER="editor", NEWSQA_AUTH_PASSWORD="s3cret-pass") as url:
        try:
            with urllib.request.urlopen(f"{url}config", timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status == 401
        with _browser_tab(url) as tab:
            tab.get_by_text("请登录报纸档案问答").wait_for()
            tab.locator("input[type=text], input:not([type])").first.fill("editor")
            tab.locator("input[type=password]").fill("s3cret-pass")
            tab.keyboard.press("Enter")
            tab.get_by_role("tab", name="问答").wait_for()  # the page itself, past the login form
