"""The members' chat and the staff desk: one Gradio Blocks over one Bot.

The chat keeps its conversation in a per-session `gr.State` (the messages shown, the earlier
questions passed to the bot as history, and each answer's sources panel), so the same handlers
serve the browser and `gradio_client`. The staff desk exists only when a staff token is
configured; its controls are hidden until login, and every staff handler checks the session's
login again on the server.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from bot.answer import Answer
from bot.chain import Bot
from bot.conflicts import figures_of
from bot.guard import STORE_DOWN_ZH, LoginThrottle, StaffSessions
from cppcc_kb.errors import KBError
from cppcc_kb.settings import Settings
from bot.question_checks import chinese, question_problem
from ingest.audit import staff_actor
from ingest.errors import StoreLocked, StoreUnavailable
from ingest.jobs import INTERRUPTED, IngestQueue
from ingest.documents import reindex_documents
from ingest.pipeline import IngestSummary
from ingest.store import DocRecord
from ingest.uploads import check_name, reason_zh
from bot.staffloop import StaffLoop
from ui import render
from ui.loop_desk import FEEDBACK_ZH, LoopHandlers, loop_tabs
from ui.render import when as _when

logger = logging.getLogger("cppcc_kb.ui")

TITLE = "政协知识库问答"
SUBTITLE = "依据已收录的政协工作报告、新闻和法规文件作答；每个回答都标注出处，可点开核对原文。"
# Candidates for the chat's examples; the page shows those the loaded documents answer.
EXAMPLES = [
    "2025年淄博市政协全年提案数量是多少？",
    "“界别同心汇”在淄博有几家？",
    "按国旗法，哪些政协领导逝世时要下半旗？",
    "淄博有多少家“政协委员工作室”？",
]
# Gradio's own words on the page (upload box, buttons) in Chinese for every browser: given as the
# "en" translations, which Gradio falls back to for any language it has no words for.
GRADIO_WORDS_ZH = {
    "upload_text.drop_file": "将文件拖放到此处", "upload_text.click_to_upload": "点击选择文件",
    "upload_text.drop_csv": "将 CSV 文件拖放到此处", "upload_text.paste_clipboard": "从剪贴板粘贴",
    "common.or": "或", "common.clear": "清空", "common.loading": "加载中", "common.remove": "移除",
    "common.download": "下载", "common.error": "错误", "common.submit": "提交",
    "common.empty": "空", "common.edit": "编辑", "common.undo": "撤销",
    "chatbot.copy_message": "复制", "chatbot.copied_message": "已复制", "chatbot.like": "赞",
    "chatbot.dislike": "踩", "chatbot.retry": "重试", "chatbot.undo": "撤销",
    "chatbot.clear": "清空对话", "chatbot.edit": "编辑", "chatbot.cancel": "取消",
    "chatbot.submit": "提交", "file.uploading": "正在上传…",
}
# Gradio draws "Like" and "Dislike" as thumbs; the reasons for a thumbs-down sit under its flag.
FEEDBACK_LABELS = {words: code for code, words in FEEDBACK_ZH.items()}
CONFLICT_HEADERS = ["问题", "不一致的文档", "各自的数字", "次数", "最近一次"]
STATUS = {"added": "新增", "updated": "更新", "unchanged": "未变", "failed": "失败",
          "skipped": "跳过"}
UPLOAD_HEADERS = ["文件", "状态", "doc_id", "段落数", "原因 / 处理办法"]
DOC_HEADERS = ["doc_id", "标题", "日期", "来源", "段落数", "入库时间"]
JOB_HEADERS = ["提交时间", "文件", "状态", "进度", "段落数", "说明"]
JOB_STATUS = {"queued": "排队中", "waiting": "等待其他入库", "running": "入库中", "done": "完成",
              "failed": "失败"}

THEME = gr.themes.Soft(
    primary_hue=gr.themes.colors.red, secondary_hue=gr.themes.colors.slate,
    neutral_hue=gr.themes.colors.slate,
    # System fonts only: nothing is fetched from a font service (the server may be offline).
    font=["PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC",
          "WenQuanYi Micro Hei", "system-ui", "sans-serif"],
    font_mono=["ui-monospace", "Consolas", "monospace"],
).set(
    body_background_fill="#f6f4f1", block_radius="12px",
    block_label_background_fill="transparent", block_title_background_fill="transparent",
    block_label_text_color="*neutral_600", block_title_text_color="*neutral_600",
    block_label_text_size="*text_sm", block_label_padding="0 0 4px 0",
    button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_600",
)

CSS = """
.gradio-container { max-width: 1320px !important; width: 100% !important; margin: 0 auto; }
#kb-toolbar { align-items: end; }
#kb-new-chat { align-self: end; margin-bottom: 2px; }
#kb-header { padding: 18px 4px 6px; border-bottom: 3px solid #b91c1c; margin-bottom: 8px; }
#kb-header h1 { font-size: 28px; font-weight: 700; color: #7f1d1d; margin: 0; letter-spacing: 2px; }
#kb-header .kb-sub { color: #57534e; margin-top: 6px; font-size: 14px; }
#kb-header .kb-stats { color: #78716c; font-size: 12px; margin-top: 4px; }
#kb-chat .message { font-size: 15px; line-height: 1.75; }
.kb-question { white-space: normal; }
.kb-answer { line-height: 1.8; }
.kb-ref { color: #b91c1c; font-weight: 600; font-size: 0.85em; margin: 0 1px;
          vertical-align: super; line-height: 0; }
