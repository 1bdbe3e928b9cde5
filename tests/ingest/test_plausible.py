"""Random bytes that happen to decode are refused by name; real text in any script the paper uses is not."""

import random
from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.plausible import implausible
from ingest.read import read_file
from tests.conftest import SAMPLE_FILE


def _random_files(folder: Path) -> list[Path]:
    rng = random.Random(17)
    made = {
        "gbk-bytes.txt": bytes(rng.randrange(0x81, 0xFF) for _ in range(5000)),  # decodes as GBK
        "han.txt": "".join(chr(rng.randrange(0x4E00, 0x9FFF)) for _ in range(1700)).encode(),
        "ascii.txt": bytes(rng.randrange(0x20, 0x7F) for _ in range(5000)),
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in made]


def test_random_bytes_that_decode_are_refused_by_name(tmp_path: Path) -> None:
    for path in _random_files(tmp_path):
        with pytest.raises(IngestError, match="does not read as language") as caught:
            read_file(path)
        assert caught.value.path == str(path) and "乱码" in caught.value.reason_zh


def test_real_text_reads_as_language() -> None:
    assert read_file(SAMPLE_FILE).documents
    traditional = "縣委書記主持召開會議，研究部署當前經濟工作和重點項目建設。會議強調，各級各部門要提高認識，" * 3
    english = "The county committee met on Monday to review the budget and the plans for the coming year. " * 5
    assert implausible(traditional) is None and implausible(english) is None
    assert implausible("短消息：会议召开。") is None  # too short to judge: never refused for that
