"""Edge: the archive behind the chat page (Archive), its 档案库 tab, and uploads that can be cancelled.

An upload runs `ingest_paths` in a worker thread while the event streams one status line (files read,
articles written, chunks embedded); the 取消 button stops it between batches through an IngestWatch,
so what was committed stays, BM25 matches it and the writer lock is released.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from app_render import archive_progress_html, article_html, counts_markdown, example_questions, ingest_summary, title_matches

if TYPE_CHECKING:
    from ingest.index import StoredArticle
    from ingest.pipeline import IngestReport, IngestWatch
    from rag.engine import Engine
    from rag.llm import LLMConfig

log = logging.getLogger("newsqa.page")
_EXAMPLE_SCAN = 300  # articles read for example questions; enough, and bounded on big archives
_LIST_MAX = 500  # rows of the article list: a year of broadcasts would swamp the browser
_PAGE_BATCH = 64  # chunks per committed batch in the page: a cancel waits for one batch at most
_POLL_SECONDS = 0.5  # how often the upload's status line is refreshed


def user_error(message: str) -> gr.Error:
    """A gr.Error for something the user can fix: a Chinese title, one log line, no traceback."""
    log.warning("refused: %s", message)
    return gr.Error(message, title="出错", print_exception=False)


def user_warning(message: str) -> None:
    """A Chinese warning toast that leaves every output as it was; one log line."""
    log.warning("warned: %s", message)
    gr.Warning(message, title="请注意")


class Archive:
    """The index directory and its Engine, opened on first use (an empty archive has none yet)."""

    def __init__(self, index_dir: Path, chroma_url: str | None = None, llm: LLMConfig | None = None,
                 scorer: Path | None = None, reranker: Path | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.chroma_url = chroma_url
        self.llm = llm
        self.scorer = scorer  # a retrained sentence scorer; None: the packaged one
        self.reranker = reranker  # a local cross-encoder folder; None: no reranking
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._ingests: dict[str, IngestWatch] = {}  # running uploads by browser session

    def engine(self) -> Engine | None:
        """The Engine, or None while no index exists."""
        from ingest.errors import IndexMismatch
        from rag.engine import Engine, EngineConfig

        with self._lock:  # two first questions must not load the model twice
            if self._engine is None and (self.index_dir / "articles.sqlite").exists():
                try:
                    self._engine = Engine(self.index_dir, EngineConfig(llm=self.llm, scorer=self.scorer, reranker=self.reranker), chroma_url=self.chroma_url)
                except IndexMismatch as exc:
                    raise user_error(f"档案库是用另一个向量模型建立的，无法直接使用：请删除 {self.index_dir} "
                                     f"后重新导入。（{exc}）") from exc
            return self._engine

    def articles(self) -> list[StoredArticle]:
        """StoredArticle rows, newest date first; [] for an empty archive."""
        engine = self.engine()
        return engine.index.list_articles() if engine else []

    def counts(self) -> dict[str, Any]:
        engine = self.engine()
        if engine is None:
            return {"articles": 0, "sources": 0, "chunks": 0, "first_date": None, "last_date": None}
        return engine.index.counts()

    def examples(self) -> list[str]:
        """Example questions from the archive as it is now, the latest ingested articles first."""
        stored = sorted(self.articles(), key=lambda s: s.added_at, reverse=True)[:_EXAMPLE_SCAN]
        return example_questions((s.article.title, s.article.text) for s in stored)

    def watch_ingest(self, session: str, watch: IngestWatch | None) -> None:
        """Note (or, with None, forget) the running upload of a browser session."""
        with self._lock:
            if watch is None:
                self._ingests.pop(session, None)
            else:
                self._ingests[session] = watch

    def cancel_ingest(self, session: str) -> bool:
        """Ask the session's running upload to stop after its current batch; False when none runs."""
        with self._lock:
            watch = self._ingests.get(session)
        if watch is not None:
            watch.cancel.set()
        return watch is not None


