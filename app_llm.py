"""Edge: the chat page's optional LLM panel. Its settings hold for one browser session only."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import gradio as gr

from app_archive import Archive, user_error

if TYPE_CHECKING:
    from rag.llm import LLMConfig


def llm_from_form(archive: Archive, base_url: str, model: str, api_key: str, timeout: float | None) -> LLMConfig | None:
    """The session's LLM from the page's form; an empty address means extractive answers.

    The server's own API key goes only to the server's own address, never to one a page user typed.
    """
    from rag.llm import LLMConfig, load_llm

    base_url = (base_url or "").strip()
    if not base_url:
        return None
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", base_url):
        raise user_error("大模型地址须以 http:// 或 https:// 开头，例如 http://127.0.0.1:8080/v1。")
    if not timeout or timeout <= 0:
        raise user_error("超时须为正数（秒）。")
    key = (api_key or "").strip() or None
    if key is None and archive.llm is not None and archive.llm.base_url == base_url:
        key = archive.llm.api_key
    config = LLMConfig(base_url=base_url, model=(model or "").strip() or "default", api_key=key, timeout=float(timeout))
    try:
        load_llm(config)
    except ImportError as exc:
        raise user_error(f"服务器未安装大模型支持：{exc}") from exc
    return config


def llm_status(llm: LLMConfig | None) -> str:
    """The answer mode the session is in, for the line under the form."""
    if llm is None:
        return "当前：摘录式回答（直接摘录档案原文，不需要大模型）。"
    return html.escape(f"当前：由大模型 {llm.model} 回答（{llm.base_url}，超时 {llm.timeout:g} 秒）；出错时自动改用摘录式回答。")


def llm_form(archive: Archive) -> gr.State:
    """The optional LLM settings; they hold for this browser session only (the server's stay as started)."""
    configured = archive.llm
    llm = gr.State(configured)
    with gr.Accordion("大模型（可选）", open=False, elem_id="llm-form"):
        gr.Markdown("填写任一 OpenAI 兼容服务（Ollama、vLLM、llama.cpp、DeepSeek、通义千问等）后，由大模型根据检索到的段落作答，"
                    "每句须引用来源并经核对；地址留空则用摘录式回答。")
        with gr.Row():
            base_url = gr.Textbox(label="服务地址", value=configured.base_url if configured else "",
                                  placeholder="http://127.0.0.1:11434/v1", elem_id="llm-url")
            model = gr.Textbox(label="模型名称", value=configured.model if configured else "",
                               placeholder="qwen2.5:7b", elem_id="llm-model")
        with gr.Row():
            api_key = gr.Textbox(label="API 密钥（可空）", type="password", elem_id="llm-key",
                                 placeholder="留空：沿用服务器为同一地址设置的密钥" if configured and configured.api_key else "")
            timeout = gr.Number(label="超时（秒）", value=configured.timeout if configured else 60, minimum=1,
                                elem_id="llm-timeout")
            apply = gr.Button("应用", scale=0, elem_id="llm-apply")
        status = gr.Markdown(llm_status(configured), elem_id="llm-status")

    def chosen(url: str, name: str, key: str, seconds: float | None) -> tuple[Any, ...]:
        config = llm_from_form(archive, url, name, key, seconds)
        return config, llm_status(config)

    apply.click(chosen, [base_url, model, api_key, timeout], [llm, status], api_visibility="private",
                show_progress="hidden")
    return llm
