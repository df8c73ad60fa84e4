"""Cost against corpus size: `bench query` over several knowledge bases, one chart.

For each knowledge base (e.g. the shared corpus, ten times it, the full scale corpus) the same
questions are asked as `cppcc-kb bench query --http` asks them — in-process, over HTTP, the
question's embedding alone and, where DIR-langchain exists, the LangChain retriever — and the
p50/p95 and peak RSS of each are plotted against the number of chunks. Where the embedding
dominates, the ask's curve should run flat beside the embedding's.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

SERIES = (("http", "POST /api/ask", "#2f6fb0"), ("in-process", "Bot.ask", "#3a9a5b"),
          ("embed", "query embedding alone", "#9aa5b1"),
          ("baseline", "LangChain retriever k=5", "#d08a2e"))


class ScaleError(Exception):
    """A saved run that cannot be charted; the message names the file and the fix."""


def load_results(path: Path) -> dict:
    """One knowledge base's results, as `bench query --json FILE` wrote them."""
    try:
        result = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScaleError(f"{path}: not readable as JSON ({exc}); give the file that "
                         "`cppcc-kb bench query --json FILE` wrote") from exc
    if not isinstance(result, dict) or not (result.get("in-process") or {}).get("chunks"):
        raise ScaleError(f"{path}: holds no `bench query` run (no in-process measurement); "
                         "give the file that `cppcc-kb bench query --http --json FILE` wrote")
    return result


def scale_rows(results: list[dict]) -> list[dict]:
    """One row per knowledge base: chunks, and p50/p95/peak RSS per series (None if absent)."""
    rows = []
    for r in results:
        ours = r.get("in-process") or {}
        row = {"data": r["data"], "chunks": ours.get("chunks", 0)}
        for key, _, _ in SERIES:
            part = ours.get("embed_query_alone") if key == "embed" else (r.get(key) or {}).get("wall")
            rss = (ours if key == "embed" else r.get(key) or {}).get("peak_rss_mb")
            row[key] = None if not part or not part.get("n") else {
                "p50": part["p50"], "p95": part["p95"], "rss_mb": rss}
        rows.append(row)
    return sorted(rows, key=lambda row: row["chunks"])


def table(rows: list[dict]) -> str:
    header = f"{'chunks':>8}  {'series':<26}{'p50 ms':>9}{'p95 ms':>9}{'peak RSS MB':>13}"
    lines = [header, "-" * len(header)]
    for row in rows:
        for key, label, _ in SERIES:
            s = row[key]
            if s:
                rss = f"{s['rss_mb']:.0f}" if s.get("rss_mb") else "—"
                lines.append(f"{row['chunks']:>8,}  {label:<26}{s['p50']:>9.1f}{s['p95']:>9.1f}"
                             f"{rss:>13}")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path, title: str) -> Path:
    fig, (lat, mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    xs = [row["chunks"] for row in rows]
    for key, label, colour in SERIES:
        pts = [(row["chunks"], row[key]) for row in rows if row[key]]
        if not pts:
            continue
        x = [p[0] for p in pts]
        lat.plot(x, [p[1]["p50"] for p in pts], "o-", color=colour, label=f"{label} p50")
        lat.plot(x, [p[1]["p95"] for p in pts], "s--", color=colour, alpha=0.6,
                 label=f"{label} p95")
        rss = [(p[0], p[1]["rss_mb"]) for p in pts if p[1].get("rss_mb")]
        if rss and key != "embed":
            mem.plot([p[0] for p in rss], [p[1] for p in rss], "o-", color=colour, label=label)
    for ax in (lat, mem):
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{x:,}" for x in xs])
        ax.set_xlabel("chunks in the knowledge base")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center right")
    lat.set_ylabel("latency, ms (extractive)")
    lat.set_ylim(bottom=0)
    mem.set_ylabel("peak RSS of the measured process, MB")
    mem.set_ylim(bottom=0)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
