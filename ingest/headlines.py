"""Article boundaries in plain text without `#` headings, from the shapes a paper's page gives them.

An article starts with a headline block (引题, 主题, 副题: short lines without a sentence end) and
goes on with a lead: 本报讯, 本报记者…, 记者…报道, 通讯员…, a dateline (江州3月14日讯, 新华社北京3月14日电),
a byline line (县财政局局长　蒋丽华), or a photo caption ending in 摄）. A headline block with no
lead after it is an in-article sub-headline, never a boundary (news stories are full of them),
except a headline naming an interview or a profile (——访… / ——记…).
"""

from __future__ import annotations

import re

from ingest.section import Section

_MAX_HEADLINE = 40
_MAX_BLOCK = 4  # 引题 + 主题 + one or two 副题 lines
_SENTENCE_END = set("。！？!?；;，,、：:…")
_LIST_ITEM = re.compile(r"^(?:[一二三四五六七八九十]+[、是要]|第[一二三四五六七八九十\d]+[，、部章节条]|[（(][一二三四五六七八九十\d]+[)）]|"
                        r"\d+[.、．]|[①②③④⑤⑥⑦⑧⑨⑩])")
_CELLS = re.compile(r"\u3000+|\t+| {2,}")
_ROLE = r"(?:记者|通讯员|特约记者|见习记者|实习生|评论员|局长|主任|书记|县长|市长|区长|主席|部长|厅长|院长|校长|委员|代表)"
_LEADS = (
    re.compile(r"^本报(?:讯|电|消息|综合)"),
    re.compile(r"^本报[\u4e00-\u9fff]{0,8}\d{1,2}月\d{1,2}日(?:电|讯)"),
    re.compile(r"^(?:新华社|中新社|人民网|新华网|央视网)"),
    re.compile(r"^(?:据)?[\u4e00-\u9fff]{2,10}\d{1,2}月\d{1,2}日(?:电|讯)"),
    re.compile(r"^(?:本报)?(?:特约|见习)?(?:记者|通讯员)[\u3000 ]+[\u4e00-\u9fff]{2,4}"),
    re.compile(r"^[（(](?:本报)?(?:记者|通讯员)[^）)]{1,40}[）)]"),
)
BYLINE_LINE = re.compile(rf"^(?:[\u4e00-\u9fff]{{0,14}}{_ROLE}[\u3000 ]+[\u4e00-\u9fff]{{2,4}}[\u3000 ]*)+(?:报道)?$")
CAPTION = re.compile(r"(?:摄|摄影|供图|图片由[^）)]{1,20}提供)[）)]$|^(?:图为|▲|△)")
_PROFILE = re.compile(r"——(?:访|记|专访)")


def is_lead(line: str) -> bool:
    """A paragraph that opens an article's body: a news lead, a byline line or a photo caption."""
    return any(p.match(line) for p in _LEADS) or bool(BYLINE_LINE.match(line)) or bool(CAPTION.search(line))


def is_table_row(line: str) -> bool:
    """Cells split by full-width spaces or tabs, one of them a number: a table row, not a headline."""
    cells = [c for c in _CELLS.split(line) if c]
    return len(cells) >= 2 and any(re.search(r"\d", c) for c in cells) and not line.startswith("—")


def is_headline(line: str) -> bool:
    """Short, no sentence end anywhere, not a list item, a lead, a table row or a caption."""
    if not 2 <= len(line) <= _MAX_HEADLINE or line[-1] in _SENTENCE_END:
        return False
    if any(ch in "。！？!?；;" for ch in line) or _LIST_ITEM.match(line) or line.startswith(("（", "(")):
        return False
    if len([c for c in _CELLS.split(line) if c]) >= 3 and not line.startswith("—"):
        return False  # a table's header row
    return not (is_lead(line) or is_table_row(line))


def title_parts(block: list[str]) -> dict[str, str]:
    """{"kicker": 引题, "title": 主题, "subtitle": 副题} of a headline block. A line opening with a
    dash is a 副题; of the others the longest (the later on a tie) is the 主题, lines above it
    the 引题 and lines below it more 副题."""
    plain = [i for i, line in enumerate(block) if not line.startswith(("—", "－"))] or [0]
    main = max(plain, key=lambda i: (len(block[i]), i))
    parts = {"title": block[main]}
    if main > 0:
        parts["kicker"] = "　".join(block[:main])
    if main + 1 < len(block):
        parts["subtitle"] = "　".join(line.lstrip("—－ ") for line in block[main + 1:])
    return parts


def _block_before(lines: list[str], lead: int, floor: int) -> int:
    """First line of the headline block right before `lines[lead]`, not above `floor`; `lead` if none."""
    start = lead
    while start - 1 >= floor and lead - (start - 1) <= _MAX_BLOCK and is_headline(lines[start - 1]):
        start -= 1
    return start


def boundaries(lines: list[str]) -> list[int]:
    """Indexes of the lines that start an article (its headline block's first line)."""
    starts: list[int] = []
    floor = 0  # a block never reaches back past the previous lead
    for i, line in enumerate(lines):
        if is_lead(line):
            anchor = i
        elif is_headline(line) and _PROFILE.search(line) and i + 1 < len(lines) and not is_headline(lines[i + 1]):
            anchor = i + 1  # the profile's headline is the block's last line
        else:
            continue
        start = _block_before(lines, anchor, floor)
        if start < anchor and not (start > 0 and lines[start - 1].endswith(("：", ":"))):  # 「全文如下：」 quotes a text
            starts.append(start)
        floor = anchor + 1
    return starts


def split_plain(lines: list[str]) -> list[Section] | None:
    """Sections of a heading-less issue (cleaned paragraphs, one per line) found by headline blocks
    and leads; None when no article start is found (the caller keeps the file as one article).

    Example:
        >>> [s.title for s in split_plain(["县里召开会议", "本报讯 3月2日，县里召开会议。"])]
        ['县里召开会议']
    """
    starts = boundaries(lines)
    if not starts:
        return None
    sections: list[Section] = []
    if starts[0] > 0:
        sections.append(Section(None, tuple(lines[: starts[0]]), {"split": "headlines"}))
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        block_end = start
        while block_end < end and is_headline(lines[block_end]) and block_end - start < _MAX_BLOCK:
            block_end += 1
        parts = title_parts(lines[start:block_end])
        title = parts.pop("title")
        sections.append(Section(title, tuple(lines[block_end:end]), {**parts, "split": "headlines"}))
    return sections
