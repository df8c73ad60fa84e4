"""Compare two saved runs (results.json) question by question: pure functions, no I/O but load."""

from __future__ import annotations

import json
from pathlib import Path

from evals.errors import EvalError
from evals.metrics import METRIC_KEYS, sign_test

# Metrics where a smaller number is the better one; for every other key larger is better.
LOWER_IS_BETTER = frozenset({"unverified_rate", "p50_ms", "p95_ms"})
RESULTS_FILE = "results.json"
FAILURES_LISTED = 400  # a fit report's failures shown with their answers (all listed by id)


def passed(row: dict) -> bool:
    """One question's verdict: graded correct and no figure shown as fact outside its citations."""
    return bool(row.get("correct")) and not row.get("untraced")


def load_run(path: Path) -> dict:
    """A saved run: a results.json file, or a report folder holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"{path}: no saved run there; write one with "
                        f"`cppcc-kb eval SET.jsonl --save FILE` or `--report DIR`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalError(f"{path}: not a saved run ({exc}); give a results.json written by "
                        f"`cppcc-kb eval --save` or `--report`") from None
    if not (isinstance(run, dict) and isinstance(run.get("results"), list)
            and isinstance(run.get("metrics"), dict)):
        raise EvalError(f"{path}: not a saved run (expected an object with 'metrics' and "
                        f"'results'); give a results.json written by `cppcc-kb eval`")
    return run


def _item(a: dict | None, b: dict | None) -> dict:
    row = b or a
    return {"id": row["id"], "type": row.get("type", ""), "question": row.get("question", ""),
            "gold": row.get("gold", []),
            "a_pass": passed(a) if a else None, "b_pass": passed(b) if b else None,
            "a_answer": a.get("answer", "") if a else None,
            "b_answer": b.get("answer", "") if b else None}


def compare_runs(a: dict, b: dict) -> dict:
    """Run A (before) against run B (after), matched by question id.

    improved: failed in A, passes in B; regressed: passed in A, fails in B; unchanged: same
    verdict (`answer_changed` says whether the answer text moved anyway); only_a / only_b:
    questions present in one run only. `deltas` maps each metric to {a, b, delta, better}
    where `better` is True/False/None (None: no change or not comparable).
    """
    rows_a = {r["id"]: r for r in a.get("results", [])}
    rows_b = {r["id"]: r for r in b.get("results", [])}
    improved, regressed, unchanged = [], [], []
    for qid, rb in rows_b.items():
        ra = rows_a.get(qid)
        if ra is None:
            continue
        item = _item(ra, rb)
        if item["a_pass"] == item["b_pass"]:
            item["answer_changed"] = ra.get("answer") != rb.get("answer")
            unchanged.append(item)
        elif item["b_pass"]:
            improved.append(item)
        else:
            regressed.append(item)
    return {
        "a": {"set": a.get("set", ""), "mode": a.get("mode", ""), "started": a.get("started", "")},
        "b": {"set": b.get("set", ""), "mode": b.get("mode", ""), "started": b.get("started", "")},
        "improved": improved, "regressed": regressed, "unchanged": unchanged,
        "only_a": [_item(r, None) for qid, r in rows_a.items() if qid not in rows_b],
        "only_b": [_item(None, r) for qid, r in rows_b.items() if qid not in rows_a],
        "deltas": metric_deltas(a.get("metrics", {}), b.get("metrics", {})),
        "sign_test": sign_test(len(improved), len(regressed)),
    }


def metric_deltas(a: dict, b: dict) -> dict:
    out = {}
    for key in METRIC_KEYS:
        va, vb = a.get(key), b.get(key)
        if not isinstance(va, (int, float)) or not isinstance(vb, (int, float)):
            out[key] = {"a": va, "b": vb, "delta": None, "better": None}
            continue
        delta = round(vb - va, 4)
        better = None if delta == 0 or key == "n" else (delta < 0) == (key in LOWER_IS_BETTER)
        out[key] = {"a": va, "b": vb, "delta": delta, "better": better}
    return out


def _short(text: str | None, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def format_comparison(cmp: dict) -> list[str]:
    """The comparison as lines a person reads in a terminal."""
    a, b = cmp["a"], cmp["b"]
    lines = [f"A: {a['set'] or '?'} ({a['mode'] or '?'}, {a['started'] or '?'})",
             f"B: {b['set'] or '?'} ({b['mode'] or '?'}, {b['started'] or '?'})"]
    if a["set"] and b["set"] and a["set"] != b["set"]:
        lines.append(f"warning: the runs are of different question sets ({a['set']} vs {b['set']})")
    lines += ["", f"{'metric':<20}{'A':>10}{'B':>10}{'change':>10}"]
    for key, d in cmp["deltas"].items():
        mark = {True: "  better", False: "  worse", None: ""}[d["better"]]
        delta = "" if d["delta"] is None else "0" if d["delta"] == 0 else f"{d['delta']:+g}"
        lines.append(f"{key:<20}{_num(d['a']):>10}{_num(d['b']):>10}{delta:>10}{mark}")
    for label, key, verdict in (("Improved (fail → pass)", "improved", "FAIL→PASS"),
                                ("Regressed (pass → fail)", "regressed", "PASS→FAIL")):
        items = cmp[key]
        lines += ["", f"{label}: {len(items)}"]
        for it in items:
            lines.append(f"  {it['id']:<10} {verdict}  {_short(it['question'])}")
            lines.append(f"  {'':<10} A: {_short(it['a_answer'])}")
            lines.append(f"  {'':<10} B: {_short(it['b_answer'])}")
    lines += ["", chance_line(len(cmp["improved"]), len(cmp["regressed"]), cmp["sign_test"]),
              CHANCE_NOTE]
    same = cmp["unchanged"]
    still_pass = sum(1 for it in same if it["b_pass"])
    moved = sum(1 for it in same if it.get("answer_changed"))
    lines += ["", f"Unchanged: {len(same)} ({still_pass} still pass, {len(same) - still_pass} "
                  f"still fail; {moved} with a different answer text)"]
    for label, key in (("Only in A", "only_a"), ("Only in B", "only_b")):
        if cmp[key]:
            lines.append(f"{label}: {', '.join(it['id'] for it in cmp[key])}")
    return lines


CHANCE_NOTE = ("p: the chance of a split this uneven if the change made no difference (exact "
               "sign test); below 0.05 counts. Questions on one document move together, so p "
               "is optimistic.")


def chance_line(improved: int, regressed: int, p: float) -> str:
    """Whether the moves could be chance: an exact sign test over the questions that moved."""
    verdict = "beyond chance" if p < 0.05 else "within chance"
    return f"{improved} improved, {regressed} regressed: p = {p:.3g}, {verdict}"


def _num(value) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, (int, float)) else str(value)


def compare_fit_reports(a: dict, b: dict) -> list[str]:
    """Two held-out fit reports (evals/fit_answerer.py --report), set by set: the pooled
    figures before and after, and an exact sign test over the questions whose verdict moved.
    A report from before `failed_ids` lists at most FAILURES_LISTED failures; a set whose list
    was cut says so instead of testing."""
    lines = []
    for name, after in b["held_out"].items():
        before = a["held_out"].get(name)
        if before is None:
            lines.append(f"{name}: only in the second report")
            continue
        pa, pb = before["pooled"], after["pooled"]
        lines.append(f"{name} (n {pa['n']} -> {pb['n']})")
        for key in ("answer_accuracy", "abstain_precision", "abstain_recall"):
            lines.append(f"  {key:<18} {pa[key]:.4f} -> {pb[key]:.4f}  "
                         f"({pb[key] - pa[key]:+.4f}){_band(pa, key)}{_band(pb, key)}")
        failed_a, failed_b = _failed_ids(before), _failed_ids(after)
        if failed_a is None or failed_b is None or pa["n"] != pb["n"]:
            lines.append(f"  moved: not comparable (a report lists only its first "
                         f"{FAILURES_LISTED} failures, or the sets differ); refit both with "
                         "this version")
            continue
        improved, regressed = len(failed_a - failed_b), len(failed_b - failed_a)
        lines.append("  " + chance_line(improved, regressed, sign_test(improved, regressed)))
    return lines + ["[lo-hi]: 95 % interval, whole documents resampled. " + CHANCE_NOTE]


def _band(pooled: dict, key: str) -> str:
    band = pooled.get(f"{key}_95")
    return f"  [{band[0]:.3f}-{band[1]:.3f}]" if band else ""


def _failed_ids(report_set: dict) -> set[str] | None:
    if "failed_ids" in report_set:
        return set(report_set["failed_ids"])
    listed = report_set.get("failed", [])
    return {f["id"] for f in listed} if len(listed) < FAILURES_LISTED else None