.kb-foot { margin-top: 8px; font-size: 12px; color: #15803d; }
.kb-note { margin-top: 6px; font-size: 13px; color: #475569; }
.kb-small { font-size: 12px; color: #64748b; }
.kb-abstained { background: #eef2f7; border-left: 4px solid #64748b; padding: 10px 14px;
                border-radius: 8px; }
.kb-abstained .kb-abstain-head { font-weight: 600; color: #334155; }
.kb-abstained .kb-foot { color: #64748b; }
.kb-warning { margin-top: 8px; background: #fff7ed; border: 1px solid #fdba74; color: #9a3412;
              padding: 8px 12px; border-radius: 8px; font-size: 13px; }
.kb-warning strong { display: block; margin-bottom: 2px; }
.kb-unverified { font-family: ui-monospace, monospace; background: #fee2e2; color: #b91c1c;
                 padding: 0 4px; border-radius: 4px; }
.kb-unverified-answer { border-left: 4px solid #ea580c; padding-left: 12px; }
.kb-unverified-answer .kb-foot { color: #c2410c; }
.kb-error { background: #fef2f2; border-left: 4px solid #dc2626; padding: 10px 14px;
            border-radius: 8px; }
.kb-error-head { font-weight: 600; color: #b91c1c; }
.kb-streaming .kb-foot, .kb-pending { color: #64748b; }
.kb-cursor { animation: kb-blink 1s steps(2) infinite; color: #b91c1c; }
@keyframes kb-blink { 50% { opacity: 0; } }
.kb-dots::after { content: "…"; animation: kb-blink 1s steps(2) infinite; }
#kb-sources-panel { background: #fff; border: 1px solid #e7e5e4; border-radius: 12px;
                    padding: 14px 16px; min-height: 200px; max-height: 720px; overflow-y: auto; }
.kb-sources-head, .kb-sources-empty-title { font-weight: 700; font-size: 16px; color: #7f1d1d;
                                             margin-bottom: 6px; }
.kb-count { display: inline-block; background: #b91c1c; color: #fff; border-radius: 10px;
            font-size: 12px; padding: 0 8px; margin-left: 4px; vertical-align: middle; }
.kb-sources-question { font-size: 13px; color: #44403c; margin-bottom: 4px; }
.kb-sources-hint, .kb-sources-empty p { font-size: 12px; color: #78716c; margin: 2px 0 10px; }
.kb-sources-none { color: #475569; background: #eef2f7; padding: 10px 12px; border-radius: 8px; }
details.kb-src { border: 1px solid #e7e5e4; border-radius: 10px; margin-bottom: 10px;
                 background: #fafaf9; }
details.kb-src[open] { background: #fff; border-color: #fca5a5; }
details.kb-src > summary { cursor: pointer; list-style: none; padding: 10px 12px; }
details.kb-src > summary::-webkit-details-marker { display: none; }
.kb-src-n { color: #b91c1c; font-weight: 700; margin-right: 6px; }
.kb-src-title { font-weight: 600; color: #1c1917; }
.kb-src-meta { display: block; font-size: 12px; color: #78716c; margin-top: 2px; }
.kb-snippet { font-size: 13px; color: #44403c; margin-top: 6px; line-height: 1.7; }
details.kb-src[open] .kb-snippet { display: none; }
.kb-src-body { padding: 0 12px 12px; }
.kb-passage { white-space: pre-wrap; font-size: 13.5px; line-height: 1.8; color: #292524;
              background: #f5f5f4; border-radius: 8px; padding: 10px 12px; max-height: 360px;
              overflow-y: auto; }
mark.kb-quote { background: #fde68a; color: inherit; padding: 1px 2px; border-radius: 3px; }
.kb-quote-alone { margin-bottom: 6px; }
.kb-src-file { font-size: 11.5px; color: #a8a29e; margin-top: 6px; word-break: break-all; }
#kb-staff-msg .kb-ok { color: #15803d; }
#kb-staff-msg .kb-bad { color: #b91c1c; }
#kb-staff-msg .kb-partly { color: #b45309; }
#kb-staff-msg .kb-msg { padding: 8px 12px; border-radius: 8px; background: #f5f5f4; }
#kb-login { max-width: 560px; }
#kb-login-msg .kb-bad { color: #b91c1c; }
#kb-upload-results, #kb-docs { --font-mono: var(--font); }
#kb-footer { text-align: center; font-size: 12px; color: #a8a29e; padding: 12px 0 4px; }
#kb-footer a { color: #a8a29e; }
"""


# ---- the chat ------------------------------------------------------------------------------
def _new_conversation() -> dict:
    """messages: what the chat shows; questions: earlier questions (the bot's history);
    panels: the sources panel of each answer, by its message index; logs: its question-log id
    (what a thumbs-down refers to)."""
    return {"messages": [], "questions": [], "panels": {}, "logs": {}}


def _header_html(records: dict[str, DocRecord], settings: Settings) -> str:
    mode = "大模型撰写 + 引用核对" if settings.effective_mode == "llm" else "摘录原文作答"
    chunks = sum(r.chunks for r in records.values())
    return (f'<div id="kb-header"><h1>{TITLE}</h1><div class="kb-sub">{SUBTITLE}</div>'
            f'<div class="kb-stats">已收录 {len(records)} 份文件 · {chunks} 个段落 · {mode}</div>'
            "</div>")


def _doc_label(rec: DocRecord, limit: int = 34) -> str:
    title = rec.title if len(rec.title) <= limit else rec.title[:limit - 1] + "…"
    return f"{title}（{rec.date}）" if rec.date else title


def _filter_choices(records: dict[str, DocRecord]) -> tuple[list, list]:
    recs = sorted(records.values(), key=lambda r: (r.title, r.doc_id))
    docs = [(_doc_label(r), r.doc_id) for r in recs]
    years = sorted({y for r in records.values() for y in (r.years or ([r.year] if r.year else []))},
                   reverse=True)
    return docs, [(f"{y}年", y) for y in years]


class ChatHandlers:
    """The chat's event handlers over one Bot."""

    def __init__(self, bot: Bot, settings: Settings):
        self.bot, self.settings = bot, settings

    def records(self) -> dict[str, DocRecord]:
        try:
            return self.bot.kb.records()
        except KBError as exc:
            logger.error("cannot read the document list: %s", exc)
            return {}

    def on_load(self, doc_ids: list | None, years: list | None):
        """Fresh filter choices and counts when a page opens (documents may have changed)."""
        records = self.records()
        docs, year_choices = _filter_choices(records)
        keep_docs = [d for d in (doc_ids or []) if d in records]
        known_years = {v for _, v in year_choices}
        keep_years = [y for y in (years or []) if y in known_years]
        return (_header_html(records, self.settings),
                gr.Dropdown(choices=docs, value=keep_docs),
                gr.Dropdown(choices=year_choices, value=keep_years))

    def ask(self, question: str, doc_ids: list | None, years: list | None,
            conv: dict | None, request: gr.Request | None = None
            ) -> Iterator[tuple[str, list, str, dict]]:
        """Answer one question of the conversation; yields (textbox, chat, sources, state)."""
        conv = _copy(conv)
        question = " ".join((question or "").split())
        turns = self.settings.max_history_turns
        history = list(conv["questions"])
        recent = history[-turns:] if turns else []
        problem = question_problem(question, recent, self.settings.max_question_chars, turns)
        if problem is not None:  # the checks every face makes, said in Chinese
            gr.Warning(chinese(problem))
            yield question, conv["messages"], self._panel(conv), conv
            return
        messages = conv["messages"] + [{"role": "user", "content": render.user_html(question)},
                                       {"role": "assistant", "content": render.PENDING}]
        index = len(messages) - 1

        def shown(content: str, panel: str = render.sources_html(None)):
            """One update: the answer slot replaced; a new list each time, never one mutated
            after it was handed out."""
            messages[index] = {"role": "assistant", "content": content}
            conv["messages"] = list(messages)
            return "", list(messages), panel, {**conv}

        yield shown(render.PENDING)
        filters = {"doc_ids": [str(d) for d in doc_ids or []], "years": _years(years)}
        answer: Answer | None = None
        logged = {"log": "chat", "client": _client_of(request)}
        try:
            if self.settings.effective_mode == "llm":
                text = ""
                for item in self.bot.stream(question, history=recent, filters=filters, **logged):
                    if isinstance(item, Answer):
                        answer = item
                        break
                    text += item
                    yield shown(render.streaming_html(text))
            else:
                answer = self.bot.ask(question, history=recent, filters=filters, **logged)
        except StoreUnavailable as exc:
            logger.warning("answering in the chat: %s", exc)
            yield shown(render.error_html(STORE_DOWN_ZH))
            return
        except KBError as exc:
            yield shown(render.error_html(str(exc)))
            return
        except Exception:
            logger.exception("answering %r failed", question)
            yield shown(render.error_html("服务器内部错误，未能回答；详细信息已写入服务器日志。"))
            return
        if answer is None:  # a stream that ended without its answer
            yield shown(render.error_html("回答中断，请重试。"))
            return
        panel = render.sources_html(answer, question)
        conv["questions"] = history + [question]
        conv["panels"] = {**conv["panels"], str(index): panel}
        conv["logs"] = {**conv["logs"], str(index): answer.log_id}
        yield shown(render.answer_html(answer), panel)

    def feedback(self, conv: dict | None, evt: gr.LikeData) -> None:
        """Thumbs up/down (or a reason under the flag) on one answer, into the question log."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        log_id = ((conv or {}).get("logs") or {}).get(str(index))
        if not log_id:
            gr.Warning("这条回答没有记录，无法评价。")
            return
        if evt.liked is True:
            rating, reason = "up", ""
        elif evt.liked is False:
            rating, reason = "down", ""
        elif isinstance(evt.liked, str) and evt.liked in FEEDBACK_LABELS:
            rating, reason = "down", FEEDBACK_LABELS[evt.liked]
        else:
            return  # a thumb taken back: the earlier rating stays
        try:
            before = self.bot.questions.get(log_id)
            if before is not None and (before.rating, before.feedback_reason) == (rating, reason):
                return  # the same verdict again (Gradio sends a reason's click twice): said once
            found = self.bot.questions.feedback(log_id, rating, reason)
        except KBError as exc:
            logger.warning("feedback not saved: %s", exc)
            gr.Warning("反馈暂时无法保存，请稍后再试。")
            return
        if found:
            gr.Info("谢谢，您的反馈已记录。" + ("工作人员会查看这个问题。" if rating == "down" else ""))

    @staticmethod
    def _panel(conv: dict) -> str:
        panels = conv.get("panels") or {}
        if not panels:
            return render.sources_html(None)
        return panels[max(panels, key=int)]

    @staticmethod
    def new_chat():
        conv = _new_conversation()
        return "", [], render.sources_html(None), conv

    @staticmethod
    def show_sources(conv: dict | None, evt: gr.SelectData):
        """Clicking an earlier answer shows its sources again."""
        conv = conv or _new_conversation()
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        panels = conv.get("panels") or {}
        key = str(index)
        if key not in panels and isinstance(index, int):
            key = str(index + 1)  # the question above an answer stands for that answer
        return panels.get(key, gr.skip())

    @staticmethod
    def example(evt: gr.SelectData) -> str:
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value or "")


def answerable(bot: Bot, questions: list[str], most: int = 4) -> list[str]:
    """The questions the knowledge base answers now (asked once, not logged): an example that
    only ever says "没有找到" teaches a new member nothing."""
    kept = []
    for q in questions:
        try:
            if not bot.ask(q).abstained:
                kept.append(q)
        except KBError as exc:
            logger.warning("example %r not checked: %s", q, exc)
        if len(kept) == most:
            break
    return kept


def _years(values: list | None) -> list[int]:
    """Years from the year filter: 2025, "2025" or "2025年"; anything else is ignored."""
    out = []
    for v in values or []:
        digits = str(v).strip().removesuffix("年")
        if digits.isdigit() and len(digits) == 4:
            out.append(int(digits))
    return out


def _copy(conv: dict | None) -> dict:
    conv = conv or _new_conversation()
    return {"messages": list(conv.get("messages") or []),
            "questions": list(conv.get("questions") or []),
            "panels": dict(conv.get("panels") or {}),
            "logs": dict(conv.get("logs") or {})}


def _client_of(request: gr.Request | None) -> str:
    client = getattr(request, "client", None) if request is not None else None
    return getattr(client, "host", "") or ""


# ---- the staff desk ------------------------------------------------------------------------
class NotLoggedIn(gr.Error):
    def __init__(self):
        super().__init__("请先在“工作人员”页登录。", title="需要登录")


class StaffHandlers:
    """Upload, list, delete and re-index; each call checks the session's login first."""

    def __init__(self, bot: Bot, settings: Settings, throttle: LoginThrottle | None = None,
                 jobs: IngestQueue | None = None, sessions: StaffSessions | None = None):
        self.bot, self.settings = bot, settings
        self.throttle = throttle or LoginThrottle()
        self.jobs = jobs or IngestQueue(bot.kb)
        self.sessions = sessions or StaffSessions()
        token = settings.staff_token
        if token is None:
            raise ValueError("the staff desk needs settings.staff_token")
        self._secret = token.get_secret_value().strip().encode("utf-8")

    # -- login --
    def check(self, password: str | None) -> bool:
        given = (password or "").strip().encode("utf-8")
        return bool(given) and secrets.compare_digest(given, self._secret)

    def login(self, password: str | None, request: gr.Request | None = None):
        who = getattr(getattr(request, "client", None), "host", None) or "?"
        wait = self.throttle.wait(who)
        if wait or not self.check(password):
            if not wait:
                self.throttle.failed(who)
            text = (f"口令错误次数过多，请 {wait} 秒后再试。" if wait
                    else "口令不正确，请重新输入。")
            return (False, gr.Column(visible=True), gr.Column(visible=False),
                    _msg(text, ok=False), "", gr.skip(), gr.skip(), "")
        self.throttle.succeeded(who)
        table, choices = self._documents()
        # The browser keeps the session id as a cookie (set by the login's `js` step) and
        # sends it with every later action; the server checks it there.
        return (True, gr.Column(visible=False), gr.Column(visible=True), "", "", table,
                gr.Dropdown(choices=choices, value=None), self.sessions.issue())

    def logout(self, request: gr.Request | None = None):
        self.sessions.revoke(_staff_cookie(request))
        return (False, gr.Column(visible=True), gr.Column(visible=False),
                _msg("已退出。"), None, "")

    def _require(self, authed: Any, request: gr.Request | None) -> None:
        if authed is not True or not self.sessions.valid(_staff_cookie(request)):
            raise NotLoggedIn()

    # -- documents --
    def _records(self) -> list[DocRecord]:
        return sorted(self.bot.kb.records().values(), key=lambda r: (-r.added_at, r.doc_id))

    def _documents(self) -> tuple[list[list], list[tuple[str, str]]]:
        recs = self._records()
        table = [[r.doc_id, r.title, r.date, r.source, r.chunks, _when(r.added_at)] for r in recs]
        choices = [(f"{_doc_label(r)} · {r.doc_id}", r.doc_id) for r in recs]
        return table, choices

    def _after_change(self, pick: str | None = None):
        """Updates for the document table, the selector, and the chat's filters."""
        table, choices = self._documents()
        records = self.bot.kb.records()
        docs, years = _filter_choices(records)
        keep = pick if pick in records else None
        return (table, gr.Dropdown(choices=choices, value=keep), gr.Dropdown(choices=docs),
                gr.Dropdown(choices=years), _header_html(records, self.settings))

    def refresh(self, authed: Any, request: gr.Request | None = None):
        self._require(authed, request)
        return self._after_change()

    def conflict_rows(self, authed: Any, request: gr.Request | None = None) -> list[list]:
        """Answers whose sources disagreed on a figure: which documents to reconcile."""
        self._require(authed, request)
        return [[c.question, " ／ ".join(f"《{t}》" for t in c.documents),
                 " ／ ".join(figures_of(q) for q in c.quotes), c.count, _when(c.last)]
                for c in self.bot.conflicts.recent()]

    def job_rows(self, authed: Any, request: gr.Request | None = None) -> list[list]:
        """Upload jobs of this server, newest first — desk and API uploads alike."""
        self._require(authed, request)
        rows = []
        for job in self.jobs.recent()[:_JOBS_SHOWN]:
            if job.status == "done":
                note = _tally({k: sum(o.status == k for o in job.outcomes) for k in STATUS})
            elif job.status == "failed" and job.note == INTERRUPTED:
                note = "服务器在这次上传结束前停止：已处理完的文件已完整入库（见文件列表），其余文件请重新上传。"
            elif job.status == "failed":
                note = _readable(KBError(job.note or "入库失败"))
            elif job.status == "waiting":
                note = f"等待另一个进程释放知识库（{job.note}）"
            else:
                note = ""
            rows.append([_when(job.created), "、".join(job.files),
                         JOB_STATUS.get(job.status, job.status), f"{job.done}/{job.total}",
                         job.chunks, note])
        return rows

    @staticmethod
    def when_logged_in(rows):
        """A table filled after a login or upload: left alone when the login had failed."""
        def fill(authed: Any, request: gr.Request | None = None):
            return rows(authed, request) if authed is True else gr.skip()
        return fill

    # -- upload --
    def upload(self, files: list | None, authed: Any, request: gr.Request | None = None,
               progress=gr.Progress()):
        """Ingest uploaded files into the bot's knowledge base; one row per file."""
        self._require(authed, request)
        paths = [Path(f if isinstance(f, str) else getattr(f, "name", str(f)))
                 for f in (files or [])]
        if not paths:
            raise gr.Error("请先选择要上传的文件。", title="没有文件")
        progress(0, desc="正在读取文件…")
        rows: list[list] = []
        uploads = self.settings.uploads_dir
        uploads.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="desk-", dir=uploads) as folder:
            saved: dict[int, Path] = {}
            for i, path in enumerate(paths):
                name, problem = check_name(path.name, {p.name for p in saved.values()})
                if problem is not None:
                    rows.append([name or path.name, STATUS["failed"], "", 0, reason_zh(problem)])
                    continue
                target = Path(folder) / name
                shutil.copyfile(path, target)  # under its own name: the name is the identity
                saved[i] = target
                rows.append([name, "", "", 0, ""])
            outcomes, seconds = [], 0.0
            if saved:  # the same queue as the API's: one upload after another, never a refusal
                job = self.jobs.submit(list(saved.values()), actor=staff_actor("desk", self.settings))
                while not self.jobs.wait(job, 0.5).ended:
                    desc = ("等待另一个入库任务完成…" if job.status == "waiting"
                            else f"已处理 {job.done}/{job.total} 个文件，{job.chunks} 个段落")
                    progress((job.done, max(job.total, 1)), desc=desc)
                if job.status == "failed":
                    why = _readable(KBError(job.note)) if job.note else "入库失败"
                    return (_table_of(rows, error=why), _msg(why, ok=False),
                            *self._after_change(), gr.skip())
                outcomes, seconds = job.outcomes, job.finished - job.started
        by_name = {Path(o.path).name: o for o in outcomes}
        for i, target in saved.items():
            o = by_name.get(target.name)
            if o is None:
                rows[i][1], rows[i][4] = STATUS["failed"], "未处理（原因不明，请查看服务器日志）"
                continue
            why = " — ".join(x for x in (o.reason, o.fix) if x)
            rows[i][1:] = [STATUS.get(o.status, o.status), o.doc_id, o.chunks, why]
        counts = {s: sum(r[1] == label for r in rows) for s, label in STATUS.items()}
        ok = True if not counts["failed"] else (None if counts["added"] + counts["updated"] else False)
        note = _tally(counts) + (f"，耗时 {seconds:.1f} 秒" if saved else "")
        if counts["added"] or counts["updated"]:
            note += "。新内容已可在问答中使用。"
        # The box empties once its files are stored; files that failed stay for another try.
        keep = [str(paths[i]) for i, r in enumerate(rows) if r[1] == STATUS["failed"]]
        return (_table_of(rows), _msg(note, ok=ok), *self._after_change(), keep or None)

    # -- delete, with a confirmation step --
    def delete_request(self, doc_id: str | None, authed: Any,
                       request: gr.Request | None = None):
        self._require(authed, request)
        rec = self.bot.kb.records().get(doc_id or "")
        if rec is None:
            return (None, gr.Row(visible=False), _msg("请先在列表中选择要删除的文档。", ok=False))
        return (rec.doc_id, gr.Row(visible=True),
                _msg(f"确定要删除《{rec.title}》（{rec.doc_id}，{rec.chunks} 个段落）吗？"
                     "删除后问答将不再引用它。请点击“确认删除”。", ok=False))

    def delete_confirm(self, pending: str | None, authed: Any,
                       request: gr.Request | None = None):
        self._require(authed, request)
        if not pending:
            raise gr.Error("没有待确认的删除；请先选择文档并点击“删除”。")
        from ingest.documents import remove_documents

        try:
            removed, _ = remove_documents(self.bot.settings, [pending], kb=self.bot.kb,
                                          actor=staff_actor("desk", self.settings),
                                          wait_s=120.0)  # after an upload that runs
        except Exception as exc:  # noqa: BLE001
            return (None, gr.Row(visible=False), _msg(_readable(exc), ok=False),
                    *self._after_change(pending))
        if not removed:
            message = _msg(f"文档 {pending} 已不在知识库中。", ok=False)
        else:
            message = _msg(f"已删除《{removed[0].title}》（{removed[0].doc_id}）。")
        return (None, gr.Row(visible=False), message, *self._after_change())

    @staticmethod
    def delete_cancel():
        return None, gr.Row(visible=False), _msg("已取消删除。")

    # -- re-index --
    def reindex(self, doc_id: str | None, authed: Any, request: gr.Request | None = None,
                progress=gr.Progress()):
        """Split and embed a document again from the text the store keeps."""
        self._require(authed, request)
        kb = self.bot.kb
        rec = kb.records().get(doc_id or "")
        if rec is None:
            return (_msg("请先在列表中选择要重新索引的文档。", ok=False), *self._after_change())
        progress(0, desc="正在重新索引…")
        try:
            summary, _ = reindex_documents(self.bot.settings, [rec.doc_id], kb=kb,
                                           actor=staff_actor("desk", self.settings),
                                           progress=_progress_feed(progress))
        except Exception as exc:  # noqa: BLE001 — shown to staff as one readable line
            return (_msg(_readable(exc), ok=False), *self._after_change(rec.doc_id))
        o = summary.outcomes[0] if summary.outcomes else None
        if o is None or o.status == "failed":
            why = f"{o.reason} — {o.fix}" if o else "未处理"
            return (_msg(f"重新索引《{rec.title}》失败：{why}", ok=False),
                    *self._after_change(rec.doc_id))
        return (_msg(f"已重新索引《{rec.title}》：{o.chunks} 个段落，"
                     f"耗时 {summary.seconds:.1f} 秒。"), *self._after_change(rec.doc_id))


_JOBS_SHOWN = 20


def _tally(counts: dict[str, int]) -> str:
    """Outcome counts as staff read them: 新增 2 个，失败 1 个."""
    return "，".join(f"{STATUS[k]} {n} 个" for k, n in counts.items() if n)


def _staff_cookie(request: gr.Request | None) -> str | None:
    cookies = getattr(request, "cookies", None) if request is not None else None
    return dict(cookies or {}).get(StaffSessions.COOKIE)


_SET_COOKIE = ("(sid) => { if (sid) { document.cookie = 'kb_staff=' + sid + "
               "'; path=/; SameSite=Strict; max-age=28800'; } }")
_CLEAR_COOKIE = "() => { document.cookie = 'kb_staff=; path=/; SameSite=Strict; max-age=0'; }"


def _progress_feed(progress):
    def feed(done: int, total: int, summary: IngestSummary) -> None:
        progress((done, total), desc=f"已处理 {done}/{total} 个文件，{summary.chunks} 个段落",
                 unit="个文件")
    return feed


def _table_of(rows: list[list], error: str = "") -> list[list]:
    if error:
        return [[r[0], STATUS["failed"], "", 0, r[4] or error] for r in rows]
    return rows


def _readable(exc: Exception) -> str:
    """A failed staff operation as one sentence; unexpected errors go to the log in full."""
    if isinstance(exc, StoreLocked):
        return f"另一个入库或删除任务正在进行，请稍后再试。（{exc}）"
    if isinstance(exc, KBError):
        return f"操作未完成：{exc}"
    logger.error("a staff operation failed", exc_info=exc)
    return f"操作未完成：服务器内部错误（{type(exc).__name__}），详细信息已写入服务器日志。"


def _msg(text: str, ok: bool | None = True) -> str:
    """A desk message: green when all went well, amber when partly, red when not at all."""
    cls = "kb-ok" if ok else ("kb-partly" if ok is None else "kb-bad")
    return f'<div class="kb-msg {cls}">{render.text_html(text)}</div>'


# ---- the page ------------------------------------------------------------------------------
def build_ui(bot: Bot, settings: Settings, throttle: LoginThrottle | None = None,
             jobs: IngestQueue | None = None, sessions: StaffSessions | None = None,
             staff_loop: StaffLoop | None = None) -> gr.Blocks:
    """The page: chat and sources; the staff desk tab only when a staff token is configured."""
    chat = ChatHandlers(bot, settings)
    records = chat.records()
    docs, years = _filter_choices(records)
    # Files sent to Gradio's upload endpoint are deleted after an hour (checked every 10 min).
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        conv = gr.State(_new_conversation())
        header = gr.HTML(_header_html(records, settings), elem_id="kb-header-box")
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        with gr.Row(elem_id="kb-toolbar"):
                            doc_filter = gr.Dropdown(
                                choices=docs, value=[], multiselect=True,
                                label="只查这些文件（不选＝全部）", scale=3,
                                allow_custom_value=True,  # documents added after the page opened
                                elem_id="kb-doc-filter")
                            year_filter = gr.Dropdown(
                                choices=years, value=[], multiselect=True,
                                label="年份（不选＝全部）", scale=1, min_width=150,
                                allow_custom_value=True, elem_id="kb-year-filter")
                            new_chat = gr.Button("新对话", variant="secondary", scale=0,
                                                 min_width=96, elem_id="kb-new-chat")
                        chatbot = gr.Chatbot(
                            elem_id="kb-chat", show_label=False, height=500,
                            examples=[{"text": q} for q in answerable(bot, EXAMPLES)] or None,
                            placeholder="<b>您好！</b>请提问政协工作相关的问题，或点击下面的示例。",
                            latex_delimiters=[], buttons=["copy"],
                            feedback_options=("Like", "Dislike", *FEEDBACK_LABELS),
                            layout="bubble", autoscroll=True)
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False, scale=8, lines=1, max_lines=4,
                                placeholder="输入问题，按回车发送，例如：2025年淄博市政协全年提案数量是多少？",
                                elem_id="kb-question")
                            send = gr.Button("发送", variant="primary", scale=1, min_width=80,
                                             elem_id="kb-send")
                    with gr.Column(scale=2, min_width=340):
                        sources = gr.HTML(render.sources_html(None), elem_id="kb-sources-panel")
            if settings.staff_token is not None:
                staff = StaffHandlers(bot, settings, throttle, jobs, sessions)
                _staff_tab(staff, LoopHandlers(staff, staff_loop or StaffLoop(bot)), doc_filter,
                           year_filter, header)
        gr.HTML('<div id="kb-footer">政协知识库问答 · 回答仅依据已收录文件，请以原文为准 · '
                '<a href="/api/docs" target="_blank">API 文档</a></div>')

        ask_io = {"fn": chat.ask, "inputs": [question, doc_filter, year_filter, conv],
                  "outputs": [question, chatbot, sources, conv], "show_progress": "hidden"}
        ask_event = send.click(**ask_io, api_name="ask")
        submit_event = question.submit(**ask_io, api_visibility="private")
        example_event = chatbot.example_select(
            chat.example, None, question, api_visibility="private", queue=False
        ).then(**ask_io, api_visibility="private")
        reset = {"fn": chat.new_chat, "inputs": None, "outputs": [question, chatbot, sources, conv],
                 "cancels": [ask_event, submit_event, example_event], "queue": False}
        new_chat.click(**reset, api_name="new_chat")
        chatbot.clear(**reset, api_visibility="private")  # the chat's own trash button
        chatbot.select(chat.show_sources, conv, sources, api_visibility="private", queue=False)
        chatbot.like(chat.feedback, conv, None, api_visibility="private")  # queued: toasts show
        demo.load(chat.on_load, [doc_filter, year_filter], [header, doc_filter, year_filter],
                  api_visibility="private", queue=False)
    demo.queue(default_concurrency_limit=4)
    return demo


def _staff_tab(staff: StaffHandlers, loop_handlers: LoopHandlers, doc_filter, year_filter,
               header) -> None:
    with gr.Tab("工作人员", id="staff"):
        authed = gr.State(False)
        pending = gr.State(None)
        session = gr.Textbox(visible=False)  # the login's session id, on its way to the cookie
        with gr.Column(visible=True, elem_id="kb-login") as login_box:
            gr.Markdown("### 工作人员登录\n上传、删除和重新索引文件需要工作人员口令"
                        "（即服务器上设置的 `CPPCC_KB_STAFF_TOKEN`）。")
            password = gr.Textbox(label="口令", type="password", elem_id="kb-staff-password")
            login = gr.Button("登录", variant="primary", elem_id="kb-staff-login")
            login_msg = gr.HTML("", elem_id="kb-login-msg")
        with gr.Column(visible=False) as desk:
            with gr.Row():
                gr.Markdown("已登录工作台：管理文件，查看委员未得到回答的问题、使用情况和操作记录。")
                logout = gr.Button("退出登录", scale=0, min_width=100)
            with gr.Tabs():
                with gr.Tab("文档", id="staff-docs"):
                    gr.Markdown("### 上传文件\n支持 .txt .md .html .htm .pdf .docx；文件名即文档"
                                "身份，再次上传同名文件会更新该文档。")
                    files = gr.File(file_count="multiple", label="选择一个或多个文件", height=150,
                                    elem_id="kb-upload-files")
                    upload = gr.Button("上传并入库", variant="primary", elem_id="kb-upload")
                    results = gr.Dataframe(
                        headers=UPLOAD_HEADERS, value=[], interactive=False, wrap=True,
                        column_widths=["22%", "8%", "15%", "8%", "47%"], latex_delimiters=[],
                        label="本次上传结果", elem_id="kb-upload-results")
                    staff_msg = gr.HTML("", elem_id="kb-staff-msg")
                    gr.Markdown("### 文档列表")
                    table = gr.Dataframe(
                        headers=DOC_HEADERS, value=[], interactive=False, wrap=True,
                        column_widths=["14%", "33%", "11%", "24%", "7%", "11%"],
                        latex_delimiters=[], max_height=420, label="知识库中的文档（最新入库在前）",
                        elem_id="kb-docs")
                    with gr.Row():
                        # Custom values reach the handlers, which check the login and the id.
                        pick = gr.Dropdown(choices=[], label="选择文档", scale=4,
                                           allow_custom_value=True, elem_id="kb-doc-pick")
                        reindex = gr.Button("重新索引", scale=1, elem_id="kb-reindex")
                        delete = gr.Button("删除", variant="stop", scale=1, elem_id="kb-delete")
                        refresh = gr.Button("刷新列表", scale=1)
                    with gr.Row(visible=False) as confirm_row:
                        confirm = gr.Button("确认删除", variant="stop", elem_id="kb-delete-confirm")
                        cancel = gr.Button("取消")
                    gr.Markdown("### 资料冲突\n回答时不同文档给出了不一致的数字（两者都已列给委员，"
                                "未作为确定答案）；请核对后更新或删除有误的文档。")
                    conflicts = gr.Dataframe(
                        headers=CONFLICT_HEADERS, value=[], interactive=False, wrap=True,
                        latex_delimiters=[], elem_id="kb-conflicts", label="最近的冲突",
                        column_widths=["30%", "34%", "16%", "6%", "14%"])
                    gr.Markdown("### 入库任务\n本服务器收到的上传（工作台和 API），最新在前；"
                                "点击“刷新列表”更新。")
                    jobs = gr.Dataframe(
                        headers=JOB_HEADERS, value=[], interactive=False, wrap=True,
                        latex_delimiters=[], elem_id="kb-jobs", label="最近的入库任务",
                        column_widths=["14%", "30%", "12%", "8%", "8%", "28%"])
                loop = loop_tabs(loop_handlers, authed)

    changed = [table, pick, doc_filter, year_filter, header]
    login_io = {"fn": staff.login, "inputs": password,
                "outputs": [authed, login_box, desk, login_msg, password, table, pick, session]}
    for trigger in (login.click(**login_io, api_name="staff_login"),
                    password.submit(**login_io, api_visibility="private")):
        trigger.then(None, session, None, js=_SET_COOKIE, api_visibility="private").then(
            staff.when_logged_in(staff.conflict_rows), authed, conflicts,
            api_visibility="private").then(
            staff.when_logged_in(staff.job_rows), authed, jobs, api_visibility="private").then(
            **loop["fill_queue"]).then(**loop["fill_usage"]).then(**loop["fill_audit"])
    logout.click(staff.logout, None, [authed, login_box, desk, login_msg, pending, staff_msg],
                 api_name="staff_logout").then(None, None, None, js=_CLEAR_COOKIE,
                                               api_visibility="private")
    upload.click(staff.upload, [files, authed], [results, staff_msg, *changed, files],
                 api_name="staff_upload", concurrency_limit=1, concurrency_id="staff-write"
                 ).then(staff.when_logged_in(staff.job_rows), authed, jobs,
                        api_visibility="private").then(**loop["fill_queue"]).then(
        **loop["fill_audit"])
    refresh.click(staff.refresh, authed, changed, api_name="staff_documents").then(
        staff.conflict_rows, authed, conflicts, api_name="staff_conflicts").then(
        staff.job_rows, authed, jobs, api_name="staff_jobs")
    delete.click(staff.delete_request, [pick, authed], [pending, confirm_row, staff_msg],
                 api_name="staff_delete")
    confirm.click(staff.delete_confirm, [pending, authed],
                  [pending, confirm_row, staff_msg, *changed], api_name="staff_delete_confirm",
                  concurrency_limit=1, concurrency_id="staff-write")
    cancel.click(staff.delete_cancel, None, [pending, confirm_row, staff_msg],
                 api_visibility="private")
    # Choosing another document withdraws a pending confirmation: “确认删除” names one document.
    pick.change(lambda: (None, gr.Row(visible=False)), None, [pending, confirm_row],
                api_visibility="private", queue=False)
    reindex.click(staff.reindex, [pick, authed], [staff_msg, *changed], api_name="staff_reindex",
                  concurrency_limit=1, concurrency_id="staff-write")
