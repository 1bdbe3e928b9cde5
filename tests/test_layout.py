"""Imports point upstream only: ingest <- rag <- eval <- edges (cli.py, app*.py), with no cycle anywhere.

An import is any way one of our modules reaches another: `import`/`from`, `importlib.import_module("x")`,
`__import__("x")`, or running it as a child (`python -m x` in an argument list).
"""

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
EDGES = {path.stem for path in ROOT.glob("*.py")}  # cli, app, app_*, settings
OURS = {"ingest", "rag", "eval"} | EDGES


def _named(node: ast.AST) -> str | None:
    """The module a call names: importlib.import_module("x") / __import__("x"), or the x of "-m", "x"."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        if name in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
            return node.args[0].value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
        for flag, module in zip(items, items[1:]):
            if flag == "-m" and isinstance(module, str):
                return module
    return None


def _imports(path: Path, granular: bool = False) -> set[str]:
    """Our modules `path` reaches: top-level parts, or with `granular` whole dotted names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif (named := _named(node)) is not None:
            names.add(named)
    if not granular:
        names = {name.split(".")[0] for name in names}
    return {name for name in names if name.split(".")[0] in OURS}


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_no_back_edges() -> None:
    for part, allowed in ALLOWED.items():
        files = list((ROOT / part).rglob("*.py")) if (ROOT / part).is_dir() else [ROOT / f"{part}.py"]
        for path in files:
            bad = _imports(path) - allowed
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_cycle_between_modules() -> None:
    files = [p for part in ("ingest", "rag", "eval") for p in (ROOT / part).rglob("*.py")]
    files += [ROOT / f"{edge}.py" for edge in EDGES]
    graph = {_module_name(p): {n for n in _imports(p, granular=True)} for p in files}
    graph = {m: {n for n in targets if n in graph and n != m} for m, targets in graph.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            assert state.get(target) != 1, "import cycle: " + " -> ".join(path[path.index(target):] + [target])
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_checks_see_every_way_of_importing(tmp_path: Path) -> None:
    sample = tmp_path / "probe.py"
    sample.write_text('import importlib\nimportlib.import_module("cli")\n__import__("app")\n'
                      'run([sys.executable, "-m", "app_llm"])\n', encoding="utf-8")
    assert _imports(sample) == {"cli", "app", "app_llm"}


def test_help_loads_no_torch() -> None:
    import subprocess
    import sys

    code = "import sys, cli; cli.main(['--help'], standalone_mode=False); print('torch' in sys.modules, 'chromadb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip().endswith("False False")
