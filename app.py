"""Edge: the Gradio chat page. Chat with cited sources, the archive and its upload, the eval suite.

Run `python app.py` or `newsqa serve`; the page binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: it reads this at import

import html
from collections.abc import Iterator
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

import gradio as gr

from app_archive import Archive, archive_tab, archive_view, user_error
from app_llm import llm_form
from app_render import (GRADIO_LOCALES, GRADIO_WORDS, PAGE_CSS, PAGE_HEAD, SourceView, answer_html, related_note,
                        sources_html)
from rag.question_limits import MAX_QUESTION_CHARS
from settings import env_default

if TYPE_CHECKING:
    from rag.citations import Answer, Citation
    from rag.engine import Engine
    from rag.llm import LLMConfig
    from rag.retrieve import SearchFilter

__all__ = ["Archive", "build_app", "exposure_warning", "serve"]
MAX_UPLOAD = "50mb"
# gradio's own words (upload box, error badge, login form…) in Chinese whatever the browser's language
GRADIO_ZH = gr.I18n(**{locale: GRADIO_WORDS for locale in GRADIO_LOCALES})


# ---- chat ----------------------------------------------------------------------------------------
def _checked_date(value: str, label: str) -> str | None:
    from ingest.articles import calendar_date

    value = (value or "").strip()
    if not value:
        return None
    try:
        return calendar_date(value)
    except ValueError:
        raise user_error(f"{label}须为 YYYY-MM-DD 格式的日期，例如 2023-01-31。") from None


def _checked_inputs(message: str, since: str, until: str) -> tuple[str, SearchFilter]:
    """(the question, the date filter), or a Chinese gr.Error naming what to fix."""
    from rag.question_limits import QuestionRejected, check_question
    from rag.retrieve import SearchFilter

    try:
        question = check_question(message or "")
    except QuestionRejected as exc:
        raise user_error(f"{exc.reason_zh}。") from None
    filters = SearchFilter(_checked_date(since, "起始日期"), _checked_date(until, "截止日期"))
    if filters.since and filters.until and filters.since > filters.until:
        raise user_error("起始日期不能晚于截止日期。")
    return question, filters


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
    question, filters = _checked_inputs(message, since, until)
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
        chat[-1] = {"role": "assistant", "content": _final_html(piece, turn)}
        views = _source_views(archive, piece.citations)
        yield chat, [*asked, question], sources_html(views, turn, related=piece.no_answer), _note(piece)


def _final_html(answer: Answer, turn: int) -> str:
    """The answer; a refusal says where its closest passages are, without citing them as evidence."""
    if answer.no_answer:
        return html.escape(answer.answer) + (related_note(len(answer.citations)) if answer.citations else "")
    return answer_html(answer.answer, turn)


def _stream_or_explain(engine: Engine, question: str, asked: list[str], filters: Any,
                       llm: LLMConfig | None | EllipsisType) -> Iterator[Any]:
    """engine.stream, with a vector-store outage said in plain Chinese instead of a stack trace."""
    from ingest.errors import StoreUnavailable

    try:
        yield from engine.stream(question, asked, filters, llm)
    except StoreUnavailable as exc:
        raise user_error(f"向量库服务暂时无法连接，请稍后再试。（{exc.where}）") from exc


def _note(answer: Answer) -> str:
    """How the question was read (follow-ups) and the engine's notice (e.g. an LLM fallback), escaped."""
    parts = [f"按上下文理解为：{answer.condensed_question}" if answer.condensed_question else "", answer.notice or ""]
    return html.escape("　".join(p for p in parts if p))


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
def _chat_tab(archive: Archive) -> gr.Dataset:
    """The 问答 tab; returns its example questions, which an upload refreshes."""
    asked = gr.State([])  # the raw earlier questions: the chat shows them escaped
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="问答", height=480, elem_id="chat", feedback_options=None)
            note = gr.Markdown(elem_id="note")
            with gr.Row():
                message = gr.Textbox(placeholder=f"请输入问题（不超过 {MAX_QUESTION_CHARS} 字），例如：某人提出了哪几点要求？",
                                     label="问题", show_label=False, scale=5, elem_id="question", max_length=MAX_QUESTION_CHARS)
                send = gr.Button("提问", variant="primary", scale=1, elem_id="ask")
            with gr.Row():
                since = gr.Textbox(label="起始日期（YYYY-MM-DD，可空）", elem_id="since")
                until = gr.Textbox(label="截止日期（YYYY-MM-DD，可空）", elem_id="until")
                clear = gr.Button("清空对话", scale=0)
            questions = archive.examples()
            examples = gr.Dataset(components=[message], samples=[[q] for q in questions], label="示例问题（取自当前档案）",
                                  visible=bool(questions), elem_id="examples")
        with gr.Column(scale=2):
            gr.Markdown("### 引用来源")
            sources = gr.HTML(elem_id="sources", max_height=760, js_on_load=None)

    llm = llm_form(archive)

    def check(text: str, start: str, end: str) -> None:
        _checked_inputs(text, start, end)

    def ask(text: str, chat: list[dict[str, str]], earlier: list[str], start: str, end: str,
            chosen: LLMConfig | None) -> Iterator[tuple[Any, ...]]:
        yield from _chat(archive, text, chat, earlier, start, end, chosen)

    outputs = [chatbot, asked, sources, note]
    for trigger in (send.click, message.submit):
        # checked first, with no outputs: a bad date is a toast, and the conversation and question stay as they were
        checked = trigger(check, [message, since, until], None, show_progress="hidden", api_visibility="private")
        # llm is session state: not an input of the /ask API; the answer streams in place of a progress overlay
        answered = checked.success(ask, [message, chatbot, asked, since, until, llm], outputs, show_progress="hidden")
        answered.then(lambda: "", None, message, show_progress="hidden")
    examples.click(lambda sample: sample[0], examples, message, show_progress="hidden", api_visibility="private")
    clear.click(lambda: ([], [], "", ""), None, outputs, show_progress="hidden")
    return examples


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

    uploads.change(upload_note, uploads, status, show_progress="hidden")  # also when a file is removed
    # the progress shows on the status line only, not as one overlay per output
    run.click(evaluate, [name, uploads], [status, table, changes, uncovered, chart, failed],
              concurrency_limit=1, concurrency_id="eval", show_progress_on=[status])


