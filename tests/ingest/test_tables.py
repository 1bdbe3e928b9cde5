"""Table rows carry their column headers, so one row answers 「北山区的降水量是多少」 and can be cited alone."""

from __future__ import annotations

from ingest.articles import split_document
from ingest.document import Document
from ingest.tables import with_headers

RAIN = "## 我市启动防汛应急响应\n\n本报讯 6月7日，各区县降水情况如下：\n\n区县\t降水量（毫米）\t较常年同期\n城关区  86.4  偏多三成\n北山区　143.5　偏多近一倍\n\n全市平均降水量98.3毫米。"


def test_each_row_names_its_columns_and_the_header_line_stays() -> None:
    (article,) = split_document(Document("2023-06-08_晚报.txt", RAIN))
    lines = article.text.split("\n")
    assert lines[1:4] == ["区县　降水量（毫米）　较常年同期", "城关区　降水量（毫米）：86.4　较常年同期：偏多三成",
                          "北山区　降水量（毫米）：143.5　较常年同期：偏多近一倍"]
    assert lines[-1] == "全市平均降水量98.3毫米。"


def test_name_lists_and_sentences_are_not_tables() -> None:
    names = ["县领导　王宏伟　薛玉马", "市领导　潘鹏　史红兵", "县人大　李明　张华"]
    assert with_headers(names) == names
    sentences = ["区县　降水量", "城关区，86.4", "北山区，143.5"]
    assert with_headers(sentences) == sentences
    assert with_headers(["区县　降水量", "城关区　86.4"]) == ["区县　降水量", "城关区　86.4"]  # one row: no table


def test_a_table_in_a_jsonl_record_gets_its_headers_too() -> None:
    text = RAIN.split("\n\n", 1)[1]
    (article,) = split_document(Document("rain.jsonl", text, record_id="7", title="我市启动防汛应急响应", is_record=True))
    assert "北山区　降水量（毫米）：143.5　较常年同期：偏多近一倍" in article.text.split("\n")
    assert article.meta["record_id"] == "7"
