from rag.enumerations import asked_count, asked_family, find_enumerations, is_list_question, numeral_value


def _items(text: str) -> list[list[str]]:
    return [[text[i.start : i.end] for i in e.items] for e in find_enumerations(text)]


def test_marker_families() -> None:
    text = "会议提出三点要求：一是加强领导；二是压实责任；三是严格考核。\n一要统一思想。二要狠抓落实。"
    assert _items(text) == [["一是加强领导；", "二是压实责任；", "三是严格考核。"], ["一要统一思想。", "二要狠抓落实。"]]


def test_the_other_families_papers_use() -> None:
    assert _items("措施有三：①加大投入。②强化督导。③严格问责。") == [["①加大投入。", "②强化督导。", "③严格问责。"]]
    assert _items("他说，首先，要稳住就业。其次，要保障民生。最后，要防范风险。") == [
        ["首先，要稳住就业。", "其次，要保障民生。", "最后，要防范风险。"]]
    assert _items("一方面，加强监管；另一方面，优化服务。") == [["一方面，加强监管；", "另一方面，优化服务。"]]
    assert _items("主要做法：\n● 建立台账。\n● 包村到户。\n● 定期回访。") == [["● 建立台账。", "● 包村到户。", "● 定期回访。"]]


def test_words_that_only_look_like_markers() -> None:
    assert _items("打通服务群众最后一公里。首先要明确的是方向。") == []  # no comma after the ordinal word
    assert _items("另一方面的问题也要重视。") == []  # 另一方面 with no 一方面 before it is no list
    assert _items("最后，会议宣布散会。") == []  # 最后 continues a list; it starts none


def test_items_in_separate_paragraphs_end_at_their_first_sentence() -> None:
    text = "他提出两点要求，一、要提高认识。要抓紧时间。\n二、要强化措施。确保落实。"
    assert _items(text) == [["一、要提高认识。", "二、要强化措施。"]]


def test_numbers_inside_words_are_not_markers() -> None:
    assert _items("统一思想，统一行动，万无一失。") == []
    assert _items("第一书记到村里调研。") == []


def test_question_shapes() -> None:
    assert is_list_question("王宏伟提出了哪几点要求") and is_list_question("有哪些做法")
    assert is_list_question("孙晓从哪五个关系作了要求") and not is_list_question("会议由谁主持")
    assert asked_count("哪五个关系") == 5 and asked_count("哪几点要求") is None
    assert asked_family("做到哪几个“要”") == "yao"
    assert [numeral_value(t) for t in ["一", "十", "十二", "二十", "7"]] == [1, 10, 12, 20, 7]
