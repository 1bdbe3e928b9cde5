"""Inside an article: what of its lines is text to answer from and what is metadata.

Editor lines (责任编辑：…) and byline lines (本报记者　许文杰　通讯员　马琳) go to metadata and out of
the text; a lead's inline byline (本报讯（记者　郭晓燕）…) is noted and left in its sentence; photo
captions (…摄）) stay in the text (they hold facts and the photographer) and are listed; interview
turns (记者：/问：/答：) run together on one line are put back on lines of their own.
"""

from __future__ import annotations

import re
from typing import Any

from ingest.headlines import BYLINE_LINE, CAPTION

_EDITOR = re.compile(r"^[（(【\[]?\s*(?:责任编辑|责编|编辑|校对|美术编辑|美编|版式设计|版式|组版|审核|值班编辑|终审|一审|二审|三审)\s*[：:]")
_INLINE_BYLINE = re.compile(r"^(?:本报讯|本报电|(?:本报|据)?[\u4e00-\u9fff]{0,10}\d{1,2}月\d{1,2}日(?:电|讯))?\s*"
                            r"[（(]((?:本报)?(?:特约|见习)?(?:记者|通讯员)[^）)]{1,40})[）)]")
_PREFIX_BYLINE = re.compile(r"^((?:本报)?(?:特约|见习)?(?:记者|通讯员)(?:[\u3000 ]+[\u4e00-\u9fff]{2,4})+"
                            r"(?:[\u3000 ]+(?:通讯员|记者)(?:[\u3000 ]+[\u4e00-\u9fff]{2,4})+)*(?:[\u3000 ]+报道)?)[\u3000 ]")
_JOURNALIST = re.compile(r"记者|通讯员|实习生|评论员")
# a turn glued after a sentence end: 「…怎么解决？答：我们…」
_GLUED_TURN = re.compile(r"(?<=[。！？?!”])\s*(?=(?:记者|问|答|主持人|本报记者)[：:])")


def _editor_entries(line: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\u3000 ]{1,}", line.strip("（）()【】[] ")) if part.strip()]


def sort_lines(lines: list[str] | tuple[str, ...]) -> tuple[list[str], dict[str, Any]]:
    """(the article's text lines, metadata: "byline", "editor", "captions") from its paragraphs.

    Example:
        >>> sort_lines(["本报讯（记者　吴静）3月14日，…。", "责任编辑：李明"])
        (['本报讯（记者　吴静）3月14日，…。'], {'byline': ['记者　吴静'], 'editor': ['责任编辑：李明']})
    """
    text: list[str] = []
    meta: dict[str, list[str]] = {}
    for line in lines:
        if _EDITOR.match(line):
            meta.setdefault("editor", []).extend(_editor_entries(line))
            continue
        if BYLINE_LINE.match(line) and len(text) <= 1:  # under the headline, not a table of officials
            if _JOURNALIST.search(line):
                meta.setdefault("byline", []).append(line.removesuffix("报道").strip())
                continue
            # 「县财政局局长　蒋丽华」 over a report names who delivered it: content, kept in the text
            meta.setdefault("author", []).append(line.strip())
        byline = _INLINE_BYLINE.match(line) or _PREFIX_BYLINE.match(line)
        if byline and not text:  # only a lead carries one
            meta.setdefault("byline", []).append(byline.group(1).removesuffix("报道").strip())
        for part in _GLUED_TURN.split(line):
            if part.strip():
                text.append(part.strip())
                if CAPTION.search(part.strip()):
                    meta.setdefault("captions", []).append(part.strip())
    return text, dict(meta)