def build_app(index_dir: Path, chroma_url: str | None = None, llm: LLMConfig | None = None,
              scorer: Path | None = None, reranker: Path | None = None) -> gr.Blocks:
    """The page over the index at `index_dir` (which may not exist yet: upload creates it).

    Example:
        >>> build_app(Path("data/index")).queue(default_concurrency_limit=4).launch(i18n=GRADIO_ZH)
    """
    archive = Archive(index_dir, chroma_url, llm, scorer, reranker)
    with gr.Blocks(title="报纸档案问答", analytics_enabled=False) as page:
        gr.Markdown("## 报纸档案问答\n提问后，回答中的 [n] 指向右侧引用来源；点击可查看出处原文。")
        with gr.Tab("问答", id="chat-tab"):
            examples = _chat_tab(archive)
        with gr.Tab("档案库", id="archive-tab"):
            view, query = archive_tab(archive, examples)
        with gr.Tab("评测", id="eval-tab"):
            _eval_tab(archive)
        page.load(lambda text: archive_view(archive, text), query, view, show_progress="hidden")
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
          llm: LLMConfig | None = None, auth_user: str | None = None, auth_password: str | None = None,
          scorer: Path | None = None, reranker: Path | None = None) -> None:
    """Start the page; login is on when a user and a password are given (or NEWSQA_AUTH_USER and
    NEWSQA_AUTH_PASSWORD are both set)."""
    user, password = auth_user or env_default("auth-user"), auth_password or env_default("auth-password")
    warning = exposure_warning(host or "127.0.0.1", bool(user and password))
    if warning:
        import sys

        print(warning, file=sys.stderr, flush=True)
    page = build_app(index_dir, chroma_url, llm, scorer, reranker)
    # asks only read the index, so a few run at once; uploads queue behind their own limit of 1
    page.queue(default_concurrency_limit=4).launch(
        server_name=host or "127.0.0.1", server_port=port, auth=(user, password) if user and password else None,
        auth_message="请登录报纸档案问答。", max_file_size=MAX_UPLOAD, allowed_paths=[],
        blocked_paths=[str(Path(index_dir).resolve())], css=PAGE_CSS, head=PAGE_HEAD, footer_links=[],
        i18n=GRADIO_ZH, quiet=True, prevent_thread_lock=True,  # quiet: no "set share=True" advice for a local tool
    )
    print(f"newsqa: the chat page is on {page.local_url} (Ctrl+C stops it)", flush=True)
    page.block_thread()


if __name__ == "__main__":
    scorer_file, reranker_dir = env_default("scorer"), env_default("reranker")
    serve(Path(env_default("index") or "data/index"), env_default("host"), int(env_default("port") or 7860),
          env_default("chroma-url"), scorer=Path(scorer_file) if scorer_file else None,
          reranker=Path(reranker_dir) if reranker_dir else None)
