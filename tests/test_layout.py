"""Imports point upstream only: ingest <- rag <- eval <- edges (cli.py, app.py)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# what each part may import of ours
ALLOWED = {
    "ingest": {"ingest"},
    "rag": {"ingest", "rag"},
    "eval": {"ingest", "rag", "eval"},
    "settings": set(),
}
OURS = {"ingest", "rag", "eval", "cli", "app", "settings", "app_render", "app_llm", "app_eval"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & OURS


def test_no_back_edges() -> None:
    for part, allowed in ALLOWED.items():
        files = list((ROOT / part).rglob("*.py")) if (ROOT / part).is_dir() else [ROOT / f"{part}.py"]
        for path in files:
            bad = _imports(path) - allowed
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_help_loads_no_torch() -> None:
    import subprocess
    import sys

    code = "import sys, cli; cli.main(['--help'], standalone_mode=False); print('torch' in sys.modules, 'chromadb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip().endswith("False False")
