"""数字报 HTML: one article per page, its 引题/主题/副题, author and date taken from the page.

E-paper systems (方正 and the like) write an article page as a headline trio (h3 引题, h1 主题,
h2 副题), an author line, a body container (`founder-content`, `#ozoom`, `.article-content`…),
often an `<!--enpproperty …-->` comment and meta tags with the date and author, and put the date in
the URL path (`/2023-05/04/content_123.htm`). A folder of such pages is one issue: each page is an
article dated by its own page or path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import IngestError
from ingest.document import Document
from ingest.section import Section

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

_BODY_SELECTORS = ("founder-content", "#ozoom", "#articleContent", "#article-content", ".article-content",
                   ".article_content", "#content", ".content", "article")
_URL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/]?(\d{2})/(\d{2})(?!\d)")
_FULL_DATE = re.compile(r"((?:19|20)\d{2})\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})")
_ENP = re.compile(r"<!--\s*enpproperty(.*?)/enpproperty\s*-->", re.S)
_PAGE_LABEL = re.compile(r"第\s*(\d{1,3})\s*版")


def _enp_fields(html: str) -> dict[str, str]:
    """The fields of a 方正 `<!--enpproperty <date>…</date><title>…</title>…-->` comment."""
    found = _ENP.search(html)
    if not found:
        return {}
    return {k: v.strip() for k, v in re.findall(r"<(\w+)>(.*?)</\1>", found.group(1), re.S) if v.strip()}


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"name": re.compile(f"^{name}$", re.I)}) or \
            soup.find("meta", attrs={"property": re.compile(f"^{name}$", re.I)})
        if tag is not None and str(tag.get("content") or "").strip():
            return str(tag.get("content")).strip()
    return None


def _body(soup: BeautifulSoup) -> Tag | None:
    for selector in _BODY_SELECTORS:
        found = soup.select_one(selector)
        if found is not None:
            return found
    return None


def _page_url(soup: BeautifulSoup) -> str:
    canonical = soup.find("link", attrs={"rel": "canonical"})
    return str((canonical.get("href") if canonical is not None else None) or _meta(soup, "og:url") or "")


def looks_like_epaper(html: str, soup: BeautifulSoup, path: Path) -> bool:
    """A 数字报 article page, not any web page: an enpproperty comment, a `founder-content` or
    `#ozoom` body, a publishdate meta tag, or a dated URL path with an h1 headline and a body."""
    if _ENP.search(html) or soup.select_one("founder-content, #ozoom") is not None or _meta(soup, "publishdate"):
        return True
    dated = _URL_DATE.search(_page_url(soup)) or _URL_DATE.search(path.as_posix())
    return bool(dated) and soup.find("h1") is not None and _body(soup) is not None


def _date(value: str | None, pattern: re.Pattern[str] = _FULL_DATE) -> str | None:
    found = pattern.search(value or "")
    if not found:
        return None
    year, month, day = (int(x) for x in found.groups())
    return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else None


def _headline_trio(soup: BeautifulSoup, enp: dict[str, str]) -> dict[str, str]:
    """{"kicker", "title", "subtitle"}: the enpproperty fields, else h3 before h1 and h2 after it."""
    parts = {"kicker": enp.get("introtitle", ""), "title": enp.get("title", ""), "subtitle": enp.get("subtitle", "")}
    h1 = soup.find("h1")
    if h1 is not None:
        parts["title"] = parts["title"] or h1.get_text(" ", strip=True)
        before, after = h1.find_previous_sibling("h3"), h1.find_next_sibling("h2")
        parts["kicker"] = parts["kicker"] or (before.get_text(" ", strip=True) if before is not None else "")
        parts["subtitle"] = parts["subtitle"] or (after.get_text(" ", strip=True) if after is not None else "")
    return {k: v for k, v in parts.items() if v}


def _paragraphs(body: Tag) -> list[str]:
    """The body's paragraphs (<p>, list items, lines split by <br>) and table rows, one line each
    with the row's cells split by full-width spaces, in page order."""
    for br in body.find_all("br"):
        br.replace_with("\n")
    lines: list[str] = []
    blocks = body.find_all(["p", "li", "tr", "h4", "h5", "h6"])
    for block in blocks:
        if block.find_parent(["p", "li", "tr"]) is not None and block.find_parent(["p", "li", "tr"]) in blocks:
            continue  # nested: read with its container
        if block.name == "tr":
            cells = [c.get_text(" ", strip=True) for c in block.find_all(["td", "th"])]
            lines.append("\u3000".join(c for c in cells if c))
        else:
            lines += block.get_text().split("\n")
    if not blocks:
        lines = body.get_text().split("\n")
    return [line.strip() for line in lines if line.strip()]


def read_page(path: Path, html: str, soup: BeautifulSoup) -> Document:
    """One 数字报 article page as a Document holding one Section.

    Raises:
        IngestError: the page has no article body (an index or layout page of the e-paper).
    """
    enp = _enp_fields(html)
    body = _body(soup)
    lines = _paragraphs(body) if body is not None else []
    if not lines:
        raise IngestError(str(path), "this 数字报 page has no article body (an index or layout page?); "
                          "ingest the article pages (content_….htm) instead",
                          "这个数字报页面没有正文（可能是版面目录页），请导入文章页")
    parts = _headline_trio(soup, enp)
    title = parts.pop("title", None)
    author = enp.get("author") or _meta(soup, "author")
    meta: dict[str, Any] = {**parts, "split": "page"}
    if author:
        meta["byline"] = [author]
    label = _PAGE_LABEL.search(enp.get("nodename", "") or soup.get_text(" ", strip=True)[:2000])
    if label:
        meta["page"] = int(label.group(1))
    page_date = _date(enp.get("date")) or _date(_meta(soup, "publishdate", "pubdate", "article:published_time"))
    url_date = _date(_page_url(soup), _URL_DATE) or _date(path.resolve().as_posix(), _URL_DATE)
    date_from = "page" if page_date else ("url" if url_date else None)
    document_meta = {"date_from": date_from} if date_from else {}
    return Document(source=path.name, text="\n".join(lines), title=title, date=page_date or url_date,
                    meta=document_meta, sections=(Section(title, tuple(lines), meta),))
