"""The pure parts of `bench scale`: rows per knowledge base, the table, the chart."""

from __future__ import annotations

from bench.scale_bench import plot, scale_rows, table


def result(chunks: int, http_p50: float, baseline: bool) -> dict:
    out = {"data": f"/kb{chunks}",
           "in-process": {"chunks": chunks, "wall": {"n": 4, "p50": http_p50 - 2, "p95": 30.0},
                          "embed_query_alone": {"n": 4, "p50": 7.0, "p95": 9.0},
                          "peak_rss_mb": 900.0},
           "http": {"wall": {"n": 4, "p50": http_p50, "p95": 40.0}, "peak_rss_mb": 1000.0}}
    if baseline:
        out["baseline"] = {"wall": {"n": 4, "p50": 12.0, "p95": 15.0}, "peak_rss_mb": 700.0}
    return out


def test_rows_follow_the_chunk_count_and_absent_series_are_none():
    rows = scale_rows([result(9000, 25.0, False), result(900, 20.0, True)])
    assert [r["chunks"] for r in rows] == [900, 9000]
    assert rows[0]["baseline"]["p50"] == 12.0 and rows[1]["baseline"] is None
    assert rows[1]["http"] == {"p50": 25.0, "p95": 40.0, "rss_mb": 1000.0}
    assert rows[1]["embed"]["p50"] == 7.0 and rows[1]["embed"]["rss_mb"] == 900.0
    lines = table(rows).splitlines()
    assert sum("POST /api/ask" in line for line in lines) == 2
    assert sum("LangChain" in line for line in lines) == 1


def test_the_chart_is_a_png(tmp_path):
    rows = scale_rows([result(900, 20.0, True), result(9000, 25.0, True),
                       result(71000, 30.0, False)])
    path = plot(rows, tmp_path / "out" / "scale.png", "test")
    assert path.read_bytes()[:4] == b"\x89PNG"
