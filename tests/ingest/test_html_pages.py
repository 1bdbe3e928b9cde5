"""数字报 HTML pages: one article per page with its title parts, author and date; a folder of
pages is one issue; a page without an article body is refused by name."""

from pathlib import Path

import pytest

from ingest.articles import split_document
from ingest.embed import Embedder
from ingest.errors import IngestError
from ingest.index import Index
from ingest.pipeline import IngestConfig, ingest_paths
from ingest.read import read_file

PAGE = """<html><head><meta charset="utf-8"><title>{title}</title>{meta}</head><body>
<div class="banner">云溪晚报　第02版：要闻</div>
<h3>{kicker}</h3><h1>{title}</h1><h2>{subtitle}</h2><p class="author">本报记者　郭晓燕</p>
<div id="ozoom">{body}</div></body></html>"""
BODY = ("<p>本报讯（记者　郭晓燕）6月7日17时，市防汛抗旱指挥部决定启动防汛Ⅳ级应急响应。</p>"
        "<p>各区县降水情况如下：</p><table><tr><td>区县</td><td>降水量（毫米）</td></tr>"
        "<tr><td>北山区</td><td>143.5</td></tr><tr><td>城关区</td><td>86.4</td></tr></table>"
        "<p>记者：目前进展如何？</p><p>答：已开闸泄洪。</p><p>（本报记者　韩冬　摄）</p><p>责任编辑：张立</p>")


def _write(path: Path, title: str, body: str = BODY, meta: str = "", kicker: str = "", subtitle: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PAGE.format(title=title, meta=meta, kicker=kicker, subtitle=subtitle, body=body), encoding="utf-8")
    return path


def test_a_page_is_one_article_with_its_title_parts_byline_and_date(tmp_path: Path) -> None:
    page = _write(tmp_path / "content_1.htm", "我市启动防汛Ⅳ级应急响应", kicker="强降雨来袭", subtitle="全市进入应急状态",
                  meta='<meta name="publishdate" content="2023-06-08">')
    (article,) = split_document(read_file(page).documents[0], "2030-01-01")
    assert article.title == "我市启动防汛Ⅳ级应急响应"
    assert (article.meta["kicker"], article.meta["subtitle"]) == ("强降雨来袭", "全市进入应急状态")
    assert (article.date, article.meta["date_from"], article.meta["page"]) == ("2023-06-07", "page", 2)
    assert article.meta["byline"] == ["记者　郭晓燕"] and article.meta["editor"] == ["责任编辑：张立"]
    assert article.text.split("\n") == ["本报讯（记者　郭晓燕）6月7日17时，市防汛抗旱指挥部决定启动防汛Ⅳ级应急响应。", "各区县降水情况如下：",
                                        "区县　降水量（毫米）", "北山区　降水量（毫米）：143.5", "城关区　降水量（毫米）：86.4", "记者：目前进展如何？", "答：已开闸泄洪。",
                                        "（本报记者　韩冬　摄）"]


def test_the_url_path_dates_a_page_that_says_nothing_of_its_date(tmp_path: Path) -> None:
    page = _write(tmp_path / "html" / "2023-06" / "08" / "content_2.htm", "夜市经济点亮城市“烟火气”",
                  body="<p>本报讯（记者　刘畅）华灯初上，城关区鼓楼夜市里游人如织。</p>")
    (article,) = split_document(read_file(page).documents[0])
    assert (article.date, article.meta["date_from"]) == ("2023-06-08", "url")
    canonical = _write(tmp_path / "c.htm", "夜市", body="<p>华灯初上。</p>",
                       meta='<link rel="canonical" href="http://epaper.example.cn/html/2023-05/04/content_9.htm">')
    assert split_document(read_file(canonical).documents[0])[0].date == "2023-05-04"


def test_a_page_without_an_article_body_is_refused_by_name(tmp_path: Path) -> None:
    page = _write(tmp_path / "2023-06" / "08" / "node_1.htm", "第01版：要闻", body="")
    with pytest.raises(IngestError, match="no article body"):
        read_file(page)


def test_an_ordinary_web_page_is_read_as_before(tmp_path: Path) -> None:
    page = tmp_path / "notes.html"
    page.write_text("<html><body><h1>县里召开会议</h1><p>本报讯 3月2日，县里召开会议。</p></body></html>", encoding="utf-8")
    (article,) = split_document(read_file(page).documents[0])
    assert (article.title, article.meta["split"]) == ("县里召开会议", "headings")


def test_a_folder_of_pages_ingests_as_one_issue(tmp_path: Path, embedder: Embedder) -> None:
    folder = Path(__file__).resolve().parents[2] / "eval" / "data" / "forms" / "html" / "青石报"
    report = ingest_paths([str(folder)], tmp_path / "index", IngestConfig(), embedder=embedder)
    assert report.articles_added == 4 and not report.errors
    assert [(f["articles"], f["split"]) for f in report.file_articles] == [(1, "page")] * 4
    stored = {s.article.title: s.article for s in Index.open(tmp_path / "index").list_articles()}
    assert set(stored) == {"全县冬春农田水利基本建设动员会召开", "今冬供暖热点问题解答", "青石县粮食总产再创新高",
                           "青石县首届“村BA”篮球联赛总决赛落幕"}
    assert {a.meta["date_from"] for a in stored.values()} == {"page"}
