"""Plain text without `#` headings: every article found, none merged, none split; what is inside."""

import re
from pathlib import Path

import pytest

from ingest.articles import issue_date_of, split_document
from ingest.clean import clean_text
from ingest.headlines import split_plain
from ingest.document import Document
from ingest.read import read_file

ISSUES = Path(__file__).resolve().parents[2] / "eval" / "data" / "issues"
HEADLINE_FILE = ISSUES / "2024-03-15_晚报.txt"
HEADED = sorted(p for p in ISSUES.glob("*.txt") if p != HEADLINE_FILE)


def _articles(path: Path, text: str | None = None) -> list:
    document = read_file(path).documents[0]
    return split_document(Document(document.source, text) if text is not None else document)


def test_the_headline_file_splits_into_its_five_articles_with_their_title_parts() -> None:
    articles = _articles(HEADLINE_FILE)
    assert [a.title for a in articles] == ["全市春播备耕有序推进", "地铁2号线东延段开通试运营", "市消协发布去年消费投诉十大热点",
                                           "春风行动招聘会提供岗位5300余个", "春季过敏性鼻炎进入高发期"]
    assert articles[0].meta["kicker"] == "抢抓农时不误春光"
    assert articles[1].meta["subtitle"] == "新增6座车站\u3000全长9.8公里"
    assert articles[4].meta["kicker"] == "专家提醒做好个人防护"
    assert {a.meta["split"] for a in articles} == {"headlines"}
    # no headline line left in any body, and each body opens with its lead
    assert [a.text[:4] for a in articles] == ["本报讯（", "本报记者", "江州3月", "本报讯（", "本报记者"]


@pytest.mark.parametrize("path", HEADED, ids=lambda p: p.stem)
def test_a_headed_issue_without_its_hashes_gives_the_same_articles(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    headed = _articles(path)
    plain = _articles(path, re.sub(r"(?m)^#+\s*", "", text))
    assert [(a.title, a.text, a.date) for a in plain] == [(a.title, a.text, a.date) for a in headed]


def test_sub_headlines_inside_a_story_do_not_split_it() -> None:
    story = ["央视网消息（新闻联播）：今年以来，各地推进乡村振兴。", "产业兴旺带动增收", "在山西，各地发展特色种植，农民收入持续增长。",
             "人才回流激活乡村", "在河南，返乡青年创办合作社，带动周边群众就业。"]
    assert split_plain(story) is None
    brief = ["今天全国交通出行平稳有序", "今天（1月1日），全国交通出行整体平稳有序。", "白鹤滩水电站外送通道全部建成",
             "我国“西电东送”重点工程日前竣工投产。"]
    assert split_plain(brief) is None  # a brief-news column without leads stays one article


def test_a_text_quoted_in_full_is_not_a_new_article() -> None:
    lines = ["新华社北京9月13日电　国家主席在报纸发表署名文章。文章全文如下：", "推动两国关系实现更大发展",
             "中华人民共和国主席　习近平", "在这美丽的金秋时节，我即将进行国事访问。"]
    assert split_plain(lines) is None  # one article: the news and the text it quotes
    (article,) = split_document(Document("x.txt", "\n".join(lines)))
    assert article.meta["split"] == "whole" and "推动两国关系实现更大发展" in article.text


def test_an_interview_headline_starts_an_article_without_a_lead() -> None:
    lines = ["本报讯 3月2日，县里召开会议。", "让老旧小区“旧貌换新颜”——访市住建局局长陈国栋", "今年，我市将改造老旧小区。",
             "记者：进展如何？", "答：已开工132个。"]
    sections = split_plain(["县里召开会议", *lines])
    assert [s.title for s in sections or []] == ["县里召开会议", "让老旧小区“旧貌换新颜”——访市住建局局长陈国栋"]


def test_bylines_and_editor_lines_go_to_meta_captions_are_marked_turns_get_their_lines() -> None:
    text = ("全县冬季供暖启动\n\n本报记者　孟佳　通讯员　温晓东\n\n11月15日零时起，县城集中供暖正式运行。\n\n"
            "问：今年供暖期多长？答：今年供暖期为11月15日至次年3月15日。\n\n"
            "换热站工作人员调试设备。（本报记者　韩冬　摄）\n\n责任编辑：李明　校对：王芳")
    (article,) = split_document(Document("2023-11-22_报.txt", text))
    assert article.meta["byline"] == ["本报记者　孟佳　通讯员　温晓东"]
    assert article.meta["editor"] == ["责任编辑：李明", "校对：王芳"]
    assert article.meta["captions"] == ["换热站工作人员调试设备。（本报记者　韩冬　摄）"]
    assert article.text.split("\n") == ["11月15日零时起，县城集中供暖正式运行。", "问：今年供暖期多长？",
                                        "答：今年供暖期为11月15日至次年3月15日。", "换热站工作人员调试设备。（本报记者　韩冬　摄）"]


def test_table_rows_stay_one_line_each_with_their_cells() -> None:
    text = "各区县降水情况如下：\n区县\t降水量（毫米）\t较常年同期\n城关区  86.4  偏多三成\n北山区　143.5　偏多近一倍"
    assert clean_text(text).split("\n") == ["各区县降水情况如下：", "区县　降水量（毫米）　较常年同期", "城关区　86.4　偏多三成",
                                            "北山区　143.5　偏多近一倍"]


def test_the_issue_date_comes_from_the_page_then_the_file_name_then_the_flag() -> None:
    page = Document("2023-06-08_报.pdf", "x", date="2023-06-09", meta={"date_from": "page"})
    assert issue_date_of(page, "2023-06-10") == ("2023-06-09", "page")
    assert issue_date_of(Document("2023-06-08_报.txt", "x"), "2023-06-10") == ("2023-06-08", "file name")
    assert issue_date_of(Document("issue.txt", "x"), "2023-06-10") == ("2023-06-10", "--date")
    assert issue_date_of(Document("issue.txt", "x"), None) == (None, None)
    (article,) = split_document(Document("issue.txt", "县里召开会议\n\n本报讯 今天，县里召开会议。"), "2023-06-10")
    assert (article.date, article.meta["date_from"]) == ("2023-06-10", "--date")


def test_an_officials_name_over_a_report_stays_in_the_text() -> None:
    # who delivered a report is part of the news (「蒋丽华任何职？」), unlike a reporter's byline
    text = "## 关于2023年预算执行情况的报告（摘要）\n\n县财政局局长　蒋丽华\n\n一、2023年预算执行情况良好。"
    (article,) = split_document(Document("2024-01-12_报.txt", text))
    assert article.text.split("\n") == ["县财政局局长　蒋丽华", "一、2023年预算执行情况良好。"]
    assert article.meta["author"] == ["县财政局局长　蒋丽华"] and "byline" not in article.meta
