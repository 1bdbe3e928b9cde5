"""Questions asked while another process ingests keep getting whole, correctly cited answers."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.embed import Embedder
from rag.citations import invalid_markers
from rag.engine import Engine

pytestmark = pytest.mark.slow
_INGEST = (
    "import sys; from pathlib import Path; from ingest.pipeline import IngestConfig, ingest_paths; "
    "ingest_paths([sys.argv[1]], Path(sys.argv[2]), IngestConfig(batch_chunks=8))"
)


def test_answers_stay_whole_while_an_ingest_runs(writable_index: Path, embedder: Embedder, tmp_path: Path) -> None:
    archive = tmp_path / "more.jsonl"
    archive.write_text("\n".join(
        json.dumps({"id": f"m{i}", "title": f"乡镇动态{i}", "date": "2023-06-01",
                    "content": f"第{i}个乡镇召开干部大会，传达学习上级会议精神，部署近期重点工作。"}, ensure_ascii=False)
        for i in range(120)), encoding="utf-8")
    engine = Engine(writable_index, embedder=embedder)
    root = Path(__file__).resolve().parents[2]
    writer = subprocess.Popen([sys.executable, "-c", _INGEST, str(archive), str(writable_index)], cwd=root)
    asked = 0
    try:
        while writer.poll() is None or asked < 3:
            answer = engine.ask("王宏伟提出了哪几点要求")
            assert all(item in answer.answer for item in ("扛起政治责任", "抓住关键环节", "强化组织领导"))
            assert not invalid_markers(answer.answer, answer.citations)
            asked += 1
            time.sleep(0.2)
    finally:
        writer.wait(timeout=600)
    assert writer.returncode == 0 and asked >= 3
    assert "乡镇动态7" in {r.title for r in engine.ask("第7个乡镇召开干部大会").retrieved}  # the new text, once written
