"""``gguf:`` through llama-cpp-python (the optional extra): a clear error without it, a real run with it."""

import pytest

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError
from ragtune.generation import load_generator
from ragtune.generation.base import GenerateOptions, Prompt
from ragtune.generation.gguf import GGUFGenerator, llama_cpp_installed
from ragtune.generation.hf_models import default_gguf
from ragtune.generation.local import LocalGenerator

FRANCE = Prompt(messages=[{"role": "user", "content": "What is the capital of France?"}])


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no such GGUF file"):
        load_generator(f"gguf:{tmp_path / 'none.gguf'}")
    with pytest.raises(ConfigError, match="name a file"):
        load_generator("gguf:")


@pytest.mark.skipif(llama_cpp_installed(), reason="llama-cpp-python is installed")
def test_without_llama_cpp_the_error_names_the_extra():
    gen = load_generator(f"gguf:{default_gguf()}")
    with pytest.raises(ConfigError, match=r"pip install 'ragtune\[gguf\]'"):
        gen.generate(FRANCE)
    with pytest.raises(ConfigError, match="GGML_NATIVE=OFF"):
        load_generator("local", GenerationConfig(local_backend="gguf")).load()
    # auto falls back to transformers when llama.cpp is absent
    assert isinstance(load_generator("local", GenerationConfig(local_backend="auto")), LocalGenerator)


@pytest.mark.slow
@pytest.mark.skipif(not llama_cpp_installed(), reason="llama-cpp-python (the gguf extra) is not installed")
def test_runs_the_bundled_gguf_with_llama_cpp():
    gen = load_generator("local", GenerationConfig(local_backend="auto", threads=1))
    assert isinstance(gen, GGUFGenerator)
    pieces = []
    out = gen.generate(FRANCE, GenerateOptions(max_new_tokens=12), on_text=pieces.append)
    assert "Paris" in out.text and "".join(pieces) == out.text and out.usage.input_tokens > 0
