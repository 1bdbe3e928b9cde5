"""Follow-ups in the terminal (issue 18): `newsqa ask` asks back when a question points at an
earlier one it never saw, `newsqa chat` answers it with the history and says how it read it.
The real `newsqa` console script, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

NEWSQA = Path(sys.executable).parent / "newsqa"


def _newsqa(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(NEWSQA), *args], input=stdin, capture_output=True, text=True, timeout=300, check=False)


def test_an_ordinal_without_history_asks_for_the_earlier_question(sample_index: Path) -> None:
    done = _newsqa("ask", "第二点是什么", "--index", str(sample_index))
    assert done.returncode == 2 and done.stdout == ""
    assert "前面问过" in done.stderr and "newsqa chat" in done.stderr and "Traceback" not in done.stderr


def test_a_pronoun_without_history_asks_too_even_as_json(sample_index: Path) -> None:
    done = _newsqa("ask", "他还强调了什么？", "--index", str(sample_index), "--json")
    assert done.returncode == 2 and done.stdout == "" and "前面问过" in done.stderr


def test_a_question_naming_its_subject_is_answered(sample_index: Path) -> None:
    done = _newsqa("ask", "王宏伟提出了哪几点要求", "--index", str(sample_index))
    assert done.returncode == 0 and "抓住关键环节" in done.stdout and "理解为" not in done.stdout


def test_the_refusal_loads_neither_llama_index_nor_chroma(sample_index: Path) -> None:
    probe = ("import sys, cli\n"
             "try:\n"
             f"    cli.main(['ask', '第二点是什么', '--index', {str(sample_index)!r}])\n"
             "except SystemExit as exit:\n"
             "    print(exit.code, 'llama_index.core' in sys.modules, 'chromadb' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.split() == ["2", "False", "False"], done.stderr


def test_chat_answers_the_follow_up_and_shows_how_it_read_it(sample_index: Path) -> None:
    done = _newsqa("chat", "--index", str(sample_index), stdin="第二点是什么\n王宏伟提出了哪几点要求\n第二点是什么\n")
    assert done.returncode == 0
    first, _, rest = done.stdout.partition("王宏伟提出三点要求")
    assert "前面问过" in first  # the opening follow-up: nothing to follow yet
    assert "（理解为：王宏伟提出了哪几点要求，第二点是什么）" in rest
    second = rest.split("（理解为：")[1]
    assert "二、要切实抓住关键环节" in second and "一、要切实扛起政治责任" not in second


def test_a_batch_line_without_history_fails_alone(sample_index: Path, tmp_path: Path) -> None:
    lines = [{"qid": "alone", "question": "第二点是什么"},
             {"qid": "followed", "question": "第二点是什么", "history": ["王宏伟提出了哪几点要求"]}]
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    done = _newsqa("ask", "--questions", str(questions), "--index", str(sample_index))
    alone, followed = (json.loads(line) for line in done.stdout.splitlines())
    assert done.returncode == 0 and "前面问过" in alone["error"] and "citations" not in alone
    assert "抓住关键环节" in followed["answer"] and followed["condensed_question"]
