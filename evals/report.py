"""The evaluation report a person reads: one HTML page, its PNG charts and the saved run.

Everything taken from a document, a question set or an answer is escaped with `html.escape`:
document text is displayed, never executed. The page has no script and loads nothing remote.
"""

from __future__ import annotations

import json
from collections import defaultdict
from html import escape
from pathlib import Path

from evals.charts import BY_TYPE_PNG, LATENCY_PNG, by_type_chart, latency_chart
from evals.compare import RESULTS_FILE, passed
from evals.gate import gate_for, limit_text, meets
from evals.metrics import METRIC_KEYS, norm, percentile

INDEX_FILE = "index.html"

# What each metric means, for the reader: (中文, English).
METRIC_INFO = {
    "n": ("问题数", "Questions graded (broken lines are skipped and listed below)."),
    "answer_accuracy": ("回答准确率", "Answerable questions whose answer contains a gold answer "
                        "(all of them for `all` questions)."),
    "abstain_precision": ("拒答精确率", "Of the questions the bot declined, the share that really "
                          "have no answer in the knowledge base."),
    "abstain_recall": ("拒答召回率", "Of the unanswerable questions, the share the bot declined "
                       "instead of answering."),
    "hit_at_1": ("检索命中@1", "Answerable questions whose first retrieved passage holds a gold "
                 "answer or comes from a gold source."),
    "hit_at_5": ("检索命中@5", "Same, within the first five retrieved passages."),
    "mrr": ("平均倒数排名 MRR", "Mean of 1/rank of the first relevant passage (0 when none)."),
    "citation_precision": ("引用准确率", "Share of an answer's cited quotes that contain a gold "
                           "answer, averaged over answered questions."),
    "unverified_rate": ("未核实数字率", "Answers shown as fact with a figure missing from their "
                        "citations. Must be 0."),
    "p50_ms": ("耗时中位数", "Median time per question, milliseconds."),
    "p95_ms": ("耗时 p95", "95th percentile of the time per question, milliseconds."),
}
_RATES = {"answer_accuracy", "abstain_precision", "abstain_recall", "hit_at_1", "hit_at_5",
          "citation_precision", "unverified_rate"}


# ---- data -----------------------------------------------------------------------------------

def fail_reasons(row: dict) -> list[str]:
    """Why a question failed, one "中文 · English" sentence each (empty when it passed)."""
    reasons = []
    if not row.get("correct"):
        if not row.get("answerable", True):
            reasons.append("回答了无答案的问题 · answered a question that has no answer")
        elif row.get("abstained"):
            reasons.append("拒答了可回答的问题 · declined an answerable question")
        elif row.get("all") and len(row.get("gold") or []) > 1:
            reasons.append("缺少部分标准答案 · some required gold answers missing")
        else:
            reasons.append("答案不含标准答案 · answer lacks the gold answer")
        if row.get("answerable", True) and not row.get("first_hit"):
            reasons.append("检索未命中 · no relevant passage retrieved")
    if row.get("untraced"):
        reasons.append("数字未见于引用 · figures not in the citations: " + "、".join(row["untraced"]))
    return reasons


def sorted_rows(results: list[dict]) -> list[dict]:
    """Failures first; within each group the order of the question set."""
    return sorted(results, key=lambda r: passed(r))


