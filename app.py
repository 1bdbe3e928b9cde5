"""Edge: the Gradio chat page. Chat with cited sources, the archive and its upload, the eval suite.

Run `python app.py` or `newsqa serve`; the page binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: it reads this at import

import contextlib
import html
import re
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

import gradio as gr

from app_llm import llm_form
from rag.question_limits import MAX_QUESTION_CHARS
from app_render import (PAGE_CSS, PAGE_HEAD, SourceView, answer_html, article_html, counts_markdown,
                        example_questions, ingest_summary, sources_html, title_matches)
from settings import env_default

if TYPE_CHECKING:
    from rag.citations import Answer, Citation
    from rag.engine import Engine
    from rag.llm import LLMConfig

MAX_UPLOAD = "50mb"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXAMPLE_SCAN = 300  # articles read for example questions; enough, and bounded on big archives
_LIST_MAX = 500  # rows of the article list: a year of broadcasts would swamp the browser


class Archive:
    """The index directory and its Engine, opened on first use (an empty archive has none yet)."""

    def __init__(self, index_dir: Path, chroma_url: str | None = None, llm: LLMConfig | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.chroma_url = chroma_url
        self.llm = llm
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def engine(self) -> Engine | None:
        """The Engine, or None while no index exists."""
        from ingest.errors import IndexMismatch
        from rag.engine import Engine, EngineConfig

        with self._lock:  # two first questions must not load the model twice
            if self._engine is None and (self.index_dir / "articles.sqlite").exists():
                try:
                    self._engine = Engine(self.index_dir, EngineConfig(llm=self.llm), chroma_url=self.chroma_url)
                except IndexMismatch as exc:
                    raise gr.Error(f"档案库是用另一个向量模型建立的，无法直接使用：请删除 {self.index_dir} 后重新导入。（{exc}）") from exc
            return self._engine

    def articles(self) -> list[Any]:
        """StoredArticle rows, newest first; [] for an empty archive."""
        engine = self.engine()
        return engine.index.list_articles() if engine else []

    def counts(self) -> dict[str, Any]:
        engine = self.engine()
        if engine is None:
            return {"articles": 0, "sources": 0, "chunks": 0, "first_date": None, "last_date": None}
        return engine.index.counts()


# ---- chat ----------------------------------------------------------------------------------------
def _checked_date(value: str, label: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        if _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise gr.Error(f"{label}须为 YYYY-MM-DD 格式的日期，例如 2023-01-31。")


def _source_views(archive: Archive, citations: list[Citation]) -> list[SourceView]:
    engine = archive.engine()
    views = []
    for c in citations:
        article = engine.index.get_article(c.article_id) if engine else None
        when = c.date or (article.meta.get("date_text") if article else None) or ""
        full_span = (c.offset + c.span[0], c.offset + c.span[1])
        views.append(SourceView(c.n, c.title, when, c.source, c.text, c.span,
                                article.text if article else None, full_span))
    return views


def _chat(archive: Archive, message: str, chat: list[dict[str, str]], asked: list[str], since: str,
          until: str, llm: LLMConfig | None | EllipsisType = ...) -> Iterator[tuple[Any, ...]]:
    """Stream one answer: the growing text, then the final answer with its sources.
    `llm` is the session's choice in the page's LLM form (...: the server's configuration)."""
    from rag.question_limits import QuestionRejected, check_question
    from rag.retrieve import SearchFilter

    try:
        question = check_question(message or "")
    except QuestionRejected as exc:
        raise gr.Error(f"{exc.reason_zh}。") from None
    filters = SearchFilter(_checked_date(since, "起始日期"), _checked_date(until, "截止日期"))
    if filters.since and filters.until and filters.since > filters.until:
        raise gr.Error("起始日期不能晚于截止日期。")
    engine = archive.engine()
    turn = len(asked) + 1
    chat = [*chat, {"role": "user", "content": html.escape(question)}, {"role": "assistant", "content": "……"}]
    if engine is None:
        chat[-1]["content"] = "档案库还是空的：请先在「档案库」页导入报纸文件。"
        yield chat, asked, "", ""
        return
    yield chat, asked, '<div class="sources-empty">正在检索……</div>', ""
    for piece in _stream_or_explain(engine, question, asked, filters, llm):
        if isinstance(piece, str):
            chat[-1] = {"role": "assistant", "content": answer_html(piece, turn)}
            yield chat, asked, gr.skip(), ""
            continue
        chat[-1] = {"role": "assistant", "content": answer_html(piece.answer, turn)}
        yield chat, [*asked, question], sources_html(_source_views(archive, piece.citations), turn), _note(piece)


def _stream_or_explain(engine: Engine, question: str, asked: list[str], filters: Any,
                       llm: LLMConfig | None | EllipsisType) -> Iterator[Any]:
    """engine.stream, with a vector-store outage said in plain Chinese instead of a stack trace."""
    from ingest.errors import StoreUnavailable

    try:
        yield from engine.stream(question, asked, filters, llm)
    except StoreUnavailable as exc:
        raise gr.Error(f"向量库服务暂时无法连接，请稍后再试。（{exc.where}）") from exc


def _note(answer: Answer) -> str:
    """How the question was read (follow-ups) and the engine's notice (e.g. an LLM fallback), escaped."""
    parts = [f"按上下文理解为：{answer.condensed_question}" if answer.condensed_question else "", answer.notice or ""]
    return html.escape("　".join(p for p in parts if p))


# ---- archive -------------------------------------------------------------------------------------
def _article_rows(archive: Archive, query: str) -> list[list[Any]]:
    return [
        [s.article.title, s.article.date or s.article.meta.get("date_text") or "", s.chunks, s.article.source,
         s.article.id]
        for s in archive.articles() if title_matches(s.article.title, query or "")
    ]


def _article_choices(rows: list[list[Any]]) -> list[tuple[str, str]]:
    return [(f"{row[0]}（{row[1] or '无日期'}）", row[4]) for row in rows]


def _archive_view(archive: Archive, query: str) -> tuple[Any, ...]:
    rows = _article_rows(archive, query)
    summary = counts_markdown(archive.counts())
    if len(rows) > _LIST_MAX:
        summary += f"\n\n标题匹配 {len(rows)} 篇，列表只显示前 {_LIST_MAX} 篇：请用标题搜索缩小范围。"
    rows = rows[:_LIST_MAX]
    return summary, rows, gr.update(choices=_article_choices(rows), value=None)


def _show_article(archive: Archive, article_id: str | None) -> str:
    engine = archive.engine()
    article = engine.index.get_article(article_id) if engine and article_id else None
    if article is None:
        return ""
    return article_html(article.title, article.date or article.meta.get("date_text") or "", article.source,
                        article.text)


def _upload(archive: Archive, files: list[str] | None, query: str, progress: gr.Progress) -> tuple[Any, ...]:
    """Ingest the uploaded files into the archive; the same pipeline as `newsqa ingest`."""
    from ingest.errors import IndexBusy, IndexMismatch
    from ingest.pipeline import IngestConfig, ingest_paths

    if not files:
        raise gr.Error("请先选择要导入的文件。")
    engine = archive.engine()

    def report_progress(done: int, total: int, what: str) -> None:
        progress((done, total), desc="正在向量化并写入索引", unit="块")

    progress(0, desc="正在读取文件")
    try:
        # gradio keeps each upload in a folder named by its content: a corrected issue is the same source by name
        config = IngestConfig(chroma_url=archive.chroma_url, source_key="name")
        report = ingest_paths([str(f) for f in files], archive.index_dir, config,
                              progress=report_progress, embedder=engine.embedder if engine else None)
    except IndexBusy:
        raise gr.Error("另一个导入正在进行，请稍后再试。") from None
    except IndexMismatch as exc:
        raise gr.Error(f"索引与当前模型不匹配，无法导入：{exc}") from None
    finally:
        _remove_uploads(files)
    return (ingest_summary(report), None, *_archive_view(archive, query))


def _remove_uploads(files: list[str]) -> None:
    """Delete gradio's copies of the uploads (and their content-named folders once empty): the
    articles are in the index now, and the temp folder must not keep every uploaded file forever."""
    for name in files:
        path = Path(name)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty, or already gone
            path.parent.rmdir()


# ---- eval ----------------------------------------------------------------------------------------
def _run_eval(archive: Archive, name: str | None, uploads: list[str] | None, progress: gr.Progress) -> tuple[Any, ...]:
    """Run the chosen set's dev and test halves on the archive and save the runs, as `newsqa eval`
    does; a problem with the set or the archive is said in the page in Chinese, not as an error popup."""
    from app_eval import SetProblem, chosen_halves, problem_html, run_page

    try:
        halves = chosen_halves(name, uploads)
        engine = archive.engine()
        if engine is None:
            raise SetProblem("档案库还是空的：请先在「档案库」页导入报纸文件。")
    except SetProblem as exc:
        return problem_html(str(exc)), "", "", "", None, ""
    progress(0, desc="正在载入评测集")
    return run_page(engine, archive.index_dir, halves,
                    lambda run_name, done, total: progress(done / total, desc=f"正在评测 {run_name} 第 {done}/{total} 题"))


# ---- page ----------------------------------------------------------------------------------------
def _chat_tab(archive: Archive, examples: list[str]) -> None:
    asked = gr.State([])  # the raw earlier questions: the chat shows them escaped
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="问答", height=480, elem_id="chat", feedback_options=None)
            note = gr.Markdown(elem_id="note")
            with gr.Row():
                message = gr.Textbox(placeholder=f"请输入问题（不超过 {MAX_QUESTION_CHARS} 字），例如：某人提出了哪几点要求？",
                                     show_label=False, scale=5, elem_id="question", max_length=MAX_QUESTION_CHARS)
                send = gr.Button("提问", variant="primary", scale=1, elem_id="ask")
            with gr.Row():
                since = gr.Textbox(label="起始日期（YYYY-MM-DD，可空）", elem_id="since")
                until = gr.Textbox(label="截止日期（YYYY-MM-DD，可空）", elem_id="until")
                clear = gr.Button("清空对话", scale=0)
            if examples:
                gr.Examples(examples=[[q] for q in examples], inputs=[message], label="示例问题（取自当前档案）")
        with gr.Column(scale=2):
            gr.Markdown("### 引用来源")
            sources = gr.HTML(elem_id="sources", max_height=760, js_on_load=None)

    llm = llm_form(archive)

    def ask(text: str, chat: list[dict[str, str]], earlier: list[str], start: str, end: str,
            chosen: LLMConfig | None) -> Iterator[tuple[Any, ...]]:
        yield from _chat(archive, text, chat, earlier, start, end, chosen)

    outputs = [chatbot, asked, sources, note]
    for trigger in (send.click, message.submit):  # llm is session state: not an input of the /ask API
        trigger(ask, [message, chatbot, asked, since, until, llm], outputs).then(lambda: "", None, message)
    clear.click(lambda: ([], [], "", ""), None, outputs)


