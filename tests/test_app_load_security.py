"""The served page over real HTTP: 50 concurrent questions, then what an outsider can and cannot reach.

Each server is `newsqa serve --index COPY --port FREE` (no --host: the default bind is under test) in a
subprocess over a copy of the sample index. Run with `pytest -m server tests/test_app_load_security.py -s`
to see the latency figures.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.test_app import ROOT, _wait_until_up

NEWSQA = str(Path(sys.executable).with_name("newsqa"))
USER, PASSWORD = "editor", "s3cret-pass"
# (question, phrases every answer must contain)
QUESTIONS = [
    ("王宏伟提出了哪几点要求", ("扛起政治责任", "抓住关键环节", "强化组织领导")),
    ("会议由谁主持", ("薛玉马",)),
    ("孙晓从哪五个关系作了要求", ("法治和综治", "自治、法治、德治")),
    ("绛县2019年的GDP是多少", ("档案中没有找到",)),
]
LOAD_REQUESTS, LOAD_WORKERS, LOAD_SECONDS = 50, 25, 300
ARTICLE_WORDS = ("王宏伟", "薛玉马", "孙晓", "脱贫")
# what a leaked file would show: /etc/passwd, the index's SQLite file, the project file
LEAK_MARKERS = (b"root:", b"SQLite format 3", b"[project]", b"[tool.pytest")


@contextmanager
def _serve_cli(index_dir: Path, **env: str) -> Iterator[tuple[str, int]]:
    """`newsqa serve` over `index_dir` without --host; yields (url, port)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSQA_AUTH", "NEWSQA_HOST"))} | env
    log_path = index_dir.parent / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([NEWSQA, "serve", "--index", str(index_dir), "--port", str(port)], cwd=ROOT,
                                   env=environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/", process)
            yield f"http://127.0.0.1:{port}/", port
        finally:
            process.terminate()
            process.wait(timeout=30)


def _copy(sample_index: Path, factory: pytest.TempPathFactory, name: str) -> Path:
    index_dir = factory.mktemp(name) / "index"
    shutil.copytree(sample_index, index_dir)
    return index_dir


@pytest.fixture(scope="module")
def served(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    """(url, port, index dir) of an open page (no login) over a private copy of the sample index."""
    index_dir = _copy(sample_index, tmp_path_factory, "load")
    with _serve_cli(index_dir) as (url, port):
        yield url, port, index_dir


@pytest.fixture(scope="module")
def guarded(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(url, port) of a page with login configured through NEWSQA_AUTH_USER / NEWSQA_AUTH_PASSWORD."""
    index_dir = _copy(sample_index, tmp_path_factory, "guarded")
    with _serve_cli(index_dir, NEWSQA_AUTH_USER=USER, NEWSQA_AUTH_PASSWORD=PASSWORD) as (url, port):
        yield url, port


def _request(port: int, method: str, path: str, body: bytes | str | None = None,
             headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, dict[str, list[str]], bytes]:
    """One request with `path` sent as is (http.client does not normalise `..` or %-escapes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        found: dict[str, list[str]] = {}
        for key, value in response.getheaders():
            found.setdefault(key.lower(), []).append(value)
        return response.status, found, response.read()
    finally:
        connection.close()


def _multipart(name: str, data: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _upload(port: int, name: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    body, content_type = _multipart(name, data)
    status, _, out = _request(port, "POST", "/gradio_api/upload", body, content_type | (headers or {}), timeout=120)
    return status, out


def _call(port: int, api_name: str, data: list[Any], headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Gradio's two-step HTTP API: POST the inputs, then read the event stream to its end."""
    json_headers = {"Content-Type": "application/json"} | (headers or {})
    status, _, out = _request(port, "POST", f"/gradio_api/call/{api_name}", json.dumps({"data": data}), json_headers)
    if status != 200:
        return status, out.decode("utf-8", "replace")
    event_id = json.loads(out)["event_id"]
    status, _, out = _request(port, "GET", f"/gradio_api/call/{api_name}/{event_id}", headers=headers, timeout=120)
    return status, out.decode("utf-8", "replace")


def _final_event(stream: str) -> tuple[str, Any]:
    """(event name, decoded data) of the last event of a gradio event stream."""
    events = re.findall(r"^event: (\w+)\ndata: (.*)$", stream, flags=re.M)
    assert events, stream[:300]
    name, data = events[-1]
    return name, json.loads(data)


def _text(content: Any) -> str:
    """The text of a chatbot message, whatever shape the client hands it back in."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    return "".join(_text(part) for part in content or [])


def _answer(chat: list[dict[str, Any]]) -> str:
    return _text(chat[-1]["content"])


def _article_text_in(body: bytes) -> bool:
    text = body.decode("utf-8", "replace")
    return any(w in text or json.dumps(w).strip('"') in text for w in ARTICLE_WORDS)


# ---- load --------------------------------------------------------------------------------------------
def _ask_once(url: str, question: str) -> tuple[str, float, str, str]:
    """One visitor: a fresh client (its own session) asks once; (question, seconds, answer, sources)."""
    from gradio_client import Client

    started = time.monotonic()
    client = Client(url, verbose=False, download_files=False)
    chat, sources, _note = client.predict(question, [], "", "", api_name="/ask")
    return question, time.monotonic() - started, _answer(chat), sources


@pytest.mark.server
def test_fifty_concurrent_questions_all_answered(served: tuple[str, int, Path],
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    url = served[0]
    _ask_once(url, QUESTIONS[0][0])  # warm-up: the first answer loads jieba and the BM25 index
    expected = dict(QUESTIONS)
    asked = [QUESTIONS[i % len(QUESTIONS)][0] for i in range(LOAD_REQUESTS)]
    results, errors = [], []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=LOAD_WORKERS) as pool:
        futures = [pool.submit(_ask_once, url, q) for q in asked]
        for future in as_completed(futures, timeout=LOAD_SECONDS):
            try:
                results.append(future.result())
            except Exception as exc:  # every failure is counted and shown, not just the first
                errors.append(repr(exc))
    wall = time.monotonic() - started
    latencies = sorted(seconds for _, seconds, _, _ in results)
    figures = {"requests": LOAD_REQUESTS, "workers": LOAD_WORKERS, "errors": len(errors), "wall_s": round(wall, 2),
               "p50_s": round(statistics.median(latencies), 3) if latencies else None,
               "p95_s": round(latencies[math.ceil(0.95 * len(latencies)) - 1], 3) if latencies else None,
               "max_s": round(latencies[-1], 3) if latencies else None}
    report = tmp_path_factory.mktemp("load") / "latency.json"
    report.write_text(json.dumps(figures, ensure_ascii=False), encoding="utf-8")
    print(f"\nload: {json.dumps(figures)} -> {report}")
    assert not errors, errors[:5]
    assert len(results) == LOAD_REQUESTS
    for question, _, answer, sources in results:
        missing = [p for p in expected[question] if p not in answer]
        assert not missing, (question, missing, answer[:300])
        assert 'class="source-card' in sources, question  # a refusal's cards are "source-card related"


# ---- security: bind address --------------------------------------------------------------------------
def _listening_addresses(port: int) -> set[str]:
    """Local addresses in LISTEN state on `port`, from /proc/net/tcp and tcp6 (Linux)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] != "0A" or int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(address)
            words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # each 32-bit word is host-order
            if len(words) == 4:
                found.add(".".join(str(b) for b in words))
            elif words[:12] == b"\0" * 10 + b"\xff\xff":  # an IPv4-mapped IPv6 address
                found.add(".".join(str(b) for b in words[12:]))
            else:
                found.add(words.hex())
    return found


@pytest.mark.server
def test_binds_loopback_only_by_default(served: tuple[str, int, Path]) -> None:
    _, port, _ = served
    if not Path("/proc/net/tcp").exists():
        pytest.skip("reads the listening sockets from /proc/net/tcp (Linux)")
    assert _listening_addresses(port) == {"127.0.0.1"}
    status, _, _ = _request(port, "GET", "/")
    assert status == 200
    if shutil.which("ss"):  # a second opinion from iproute2
        listing = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=10).stdout
        assert f"127.0.0.1:{port}" in listing
        assert not re.search(rf"(0\.0\.0\.0|\*|\[::\]):{port}\b", listing), listing


# ---- security: login ---------------------------------------------------------------------------------
@pytest.mark.server
def test_without_login_no_answer_and_no_file(guarded: tuple[str, int]) -> None:
    url, port = guarded
    inputs = ["王宏伟提出了哪几点要求", [], "", ""]
    for route in ("/gradio_api/call/ask", "/gradio_api/call/v2/ask", "/gradio_api/run/ask", "/gradio_api/api/ask",
                  "/gradio_api/queue/join", "/gradio_api/call/upload"):
        body = json.dumps({"data": inputs, "fn_index": 0, "session_hash": "outsider"})
        status, _, out = _request(port, "POST", route, body, {"Content-Type": "application/json"})
        assert status == 401 and not _article_text_in(out), (route, status, out[:200])
    for route in ("/config", "/gradio_api/info", "/gradio_api/openapi.json", "/monitoring"):
        status, _, out = _request(port, "GET", route)
        assert status == 401 and not _article_text_in(out), (route, status)
    status, _, out = _request(port, "GET", "/")  # the login form, without the archive's titles or examples
    assert status == 200 and not _article_text_in(out)
    status, out = _upload(port, "a.txt", "本报讯 测试".encode())
    assert status == 401, out

    from gradio_client import Client

    with pytest.raises(Exception) as refused:  # noqa: B017 - the client's own error type is not ours to pin
        Client(url, verbose=False).predict(*inputs, api_name="/ask")
    assert "扛起政治责任" not in str(refused.value)
    print(f"\nclient without login: {type(refused.value).__name__}: {str(refused.value)[:120]}")

    status, headers, _ = _request(port, "POST", "/login", urllib.parse.urlencode({"username": USER, "password": "nope"}),
                                  {"Content-Type": "application/x-www-form-urlencoded"})
    assert status in (400, 401) and "set-cookie" not in headers


def _login(port: int) -> dict[str, str]:
    status, headers, out = _request(port, "POST", "/login", urllib.parse.urlencode({"username": USER, "password": PASSWORD}),
                                    {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, out
    return {"Cookie": "; ".join(c.split(";")[0] for c in headers.get("set-cookie", []))}


@pytest.mark.server
def test_with_login_the_api_answers(guarded: tuple[str, int]) -> None:
    url, port = guarded
    cookie = _login(port)
    status, stream = _call(port, "ask", ["王宏伟提出了哪几点要求", [], "", ""], cookie)
    name, data = _final_event(stream)
    assert status == 200 and name == "complete", stream[:300]
    assert "扛起政治责任" in _answer(data[0])

    status, out = _upload(port, "来稿.txt", "本报讯 登录后上传的来稿。".encode(), cookie)
    assert status == 200, out
    path = urllib.parse.quote(json.loads(out)[0])
    status, _, body = _request(port, "GET", f"/gradio_api/file={path}", headers=cookie)
    assert status == 200 and "登录后上传的来稿" in body.decode()
    status, _, body = _request(port, "GET", f"/gradio_api/file={path}")  # the same file, no cookie
    assert status == 401 and "来稿" not in body.decode("utf-8", "replace")

    from gradio_client import Client

    chat, _, _ = Client(url, auth=(USER, PASSWORD), verbose=False).predict("会议由谁主持", [], "", "", api_name="/ask")
    assert "薛玉马" in _answer(chat)


# ---- security: file routes ---------------------------------------------------------------------------
FILE_ROUTES = ("/gradio_api/file=", "/file=", "/gradio_api/file/", "/static/", "/assets/", "/svelte/",
               "/gradio_api/proxy=", "/gradio_api/custom_component/x/client/")


def _crafted(target: str) -> Iterator[str]:
    """`target` (an absolute path) written the ways a traversal tries to slip past a path check."""
    climb = "../" * 12 + target.lstrip("/")
    yield target
    yield climb
    yield climb.replace("../", "%2e%2e%2f")
    yield climb.replace("../", "%2E%2E/")
    yield climb.replace("../", "%252e%252e%252f")  # double-encoded
    yield climb.replace("../", "..%2f")
    yield climb.replace("../", "..%5c")
    yield climb.replace("../", "....//")
    yield urllib.parse.quote(target, safe="")
    yield "//" + target.lstrip("/")
    yield "." + target


@pytest.mark.server
def test_crafted_paths_are_refused_on_every_file_route(served: tuple[str, int, Path]) -> None:
    _, port, index_dir = served
    status, out = _upload(port, "legit.txt", "本报讯 合法上传。".encode())
    assert status == 200, out
    uploaded = json.loads(out)[0]
    status, _, body = _request(port, "GET", f"/gradio_api/file={uploaded}")  # the route does serve what it should
    assert status == 200 and "合法上传" in body.decode()

    targets = ["/etc/passwd", str((index_dir / "articles.sqlite").resolve()), str((ROOT / "pyproject.toml").resolve())]
    paths = [prefix + variant for prefix in FILE_ROUTES for t in targets for variant in _crafted(t)]
    # and climbing out of a legitimately uploaded file's folder
    paths += [f"/gradio_api/file={uploaded}/{variant}" for t in targets for variant in _crafted(t)]
    paths += [f"/gradio_api/file={Path(uploaded).parent}/{'../' * 6}{t.lstrip('/')}" for t in targets]
    refused = []
    for path in paths:
        status, _, body = _request(port, "GET", path, timeout=10)
        assert not any(m in body for m in LEAK_MARKERS), (path, status, body[:120])
        assert status in (400, 403, 404), (path, status, body[:120])
        refused.append(status)
    print(f"\nfile routes: {len(paths)} crafted paths refused ({sorted(set(refused))})")


# ---- security: uploads -------------------------------------------------------------------------------
@pytest.mark.server
def test_upload_over_the_limit_is_refused(served: tuple[str, int, Path]) -> None:
    _, port, _ = served
    status, out = _upload(port, "超大.txt", b"a" * (51 * 1024 * 1024))
    assert status == 413, (status, out[:200])
    assert b"maximum allowed size" in out


def _archive_counts(client: Any) -> int:
    """Articles in the archive, read through the page's own title-search endpoint."""
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    name = next(n for n, e in endpoints.items() if [p["label"] for p in e["parameters"]] == ["按标题搜索"])
    summary = client.predict("", api_name=name)[0]
    return int(re.search(r"\*\*文章\*\* (\d+) 篇", summary).group(1))


@pytest.mark.server
def test_only_allowed_types_and_uploaded_files_are_ingested(served: tuple[str, int, Path], tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    url, port, _ = served
    client = Client(url, verbose=False, download_files=False)
    before = _archive_counts(client)

    program = tmp_path / "setup.exe"
    program.write_bytes(b"MZ\x90\x00" + b"\x00" * 512)
    with pytest.raises(Exception, match="Invalid file type"):
        client.predict([handle_file(str(program))], "", api_name="/upload")

    # a file already on the server (allowed suffix) named by path instead of uploaded: refused
    for path in (str(ROOT / "README.md"), str(ROOT / "samples" / "000_49aff026e3962e89.txt"),
                 f"/tmp/gradio/x/{'../' * 4}{str(ROOT / 'README.md').lstrip('/')}"):
        status, stream = _call(port, "upload", [[{"path": path, "meta": {"_type": "gradio.FileData"}}], ""])
        assert status == 200 and _final_event(stream)[0] == "error", (path, stream[:300])
    assert _archive_counts(client) == before

    issue = tmp_path / "新一期.txt"  # the same route does ingest an allowed, uploaded file
    issue.write_text("# 青石镇古籍修复展开幕\n\n本报讯 11月20日,青石镇古籍修复展在镇文化站开幕。\n", encoding="utf-8")
    summary = client.predict([handle_file(str(issue))], "", api_name="/upload")[0]
    assert "导入完成" in summary and "新增文章 1 篇" in summary
    assert _archive_counts(client) == before + 1
