"""What counts as a question (rag.question_limits): empty and wordless questions and overlong ones
are refused with an English and a Chinese reason; real questions come back trimmed."""

import pytest

from rag.question_limits import MAX_QUESTION_CHARS, QuestionRejected, check_question


@pytest.mark.parametrize("text", ["", "   \n\t\u3000", "？？！。…", "🎉🎉👍", "\u200b\ufeff", "[]()*#"])
def test_questions_without_words_are_refused(text: str) -> None:
    with pytest.raises(QuestionRejected) as caught:
        check_question(text)
    assert "请输入问题" in caught.value.reason_zh and caught.value.reason


def test_a_lone_surrogate_and_non_text_are_refused() -> None:
    for bad in ("县长是谁\ud800", None, 42):
        with pytest.raises(QuestionRejected):
            check_question(bad)


def test_the_length_limit_is_said_in_both_languages() -> None:
    assert check_question("县" * MAX_QUESTION_CHARS) == "县" * MAX_QUESTION_CHARS
    with pytest.raises(QuestionRejected) as caught:
        check_question("县" * (MAX_QUESTION_CHARS + 1))
    assert "500" in caught.value.reason and "500 字" in caught.value.reason_zh


def test_a_real_question_comes_back_trimmed() -> None:
    assert check_question("  王宏伟提出了哪几点要求？\n") == "王宏伟提出了哪几点要求？"
    assert check_question("GDP 2023") == "GDP 2023"
