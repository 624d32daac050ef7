"""``anthropic:<model>``: Claude through the official ``anthropic`` SDK (Messages API, streamed).

The key comes from the variable named by ``generation.anthropic_key_env`` (``ANTHROPIC_API_KEY``). The SDK
retries 408/409/429/5xx and 529 (overloaded) replies and connection errors with exponential backoff
(``generation.max_retries``); an ``overloaded_error`` or ``api_error`` event that arrives inside the
stream, before any text, is retried here the same way. Token usage is what the API reports.
"""

from __future__ import annotations

import time
from typing import Any

from ragtune.config import GenerationConfig, read_secret
from ragtune.errors import ConfigError, InputError, MissingKeyError, ProviderError
from ragtune.generation.base import GenerateOptions, Generation, Prompt, ServerGenerator, TextCallback, Usage

DEFAULT_WINDOW = 200_000
_RETRYABLE_EVENTS = {"overloaded_error", "api_error", "rate_limit_error"}
_BACKOFF_S, _BACKOFF_MAX_S = 0.5, 8.0


class AnthropicGenerator(ServerGenerator):
    """Claude models over the Messages API (see the module docstring)."""

    default_window = DEFAULT_WINDOW

    def __init__(self, model: str, config: GenerationConfig | None = None, spec: str | None = None) -> None:
        if not model.strip():
            raise ConfigError("model spec 'anthropic:': name a model, like anthropic:claude-sonnet-4-5")
        self.model = model.strip()
        self.config = config or GenerationConfig()
        self.spec = spec or f"anthropic:{self.model}"
        self._client: Any = None  # the SDK client, made by load()

    @property
    def where(self) -> str:
        return self.config.anthropic_base_url or "the Anthropic API"

    def load(self) -> "AnthropicGenerator":
        """Create the client now (checks the key); normally done on first use."""
        if self._client is not None:
            return self
        try:
            import anthropic
        except ImportError as exc:
            raise ConfigError("'anthropic:' models need the anthropic SDK: pip install 'ragtune[generate]'") from exc
        key = read_secret(self.config.anthropic_key_env)
        if key is None:
            raise MissingKeyError(f"{self.spec}: set {self.config.anthropic_key_env} to your Anthropic API key")
        self._client = anthropic.Anthropic(api_key=key, base_url=self.config.anthropic_base_url,
                                           max_retries=self.config.max_retries, timeout=self.config.timeout_s)
        return self

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        import anthropic

        options = options or GenerateOptions.from_config(self.config)
        client = self.load()._client
        system = "\n\n".join(m["content"] for m in prompt.messages if m["role"] == "system")
        messages = [{"role": m["role"], "content": m["content"]} for m in prompt.messages if m["role"] != "system"]
        kwargs = dict(model=self.model, max_tokens=options.max_new_tokens, messages=messages)
        if system:
            kwargs["system"] = system
        # The SDK no longer takes sampling settings (current models choose their own); a request for sampling
        # is passed through in the body, for models that still accept it; otherwise the model's default applies.
        sampling = {k: v for k, v in (("temperature", options.temperature), ("top_p", options.top_p))
                    if (k == "temperature" and v > 0) or (k == "top_p" and v < 1.0)}
        if sampling:
            kwargs["extra_body"] = sampling
        if options.stop:  # None or empty: no stop strings
            kwargs["stop_sequences"] = list(options.stop)
        attempt = 0
        while True:
            emitted = False
            try:
                with client.messages.stream(**kwargs) as stream:
                    for piece in stream.text_stream:
                        emitted = True
                        if on_text:
                            on_text(piece)
                    message = stream.get_final_message()
                break
            except anthropic.APIStatusError as exc:
                kind = _error_type(exc.body)
                if kind in _RETRYABLE_EVENTS and not emitted and attempt < self.config.max_retries and exc.status_code < 300:
                    time.sleep(min(_BACKOFF_S * 2 ** attempt, _BACKOFF_MAX_S))
                    attempt += 1
                    continue
                if isinstance(exc, anthropic.AuthenticationError):
                    raise InputError(f"{self.where} refused the key in {self.config.anthropic_key_env} (401)") from exc
                if isinstance(exc, anthropic.NotFoundError):
                    raise ConfigError(f"{self.where} has no model '{self.model}' (404)") from exc
                raise ProviderError(f"{self.where} replied {exc.status_code}"
                                    + (f" ({kind})" if kind else "") + f": {exc.message}") from exc
            except anthropic.APIConnectionError as exc:
                raise ProviderError(f"cannot reach {self.where} (tried {self.config.max_retries + 1} times): {exc}") from exc
            except anthropic.AnthropicError as exc:
                raise ProviderError(f"{self.where} failed: {exc}") from exc
        text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
        usage = Usage(int(message.usage.input_tokens or 0), int(message.usage.output_tokens or 0))
        finish = {"max_tokens": "length"}.get(message.stop_reason or "", "stop")
        return Generation(text=text, usage=usage, finish_reason=finish, model=self.spec)


def _error_type(body: object) -> str | None:
    """The ``error.type`` of an Anthropic error body, such as ``overloaded_error``."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str):
            return error["type"]
    return None