# ---- the article list ----------------------------------------------------------------------------
def _article_rows(archive: Archive, query: str) -> list[list[Any]]:
    return [
        [s.article.title, s.article.date or s.article.meta.get("date_text") or "", s.chunks, s.article.source,
         s.article.id]
        for s in archive.articles() if title_matches(s.article.title, query or "")
    ]


def archive_view(archive: Archive, query: str) -> tuple[Any, ...]:
    """The tab's summary line, article table and article picker, for titles matching `query`."""
    rows = _article_rows(archive, query)
    summary = counts_markdown(archive.counts())
    if len(rows) > _LIST_MAX:
        summary += f"\n\n标题匹配 {len(rows)} 篇，列表只显示前 {_LIST_MAX} 篇：请用标题搜索缩小范围。"
    rows = rows[:_LIST_MAX]
    return summary, rows, gr.update(choices=[(f"{r[0]}（{r[1] or '无日期'}）", r[4]) for r in rows], value=None)


def show_article(archive: Archive, article_id: str | None) -> str:
    engine = archive.engine()
    article = engine.index.get_article(article_id) if engine and article_id else None
    if article is None:
        return ""
    return article_html(article.title, article.date or article.meta.get("date_text") or "", article.source,
                        article.text)


def examples_update(archive: Archive) -> Any:
    """The chat tab's example questions, remade from the archive as it is now."""
    questions = archive.examples()
    return gr.Dataset(samples=[[q] for q in questions], visible=bool(questions))


# ---- uploads -------------------------------------------------------------------------------------
def ingest_uploads(archive: Archive, files: list[str] | None, query: str, session: str) -> Iterator[tuple[Any, ...]]:
    """Ingest the uploaded files (the same pipeline as `newsqa ingest`), streaming one status line.

    Yields the outputs (status, files, counts, table, picker, examples, ingest button, cancel button).
    A closed page cancels the ingest too, so it never holds the writer lock for nobody."""
    from ingest.pipeline import IngestWatch

    skip = (gr.skip(),) * 5
    if not files:
        user_warning("请先选择要导入的文件。")
        yield (gr.skip(), *skip, gr.skip(), gr.skip())
        return
    watch = IngestWatch()
    outcome: dict[str, Any] = {}
    worker = threading.Thread(target=_ingest_worker, args=(archive, files, watch, outcome), daemon=True,
                              name="page-ingest")
    archive.watch_ingest(session, watch)
    busy = (gr.update(interactive=False), gr.update(visible=True, interactive=True))
    try:
        worker.start()
        started = time.monotonic()
        while worker.is_alive():
            yield (archive_progress_html(len(files), watch, outcome.get("chunks"), time.monotonic() - started),
                   *skip, *busy)
            worker.join(_POLL_SECONDS)
    finally:
        watch.cancel.set()  # no-op once done; stops the worker when the page went away mid-ingest
        archive.watch_ingest(session, None)
    idle = (gr.update(interactive=True), gr.update(visible=False))
    yield (_outcome_markdown(outcome), None, *archive_view(archive, query), examples_update(archive), *idle)


def _ingest_worker(archive: Archive, files: list[str], watch: IngestWatch, outcome: dict[str, Any]) -> None:
    """Run the ingest; put its report, or what stopped it, into `outcome`."""
    from ingest.errors import IndexBusy, IndexMismatch, StorageFull, StoreUnavailable
    from ingest.pipeline import IngestCancelled, IngestConfig, ingest_paths

    def progress(done: int, total: int, _what: str) -> None:
        outcome["chunks"] = (done, total)

    try:
        engine = archive.engine()
        # gradio keeps each upload in a folder named by its content: a corrected issue is the same source by name
        config = IngestConfig(chroma_url=archive.chroma_url, source_key="name", batch_chunks=_PAGE_BATCH, watch=watch)
        outcome["report"] = ingest_paths(files, archive.index_dir, config, progress=progress,
                                         embedder=engine.embedder if engine else None)
    except IngestCancelled as exc:
        outcome["cancelled"] = exc.report
    except gr.Error as exc:  # said in Chinese already (an index built with another model)
        outcome["problem"] = str(exc.message)
    except IndexBusy:
        outcome["problem"] = "另一个导入正在进行，请稍后再试。"
    except IndexMismatch as exc:
        outcome["problem"] = f"索引与当前模型不匹配，无法导入：{exc}"
    except StorageFull:
        outcome["problem"] = "磁盘空间不足，导入未完成；已有的档案不受影响。"
    except StoreUnavailable as exc:
        outcome["problem"] = f"向量库服务暂时无法连接，导入未完成。（{exc.where}）"
    except Exception as exc:  # the page must say something; the traceback goes to the log once
        log.exception("ingest failed")
        outcome["problem"] = f"导入出错：{type(exc).__name__}"
    finally:
        _remove_uploads(files)