def _archive_tab(archive: Archive) -> tuple[list[Any], gr.Textbox]:
    from ingest.read import SUPPORTED_SUFFIXES

    counts = gr.Markdown(elem_id="counts")
    with gr.Row():
        with gr.Column(scale=3):
            query = gr.Textbox(label="按标题搜索", elem_id="title-search")
            table = gr.Dataframe(headers=["标题", "日期", "段落块", "来源", "编号"], interactive=False, wrap=True,
                                 column_widths=["40%", "12%", "10%", "22%", "16%"],
                                 elem_id="articles")
            pick = gr.Dropdown(label="查看文章全文", choices=[], elem_id="pick")
            article = gr.HTML(elem_id="article", js_on_load=None)
        with gr.Column(scale=2):
            files = gr.File(label="导入报纸文件（txt / md / html / docx / pdf / jsonl，单个文件不超过 50MB）",
                            file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), elem_id="upload")
            start = gr.Button("导入", variant="primary", elem_id="ingest")
            result = gr.Markdown(elem_id="ingest-result")

    def upload(paths: list[str] | None, text: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        return _upload(archive, paths, text, progress)

    view = [counts, table, pick]
    query.change(lambda text: _archive_view(archive, text), query, view)
    pick.change(lambda article_id: _show_article(archive, article_id), pick, article)
    # ingest is single-writer: one upload at a time, whatever the page's concurrency
    start.click(upload, [files, query], [result, files, *view], concurrency_limit=1, concurrency_id="ingest")
    return view, query


def _eval_tab(archive: Archive) -> None:
    from app_eval import set_choices, upload_note

    choices = set_choices()
    gr.Markdown("选择评测集（或上传自己的 JSONL 评测集），在当前档案上分别运行开发集和测试集，"
                "与上次评测比较，并列出没有评测问题覆盖的文章。")
    with gr.Row():
        with gr.Column(scale=2):
            name = gr.Dropdown(label="评测集（eval/data 中成对的开发集和测试集）", choices=choices,
                               value="sample" if "sample" in choices else next(iter(choices), None), elem_id="eval-set")
            run = gr.Button("运行评测", variant="primary", elem_id="run-eval")
        with gr.Column(scale=3):
            # no file_types: Gradio would refuse other files with an English message; app_eval says it in Chinese
            uploads = gr.File(label="或上传评测集（JSONL；可同时上传 NAME.dev.jsonl 和 NAME.test.jsonl；上传后以上传的为准）",
                              file_count="multiple", height=140, elem_id="eval-upload")
    status = gr.HTML(elem_id="eval-status")
    table = gr.HTML(elem_id="eval-table")
    uncovered = gr.HTML(elem_id="eval-uncovered")
    changes = gr.HTML(elem_id="eval-changes")
    chart = gr.BarPlot(x="项目", y="数值", color="系列", title="各项比率（耗时见上表）", y_lim=[0, 1], x_label_angle=-40,
                       elem_id="eval-chart")
    with gr.Accordion("未通过的题目", open=False):
        failed = gr.HTML(elem_id="eval-failed")

    def evaluate(chosen: str | None, files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        return _run_eval(archive, chosen, files, progress)

    uploads.change(upload_note, uploads, status)  # also when a file is removed
    run.click(evaluate, [name, uploads], [status, table, changes, uncovered, chart, failed],
              concurrency_limit=1, concurrency_id="eval")


def build_app(index_dir: Path, chroma_url: str | None = None, llm: LLMConfig | None = None) -> gr.Blocks:
    """The page over the index at `index_dir` (which may not exist yet: upload creates it).

    Example:
        >>> build_app(Path("data/index")).queue(default_concurrency_limit=4).launch()
    """
    archive = Archive(index_dir, chroma_url, llm)
    stored = archive.articles()[:_EXAMPLE_SCAN]
    examples = example_questions((s.article.title, s.article.text) for s in stored)
    with gr.Blocks(title="报纸档案问答", analytics_enabled=False) as page:
        gr.Markdown("## 报纸档案问答\n提问后，回答中的 [n] 指向右侧引用来源；点击可查看出处原文。")
        with gr.Tab("问答", id="chat-tab"):
            _chat_tab(archive, examples)
        with gr.Tab("档案库", id="archive-tab"):
            view, query = _archive_tab(archive)
        with gr.Tab("评测", id="eval-tab"):
            _eval_tab(archive)
        page.load(lambda text: _archive_view(archive, text), query, view)
    return page


def exposure_warning(host: str, login: bool) -> str | None:
    """A loud warning when the page is reachable from other machines without a login; None otherwise."""
    if login or host in ("127.0.0.1", "localhost", "::1"):
        return None
    line = "!" * 78
    return (f"{line}\nWARNING: serving on {host} WITHOUT A LOGIN: anyone who can reach this machine can read the "
            "archive and upload files into it.\nSet --auth-user and --auth-password (or NEWSQA_AUTH_USER and "
            f"NEWSQA_AUTH_PASSWORD), or bind 127.0.0.1.\n警告：未设置登录即对外提供服务。\n{line}")


def serve(index_dir: Path, host: str | None = None, port: int | None = None, chroma_url: str | None = None,
          llm: LLMConfig | None = None, auth_user: str | None = None, auth_password: str | None = None) -> None:
    """Start the page; login is on when a user and a password are given (or NEWSQA_AUTH_USER and
    NEWSQA_AUTH_PASSWORD are both set)."""
    user, password = auth_user or env_default("auth-user"), auth_password or env_default("auth-password")
    warning = exposure_warning(host or "127.0.0.1", bool(user and password))
    if warning:
        import sys

        print(warning, file=sys.stderr, flush=True)
    page = build_app(index_dir, chroma_url, llm)
    # asks only read the index, so a few run at once; uploads queue behind their own limit of 1
    page.queue(default_concurrency_limit=4).launch(
        server_name=host or "127.0.0.1", server_port=port, auth=(user, password) if user and password else None,
        auth_message="请登录报纸档案问答。", max_file_size=MAX_UPLOAD, allowed_paths=[],
        blocked_paths=[str(Path(index_dir).resolve())], css=PAGE_CSS, head=PAGE_HEAD, footer_links=[],
    )


if __name__ == "__main__":
    serve(Path(env_default("index") or "data/index"), env_default("host"), int(env_default("port") or 7860),
          env_default("chroma-url"))
