from ingest.clean import clean_text
from tests.conftest import SAMPLE_FILE


def test_page_break_inside_a_sentence_is_repaired() -> None:
    text = clean_text(SAMPLE_FILE.read_text(encoding="utf-8-sig"))
    assert "高度重视脱贫成效考核工作,马上行动起来" in text
    assert "要吃透方案,吃透问题" in text
    assert "对于重视不够" in text and "双层保障" in text and "聚焦重点难点" in text


def test_real_paragraph_ends_stay() -> None:
    text = clean_text("第一段到此为止，这一句话已经结束了。\n\n第二段开始了，这也是一段完整的话。")
    assert text.split("\n") == ["第一段到此为止，这一句话已经结束了。", "第二段开始了，这也是一段完整的话。"]


def test_short_unpunctuated_lines_are_subheadlines_not_breaks() -> None:
    text = clean_text("国内联播快讯\n\n我国成功发射一颗新的卫星。")
    assert text.split("\n") == ["国内联播快讯", "我国成功发射一颗新的卫星。"]


def test_numbered_item_after_a_break_starts_its_own_paragraph() -> None:
    text = clean_text("会议要求做好以下几项工作，并且认真落实到每个环节和每个岗位\n一、加强领导。")
    assert text.split("\n")[-1] == "一、加强领导。"


def test_white_space_and_bom_are_normalised() -> None:
    assert clean_text("\ufeff  标题  \r\n\r\n\r\n正文。 ") == "标题\n正文。"
