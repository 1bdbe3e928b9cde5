"""Write the registers issues in the forms papers publish them, with the same questions per form.

    python -m eval.make_forms            # rewrites eval/data/forms/ and eval/data/registers-<form>.*.jsonl

Forms (each under eval/data/forms/<form>/, all five issues of eval/data/issues/):
- plain: the text export of an editing system: headline lines, no `#` headings;
- pdf: e-paper pages typeset with reportlab (A3, three columns, headlines in large type, 引题/副题,
  a story beside another, articles continued on the next page 「下转第2版」/「上接第1版」, photo
  captions under a photo box, 版头, page numbers and 责任编辑 lines);
- html: a 数字报 folder, one page per article (h3 引题, h1 主题, h2 副题, author, publishdate meta tag,
  URL path /2023-06/08/).
Deterministic: the same input gives byte-identical files (reportlab's invariant mode).
"""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from eval.typeset import Story, typeset_issue

DATA = Path(__file__).resolve().parent / "data"
ISSUES = DATA / "issues"
FORMS = ("plain", "pdf", "html")
# the heading-less issue's headline blocks, as its editors wrote them: 主题 -> (引题, 副题)
_HEADLINE_FILE = {
    "全市春播备耕有序推进": ("抢抓农时不误春光", ""),
    "地铁2号线东延段开通试运营": ("", "新增6座车站　全长9.8公里"),
    "市消协发布去年消费投诉十大热点": ("", ""),
    "春风行动招聘会提供岗位5300余个": ("", ""),
    "春季过敏性鼻炎进入高发期": ("专家提醒做好个人防护", ""),
}
_EDITORS = ("责任编辑：张立　美术编辑：王欣", "责任编辑：李华　校对：赵敏", "责任编辑：陈亮　美术编辑：周青")


@dataclass
class Issue:
    """One issue of eval/data/issues: paper name, date and its stories in order."""

    name: str
    paper: str
    date: str
    stories: list[Story] = field(default_factory=list)


def _stories_with_headings(text: str) -> list[Story]:
    stories: list[Story] = []
    for line in (line.strip() for line in text.splitlines()):
        if line.startswith("#"):
            stories.append(Story(title=line.lstrip("#").strip()))
        elif line and stories:
            stories[-1].paragraphs.append(line)
    return stories


def _stories_of_headline_file(text: str) -> list[Story]:
    stories: list[Story] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        kickers = {kicker for kicker, _ in _HEADLINE_FILE.values() if kicker}
        if line in _HEADLINE_FILE:
            kicker, subtitle = _HEADLINE_FILE[line]
            stories.append(Story(title=line, kicker=kicker, subtitle=subtitle))
        elif line in kickers or line.lstrip("—") in {s for _, s in _HEADLINE_FILE.values() if s}:
            continue
        elif stories:
            stories[-1].paragraphs.append(line)
    return stories


def load_issues() -> list[Issue]:
    """The registers issues, parsed by their own markup (`#` headings, or the headline table above)."""
    issues = []
    for path in sorted(ISSUES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        date, paper = path.stem.split("_", 1)
        has_headings = any(line.startswith("#") for line in text.splitlines())
        stories = _stories_with_headings(text) if has_headings else _stories_of_headline_file(text)
        issues.append(Issue(path.stem, paper, date, stories))
    return issues


def write_plain(issue: Issue, folder: Path) -> None:
    """Headline lines (引题, 主题, ——副题), then the paragraphs, blank lines between: no `#`."""
    blocks = []
    for story in issue.stories:
        head = [story.kicker, story.title, f"——{story.subtitle}" if story.subtitle else ""]
        blocks.append("\n\n".join([line for line in head if line] + story.paragraphs))
    (folder / f"{issue.name}.txt").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<meta name="publishdate" content="{date}"><meta name="author" content="{author}">
<link rel="canonical" href="http://epaper.example.cn/html/{ym}/{d}/content_{n}.htm">
</head><body>
<div class="banner"><a href="node_1.htm">{paper}</a>　{date}　第{page:02d}版：要闻</div>
<div class="article">
<h3>{kicker}</h3>
<h1>{title}</h1>
<h2>{subtitle}</h2>
<p class="author">{author}</p>
<founder-content>
{body}
</founder-content>
</div>
<div class="footer">本网站所刊登的各种新闻、信息和各种专题专栏资料，均为{paper}版权所有</div>
</body></html>
"""


def _author(story: Story) -> str:
    found = re.search(r"[（(]((?:本报)?(?:记者|通讯员)[^）)]*)[）)]", story.paragraphs[0]) if story.paragraphs else None
    return found.group(1) if found else ""


def write_html(issue: Issue, folder: Path) -> None:
    """One 数字报 page per story under <paper>/<yyyy-mm>/<dd>/content_<n>.htm."""
    year_month, day = issue.date[:7], issue.date[8:]
    target = folder / issue.paper / year_month / day
    target.mkdir(parents=True, exist_ok=True)
    for n, story in enumerate(issue.stories, 1):
        body = "\n".join(f"<p>{html_lib.escape(p)}</p>" for p in story.paragraphs)
        page = _PAGE.format(title=html_lib.escape(story.title), date=issue.date, author=html_lib.escape(_author(story)),
                            ym=year_month, d=day, n=n, paper=issue.paper, page=1 + (n - 1) // 2,
                            kicker=html_lib.escape(story.kicker), subtitle=html_lib.escape(story.subtitle), body=body)
        (target / f"content_{n}.htm").write_text(page, encoding="utf-8")


def write_sets(form: str) -> int:
    """registers-<form>.{dev,test}.jsonl: every registers question, qid prefixed, archive forms/<form>."""
    count = 0
    for split in ("dev", "test"):
        lines = (DATA / f"registers.{split}.jsonl").read_text(encoding="utf-8").splitlines()
        out = [json.dumps({"archive": f"forms/{form}"}, ensure_ascii=False)]
        for line in lines:
            record = json.loads(line)
            if "question" not in record:
                continue
            record["qid"] = f"{form}-{record['qid']}"
            out.append(json.dumps(record, ensure_ascii=False))
            count += 1
        (DATA / f"registers-{form}.{split}.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")
    return count


def main() -> None:
    """Write every form of every registers issue, and the question sets for each form."""
    issues = load_issues()
    for form in FORMS:
        folder = DATA / "forms" / form
        folder.mkdir(parents=True, exist_ok=True)
        for issue in issues:
            if form == "plain":
                write_plain(issue, folder)
            elif form == "html":
                write_html(issue, folder)
            else:
                typeset_issue(folder / f"{issue.name}.pdf", issue.paper, issue.date, issue.stories, _EDITORS)
        print(f"{form}: {len(issues)} issues, {write_sets(form)} questions")


if __name__ == "__main__":
    main()
