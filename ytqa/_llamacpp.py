"""A GGUF file run in this process by llama.cpp (``llama-cpp-python``), as a LangChain
chat model: ``llamacpp:/path/model.gguf``. The one owner of ``llama_cpp``.

The model is loaded on first use, with llama.cpp's extra buffer types (weight
repacking) off: on some CPUs ``llama_decode`` crashed the process with them on.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_LOADING = threading.Lock()


@contextlib.contextmanager
def _without_extra_buffers(llama_cpp) -> Iterator[None]:
    """llama-cpp-python takes its model settings from ``llama_model_default_params()``
    and offers no argument for ``use_extra_bufts``: it is turned off there, while loading."""
    low = llama_cpp.llama_cpp
    default = low.llama_model_default_params

    def params():
        settings = default()
        if hasattr(settings, "use_extra_bufts"):
            settings.use_extra_bufts = False
        return settings

    low.llama_model_default_params = params
    try:
        yield
    finally:
        low.llama_model_default_params = default


def _turns(messages: list[BaseMessage], system: bool = True) -> list[dict]:
    """LangChain's messages as llama.cpp's; without a system role (Gemma's turns drop it),
    the system text opens the first user turn, as Gemma's own template does."""
    turns = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
    if system or not turns or turns[0]["role"] != "system":
        return turns
    rules, rest = turns[0]["content"], turns[1:]
    if rest and rest[0]["role"] == "user":
        return [{"role": "user", "content": f"{rules}\n\n{rest[0]['content']}"}, *rest[1:]]
    return [{"role": "user", "content": rules}, *rest]


class LlamaCppChat(BaseChatModel):
    """A chat model over ``llama_cpp.Llama``; the GGUF file's own chat template shapes the turns."""

    model_path: str
    n_ctx: int = 4096
    max_tokens: int = 300
    temperature: float = 0.2
    n_threads: int | None = None
    _llama: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def load(self):
        """The loaded model (a missing file is FileNotFoundError, naming it)."""
        if self._llama is None:
            path = os.path.expanduser(self.model_path)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no GGUF file at {path}")
            import llama_cpp

            # Threads: llama.cpp's default (half the cores) unless set; all cores of a busy
            # machine made it several times slower, not faster.
            threads = {"n_threads": self.n_threads} if self.n_threads else {}
            with _LOADING, _without_extra_buffers(llama_cpp):
                llama = llama_cpp.Llama(model_path=path, n_ctx=self.n_ctx, verbose=False, **threads)
            if "tokenizer.chat_template" not in llama.metadata:
                # No template of its own: llama-cpp-python would fall back to Llama 2's turns;
                # a Gemma file gets Gemma's (a base model was trained on neither, but on its
                # family's tokens).
                family = llama.metadata.get("general.architecture", "")
                llama.chat_format = "gemma" if family.startswith("gemma") else llama.chat_format
            self._llama = llama
        return self._llama

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        llama = self.load()
        turns = _turns(messages, system=llama.chat_format != "gemma")
        with self._lock:  # one llama.cpp context: one answer at a time
            for part in llama.create_chat_completion(messages=turns, stream=True, stop=stop,
                                                     max_tokens=self.max_tokens, temperature=self.temperature):
                text = part["choices"][0]["delta"].get("content") or ""
                if text:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
