"""PNG charts of a run (matplotlib, Agg backend): metrics by question type, latency histogram.

Chinese labels need a CJK font. When the machine has none (`fc-list :lang=zh` is empty) the
charts use English labels only, and a non-ASCII question type is drawn as `type N` (the HTML
report's by-type table names it in full), so no label is ever drawn as tofu boxes.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from evals.metrics import percentile  # noqa: E402

BY_TYPE_PNG = "by_type.png"
LATENCY_PNG = "latency.png"
_PROBE = "政协知识库"
_COLOURS = ("#2f6fb0", "#9aa5b1", "#3a9a5b", "#d08a2e")


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font that draws Chinese, or None.

    Matplotlib's font list first; then the files `fc-list :lang=zh` names (a font installed
    after matplotlib built its cache is not in its list yet)."""
    preferred = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                 "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei",
                 "Noto Sans SC", "AR PL UMing CN")
    fonts = sorted(font_manager.fontManager.ttflist,
                   key=lambda f: preferred.index(f.name) if f.name in preferred else len(preferred))
    for font in fonts:
        if _draws_chinese(font.fname):
            return font.name
    for path in _fc_list_zh():
        if _draws_chinese(path):
            try:
                font_manager.fontManager.addfont(path)
                return font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError, ValueError):
                continue
    return None


def _draws_chinese(path: str) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(path).get_charmap()
    except Exception:  # noqa: BLE001 - an unreadable font file is simply not a candidate
        return False
    return all(ord(ch) in charmap for ch in _PROBE)


def _fc_list_zh() -> list[str]:
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.strip().rstrip(":") for line in out.splitlines() if line.strip()})


def _setup() -> bool:
    """Apply the font; True when Chinese text can be drawn."""
    family = cjk_font()
    if family:
        plt.rcParams["font.sans-serif"] = [family, "DejaVu Sans"]
        plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["font.family"] = "sans-serif"
    return family is not None


def _text(zh: str, en: str, cjk: bool) -> str:
    return f"{zh} · {en}" if cjk else en


def type_label(name: str, index: int, cjk: bool) -> str:
    if cjk or name.isascii():
        return name or "(none)"
    return f"type {index}"


def by_type_chart(by_type: list[dict], path: Path) -> Path:
    """Grouped bars per question type: passed, abstained, hit@5, citation precision.

    `by_type` rows are `evals.report.type_rows` output: type, n, pass_rate, abstain_rate,
    hit_at_5 and citation_precision (None where the type has no such question).
    """
    cjk = _setup()
    series = (("pass_rate", _text("通过", "passed", cjk)),
              ("abstain_rate", _text("拒答", "abstained", cjk)),
              ("hit_at_5", "hit@5"),
              ("citation_precision", _text("引用准确", "citation precision", cjk)))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(min(11.0, max(6.0, 0.75 * len(by_type) + 2.5)), 4.4), dpi=110)
    xs = range(len(by_type))
    for s, (key, label) in enumerate(series):
        offsets = [x - 0.4 + width * (s + 0.5) for x in xs]
        values = [row.get(key) for row in by_type]
        ax.bar([o for o, v in zip(offsets, values) if v is not None],
               [v for v in values if v is not None], width, label=label, color=_COLOURS[s])
        for o, v in zip(offsets, values):
            if v is None:
                ax.text(o, 0.02, "n/a", rotation=90, ha="center", va="bottom", fontsize=7,
                        color="#888")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{type_label(r['type'], i + 1, cjk)}\n(n={r['n']})"
                        for i, r in enumerate(by_type)], fontsize=9.5)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel(_text("比例", "share", cjk))
    ax.set_title(_text("各类问题的表现", "Metrics by question type", cjk))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(ncol=len(series), fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.17),
              frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def latency_chart(latencies_ms: list[float], path: Path) -> Path:
    """Histogram of per-question latency with the p50 and p95 lines."""
    cjk = _setup()
    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=110)
    values = [float(v) for v in latencies_ms] or [0.0]
    ax.hist(values, bins=min(30, max(5, len(values) // 3)), color=_COLOURS[0], alpha=0.85)
    for pct, style in ((50, "--"), (95, ":")):
        value = percentile(values, pct)
        ax.axvline(value, color="#c0392b", linestyle=style, linewidth=1.6,
                   label=f"p{pct} = {value:,.0f} ms")
    ax.set_xlabel(_text("每题耗时（毫秒）", "latency per question (ms)", cjk))
    ax.set_ylabel(_text("问题数", "questions", cjk))
    ax.set_title(_text("耗时分布", "Latency distribution", cjk))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=9, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
