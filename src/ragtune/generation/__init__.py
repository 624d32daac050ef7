"""Generation: answering from retrieved context with citations, through any model spec.

``load_generator(spec, config, home)`` turns a model-spec string into a ``Generator``:

==============================  ===========================================================
``extractive``                   no LLM: quotes the best-supported context sentences
``local``                        SmolLM2-135M-Instruct (bundled weights): transformers, llama.cpp or ONNX
``local:<dir|hub id|.gguf>``     any transformers causal LM
``gguf:<file>``                  llama-cpp-python (the ``gguf`` extra)
``openai:<model>[@<url>]``       any OpenAI-compatible server
``anthropic:<model>``            Claude
``fake[:<text>]``                fixed replies, for tests
==============================  ===========================================================

The prefixes live in ``generators`` (a ``ragtune.plugins.Registry``). Others (such as ``tuned:``) plug in with
``generators.register(prefix, factory)`` (or ``register_generator``) or through the ``ragtune.generators``
entry-point group; a factory is called as ``factory(rest, config, home)`` with the text after the prefix, the
``GenerationConfig`` and the workspace directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ragtune.config import GenerationConfig, LocalBackend
from ragtune.errors import ConfigError
from ragtune.generation.base import (
    ContextBlock,
    GenerateOptions,
    Generation,
    Generator,
    Prompt,
    Usage,
    estimate_tokens,
    stream_generation,
)
from ragtune.generation.extractive import ExtractiveGenerator
from ragtune.generation.fake import FakeGenerator
from ragtune.plugins import Registry, split_spec

__all__ = ["ContextBlock", "ExtractiveGenerator", "FakeGenerator", "GenerateOptions", "Generation", "Generator",
           "GeneratorFactory", "Prompt", "Usage", "estimate_tokens", "generators", "load_generator", "register_generator",
           "registered_prefixes", "stream_generation"]

GeneratorFactory = Callable[[str, GenerationConfig, Path], Generator]

generators: Registry[GeneratorFactory] = Registry("generator", "ragtune.generators")


def register_generator(prefix: str, factory: GeneratorFactory, *, replace: bool = False) -> None:
    """Make ``<prefix>:<rest>`` specs build generators with ``factory(rest, config, home)``.

    Prefixes are lowercase; registering a taken prefix raises ``ConfigError`` unless ``replace``.
    """
    generators.register(prefix, factory, replace=replace)


def registered_prefixes() -> list[str]:
    """Every spec prefix that ``load_generator`` understands (besides those installed packages offer)."""
    return generators.names()


def _local(rest: str, config: GenerationConfig, home: Path) -> Generator:
    from ragtune.generation.gguf import GGUFGenerator, llama_cpp_installed
    from ragtune.generation.hf_models import default_gguf
    from ragtune.generation.local import LocalGenerator

    backend = config.local_backend
    if backend is LocalBackend.onnx:
        from ragtune.generation.onnx_genai import OnnxGenAIGenerator

        return OnnxGenAIGenerator(rest or None, config=config, home=home)
    if not rest and (backend is LocalBackend.gguf or (backend is LocalBackend.auto and llama_cpp_installed())):
        return GGUFGenerator(default_gguf(), config, spec="local")
    if rest.lower().endswith(".gguf") and backend is not LocalBackend.transformers and llama_cpp_installed():
        return GGUFGenerator(rest, config, spec=f"local:{rest}")
    return LocalGenerator(rest or None, config=config)


def _gguf(rest: str, config: GenerationConfig, home: Path) -> Generator:
    from ragtune.generation.gguf import GGUFGenerator

    if not rest:
        raise ConfigError("model spec 'gguf:': name a file, like gguf:./models/smollm2.Q4_1.gguf")
    return GGUFGenerator(rest, config)


def _openai(rest: str, config: GenerationConfig, home: Path) -> Generator:
    from ragtune.generation.openai_compat import OpenAIGenerator, parse_openai_spec

    model, url = parse_openai_spec(rest, config)
    return OpenAIGenerator(model, url, config)


def _anthropic(rest: str, config: GenerationConfig, home: Path) -> Generator:
    from ragtune.generation.anthropic import AnthropicGenerator

    return AnthropicGenerator(rest, config)


def _extractive(rest: str, config: GenerationConfig, home: Path) -> Generator:
    if rest:
        raise ConfigError(f"model spec 'extractive:{rest}': extractive takes no argument")
    return ExtractiveGenerator(config.extractive_sentences)


def _fake(rest: str, config: GenerationConfig, home: Path) -> Generator:
    return FakeGenerator(rest or None, context_window=config.context_window or 4096)


generators.register("extractive", _extractive)
generators.register("local", _local)
generators.register("gguf", _gguf)
generators.register("openai", _openai)
generators.register("anthropic", _anthropic)
generators.register("fake", _fake)


def load_generator(spec: str, config: GenerationConfig | None = None, home: Path | str = Path(".ragtune")) -> Generator:
    """Build the generator a model spec names (cheap: models and clients load on first use)."""
    config = config or GenerationConfig()
    spec = (spec or "").strip()
    prefix, rest = split_spec(spec)
    factory = generators.get(prefix)
    if factory is None:
        known = ", ".join(f"'{p}'" for p in registered_prefixes())
        raise ConfigError(f"unknown model spec '{spec}' (known prefixes: {known}; "
                          "e.g. 'extractive', 'local', 'anthropic:claude-sonnet-4-5', 'openai:<model>@http://host:port/v1')")
    return factory(rest, config, Path(home))
