"""E-paper PDF pages typeset with reportlab: every article found, none merged, none split, in
reading order across columns; continued articles joined; furniture to meta; scans refused."""

from pathlib import Path

import pytest

from eval.typeset import Story, typeset_issue
from ingest.articles import split_document
from ingest.errors import IngestError
from ingest.read import read_file
from ingest.tables import with_headers

EDITORS = ("责任编辑：张立　美术编辑：王欣", "责任编辑：李华　校对：赵敏")


def _long_story() -> Story:
    items = [f"第{n}项，全县新建改建农村公路{n * 3}公里、修复桥梁{n}座，工程质量全部达标。" for n in range(1, 121)]
    return Story("全县农村公路建设提速", kicker="交通强县三年行动", paragraphs=[
        "本报讯（记者　钱晓峰）1月10日，记者从县交通运输局获悉，去年全县交通建设完成投资12.6亿元。",
        *["".join(items[i:i + 6]) for i in range(0, 120, 6)], "县交通运输局表示，今年将继续推进城乡交通一体化。"])


STORIES = [
    Story("县城第二水厂主体工程完工", paragraphs=[
        "本报讯（记者　任志刚）9月16日，记者从县住建局获悉，县城第二水厂主体工程已经完工，日供水能力5万吨。",
        "水厂总投资2.8亿元，采用臭氧活性炭深度处理工艺，出水水质优于国家标准。", "各水厂供水情况如下：",
        "水厂\u3000日供水（万吨）\u3000服务人口（万）", "第一水厂\u30003.5\u300012.6", "第二水厂\u30005.0\u300018.0",
        "水厂建设现场。（本报记者　韩冬　摄）"]),
    Story("今冬供暖热点问题解答", subtitle="访县热力公司经理郝建国", paragraphs=[
        "本报讯（记者　孟佳）11月15日零时起，县城集中供暖正式运行。记者采访了县热力公司经理郝建国。",
        "问：今年县城供暖期是多长时间？", "答：今年供暖期为11月15日至次年3月15日。", "问：供暖期间室温标准是多少？",
        "答：按照规定，居民住宅卧室、起居室温度不低于18℃。"]),
    _long_story(),
    Story("桐溪古镇第二届冰雪文化节启幕", paragraphs=[
        "本报讯（记者　陶然）1月6日，桐溪古镇第二届冰雪文化节启幕，将持续至2月24日元宵节。",
        "开幕当天，古镇接待游客2.3万人次，实现旅游收入860万元。"]),
]


@pytest.fixture(scope="module")
def issue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdf") / "issue.pdf"
    assert typeset_issue(path, "桐溪报", "2024-01-12", STORIES, EDITORS) >= 2
    return path


def _flat(text: str) -> str:
    return "".join(text.split())


def test_every_article_is_found_whole_in_reading_order(issue: Path) -> None:
    articles = split_document(read_file(issue).documents[0])
    assert [a.title for a in articles] == [s.title for s in STORIES]
    for article, story in zip(articles, STORIES):
        # nothing lost, merged or out of order (table rows read with their headers, as from any form)
        assert _flat(article.text) == _flat("".join(with_headers(story.paragraphs)))


def test_paragraphs_table_rows_and_interview_turns_keep_their_lines(issue: Path) -> None:
    water, heating = split_document(read_file(issue).documents[0])[:2]
    assert water.text.split("\n") == with_headers(STORIES[0].paragraphs)
    assert "第一水厂\u3000日供水（万吨）：3.5\u3000服务人口（万）：12.6" in water.text.split("\n")
    assert heating.text.split("\n") == STORIES[1].paragraphs
    assert heating.meta["subtitle"] == "访县热力公司经理郝建国"


def test_a_continued_article_is_joined_across_pages_without_its_markers(issue: Path) -> None:
    road = split_document(read_file(issue).documents[0])[2]
    assert road.meta["pages"] == [1, 2] and road.meta["kicker"] == "交通强县三年行动"
    assert "下转" not in road.text and "上接" not in road.text
    assert road.text.endswith("县交通运输局表示，今年将继续推进城乡交通一体化。")


def test_page_furniture_goes_to_meta_and_the_masthead_dates_the_issue(issue: Path) -> None:
    document = read_file(issue).documents[0]
    articles = split_document(document, "2030-01-01")
    assert {a.meta["date_from"] for a in articles} == {"page"} and document.date == "2024-01-12"
    assert articles[0].meta["editor"] == ["责任编辑：张立", "美术编辑：王欣"]
    assert "桐溪报" in articles[0].meta["page_header"]
    assert all("责任编辑" not in a.text and "第1版" not in a.text and "－1－" not in a.text for a in articles)
    assert articles[0].meta["captions"] == ["水厂建设现场。（本报记者　韩冬　摄）"]


def test_a_scanned_page_without_text_says_ocr_is_needed(tmp_path: Path) -> None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "scan.pdf"
    canvas = Canvas(str(path))
    canvas.drawImage(ImageReader(Image.new("L", (60, 80), 200)), 40, 40, 500, 700)
    canvas.showPage()
    canvas.save()
    with pytest.raises(IngestError, match="OCR"):
        read_file(path)