def type_rows(results: list[dict]) -> list[dict]:
    """Per question type: n, pass rate, abstained share, hit@5, citation precision, p50 ms.
    Shares with nothing to measure (e.g. hit@5 of unanswerable questions) are None."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in results:
        groups[row.get("type") or "(none)"].append(row)
    out = []
    for name, rows in groups.items():
        answerable = [r for r in rows if r.get("answerable", True)]
        cited = [r["citation_share"] for r in answerable if r.get("citation_share") is not None]
        out.append({
            "type": name, "n": len(rows),
            "passed": sum(passed(r) for r in rows),
            "pass_rate": _share(sum(passed(r) for r in rows), len(rows)),
            "abstain_rate": _share(sum(bool(r.get("abstained")) for r in rows), len(rows)),
            "hit_at_5": _share(sum(1 <= (r.get("first_hit") or 0) <= 5 for r in answerable),
                               len(answerable)),
            "citation_precision": _share(sum(cited), len(cited)),
            "p50_ms": round(percentile([r.get("ms", 0.0) for r in rows], 50), 1),
        })
    return sorted(out, key=lambda r: (-r["n"], r["type"]))


def _share(num: float, den: int) -> float | None:
    return round(num / den, 4) if den else None


# ---- writing --------------------------------------------------------------------------------

def save_run(run: dict, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_report(run: dict, folder: Path) -> Path:
    """index.html, the PNG charts and results.json (the full run, for `eval --compare`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    results = run.get("results", [])
    by_type_chart(type_rows(results), folder / BY_TYPE_PNG)
    latency_chart([r.get("ms", 0.0) for r in results], folder / LATENCY_PNG)
    save_run(run, folder / RESULTS_FILE)
    index = folder / INDEX_FILE
    index.write_text(render_html(run, charts=(BY_TYPE_PNG, LATENCY_PNG)), encoding="utf-8")
    return index


# ---- HTML -----------------------------------------------------------------------------------

def e(value) -> str:
    """Escape any value for HTML text or an attribute."""
    return escape("" if value is None else str(value), quote=True)


def fmt(key: str, value) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    if key in _RATES or key == "mrr":
        return f"{value:.3f}" if key == "mrr" else f"{value * 100:.1f}%"
    if key.endswith("_ms"):
        return f"{value:,.0f} ms"
    return f"{value:g}"


def metrics_table(run: dict) -> str:
    metrics, gate = run.get("metrics", {}), gate_for(run.get("set", "")) or {}
    rows = []
    for key in METRIC_KEYS:
        zh, en = METRIC_INFO[key]
        value = metrics.get(key)
        limit = gate.get(key)
        if limit is None or not isinstance(value, (int, float)):
            verdict = '<td class="gate muted">–</td>'
        else:
            ok = meets(key, value, limit)
            verdict = (f'<td class="gate {"ok" if ok else "bad"}">{"✓" if ok else "✗"} '
                       f'{e(limit_text(key, limit))}</td>')
        rows.append(f'<tr><th scope="row"><span class="zh">{e(zh)}</span>'
                    f'<code>{e(key)}</code></th><td class="num">{e(fmt(key, value))}</td>'
                    f'{verdict}<td class="muted">{e(en)}</td></tr>')
    return ('<table class="metrics"><thead><tr><th>指标 Metric</th><th>值 Value</th>'
            '<th>门槛 Gate</th><th>含义 Meaning</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def types_table(results: list[dict]) -> str:
    def pct(v):
        return "–" if v is None else f"{v * 100:.0f}%"

    rows = "".join(
        f'<tr><td>{e(t["type"])}</td><td class="num">{t["n"]}</td>'
        f'<td class="num">{t["passed"]}/{t["n"]} ({pct(t["pass_rate"])})</td>'
        f'<td class="num">{pct(t["abstain_rate"])}</td><td class="num">{pct(t["hit_at_5"])}</td>'
        f'<td class="num">{pct(t["citation_precision"])}</td>'
        f'<td class="num">{t["p50_ms"]:,.0f} ms</td></tr>'
        for t in type_rows(results))
    return ('<table class="types"><thead><tr><th>类型 Type</th><th class="num">题数 n</th>'
            '<th class="num">通过 Passed</th><th class="num">拒答 Declined</th>'
            '<th class="num">hit@5</th><th class="num">引用准确 Citations</th>'
            '<th class="num">p50</th></tr></thead><tbody>' + rows + "</tbody></table>")


def slowest_list(results: list[dict], count: int = 8) -> str:
    """The slowest questions, each linking to its row in the question table."""
    slow = sorted(results, key=lambda r: -(r.get("ms") or 0))[:count]
    items = "".join(f'<tr><td class="num">{r.get("ms", 0):,.0f} ms</td>'
                    f'<td><a href="#q-{e(r.get("id"))}">{e(r.get("id"))}</a></td>'
                    f'<td>{e(r.get("question"))}</td></tr>' for r in slow)
    return ('<table class="slowest"><thead><tr><th class="num">耗时 Time</th><th>ID</th>'
            '<th>最慢的问题 Slowest questions</th></tr></thead><tbody>' + items
            + "</tbody></table>")


def _citations(row: dict) -> str:
    cites = row.get("citations") or []
    if not cites:
        return '<span class="muted">–</span>'
    items = []
    for c in cites:
        where = " · ".join(x for x in (c.get("heading"), c.get("date")) if x)
        items.append(f'<li><span class="cite-n">[{e(c.get("n", ""))}]</span> '
                     f'<span class="cite-title">{e(c.get("title") or c.get("source"))}</span>'
                     + (f' <span class="muted">{e(where)}</span>' if where else "")
                     + f'<blockquote>{e(c.get("quote", ""))}</blockquote></li>')
    return '<ol class="cites">' + "".join(items) + "</ol>"


def question_row(row: dict, number: int) -> str:
    ok = passed(row)
    badge = ('<span class="badge pass">通过 PASS</span>' if ok
             else '<span class="badge fail">失败 FAIL</span>')
    history = "".join(f"<li>{e(h)}</li>" for h in row.get("history") or [])
    history = (f'<div class="history"><span class="label">前文 earlier turns</span>'
               f'<ol>{history}</ol></div>' if history else "")
    gold = row.get("gold") or []
    answer = "" if row.get("abstained") else norm(row.get("answer") or "")
    gold_html = ("".join(f'<span class="gold{" found" if norm(g) in answer else ""}">{e(g)}</span>'
                         for g in gold)
                 + ('<div class="muted small">需全部出现 all required</div>'
                    if row.get("all") and len(gold) > 1 else "")
                 if gold else '<span class="muted">无答案 (should decline)</span>')
    notes = [f'<div class="why">✗ {e(r)}</div>' for r in fail_reasons(row)]
    if row.get("abstained") and ok:
        notes.append('<span class="tag">拒答 declined</span>')
    if row.get("note"):
        notes.append(f'<div class="note">说明 note: {e(row["note"])}</div>')
    rank = row.get("first_hit")
    rank_text = "–" if not row.get("answerable", True) else (f"#{rank}" if rank else "miss")
    parts = [row.get("type"), row.get("mode"), f"检索 rank {rank_text}",
             f"{row.get('ms', 0):,.0f} ms"]
    meta = ('<div class="meta">' + " · ".join(f"<span>{e(p)}</span>" for p in parts if p)
            + "</div>")
    return (f'<tr class="{"ok" if ok else "failed"}" id="q-{e(row.get("id"))}">'
            f'<td class="num">{number}</td>'
            f'<td>{badge}<div class="qid">{e(row.get("id"))}</div></td>'
            f'<td>{history}<div class="question">{e(row.get("question"))}</div>{meta}</td>'
            f'<td><div class="answer">{e(row.get("answer"))}</div>{"".join(notes)}</td>'
            f'<td>{gold_html}</td><td>{_citations(row)}</td></tr>')


def questions_table(results: list[dict]) -> str:
    body = "".join(question_row(r, i) for i, r in enumerate(sorted_rows(results), 1))
    return ('<table class="questions"><thead><tr><th>#</th><th>结果 Result</th>'
            '<th>问题 Question</th><th>回答 Answer</th><th>标准答案 Gold</th>'
            '<th>引用 Citations</th></tr></thead><tbody>' + body + "</tbody></table>")


def problems_list(run: dict) -> str:
    problems = run.get("problems") or []
    if not problems:
        return ""
    items = "".join(f'<li>第 {e(p.get("line"))} 行 line {e(p.get("line"))}: {e(p.get("reason"))}</li>'
                    for p in problems)
    return (f'<section class="problems"><h2>跳过的行 Skipped lines ({len(problems)})</h2>'
            f'<ul>{items}</ul></section>')


def render_html(run: dict, charts: tuple[str, ...] = (BY_TYPE_PNG, LATENCY_PNG)) -> str:
    results = run.get("results", [])
    failed = sum(not passed(r) for r in results)
    title = f"评测报告 Evaluation report — {run.get('set') or 'question set'}"
    facts = [("问题集 Set", run.get("set")), ("模式 Mode", run.get("mode")),
             ("开始 Started", run.get("started")),
             ("总耗时 Wall time", f"{run['wall_s']:.1f} s" if "wall_s" in run else None),
             ("模型加载 Model loading", f"{run['warmup_s']:.1f} s（不计入耗时 not in latency）"
              if "warmup_s" in run else None),
             ("结果 Result", f"{len(results) - failed} 通过 passed · {failed} 失败 failed")]
    facts_html = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in facts if v)
    by_type_png, latency_png = (list(charts) + [None, None])[:2]

    def figure(name: str | None, alt: str) -> str:
        return f'<figure><img src="{e(name)}" alt="{e(alt)}"></figure>' if name else ""
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>政协知识库问答 · 评测报告 <span class="en">Evaluation report</span></h1>
<dl class="facts">{facts_html}</dl>
</header>
<main>
<section><h2>指标 Metrics</h2>{metrics_table(run)}</section>
<section><h2>按问题类型 By question type</h2>
<div class="pair">{figure(by_type_png, "Metrics by question type")}{types_table(results)}</div>
</section>
<section><h2>耗时 Latency</h2>
<div class="pair">{figure(latency_png, "Latency distribution")}{slowest_list(results)}</div>
</section>
{problems_list(run)}
<section><h2>逐题结果 Questions <span class="muted small">失败在前 failures first</span></h2>
{questions_table(results)}</section>
</main>
</body>
</html>
"""


CSS = """
:root { --fg:#1d2733; --muted:#6b7785; --line:#e3e8ee; --bg:#f6f8fa; --pass:#1f7a3f;
  --pass-bg:#e3f4e8; --fail:#b3261e; --fail-bg:#fde7e5; --accent:#2f6fb0; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:#fff; line-height:1.55; font-size:14px;
  font-family: "Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
  "WenQuanYi Micro Hei", system-ui, -apple-system, "Segoe UI", sans-serif; }
header { background:var(--bg); border-bottom:1px solid var(--line); padding:20px 32px 12px; }
h1 { margin:0 0 10px; font-size:22px; } h1 .en { color:var(--muted); font-weight:400; }
h2 { font-size:17px; margin:28px 0 10px; border-left:4px solid var(--accent); padding-left:8px; }
main { padding:0 32px 40px; }
.facts { display:flex; flex-wrap:wrap; gap:6px 28px; margin:0; }
.facts dt { color:var(--muted); font-size:12px; } .facts dd { margin:0; font-weight:600; }
table { border-collapse:collapse; width:100%; }
th, td { border-bottom:1px solid var(--line); padding:6px 8px; text-align:left; vertical-align:top; }
thead th { background:var(--bg); font-size:12px; color:var(--muted); font-weight:600;
  position:sticky; top:0; }
.metrics { max-width:1100px; } .metrics th[scope=row] { white-space:nowrap; font-weight:600; }
.metrics code { display:block; font-size:11px; color:var(--muted); font-weight:400; }
.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.metrics td.num { font-size:16px; font-weight:600; }
.gate { white-space:nowrap; } .gate.ok { color:var(--pass); } .gate.bad { color:var(--fail); font-weight:700; }
.muted { color:var(--muted); } .small { font-size:12px; font-weight:400; }
.pair { display:flex; flex-wrap:wrap; gap:20px; align-items:flex-start; }
.pair > table { flex:1 1 380px; width:auto; }
figure { margin:0; flex:0 1 auto; border:1px solid var(--line); border-radius:6px; padding:6px;
  background:#fff; max-width:100%; }
figure img { display:block; max-width:100%; height:auto; }
.pair > table.types { max-width:860px; } .slowest td:nth-child(2) { white-space:nowrap; }
.slowest td:last-child { font-size:13px; } a { color:var(--accent); text-decoration:none; }
.problems ul { color:var(--fail); }
.questions { table-layout:fixed; }
.questions th:nth-child(1) { width:36px; } .questions th:nth-child(2) { width:96px; }
.questions th:nth-child(3) { width:24%; } .questions th:nth-child(4) { width:26%; }
.questions th:nth-child(5) { width:11%; }
.questions tr.failed td:first-child { box-shadow: inset 3px 0 0 var(--fail); }
.badge { display:inline-block; padding:1px 7px; border-radius:10px; font-size:12px; font-weight:700;
  white-space:nowrap; }
.badge.pass { color:var(--pass); background:var(--pass-bg); }
.badge.fail { color:var(--fail); background:var(--fail-bg); }
.qid { font-family:ui-monospace,monospace; font-size:12px; color:var(--muted); margin-top:4px;
  word-break:break-all; }
.question { font-weight:600; } .meta { font-size:12px; color:var(--muted); margin-top:4px; }
.meta span { white-space:nowrap; }
.why { color:var(--fail); font-size:12px; margin-top:4px; font-weight:600; }
.history { font-size:12px; color:var(--muted); margin-bottom:4px; }
.history ol { margin:2px 0 0; padding-left:18px; } .label { font-size:11px; }
.answer { white-space:pre-wrap; word-break:break-word; }
.tag { display:inline-block; margin:4px 4px 0 0; padding:0 6px; border-radius:4px; font-size:12px;
  background:var(--bg); color:var(--muted); }
.tag.warn { background:var(--fail-bg); color:var(--fail); }
.note { font-size:12px; color:var(--muted); margin-top:4px; }
.gold { display:inline-block; margin:0 4px 4px 0; padding:0 6px; border-radius:4px;
  background:#eef3fa; border:1px solid #d5e1f0; }
.gold.found { background:var(--pass-bg); border-color:#b8dfc4; color:var(--pass); }
.gold.found::before { content:"✓ "; }
.cites { margin:0; padding-left:0; list-style:none; font-size:12px; }
.cites li { margin-bottom:6px; } .cite-n { color:var(--accent); font-weight:700; }
.cite-title { font-weight:600; }
.cites blockquote { margin:2px 0 0; padding-left:8px; border-left:2px solid var(--line);
  color:#3d4a57; word-break:break-word; max-height:9.5em; overflow:auto; }
"""
