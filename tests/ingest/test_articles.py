from dataclasses import replace

from ingest.articles import date_from_name, split_document
from ingest.document import Document
from tests.conftest import SAMPLE_FILE

TITLES = [
    "全县脱贫工作成效考核推进会召开",
    "王宏伟在下高池村调研脱贫攻坚工作",
    "孙晓到横水镇调研“枫桥经验”学习推广情况",
    "县人大对我县《城乡规划法》实施情况进行执法检查",
]


def _sample(date: str | None = None) -> list:
    document = Document(source=SAMPLE_FILE.name, text=SAMPLE_FILE.read_text(encoding="utf-8-sig"))
    return split_document(document, date)


def test_sample_splits_into_its_four_headed_articles() -> None:
    articles = _sample()
    assert [a.title for a in articles] == TITLES
    assert all(a.text.startswith("本报讯") for a in articles)
    assert len({a.id for a in articles}) == 4


def test_month_day_without_a_year_is_kept_not_invented() -> None:
    first = _sample()[0]
    assert first.date is None
    assert first.meta["date_text"] == "11月15日"


def test_month_day_takes_the_issue_year() -> None:
    assert [a.date for a in _sample("2020-11-17")] == ["2020-11-15", "2020-11-16", "2020-11-15", "2020-11-09"]


def test_ids_are_stable_across_runs() -> None:
    assert [a.id for a in _sample()] == [a.id for a in _sample()]


def test_dates_in_file_names() -> None:
    assert date_from_name("jx_2020-11-17.txt") == "2020-11-17"
    assert date_from_name("20201117_issue.md") == "2020-11-17"
    assert date_from_name("000_49aff026e3962e89.txt") is None
    assert date_from_name("20201399.txt") is None


def test_a_record_is_one_article_with_its_record_id_scoped_by_its_archive() -> None:
    record = Document(source="a.jsonl", text="正文第一段。\n正文第二段。", record_id="r1", title="标题", date="2023-01-02",
                      meta={"url": "u"}, is_record=True, source_key="/archives/a.jsonl")
    (article,) = split_document(record)
    assert (article.title, article.date, article.text) == ("标题", "2023-01-02", "正文第一段。\n正文第二段。")
    assert article.meta == {"url": "u", "record_id": "r1", "source_key": "/archives/a.jsonl", "date_from": "record"}
    (other,) = split_document(replace(record, source_key="/archives/b.jsonl"))  # another archive's record "r1"
    assert article.id != other.id and article.source == other.source == "a.jsonl"


def test_a_file_without_headings_is_one_article_titled_by_its_first_short_line() -> None:
    (article,) = split_document(Document(source="x.txt", text="县里召开会议\n\n本报讯 3月2日，县里召开会议。"), "2021-05-01")
    assert article.title == "县里召开会议"
    assert article.date == "2021-03-02"
