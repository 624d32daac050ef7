"""The spec -> generator factory and its registration hook."""

import pytest

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError, MissingKeyError
from ragtune.generation import (
    ExtractiveGenerator,
    FakeGenerator,
    generators,
    load_generator,
    register_generator,
    registered_prefixes,
)
from ragtune.generation.anthropic import AnthropicGenerator
from ragtune.generation.local import LocalGenerator
from ragtune.generation.openai_compat import OpenAIGenerator
from ragtune.plugins import Registry


def test_builtin_specs_build_their_generators():
    cfg = GenerationConfig(extractive_sentences=3, local_backend="transformers")
    ext = load_generator("extractive", cfg)
    assert isinstance(ext, ExtractiveGenerator) and ext.sentences == 3
    local = load_generator("local", cfg)
    assert isinstance(local, LocalGenerator) and local.location is None and local.spec == "local"
    assert load_generator("local:/models/x", cfg).location == "/models/x"
    assert isinstance(load_generator("fake:hello", cfg), FakeGenerator)
    claude = load_generator("anthropic:claude-sonnet-4-5", cfg)
    assert isinstance(claude, AnthropicGenerator) and claude.model == "claude-sonnet-4-5"


def test_openai_spec_takes_a_base_url():
    gen = load_generator("openai:qwen2.5-7b-instruct@http://localhost:8000/v1/")
    assert isinstance(gen, OpenAIGenerator)
    assert (gen.model, gen.base_url, gen.spec) == ("qwen2.5-7b-instruct", "http://localhost:8000/v1",
                                                   "openai:qwen2.5-7b-instruct@http://localhost:8000/v1")
    assert load_generator("openai:gpt-x", GenerationConfig(openai_base_url="http://h:1/v1")).base_url == "http://h:1/v1"
    with pytest.raises(ConfigError, match="name a model"):
        load_generator("openai:@http://localhost:8000/v1")


def test_unknown_spec_names_the_known_prefixes():
    with pytest.raises(ConfigError) as err:
        load_generator("gpt5")
    assert "unknown model spec 'gpt5'" in str(err.value) and "'anthropic'" in str(err.value)
    with pytest.raises(ConfigError, match="takes no argument"):
        load_generator("extractive:x")


def test_registered_prefix_builds_generators_and_duplicates_raise(tmp_path):
    seen = {}

    def tuned(rest, config, home):
        seen.update(rest=rest, home=home, config=config)
        return FakeGenerator(f"tuned {rest}")

    register_generator("tunedtest", tuned)
    try:
        assert "tunedtest" in registered_prefixes()
        gen = load_generator("tunedtest:support@v2", GenerationConfig(), tmp_path)
        assert gen.reply == "tuned support@v2" and seen["rest"] == "support@v2" and seen["home"] == tmp_path
        with pytest.raises(ConfigError, match="already registered"):
            register_generator("tunedtest", tuned)
        with pytest.raises(ConfigError, match="already registered"):
            register_generator("local", tuned)
        with pytest.raises(ConfigError, match="lowercase"):
            register_generator("Tuned", tuned)
    finally:
        generators.unregister("tunedtest")


def test_an_installed_package_adds_a_prefix_through_the_entry_point_group(tmp_path, monkeypatch):
    (tmp_path / "thirdparty_gen.py").write_text(
        "from ragtune.generation import FakeGenerator\n\n"
        "def build(rest, config, home):\n    return FakeGenerator(f'third party {rest}')\n")
    info = tmp_path / "thirdparty_gen-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-gen\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ragtune.generators]\nthirdparty = thirdparty_gen:build\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="unknown model spec 'thirdparty:x'"):
        load_generator("thirdparty:x")
    monkeypatch.setattr(Registry, "discover_entry_points", True)
    try:
        assert load_generator("thirdparty:x").reply == "third party x"
        assert "thirdparty" in registered_prefixes()
    finally:
        generators.unregister("thirdparty")


def test_missing_keys_name_the_variable(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="ANTHROPIC_API_KEY"):
        load_generator("anthropic:claude-sonnet-4-5").load()
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        load_generator("openai:gpt-4o").load()
    with pytest.raises(MissingKeyError, match="MY_CLAUDE_KEY"):
        load_generator("anthropic:claude-sonnet-4-5", GenerationConfig(anthropic_key_env="MY_CLAUDE_KEY")).load()
    # a local server needs no key
    assert load_generator("openai:m@http://127.0.0.1:9/v1").load() is not None


def test_local_generator_checks_its_adapter_folder(tmp_path):
    with pytest.raises(ConfigError, match="adapter_config.json"):
        LocalGenerator(None, adapter=tmp_path)
    with pytest.raises(ConfigError, match="no such folder"):
        LocalGenerator("./no/such/model").load()
