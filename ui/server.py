"""One process, one Bot: the FastAPI app (routes under /api) with the Gradio page mounted at "/"."""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI

from bot.app import create_api
from bot.chain import Bot, get_bot
from cppcc_kb.settings import Settings
from ui.app import CSS, GRADIO_WORDS_ZH, THEME, build_ui

_UPLOAD_SLACK = 1024 * 1024  # the file's own limit is checked, with its reason, by ingest


def create_app(settings: Settings, bot: Bot | None = None) -> FastAPI:
    """The API and the chat over the same Bot, so an upload on either is answered from at once."""
    bot = bot or get_bot(settings)
    app = create_api(settings, bot)
    # One back-off for wrong tokens, one upload queue and one set of desk logins (which the
    # guard checks on Gradio's upload endpoint), for the API and the desk alike.
    blocks = build_ui(bot, settings, app.state.login_throttle, app.state.jobs,
                      app.state.staff_sessions, app.state.staff_loop)
    return gr.mount_gradio_app(
        app, blocks, path="/", theme=THEME, css=CSS, footer_links=[], run_history=False,
        ssr_mode=False, mcp_server=False, show_error=True,
        i18n=gr.I18n(en=GRADIO_WORDS_ZH),
        max_file_size=settings.max_file_bytes + _UPLOAD_SLACK,
        head='<meta name="description" content="政协知识库问答">')
