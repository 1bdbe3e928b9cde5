"""The page's edges (issue 17): archive text in an answer never becomes a live link, serving to the
network without a login warns loudly, and uploads do not stay in the temp folder after ingest."""

from pathlib import Path

from app import exposure_warning
from app_archive import Archive, ingest_uploads
from app_render import answer_html
from ingest.embed import Embedder


def test_archive_text_never_renders_as_a_link() -> None:
    rendered = answer_html("见[链接](http://evil.example/login)，www.evil.example，a@evil.example [1]\n[x]: http://e.x", 1)
    for live in ("](", "://", "www.", "@", "\n[x]"):
        assert live not in rendered, live
    assert '<a class="cite" href="#src-1-1">[1]</a>' in rendered  # our own [n] links still work


def test_serving_to_the_network_without_login_warns() -> None:
    assert exposure_warning("127.0.0.1", login=False) is None and exposure_warning("0.0.0.0", login=True) is None
    warning = exposure_warning("0.0.0.0", login=False)
    assert warning is not None and "WITHOUT A LOGIN" in warning and "--auth-user" in warning


def test_uploads_are_removed_after_ingest(tmp_path: Path, embedder: Embedder) -> None:
    folder = tmp_path / "gradio" / "3f2a9c"
    folder.mkdir(parents=True)
    upload = folder / "issue.txt"
    upload.write_text("# 县里召开会议\n\n本报讯 县里召开春耕生产会议，部署春耕工作。\n", encoding="utf-8")
    archive = Archive(tmp_path / "index")
    *_, final = ingest_uploads(archive, [str(upload)], "", "session")
    assert "新增文章 1 篇" in final[0]
    assert not upload.exists() and not folder.exists()
