"""``openai:<model>[@<base url>]``: any OpenAI-compatible chat-completions server (vLLM, Ollama, llama.cpp
server, ``ragtune serve-model``) through the official ``openai`` SDK.

The key comes from the variable named by ``generation.openai_key_env`` (``OPENAI_API_KEY``); it is
required only when no base URL is given. The SDK retries 408/409/429/5xx replies and connection errors
with exponential backoff (``generation.max_retries``); what still fails becomes a ``ProviderError`` that
names the URL.
"""

from __future__ import annotations

from typing import Any

from ragtune.config import GenerationConfig, read_secret
from ragtune.errors import ConfigError, InputError, MissingKeyError, ProviderError
from ragtune.generation.base import GenerateOptions, Generation, Prompt, ServerGenerator, TextCallback, Usage, estimate_tokens

DEFAULT_WINDOW = 8192


def parse_openai_spec(rest: str, config: GenerationConfig) -> tuple[str, str | None]:
    """``<model>[@<base url>]`` → (model, base URL or the configured one)."""
    model, sep, given = rest.rpartition("@")
    url: str | None = given
    if not sep or not given.startswith(("http://", "https://")):
        model, url = rest, config.openai_base_url
    if not model.strip():
        raise ConfigError(f"model spec 'openai:{rest}': name a model, like openai:qwen2.5-7b-instruct@http://localhost:8000/v1")
    return model.strip(), url



def openai_client(config: GenerationConfig, base_url: str | None, who: str, needs: str, server_form: str) -> Any:
    """An ``openai.OpenAI`` client for ``base_url`` (None: the provider's own), with the key from the environment;
    ``ConfigError`` without the SDK (``needs``: what needs it) and ``MissingKeyError`` naming the variable when no key
    is set and no server is given (``server_form``: how to give one)."""
    try:
        import openai
    except ImportError as exc:
        raise ConfigError(f"{needs} need the openai SDK: pip install 'ragtune[generate]'") from exc
    key = read_secret(config.openai_key_env)
    if key is None and base_url is None:
        raise MissingKeyError(f"{who}: set {config.openai_key_env} to your API key, or give a server: {server_form}")
    return openai.OpenAI(api_key=key or "unused", base_url=base_url, max_retries=config.max_retries, timeout=config.timeout_s)

class OpenAIGenerator(ServerGenerator):
    """Chat completions from an OpenAI-compatible server (see the module docstring)."""

    default_window = DEFAULT_WINDOW

    def __init__(self, model: str, base_url: str | None = None, config: GenerationConfig | None = None,
                 spec: str | None = None) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/") if base_url else None
        self.config = config or GenerationConfig()
        self.spec = spec or f"openai:{model}" + (f"@{self.base_url}" if self.base_url else "")
        self._client: Any = None  # the SDK client, made by load()

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"

    def load(self) -> "OpenAIGenerator":
        """Create the client now (checks the key); normally done on first use."""
        if self._client is None:
            self._client = openai_client(self.config, self.base_url, self.spec, "'openai:' models",
                                         "openai:<model>@http://host:port/v1")
        return self

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        import openai

        options = options or GenerateOptions.from_config(self.config)
        client = self.load()._client
        kwargs = dict(model=self.model, messages=prompt.messages, max_tokens=options.max_new_tokens,
                      temperature=options.temperature, top_p=options.top_p)
        if options.seed is not None:
            kwargs["seed"] = options.seed
        if options.stop:  # None or empty: no stop strings
            kwargs["stop"] = list(options.stop)
        try:
            if on_text is None:
                reply = client.chat.completions.create(**kwargs)
                choice = reply.choices[0] if reply.choices else None
                text = (choice.message.content or "") if choice else ""
                finish = (choice.finish_reason if choice else None) or "stop"
                usage = reply.usage
            else:
                text, finish, usage = "", "stop", None
                for chunk in client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True}):
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices or []:
                        piece = choice.delta.content if choice.delta else None
                        if piece:
                            text += piece
                            on_text(piece)
                        if choice.finish_reason:
                            finish = choice.finish_reason
        except openai.APIConnectionError as exc:
            raise ProviderError(f"cannot reach the model server at {self.where} "
                                f"(tried {self.config.max_retries + 1} times): {exc}") from exc
        except openai.AuthenticationError as exc:
            raise InputError(f"{self.where} refused the key in {self.config.openai_key_env} (401): {exc.message}") from exc
        except openai.NotFoundError as exc:
            raise ConfigError(f"{self.where} has no model '{self.model}' (404): {exc.message}") from exc
        except openai.APIStatusError as exc:
            raise ProviderError(f"the model server at {self.where} replied {exc.status_code}: {exc.message}") from exc
        except openai.OpenAIError as exc:
            raise ProviderError(f"the model server at {self.where} failed: {exc}") from exc
        if usage is not None:
            counted = Usage(int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0))
        else:
            counted = Usage(sum(estimate_tokens(m["content"]) for m in prompt.messages), estimate_tokens(text))
        return Generation(text=text, usage=counted, finish_reason=finish, model=self.spec)
