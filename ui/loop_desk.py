"""The staff desk's view of members' questions: the unanswered-questions queue, the usage page
and the audit trail. Handlers check the desk login like every staff handler; the figures come
from `bot.staffloop` and the audit trail of `ingest.audit`."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from bot.answering.reasons import short
from bot.staffloop import StaffLoop, usage
from ui.render import when as _when

# A thumbs-down's reasons (codes of bot.questionlog.FEEDBACK_REASONS) as the chat offers them
# under Gradio's flag and the queue shows them.
FEEDBACK_ZH = {"wrong_figure": "数字不对", "wrong_source": "来源不对",
               "should_answer": "应该能回答", "should_refuse": "不该回答", "other": "其他问题"}
STATE_ZH = {"open": "待处理", "resolved": "已解决", "out_of_scope": "不属于本库范围"}
ACTION_ZH = {"add": "新增", "update": "更新", "remove": "删除", "reindex": "重新索引",
             "reset": "清空", "restore": "恢复", "refused": "拒收"}
OUTCOME_ZH = {"ok": "成功", "failed": "失败", "proved": "已证实删净", "not_proved": "未能证实删净"}
QUEUE_HEADERS = ["问题（最近的问法）", "次数", "拒答/差评", "原因", "最接近的文件", "最近一次",
                 "新文件能否回答"]
AUDIT_HEADERS = ["时间", "操作人", "操作", "文档", "版本", "结果", "说明"]
TOP_HEADERS = ["文件", "被引用的回答数"]


class LoopHandlers:
    def __init__(self, staff, loop: StaffLoop):
        self.staff, self.loop, self.bot = staff, loop, staff.bot

    def _short(self, doc_id: str) -> str:
        from bot.retrieval import short_title

        rec = self.bot.kb.records().get(doc_id)
        name = short_title(rec.title) if rec else doc_id
        return name if len(name) <= 14 else name[:13] + "…"

    def _title(self, doc_id: str) -> str:
        rec = self.bot.kb.records().get(doc_id)
        return f"《{rec.title}》" if rec else doc_id

    # -- filled after a login or an upload; left alone when the login failed --
    def queue_if_in(self, view: str, authed: Any, request: gr.Request | None = None):
        return self.queue(view, authed, request) if authed is True else (gr.skip(), gr.skip())

    def usage_if_in(self, days: int, authed: Any, request: gr.Request | None = None):
        return self.usage(days, authed, request) if authed is True else (gr.skip(),) * 6

    def audit_if_in(self, authed: Any, request: gr.Request | None = None):
        return self.audit(authed, request) if authed is True else gr.skip()

    # -- queue --
    def queue(self, state: str, authed: Any, request: gr.Request | None = None):
        """The groups in one state; re-asked first when the documents changed since."""
        self.staff._require(authed, request)
        self.loop.recheck()
        items = self.loop.queue((state or "open",))
        rows, choices = [], []
        for i in items:
            why = "、".join(short(r) for r in i.reasons[:2])
            said = "、".join(FEEDBACK_ZH.get(f, f) for f in i.feedback[:2])
            reasons = "；".join(x for x in (why and f"拒答：{why}", said and f"差评：{said}") if x)
            more = f"（另有 {len(i.wordings) - 1} 种问法）" if len(i.wordings) > 1 else ""
            rows.append([i.question + more, i.count, f"{i.refusals}/{i.downs}", reasons or "—",
                         "、".join(self._title(d) for d in i.closest[:2]) or "—",
                         _when(i.last_at), _recheck_text(i.recheck)])
            choices.append((f"{i.question[:30]} · {i.count} 次", i.key))
        return rows or [["（没有）", "", "", "", "", "", ""]], gr.Dropdown(choices=choices,
                                                                          value=None)

    def mark(self, key: str | None, state: str, view: str, authed: Any,
             request: gr.Request | None = None):
        self.staff._require(authed, request)
        if not key:
            raise gr.Error("请先在列表下方选择一个问题。", title="没有选择")
        changed = self.loop.mark(key, state)
        gr.Info(f"已将 {changed} 条提问标记为“{STATE_ZH[state]}”。" if changed
                else "这个问题已不在列表中，请刷新。")
        return self.queue(view, authed, request)

    def recheck(self, view: str, authed: Any, request: gr.Request | None = None):
        self.staff._require(authed, request)
        asked = self.loop.recheck(force=True)
        gr.Info(f"已用当前文件重新回答 {asked} 组问题。")
        return self.queue(view, authed, request)

    # -- usage --
    def usage(self, days: int, authed: Any, request: gr.Request | None = None):
        self.staff._require(authed, request)
        import time

        days = int(days or 14)
        rows = self.bot.questions.since(time.time() - (days + 1) * 86400)
        u = usage(rows, days)
        labels = [d[5:] for d in u.days]  # 12-04: the year is in the range chosen
        answered = [a - r for a, r in zip(u.asked, u.refused)]
        per_day = pd.DataFrame({"日期": labels * 3,  # stacked: the bar's height is the day's asks
                                "数量": answered + list(u.refused) + list(u.downs),
                                "类别": ["已回答"] * days + ["拒答"] * days + ["其中差评"] * days})
        per_day = per_day[per_day["类别"] != "其中差评"]
        downs = pd.DataFrame({"日期": labels, "差评": list(u.downs)})
        asked_days = [i for i, n in enumerate(u.asked) if n]  # no questions, no latency point
        latency = pd.DataFrame({"日期": [labels[i] for i in asked_days] * 2,
                                "毫秒": [u.p50_ms[i] for i in asked_days]
                                + [u.p95_ms[i] for i in asked_days],
                                "分位": ["p50"] * len(asked_days) + ["p95"] * len(asked_days)})
        summary = (f'<div class="kb-usage">近 {days} 天共 <b>{u.total}</b> 个提问；拒答率 '
                   f"<b>{u.refusal_rate:.0%}</b>；差评率 <b>{u.down_rate:.0%}</b>"
                   f"（{u.rated} 个回答得到评价）；来自：" +
                   ("、".join(f"{_FACE_ZH.get(f, f)} {n}" for f, n in u.faces) or "—") + "</div>")
        top = [[self._title(d), n] for d, n in u.top_documents] or [["（没有）", ""]]
        cited = pd.DataFrame({"文件": [self._short(d) for d, _ in u.top_documents],
                              "引用次数": [n for _, n in u.top_documents]})
        return summary, per_day, downs, latency, cited, top

    # -- audit --
    def audit(self, authed: Any, request: gr.Request | None = None):
        self.staff._require(authed, request)
        rows = []
        for e in self.bot.kb.audit.recent(200):
            d = e.detail or {}
            note = d.get("reason", "")
            if e.action == "remove":
                note = ("Chroma 中 0 段、关键词索引 0 行、以其自身向量检索不到" if e.outcome == "proved"
                        else f"仍可检索：Chroma {d.get('chunks_in_chroma')} 段，关键词索引 "
                             f"{d.get('keyword_rows')} 行，近邻 {d.get('nearest_of_own_vector')}")
            elif e.action in ("add", "update", "reindex"):
                note = f"{d.get('file', '')}，{d.get('chunks', 0)} 段"
            elif e.action == "reset":
                note = f"清空 {d.get('documents_removed', 0)} 个文档"
            rows.append([_when(e.at), e.actor, ACTION_ZH.get(e.action, e.action),
                         f"《{e.title}》{e.doc_id}" if e.doc_id else "", e.version,
                         OUTCOME_ZH.get(e.outcome, e.outcome), note])
        return rows or [["（还没有操作记录）", "", "", "", "", "", ""]]


_FACE_ZH = {"chat": "网页问答", "api": "API", "openai": "OpenAI 接口", "mcp": "MCP",
            "cli": "命令行"}


def _recheck_text(recheck: dict) -> str:
    if not recheck:
        return "尚未重新检查"
    when = _when(recheck.get("at", 0))
    if recheck.get("closed"):
        titles = "、".join(f"《{t}》" for t in recheck.get("titles", []))
        return f"✓ 现在能回答（{when}，依据{titles}）：{recheck.get('answer', '')[:80]}"
    if recheck.get("answered"):
        return f"现在给出回答，但依据的文件不是新加入的（{when}）"
    return f"仍无法回答（{when}）"


def loop_tabs(handlers: LoopHandlers, authed) -> dict:
    """The three tabs; returns the components the login fills."""
    with gr.Tab("未回答的问题", id="staff-queue"):
        gr.Markdown("委员提问时知识库拒答、或被点了“踩”的问题，相似问法合为一组。每次入库后"
                    "这些问题会自动重新回答一次，最后一列显示新文件是否已能回答。")
        with gr.Row():
            view = gr.Radio([(v, k) for k, v in STATE_ZH.items()], value="open", label="显示",
                            scale=3, elem_id="kb-queue-view")
            again = gr.Button("用现有文件重新检查", scale=1, elem_id="kb-queue-recheck")
        table = gr.Dataframe(headers=QUEUE_HEADERS, value=[], interactive=False, wrap=True,
                             latex_delimiters=[], elem_id="kb-queue",
                             column_widths=["26%", "6%", "8%", "16%", "16%", "10%", "18%"])
        with gr.Row():
            pick = gr.Dropdown(choices=[], label="选择一组问题", scale=3, elem_id="kb-queue-pick",
                               allow_custom_value=True)
            resolved = gr.Button("标记为已解决", scale=1, elem_id="kb-queue-resolved")
            remit = gr.Button("不属于本库范围", scale=1, elem_id="kb-queue-remit")
            reopen = gr.Button("重新打开", scale=1)
    with gr.Tab("使用情况", id="staff-usage"):
        days = gr.Radio([("近7天", 7), ("近14天", 14), ("近30天", 30), ("近90天", 90)], value=14,
                        label="时间范围", elem_id="kb-usage-days")
        summary = gr.HTML("", elem_id="kb-usage-summary")
        with gr.Row():
            per_day = gr.BarPlot(x="日期", y="数量", color="类别", title="每天的提问（已回答 / 拒答）",
                                 elem_id="kb-usage-daily", height=260, x_label_angle=-45,
                                 color_map={"已回答": "#15803d", "拒答": "#b91c1c"})
            downs = gr.BarPlot(x="日期", y="差评", title="每天的差评（点“踩”的回答）",
                               elem_id="kb-usage-downs", height=260, x_label_angle=-45)
        with gr.Row():
            latency = gr.LinePlot(x="日期", y="毫秒", color="分位",
                                  title="回答耗时（毫秒，有提问的日子）", elem_id="kb-usage-latency",
                                  height=260, x_label_angle=-45)
            cited = gr.BarPlot(x="文件", y="引用次数", title="最常被引用的文件（前 10）",
                               elem_id="kb-usage-cited", height=260, x_label_angle=-30,
                               sort="-y")
        top = gr.Dataframe(headers=TOP_HEADERS, value=[], interactive=False,
                           label="最常被引用的文件", elem_id="kb-usage-top")
    with gr.Tab("操作记录", id="staff-audit"):
        gr.Markdown("工作人员的每次新增、更新、删除、重新索引、清空和恢复；删除后会核实该文件"
                    "的任何段落都已检索不到，并记下结果。命令行：`cppcc-kb audit`。")
        audit = gr.Dataframe(headers=AUDIT_HEADERS, value=[], interactive=False, wrap=True,
                             latex_delimiters=[], elem_id="kb-audit",
                             column_widths=["13%", "13%", "8%", "28%", "9%", "11%", "18%"])
        audit_refresh = gr.Button("刷新操作记录", elem_id="kb-audit-refresh")

    queue_io = {"inputs": [view, authed], "outputs": [table, pick]}
    view.change(handlers.queue, **queue_io, api_name="staff_queue")
    again.click(handlers.recheck, **queue_io, api_name="staff_queue_recheck")
    for button, state in ((resolved, "resolved"), (remit, "out_of_scope"), (reopen, "open")):
        button.click(_marker(handlers, state), [pick, view, authed], [table, pick],
                     api_name=f"staff_queue_{state}")
    usage_io = {"inputs": [days, authed],
                "outputs": [summary, per_day, downs, latency, cited, top]}
    days.change(handlers.usage, **usage_io, api_name="staff_usage")
    audit_refresh.click(handlers.audit, authed, audit, api_name="staff_audit")
    private = {"api_visibility": "private"}
    return {  # `.then(**…)` steps that fill a view after a login or an upload
        "fill_queue": {"fn": handlers.queue_if_in, **queue_io, **private},
        "fill_usage": {"fn": handlers.usage_if_in, **usage_io, **private},
        "fill_audit": {"fn": handlers.audit_if_in, "inputs": authed, "outputs": audit,
                       **private}}


def _marker(handlers: LoopHandlers, state: str):
    def mark(key: str | None, view: str, authed: Any, request: gr.Request | None = None):
        return handlers.mark(key, state, view, authed, request)
    return mark
