"""Plain ``local`` (or ``local:<dir>``) through ONNX Runtime GenAI, when ``generation.local_backend`` is ``onnx``
(the ``onnx-genai`` extra): the transformers folder is exported once by the package's model builder (fp32, CPU,
``ragtune.generation.onnx_genai_export``) and run by its ``Engine``, which decodes the prompts of a batch together.

The prompt is the transformers tokenizer's chat template, as for the transformers generator; replies are decoded by
the same tokenizer, cut at the stop strings (by default ``LOCAL_STOP``) and counted in tokens (the end-of-turn token
is not counted). Greedy replies without ``on_text`` from several threads are gathered into batches by ``batch_queue``
(at most ``generation.batch_size`` rows); streamed and sampled replies are decoded alone. Threads: ``generation.threads``.
No constrained decoding: ``constrains`` says no, and JSON replies are written unconstrained.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Sequence

from ragtune.config import GenerationConfig
from ragtune.errors import ConfigError, ProviderError
from ragtune.generation.base import GenerateOptions, Generation, GeneratorBase, Prompt, TextCallback, Usage
from ragtune.generation.batching import BatchQueue, BatchResult, by_settings, in_batches
from ragtune.generation.hf_models import resolve_causal_lm
from ragtune.generation.local import LOCAL_STOP, StopHolder, cut_at_stops, encode_prompt
from ragtune.generation.onnx_genai_export import EXTRA_HINT, export_folder, onnx_genai_installed

EVENT_CAPACITY = 256
"""Engine events taken per step (at least one per row of the largest batch)."""


class OnnxGenAIGenerator(GeneratorBase):
    """A local causal LM (``location``: a transformers folder, or None for the default) run by ONNX Runtime GenAI."""

    trainable = True

    def __init__(self, location: str | None = None, *, config: GenerationConfig | None = None,
                 home: Path | str = Path(".ragtune"), spec: str | None = None) -> None:
        self.location = location or None
        self.config = config or GenerationConfig()
        self.home = Path(home)
        self.spec = spec or ("local" if self.location is None else f"local:{self.location}")
        self.export: Path | None = None
        """The export folder, once loaded."""
        self._model: Any = None
        self._tokenizer: Any = None
        self._eos: set[int] = set()
        self._window = 0
        self._lock = threading.Lock()
        self.batch_queue = BatchQueue(self.generate_batch, self.config.batch_size)

    def load(self) -> "OnnxGenAIGenerator":
        """Export the model (once) and load it and its tokenizer now (normally on first use)."""
        if self._model is not None:
            return self
        if not onnx_genai_installed():
            raise ConfigError(EXTRA_HINT)
        import onnxruntime_genai as og
        from transformers import AutoTokenizer

        source = Path(resolve_causal_lm(self.location))
        if not source.is_dir():
            raise ConfigError(f"local model '{self.location}': the onnx local backend exports model folders; "
                              "download the model into a folder and name it with local:<dir>")
        folder = export_folder(source, self.home)
        threads = self.config.threads or 1
        settings = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))
        config = og.Config(str(folder))
        config.overlay(json.dumps({
            "model": {"decoder": {"session_options": {"intra_op_num_threads": threads, "inter_op_num_threads": 1}}},
            "engine": {"static_batching": {"max_batch_size": self.config.batch_size}},
            "search": {"min_length": 0}}))
        try:
            model = og.Model(config)
        except RuntimeError as exc:
            raise ConfigError(f"local model '{source}': ONNX Runtime GenAI cannot load its export {folder}: {exc}") from exc
        eos = settings["model"].get("eos_token_id")
        self._eos = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        self._window = int(settings["model"].get("context_length") or 2048)
        self._tokenizer = AutoTokenizer.from_pretrained(str(source))
        self.export, self._model = folder, model
        return self

    @property
    def tokenizer(self) -> Any:
        return self.load()._tokenizer

    @property
    def context_window(self) -> int:
        return self.config.context_window or self.load()._window

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, prompt: Prompt, options: GenerateOptions | None = None, on_text: TextCallback | None = None) -> Generation:
        """One reply; a greedy one without ``on_text`` joins the batch of whatever other threads are asking now."""
        options = options or GenerateOptions.from_config(self.config)
        if on_text is None and options.temperature == 0 and self.config.batch_size > 1:
            return self.batch_queue.submit(prompt, options)
        result = self._answer_group([prompt], [options], on_text)[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def generate_batch(self, prompts: Sequence[Prompt],
                       options: GenerateOptions | Sequence[GenerateOptions] | None = None) -> BatchResult:
        """Greedy replies to ``prompts``, in order, decoded in batches of prompts that share their settings; a prompt too
        long for the window gets an ``InputError`` saying so, and the others are answered."""
        self.load()
        return by_settings(prompts, options, GenerateOptions.from_config(self.config), self._answer_group)

    def _answer_group(self, prompts: Sequence[Prompt], options: Sequence[GenerateOptions],
                      on_text: TextCallback | None = None) -> BatchResult:
        """Replies to prompts that share their settings: too long ones skipped, the rest in length-sorted batches."""
        self.load()
        encoded = [encode_prompt(self._tokenizer, p) for p in prompts]
        return in_batches([len(ids) for ids in encoded], options[0].max_new_tokens, self.context_window, self.spec,
                          self.config.batch_size, lambda rows: self._decode([encoded[j] for j in rows], options[0], on_text))

    def _decode(self, rows: list[list[int]], options: GenerateOptions, on_text: TextCallback | None) -> list[Generation]:
        """One batch of prompts' token ids through a fresh ``Engine`` (engines are used on the thread that made them)."""
        import numpy as np
        import onnxruntime_genai as og

        stop = LOCAL_STOP if options.stop is None else [s for s in options.stop if s]
        with self._lock:
            try:
                engine = og.Engine(self._model)
                requests = [self._begin(og, engine, np.asarray(ids, dtype=np.int32), options) for ids in rows]
                news = self._run(engine, requests, stop, on_text)
                for request, _ in requests:
                    request.close()
            except RuntimeError as exc:
                raise ProviderError(f"{self.spec}: generation failed: {exc}") from exc
        return [self._generation(len(ids), new, options, stop) for ids, new in zip(rows, news)]

    def _begin(self, og: Any, engine: Any, ids: Any, options: GenerateOptions) -> tuple[Any, int]:
        """A request for one prompt and the id of its turn, begun with ``options``' settings."""
        request_options = og.RequestOptions()
        request_options.set_max_session_tokens(len(ids) + options.max_new_tokens)
        request = engine.create_request(options=request_options)
        turn = og.TurnOptions(request)
        turn.set_max_generated_tokens(options.max_new_tokens)
        turn.set_do_sample(options.temperature > 0)
        if options.temperature > 0:
            turn.set_temperature(options.temperature)
            turn.set_top_p(options.top_p)
            turn.set_top_k(0)  # the engine's static batches take no per-turn seed: sampled replies are not repeatable
        return request, request.begin_turn(ids, turn)

    def _run(self, engine: Any, requests: list[tuple[Any, int]], stop: list[str],
             on_text: TextCallback | None) -> list[list[int]]:
        """Step ``engine`` until every request is done: each one's new tokens, a row's turn cancelled once its text holds a
        stop string (the engine's own stop strings need its dynamic batching); text streamed to ``on_text``."""
        import onnxruntime_genai as og

        buffer = engine.create_event_buffer(max(EVENT_CAPACITY, len(requests)))
        rows = {id(request): k for k, (request, _) in enumerate(requests)}
        news: list[list[int]] = [[] for _ in requests]
        texts = [""] * len(requests)
        stopped = [False] * len(requests)
        held = StopHolder(stop)
        while engine.has_pending_requests():
            for event in engine.run(buffer) or []:
                if event.error_code != og.EngineErrorCode.NONE:
                    raise RuntimeError(f"the engine failed a request: {event.error_code}")
                k = rows[id(event.request)]
                if not int(event.flags) & int(og.EngineEventFlags.TOKEN) or stopped[k]:
                    continue
                news[k].append(int(event.token))
                if not stop and on_text is None:
                    continue
                text = self._tokenizer.decode(news[k], skip_special_tokens=True)
                if on_text is not None and (piece := held.feed(text[len(texts[k]):])):
                    on_text(piece)
                texts[k] = text
                if len(cut_at_stops(text, stop)) < len(text) and not int(event.flags) & int(og.EngineEventFlags.TURN_FINISHED):
                    stopped[k] = True
                    requests[k][0].cancel_turn(requests[k][1])
        if on_text is not None and (rest := held.finish()):
            on_text(rest)
        return news

    def _generation(self, n_in: int, new: list[int], options: GenerateOptions, stop: list[str]) -> Generation:
        kept = [t for t in new if t not in self._eos]
        text = cut_at_stops(self._tokenizer.decode(kept, skip_special_tokens=True), stop)
        finish = "length" if len(kept) >= options.max_new_tokens else "stop"
        return Generation(text=text, usage=Usage(n_in, len(kept)), finish_reason=finish, model=self.spec)
