"""Pure HTML and text rendering for the chat page (app.py): answers, sources, archive views.

Every piece of archive text (titles, passages, whole articles) and user text goes through
`html.escape` before it is put into HTML: an article that contains `<script>` shows it as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

_MARKER = re.compile(r"\[(\d+)\]")
# what the chat's Markdown would turn into a link: [text](url), a reference definition [x]: url,
# bare URLs (GFM autolinks http://, www.) and e-mail addresses; their key characters become entities
_LINK_SYNTAX = re.compile(r"\]\(|^\s*\[(?!\d+\])|://|\bwww\.|@", re.MULTILINE | re.IGNORECASE)
_ENTITY = {"](": "]&#40;", "://": "&#58;//", "@": "&#64;"}
# 「王宏伟提出三点要求」 in an article: the person is a good example question for that archive
_PERSON_ASKS = re.compile(r"([\u4e00-\u9fa5]{2,3})提出(?:了)?[一二三四五六七八九十两几]+[点条项](?:要求|意见|建议)")
_TITLE_MAX = 24  # longer titles make unwieldy example questions
PAGE_CSS = """
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; margin: 8px 0; }
.source-card.flash { outline: 2px solid var(--color-accent); }
.source-meta { color: var(--body-text-color-subdued); font-size: 0.9em; }
.passage, .article-text { white-space: pre-wrap; margin: 6px 0; }
mark { background: #ffe58f; padding: 0 1px; }
.related-head { margin: 4px 0 6px; padding: 6px 10px; border-radius: 6px; background: var(--background-fill-secondary);
  color: var(--body-text-color-subdued); font-weight: 600; }
.source-card.related { border-style: dashed; background: var(--background-fill-secondary); }
.source-card.related .passage { color: var(--body-text-color-subdued); }
.related-note { color: var(--body-text-color-subdued); font-size: 0.9em; margin-top: 6px; }
/* gradio's status text is English ("processing | 3.1/3.8s"): the page says what it is doing itself */
.progress-text { display: none !important; }
/* and titles its toasts with their type ("Error", "Warning"), whatever title the server sent */
.toast-title { visibility: hidden; font-size: 0 !important; }
.toast-title::before { visibility: visible; font-size: var(--text-lg); }
.toast-title.error::before { content: "出错"; }
.toast-title.warning::before { content: "请注意"; }
.toast-title.info::before { content: "提示"; }
.toast-title.success::before { content: "完成"; }
/* and writes "Uploading 2 files..." while files go up */
span.uploading { visibility: hidden; font-size: 0 !important; }
span.uploading::before { content: "正在上传文件……"; visibility: visible; font-size: var(--text-md); }
.eval-table { border-collapse: collapse; width: 100%; margin: 6px 0; }
.eval-table th, .eval-table td { border: 1px solid var(--border-color-primary); padding: 4px 8px; text-align: left; }
.eval-table th { background: var(--background-fill-secondary); white-space: nowrap; }
.eval-num { text-align: right !important; font-variant-numeric: tabular-nums; white-space: nowrap; }
.eval-num.better { color: #1a7f37; font-weight: 600; }
.eval-num.worse { color: #cf222e; font-weight: 600; }
.eval-prev { color: var(--body-text-color-subdued); font-size: 0.8em; font-weight: normal; }
.eval-legend, .eval-notes { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 4px 0; }
.eval-problem { border: 1px solid #d4a72c; background: #fff8c5; color: #3b2300; padding: 8px 12px; border-radius: 6px; }
.eval-uncovered { border-left: 4px solid #d4a72c; padding: 2px 12px; margin: 8px 0; }
"""
# a [n] in an answer opens its source's whole article and scrolls the card's head into view, in the
# sources panel's own scroll box and in the window ("start": an opened article is taller than the screen)
PAGE_HEAD = """<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.cite");
  if (!link) return;
  event.preventDefault();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  const details = card.querySelector("details");
  if (details) details.open = true;
  card.scrollIntoView({behavior: "smooth", block: "start"});
  card.classList.add("flash");
  setTimeout(() => card.classList.remove("flash"), 1500);
});
</script>"""
# gradio's own words, by its translation keys, in Chinese; given for every language gradio ships, a key
# with a dot wins over gradio's nested dictionaries (svelte-i18n looks a whole key up first)
GRADIO_WORDS = {
    "upload_text.drop_file": "将文件拖放到此处", "upload_text.click_to_upload": "点击选择文件", "common.or": "或",
    "upload_text.drop_csv": "将 CSV 文件拖放到此处", "upload_text.paste_clipboard": "从剪贴板粘贴",
    "file.uploading": "正在上传……", "common.error": "出错", "common.clear": "清除", "common.remove": "移除",
    "common.download": "下载", "common.download_all": "全部下载", "common.loading": "加载中", "common.empty": "空",
    "common.edit": "编辑", "common.undo": "撤销", "common.submit": "提交", "common.complete": "完成",
    "common.progress": "进度", "common.settings": "设置", "common.share": "分享", "common.language": "语言",
    "common.display_theme": "显示主题", "common.built_with": "构建于", "common.built_with_gradio": "使用 Gradio 构建",
    "blocks.waiting_for_inputs": "正在等待文件上传完成，请稍后重试。", "blocks.lost_connection": "连接已断开，正在重新连接……",
    "blocks.connection_can_break": "在手机上，切换到其他页面或锁屏可能使连接中断。",
    "blocks.long_requests_queue": "排队的请求较多，请稍候。", "status.queue_position": "排队中：第 {position} 位，共 {size} 位",
    "chatbot.copy_message": "复制", "chatbot.copied_message": "已复制", "chatbot.clear": "清除", "chatbot.retry": "重试",
    "chatbot.undo": "撤销", "chatbot.edit": "编辑", "chatbot.submit": "提交", "chatbot.cancel": "取消",
    "chatbot.complete": "完成", "chatbot.like": "赞", "chatbot.dislike": "踩",
    "dataframe.sort_column": "排序", "dataframe.sort_ascending": "升序排列", "dataframe.sort_descending": "降序排列",
    "dataframe.clear_sort": "取消排序", "dataframe.filter": "筛选", "dataframe.clear_filter": "清除筛选",
    "dropdown.dropdown": "下拉菜单", "plot.plot": "图表", "label.label": "标签", "number.number": "数字",
    "login.login": "登录", "login.username": "用户名", "login.password": "密码",
    "login.incorrect_credentials": "用户名或密码错误", "login.enable_cookies": "请允许浏览器保存 cookie 后再登录。",
    "errors.use_via_api": "通过 API 使用", "errors.use_via_api_or_mcp": "通过 API 或 MCP 使用",
}
# gradio's languages (its frontend's lang/ folder); any other browser language falls back to "en"
GRADIO_LOCALES = ("en", "ar", "ca", "ckb", "de", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "id", "ja", "ko", "lt",
                  "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sv", "ta", "th", "tr", "uk", "ur", "uz", "zh-CN", "zh-TW")


@dataclass(frozen=True)
class SourceView:
    """One citation as the source panel shows it; `full_text` is the whole article, `full_span` the
    supporting span in it (None when the article could not be read)."""

    n: int
    title: str
    date: str
    source: str
    passage: str
    span: tuple[int, int]
    full_text: str | None = None
    full_span: tuple[int, int] | None = None


def source_id(turn: int, n: int) -> str:
    """Element id of citation `n` of chat turn `turn`; the answer's [n] links point at it."""
    return f"src-{turn}-{n}"


def highlight(text: str, span: tuple[int, int]) -> str:
    """`text` escaped, with `text[span[0]:span[1]]` inside <mark>; a span outside the text marks nothing."""
    start, end = span
    if not 0 <= start < end <= len(text):
        return html.escape(text)
    return (html.escape(text[:start]) + "<mark>" + html.escape(text[start:end]) + "</mark>"
            + html.escape(text[end:]))


def answer_html(answer: str, turn: int) -> str:
    """The answer escaped, each complete [n] a superscript link to its source; a half-streamed
    「[1」 stays text until its bracket arrives."""
    escaped = _LINK_SYNTAX.sub(_defuse, html.escape(answer))  # archive text quoted in answers: never a live link
    return _MARKER.sub(
        lambda m: f'<sup><a class="cite" href="#{source_id(turn, int(m.group(1)))}">[{m.group(1)}]</a></sup>',
        escaped,
    )


def _defuse(match: re.Match[str]) -> str:
    found = match.group(0)
    if found in _ENTITY:
        return _ENTITY[found]
    if found.lower() == "www.":
        return f"&#{ord(found[0])};{found[1:]}"
    return found[:-1] + "&#91;"  # a line starting with [: a possible reference definition


RELATED_HEADING = "可能相关的段落（未必回答问题）"


def sources_html(sources: Sequence[SourceView], turn: int, related: bool = False) -> str:
    """The source panel: one card per citation, passage with its span marked, whole article folded.
    `related`: the answer is a refusal and these are only its closest passages: under their own
    heading, in muted cards, with nothing marked, so they never read as evidence."""
    if not sources:
        return '<div class="sources-empty">本轮回答没有引用来源。</div>'
    cards = "\n".join(_source_card(s, turn, related) for s in sources)
    return f'<div class="related-head">{RELATED_HEADING}</div>\n{cards}' if related else cards


def related_note(count: int) -> str:
    """The line under a refusal in the chat that points at its closest passages (no [n] markers)."""
    return f'<div class="related-note">右侧列出 {count} 个{RELATED_HEADING}，仅供参考。</div>'


def _source_card(source: SourceView, turn: int, related: bool = False) -> str:
    meta = " · ".join(html.escape(part) for part in (source.date, source.source) if part)
    span, full_span = ((0, 0), (0, 0)) if related else (source.span, source.full_span or (0, 0))
    full = ""
    if source.full_text is not None:
        body = highlight(source.full_text, full_span)
        full = f'<details class="fulltext"><summary>查看全文</summary><div class="article-text">{body}</div></details>'
    label = f"相关段落 {source.n}" if related else f"[{source.n}]"
    return (
        f'<div class="source-card{" related" if related else ""}" id="{source_id(turn, source.n)}">'
        f'<div class="source-head"><b>{label}</b> 《{html.escape(source.title)}》 '
        f'<span class="source-meta">{meta}</span></div>'
        f'<blockquote class="passage">{highlight(source.passage, span)}</blockquote>{full}</div>'
    )


def article_html(title: str, date: str, source: str, text: str) -> str:
    """One whole article for the archive tab, escaped."""
    meta = " · ".join(html.escape(part) for part in (date, source) if part)
    return (f'<div class="article-view"><h3>{html.escape(title)}</h3><div class="source-meta">{meta}</div>'
            f'<div class="article-text">{html.escape(text)}</div></div>')


def counts_markdown(counts: dict[str, Any]) -> str:
    """What is indexed, as a short Chinese summary."""
    if counts.get("first_date"):
        span = f"{counts['first_date']} 至 {counts['last_date']}"
    else:
        span = "无完整日期（文章只标注了月日或未标注日期）"
    return (f"**来源文件** {counts['sources']} 个 · **文章** {counts['articles']} 篇 · "
            f"**段落块** {counts['chunks']} 个 · **日期范围** {span}")


def title_matches(title: str, query: str) -> bool:
    """Title search: every whitespace-separated term of the query occurs in the title."""
    return all(term in title for term in query.split())


def example_questions(articles: Iterable[tuple[str, str]], limit: int = 4) -> list[str]:
    """Example questions from (title, text) pairs: 「<person>提出了哪几点要求」 for people who set out
    numbered requirements in the text, then 「<title>的主要内容是什么」."""
    people: list[str] = []
    titles: list[str] = []
    for title, text in articles:
        for person in _PERSON_ASKS.findall(text):
            if person not in people:
                people.append(person)
        if title and len(title) <= _TITLE_MAX and title not in titles:
            titles.append(title)
    questions = [f"{p}提出了哪几点要求" for p in people[:2]] + [f"{t}的主要内容是什么" for t in titles]
    return questions[:limit]


def archive_progress_html(files: int, watch: Any, chunks: tuple[int, int] | None, seconds: float) -> str:
    """The running upload's one status line (Markdown): files read, articles and chunks written so far.
    `watch` is the run's ingest.pipeline.IngestWatch."""
    head = "正在取消：当前这一批写完后停止……" if watch.cancel.is_set() else "正在导入……"
    parts = [f"已读取文件 {watch.files_read}/{files} 个"]
    if watch.articles_total:
        parts.append(f"已写入文章 {watch.articles_done}/{watch.articles_total} 篇")
    if chunks:
        parts.append(f"段落块 {chunks[0]}/{chunks[1]}")
    return f"**{head}**　{'，'.join(parts)}（已用时 {seconds:.0f} 秒）"


def ingest_summary(report: Any) -> str:
    """An IngestReport as Chinese Markdown, one line per file that failed (names escaped: they come from users)."""
    lines = [f"导入完成：{report.files} 个文件，新增文章 {report.articles_added} 篇，更新 {report.articles_replaced} 篇，"
             f"删除 {report.articles_removed} 篇，未变 {report.articles_unchanged} 篇，新增段落块 {report.chunks_added} 个，用时 {report.seconds:.1f} 秒。"]
    if report.errors_zh:
        lines.append("\n以下文件未能导入：")
        lines += [f"- {html.escape(PurePath(e['path']).name)}：{html.escape(e['error'])}" for e in report.errors_zh]
    return "\n".join(lines)
