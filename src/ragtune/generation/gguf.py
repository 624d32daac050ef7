"""``gguf:<file>``: a GGUF model through llama-cpp-python (the optional ``gguf`` extra), about 2.5 times
faster than transformers on CPU for the default SmolLM2 one answer at a time (it answers one at a time; the
transformers path decodes greedy answers in batches, see docs/generation.md). Plain ``local`` uses it when
``generation.local_backend`` is ``gguf``, or ``auto`` and llama-cpp-python is installed.

llama-cpp-python ships no wheel; the extra builds it from source. Build it with portable CPU flags (the
native build crashes on some CPUs), as ``pip install 'ragtune[gguf]'`` with
``CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF"``.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any
from pathlib import Path

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError, ProviderError
from ragtune.generation.base import GenerateOptions, Generation, GeneratorBase, Prompt, TextCallback, Usage
from ragtune.generation.local import LOCAL_STOP

EXTRA_HINT = ("GGUF models need llama-cpp-python: CMAKE_ARGS=\"-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON "
              "-DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF\" pip install 'ragtune[gguf]'")
DEFAULT_CONTEXT = 4096


def llama_cpp_installed() -> bool:
    """Whether llama-cpp-python can be imported."""
    return importlib.util.find_spec("llama_cpp") is not None


class GGUFGenerator(GeneratorBase):
    """A GGUF chat model run by llama.cpp, ``n_threads`` pinned (see the module docstring)."""

    trainable = True

    def __init__(self, path: str | Path, config: GenerationConfig | None = None, spec: str | None = None) -> None:
        self.path = Path(path).expanduser()
        if self.path.suffix.lower() != ".gguf" or not self.path.is_file():
            raise ConfigError(f"{self.path}: no such GGUF file")
        self.config = config or GenerationConfig()
        self.spec = spec or f"gguf:{self.path}"
        self._llm: Any = None
        self._lock = threading.Lock()

    def load(self) -> "GGUFGenerator":
        """Load the model now (normally on first use)."""
        if self._llm is not None:
            return self
        if not llama_cpp_installed():
            raise ConfigError(EXTRA_HINT)
        from llama_cpp import Llama

        try:
            self._llm = Llama(model_path=str(self.path), n_ctx=self.config.context_window or DEFAULT_CONTEXT,
                              n_threads=self.config.threads or 1, seed=self.config.seed if self.config.seed is not None else -1,
                              verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(f"{self.path}: llama.cpp cannot load this model: {exc}") from exc
        return self

    @property
    def context_window(self) -> int:
        return int(self.load()._llm.n_ctx())

    def count_tokens(self, text: str) -> int:
        return len(self.load()._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        options = options or GenerateOptions.from_config(self.config)
        llm = self.load()._llm
        kwargs = dict(messages=prompt.messages, max_tokens=options.max_new_tokens, temperature=options.temperature,
                      top_p=options.top_p, stop=LOCAL_STOP if options.stop is None else (list(options.stop) or None))
        if options.seed is not None:
            kwargs["seed"] = options.seed
        with self._lock:
            try:
                if on_text is None:
                    reply = llm.create_chat_completion(**kwargs)
                    text = reply["choices"][0]["message"].get("content") or ""
                    finish = reply["choices"][0].get("finish_reason") or "stop"
                    usage = reply.get("usage") or {}
                else:
                    text, finish, usage = "", "stop", {}
                    for chunk in llm.create_chat_completion(**kwargs, stream=True):
                        for choice in chunk.get("choices", []):
                            piece = (choice.get("delta") or {}).get("content")
                            if piece:
                                text += piece
                                on_text(piece)
                            finish = choice.get("finish_reason") or finish
                        usage = chunk.get("usage") or usage
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"{self.spec}: generation failed: {exc}") from exc
        n_in = int(usage.get("prompt_tokens") or 0) or sum(self.count_tokens(m["content"]) for m in prompt.messages)
        n_out = int(usage.get("completion_tokens") or 0) or self.count_tokens(text)
        return Generation(text=text, usage=Usage(n_in, n_out), finish_reason=finish, model=self.spec)