def _outcome_markdown(outcome: dict[str, Any]) -> str:
    if "report" in outcome:
        return ingest_summary(outcome["report"])
    if "cancelled" in outcome:
        report: IngestReport = outcome["cancelled"]
        kept = report.articles_added + report.articles_replaced
        return (f"已取消导入：保留了取消前已写入的 {kept} 篇文章（段落块 {report.chunks_added} 个），"
                "其余未导入；再次导入同一文件即可补全。")
    log.warning("upload refused: %s", outcome.get("problem"))
    return f"导入未完成：{outcome.get('problem', '未知原因')}"


def _remove_uploads(files: list[str]) -> None:
    """Delete gradio's copies of the uploads (and their content-named folders once empty): the
    articles are in the index now, and the temp folder must not keep every uploaded file forever."""
    for name in files:
        path = Path(name)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty, or already gone
            path.parent.rmdir()


# ---- the tab -------------------------------------------------------------------------------------
def archive_tab(archive: Archive, examples: gr.Dataset) -> tuple[list[Any], gr.Textbox]:
    """The 档案库 tab; an upload also refreshes `examples` on the chat tab. Returns (view, query)."""
    from ingest.read import SUPPORTED_SUFFIXES

    counts = gr.Markdown(elem_id="counts")
    with gr.Row():
        with gr.Column(scale=3):
            query = gr.Textbox(label="按标题搜索", elem_id="title-search")
            table = gr.Dataframe(headers=["标题", "日期", "段落块", "来源", "编号"], interactive=False, wrap=True,
                                 column_widths=["40%", "12%", "10%", "22%", "16%"], elem_id="articles")
            pick = gr.Dropdown(label="查看文章全文", choices=[], elem_id="pick")
            article = gr.HTML(elem_id="article", js_on_load=None)
        with gr.Column(scale=2):
            files = gr.File(label="导入报纸文件（txt / md / html / docx / pdf / jsonl，单个文件不超过 50MB）",
                            file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), elem_id="upload")
            with gr.Row():
                start = gr.Button("导入", variant="primary", elem_id="ingest")
                stop = gr.Button("取消导入", variant="stop", visible=False, elem_id="cancel-ingest")
            result = gr.Markdown(elem_id="ingest-result")

    def upload(paths: list[str] | None, text: str, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        yield from ingest_uploads(archive, paths, text, request.session_hash or "")

    def cancel(request: gr.Request) -> None:
        archive.cancel_ingest(request.session_hash or "")  # the status line says 正在取消 from here on

    view = [counts, table, pick]
    query.change(lambda text: archive_view(archive, text), query, view, show_progress="hidden")
    pick.change(lambda article_id: show_article(archive, article_id), pick, article, show_progress="hidden")
    # ingest is single-writer: one upload at a time, whatever the page's concurrency; its status line is
    # the one progress display (gradio's own overlay would cover every output)
    start.click(upload, [files, query], [result, files, *view, examples, start, stop], concurrency_limit=1,
                concurrency_id="ingest", show_progress="hidden")
    stop.click(cancel, None, None, queue=False, show_progress="hidden", api_visibility="private")
    return view, query
