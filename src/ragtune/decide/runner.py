"""``decide``: every candidate answers the same held-out questions; the cheapest one *as good* as the
best (``ragtune.decide.verdict``) is recommended, beside what the rules of thumb would have said.

Phases, each kept in ``<home>/decide/<run id>/`` the moment it ends so that ``resume`` redoes nothing finished:

1. check: the model, the index, the questions and examples; which candidates can apply, and why not;
2. split: held-out questions and training rows (``ragtune.decide.data``), seeded and recorded;
3. train: ``ft`` (LoRA on the examples and the training questions) and ``rag+ft`` (RAFT over the index when
   the training questions carry references, else the ``ft`` model over retrieval), sharing the time budget; on
   the provider's fine-tuning service instead when the model is an API model whose provider offers it
   (``ragtune.decide.managed``);
4. answer: each candidate, through the eval runner (its generation cache too), candidates of different models side
   by side where the machine has the cores (``ragtune.decide.lanes``);
5. decide: primary metric, per-question scores, paired intervals against the best, measured costs, the pick,
   the rules of thumb (``ragtune.advisor``) and where they disagree with the measurement.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from ragtune.decide.base import Decision
from ragtune.decide.candidates import TRAIN_SYSTEM, answer_plan, lora_base, raft_settings
from ragtune.decide.config import Candidate, DecideConfig
from ragtune.costs.candidates import Training, changes_per_month
from ragtune.decide.data import KNOWLEDGE, DecideData, check_scorable, load_data, question_groups
from ragtune.decide.decision import Measured, build_decision
from ragtune.decide.lanes import answer_candidates
from ragtune.decide.distilled import DISTILLED, Extra, extras, restore, train_distilled
from ragtune.decide.managed import ManagedTraining, tuning_route, with_version_price
from ragtune.decide.ports import DecidePorts
from ragtune.decide.repeats import Repeat
from ragtune.errors import InputError, RagtuneError
from ragtune.machine import loaded_device
from ragtune.evaluation.config import EvalConfig
from ragtune.generation.base import untrainable_reason
from ragtune.tuning.data.examples import file_sha256
from ragtune.common import write_json_atomic

def package_version() -> str:
    """The package version and a digest of the metrics' source: rows scored by other metrics are never reused."""
    from importlib.metadata import PackageNotFoundError, version

    from ragtune.evaluation import metrics

    try:
        release = version("ragtune")
    except PackageNotFoundError:
        release = "unknown"
    return f"{release}+{hashlib.sha256(Path(metrics.__file__).read_bytes()).hexdigest()[:12]}"


Progress = Callable[[str, int, int], None]  # (stage, done, total): stages are train ft, train rag+ft, the candidates' names
_WINDOW_OVERHEAD = 400  # tokens of instructions, question and block headers besides the corpus (a generous allowance)


class DecideRunner:
    """Runs one ``DecideConfig`` in a workspace (see the module docstring)."""

    def __init__(self, ports: DecidePorts, config: DecideConfig, progress: Progress | None = None) -> None:
        self.ports = ports
        self.settings = ports.eval.settings
        self.config = config
        self.progress = progress or (lambda stage, done, total: None)
        self.spec = config.model or self.settings.generation.model
        self.notes: list[str] = []
        self.skipped: dict[Candidate, str] = {}
        self.extra_skipped: dict[str, str] = {}  # distilled or teacher -> why not measured
        self.trainings: dict[Candidate, Training] = {}
        self.tuned_refs: dict[Candidate, str] = {}
        self.extra_refs: dict[str, str] = {}
        self.extra_trainings: dict[str, Training] = {}
        self.tuned_on_format: dict[Candidate, bool] = {}
        self.state: dict[str, Any] = {}
        self.facts: Any = None  # the advisor's Facts, measured once per run
        self.run_dir: Path | None = None
        self.managed = False  # ft and rag+ft train on the provider's fine-tuning service
        self.measured: Repeat | None = None  # what the last run measured, for combining repeats

    # --- check ----------------------------------------------------------------------------------------

    def _check(self) -> None:
        cfg, ports = self.config, self.ports.eval
        if cfg.questions is None and cfg.examples is None:
            raise InputError("no questions to measure on: give --questions (or --examples to hold some out); "
                             "for the rules-only advice without measurement use: ragtune advise")
        for path, flag in ((cfg.questions, "--questions"), (cfg.examples, "--examples")):
            if path is not None and not Path(path).is_file():
                raise InputError(f"{flag} {path}: no such file")
        generator = ports.generator(self.spec)  # an unknown spec fails here, before anything runs
        untrainable: str | None = None
        if cfg.index is not None:
            manifest = ports.index(cfg.index).manifest
            if manifest.chunks == 0:
                raise InputError(f"index '{cfg.index}' holds no documents: add some with "
                                 f"ragtune ingest PATH --index {cfg.index}")
        if any(c.tuned for c in cfg.candidates):
            self.managed, untrainable = tuning_route(generator, self.spec, self.settings.generation, self.ports)
        for c in cfg.candidates:
            if c.retrieves and cfg.index is None:
                self.skipped[c] = "no --index: there are no documents to retrieve from"
            elif c.tuned and untrainable:
                self.skipped[c] = untrainable
        teacher = ports.generator(cfg.teacher) if cfg.teacher is not None else None  # an unknown teacher fails here
        if teacher is not None and (why := untrainable_reason(generator, self.spec)):
            self.extra_skipped[DISTILLED] = f"the student {why}"

    # --- run folder and state -------------------------------------------------------------------------

    def _run_id(self) -> str:
        cfg = self.config
        fields = cfg.model_dump(mode="json", exclude={"resume", "prices", "queries_per_month", "months", "latency_budget_ms",
                                                      "attribution", "content_may_leave", "changes_per_month",
                                                      "tuned_hosting_usd_per_month", "margin", "weights",
                                                      "min_questions", "poll_interval_s", "repeats"})
        fields["model"] = self.spec
        fields["ragtune_version"] = package_version()  # rows scored by another version are not reused
        for key in ("questions", "examples"):
            path = getattr(cfg, key)
            fields[f"{key}_sha256"] = file_sha256(Path(path)) if path is not None else None
        if cfg.index is not None:
            from ragtune.evaluation.runner import index_fingerprint

            fields["index_fingerprint"] = index_fingerprint(self.ports.eval.index(cfg.index))
        canonical = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def _open_run(self) -> None:
        run_id = self._run_id()
        self.run_dir = self.settings.home / "decide" / run_id
        state_path = self.run_dir / "state.json"
        if self.config.resume and state_path.is_file():
            self.state = json.loads(state_path.read_text(encoding="utf-8"))
            self.notes.append(f"resumed run {run_id}: finished phases reused ({', '.join(self.state.get('done', [])) or 'none'})")
        else:
            if self.run_dir.exists():
                shutil.rmtree(self.run_dir)
            self.state = {"run_id": run_id, "done": [], "trainings": {}}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._save()

    def _save(self) -> None:
        write_json_atomic(self.run_dir / "state.json", self.state)

    def _finish_phase(self, phase: str) -> None:
        if phase not in self.state["done"]:
            self.state["done"].append(phase)
        self._save()

    # --- train ----------------------------------------------------------------------------------------

    def _training_plan(self, data: DecideData) -> tuple[dict[Candidate, str], float]:
        """Which tuned candidates train and how ('lora', 'raft', or 'reuse' the ft model), and the seconds each
        training gets; skipped ones get their reason."""
        cfg = self.config
        plan: dict[Candidate, str] = {}
        ft_rows = len(data.train_examples) + len(data.train_questions)
        for c in (Candidate.ft, Candidate.rag_ft):
            if c not in cfg.candidates or c in self.skipped:
                continue
            if c is Candidate.rag_ft and data.train_questions:
                plan[c] = "raft"
            elif ft_rows:
                plan[c] = "lora"
            else:
                why = data.examples_error or "no training data: give --examples, or --questions with reference answers"
                self.skipped[c] = f"nothing to train on: {why}"
        if plan.get(Candidate.rag_ft) == "lora" and Candidate.ft in plan:
            plan[Candidate.rag_ft] = "reuse"  # the ft model over retrieval: no second training
        trainings: list[str] = [] if self.managed else [c.value for c, how in plan.items() if how != "reuse"]
        if self._distils():
            trainings.append(DISTILLED)
        share = cfg.budget_s / max(1, len(trainings))
        if self.managed and cfg.budget_s <= 0:  # the budget does not bound a provider's job, but 0 trains nothing
            self.skipped.update({c: "a training budget of 0 s: no job is started at the provider (give --budget)" for c in plan})
            return {}, share
        if trainings and share < cfg.min_training_s:
            why = (f"the training budget of {cfg.budget_s:g} s gives each of {len(trainings)} training(s) {share:g} s, under "
                   f"the {cfg.min_training_s:g} s one needs")
            if self._distils():
                self.extra_skipped[DISTILLED] = why
            self.skipped.update({c: f"{why}: give a larger --budget" for c in plan})
            return {}, share
        return plan, share

    def _lora_config(self, name: str, data_path: Path, share: float, raft: bool):
        from ragtune.tuning.lora import LoraConfig

        cfg = self.config
        return LoraConfig(data=data_path, base=lora_base(self.spec), name=name, time_budget_s=share, max_steps=cfg.max_steps,
                          epochs=3, batch_size=1 if raft else cfg.batch_size,
                          max_length=max(1024, cfg.max_length * 2) if raft else cfg.max_length,
                          truncate=True, learning_rate=cfg.learning_rate, eval_fraction=0, seed=cfg.seed, device=cfg.device,
                          save_steps=10_000, system=None if raft else TRAIN_SYSTEM, mixed_outputs=not raft)

    def _train(self, data: DecideData) -> None:
        plan, share = self._training_plan(data)
        trainings = [c for c, how in plan.items() if how != "reuse"]
        kept = self.state["trainings"]
        for c in trainings:
            key = c.value
            if key in kept:
                self._restore_training(c, kept[key])
                continue
            how = plan[c]
            name = f"decide-{self.state['run_id']}-{'raft' if how == 'raft' else 'ft'}"
            try:
                kept[key] = self._run_training(how, name, data, share, c)
            except RagtuneError as exc:
                kept[key] = {"skipped": f"training failed: {exc}"}
            self.progress(f"train {key}", 1, 1)  # ended, at whatever step the budget stopped it
            self._save()
            self._restore_training(c, kept[key])
        if plan.get(Candidate.rag_ft) == "reuse" and Candidate.ft in self.tuned_refs:
            self.tuned_refs[Candidate.rag_ft] = self.tuned_refs[Candidate.ft]
            self.trainings[Candidate.rag_ft] = self.trainings[Candidate.ft]
            self.tuned_on_format[Candidate.rag_ft] = self.tuned_on_format[Candidate.ft]
        elif plan.get(Candidate.rag_ft) == "reuse":
            self.skipped[Candidate.rag_ft] = self.skipped.get(Candidate.ft, "the ft model it reuses was not trained")
        if self._distils():
            self._train_distilled(data, share)
        self._finish_phase("train")

    def _distils(self) -> bool:
        return self.config.teacher is not None and DISTILLED not in self.extra_skipped

    def _train_distilled(self, data: DecideData, share: float) -> None:
        """The student trained on the teacher's checked answers (``ragtune.decide.distilled``), kept like the others."""
        kept = self.state["trainings"]
        if DISTILLED not in kept:
            lora = self._lora_config(f"decide-{self.state['run_id']}-distilled", self.run_dir / "distilled.jsonl", share, False)
            kept[DISTILLED] = train_distilled(self.ports, self.config, data, lora, self._steps("train distilled", share))
            self.progress("train distilled", 1, 1)
            self._save()
        if "skipped" in (record := kept[DISTILLED]):
            self.extra_skipped[DISTILLED] = record["skipped"]
            return
        self.extra_refs[DISTILLED] = record["ref"]
        self.extra_trainings[DISTILLED] = restore(record, self.ports.eval.generator(str(self.config.teacher)).pricing)

    def _restore_training(self, c: Candidate, kept: dict[str, Any]) -> None:
        if "skipped" in kept:
            self.skipped[c] = kept["skipped"]
            return
        self.tuned_refs[c] = kept["ref"]
        self.trainings[c] = Training.of(kept)
        self.tuned_on_format[c] = bool(kept.get("on_format"))
        if "managed" in kept:  # its answers are priced at the fine-tuned model's price from its card
            self.config = self.config.model_copy(update={"prices": with_version_price(self.config.prices, kept)})

    def _steps(self, stage: str, budget_s: float | None = None):
        """A training's progress callback reporting its steps as ``stage`` (reported started at once), out of those
        its time budget ``budget_s`` lets it reach at the rate so far."""
        from ragtune.tuning.base import TrainingEvent, steps_in_budget

        started = time.monotonic()

        def on_event(event: TrainingEvent) -> None:
            if event.kind in ("step", "info") and event.step is not None:  # a provider's job reports steps in its events
                total = steps_in_budget(event.step, event.max_steps or event.step, time.monotonic() - started, budget_s)
                self.progress(stage, event.step, total)

        self.progress(stage, 0, 1)
        return on_event

    def _run_training(self, how: str, name: str, data: DecideData, share: float, c: Candidate) -> dict[str, Any]:
        """The kept record of ``c``'s training: on the provider's service, else RAFT (``how``) or LoRA here."""
        on_event = self._steps(f"train {c.value}", None if self.managed else share)
        if self.managed:
            return ManagedTraining(self.ports, self.config, self.spec, self.run_dir, self.notes).train(how, name, data, on_event,
                                                                                                        c.value)
        if how == "raft":
            lora = self._lora_config(name, self.run_dir / "raft_train.jsonl", share, raft=True)
            settings = raft_settings(self.ports.eval.index(str(self.config.index)).manifest.chunks, self.config.seed)
            card = self.ports.tune_raft(data.train_questions, self.config.index, settings, lora, on_event)
        else:
            rows = data.write_ft_rows(self.run_dir / "ft_train.jsonl")
            card = self.ports.tune_lora(self._lora_config(name, rows, share, raft=False), on_event)
        return {"ref": card.ref, "seconds": card.wall_time_s, "device": str(card.metrics.get("device", "cpu")), "how": how,
                "on_format": bool(data.train_examples) and how == "lora", "steps": card.metrics.get("steps"),
                "rows": card.data.rows if card.data else None}

    # --- answer ---------------------------------------------------------------------------------------

    def _corpus_fits(self) -> str | None:
        """Why the index's whole corpus cannot go into the model's prompt, or None when it fits (the corpus tokens are
        the measured facts', plus a block header per chunk)."""
        index = self.facts.index
        tokens = index.total_tokens + 12 * index.chunks
        window = self.ports.eval.generator(self.spec).context_window
        room = window - self.settings.generation.max_new_tokens - _WINDOW_OVERHEAD
        if tokens > room:
            return (f"the corpus ({tokens:,} tokens, {index.tokenizer}) does not fit the {window:,}-token window of "
                    f"{self.spec} with room for the question and the answer: retrieval (rag) is the way to carry it")
        return None

    def _answer(self, c: Candidate, data: DecideData, extra: Extra | None = None,
                notes: list[str] | None = None) -> list[dict[str, Any]]:
        """``c``'s rows (kept in the run folder), its notes added to ``notes`` (default: the run's)."""
        name = extra.name if extra else c.value
        path = self.run_dir / "rows" / f"{name.replace('+', '_')}.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
        cfg = self.config
        total = len(data.test)
        offset = 0
        rows: list[dict[str, Any]] = []
        for kind in data.tasks():
            questions = data.of_kind(kind)
            plan = answer_plan(c, kind, data, cfg.shots, cfg.seed, cfg.index,
                               False if extra else self.tuned_on_format.get(c, False))
            index = cfg.index if c.retrieves or plan.prompt_corpus else None
            eval_config = EvalConfig(model=extra.spec if extra else self.spec,
                                     tuned=extra.tuned if extra else self.tuned_refs.get(c), index=index,
                                     judge=cfg.judge if kind == KNOWLEDGE else None, prices=cfg.prices, **plan.eval_fields())

            def report(stage: str, done: int, n: int, base: int = offset) -> None:
                if stage != "judge":
                    self.progress(name, base + done, total)

            result = self.ports.evaluate(questions, eval_config, progress=report)
            for row in result.rows:
                row["candidate"], row["task"] = name, kind
            rows.extend(result.rows)
            (self.notes if notes is None else notes).extend(
                f"{name} ({kind} questions): {n}" for n in result.notes
                if kind == KNOWLEDGE or not n.startswith(("no gold documents", "no reference answers")))
            offset += len(questions)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, rows)
        return rows

    # --- the run --------------------------------------------------------------------------------------

    def run(self) -> Decision:
        """Check, split, train, answer and decide (see the module docstring)."""
        started = time.perf_counter()
        cfg = self.config
        self._check()
        self._open_run()
        self.facts = self._facts()
        may_train = any(c.tuned and c not in self.skipped for c in cfg.candidates) or self._distils()
        data = load_data(cfg, split_questions=may_train)
        check_scorable(data, cfg)
        self.state["split"] = data.split
        self._finish_phase("split")
        if data.examples_error and any(c.tuned for c in cfg.candidates):
            self.notes.append(f"examples not used: {data.examples_error}")
        if Candidate.prompt in cfg.candidates and cfg.index is not None and KNOWLEDGE in data.tasks():
            reason = self._corpus_fits()
            if reason:
                self.skipped[Candidate.prompt] = reason
        if any(c.tuned and c not in self.skipped for c in cfg.candidates) or self._distils():
            self._train(data)
        rows, extra_rows = answer_candidates(self, data)  # side by side where the cores allow (``decide.lanes``)
        return self._decide(data, rows, extra_rows, time.perf_counter() - started)

    # --- decide ---------------------------------------------------------------------------------------

    def _facts(self):
        """What the advisor measures (index size and history, examples), beside the stated needs: measured once."""
        from ragtune.advisor.decision import measure_facts, stated_needs
        from ragtune.advisor.facts import token_counter

        cfg = self.config
        needs = stated_needs(queries_per_month=cfg.queries_per_month, months=cfg.months, latency_budget_ms=cfg.latency_budget_ms,
                             attribution_required=cfg.attribution, content_may_leave=cfg.content_may_leave,
                             changes_per_month=cfg.changes_per_month)
        spec = self.spec if self.spec.split(":", 1)[0] in ("local", "gguf") else "regex"
        return measure_facts(self.ports.store, needs, index=cfg.index, examples=cfg.examples, counter=token_counter(spec))

    def _decide(self, data: DecideData, rows: dict[Candidate, list[dict[str, Any]]],
                extra_rows: dict[str, list[dict[str, Any]]], wall: float) -> Decision:
        changes, changes_source = changes_per_month(self.config.changes_per_month, self.facts.index)
        specs = {c.value: (f"tuned:{self.tuned_refs[c]}" if c.tuned else self.spec) for c in rows}
        more = {e.name: e for e in extras(self.config, self.spec, self.extra_refs)}
        specs |= {e.name: f"tuned:{e.tuned}" if e.tuned else e.spec for e in more.values()}
        measured = Measured(
            rows={c.value: r for c, r in rows.items()} | extra_rows, kinds=data.kinds(), tasks=data.tasks(), specs=specs,
            pricing={c: self.ports.eval.generator(spec).pricing for c, spec in specs.items()},
            pricing_of=lambda spec: self.ports.eval.generator(spec).pricing, synthetic=data.synthetic(),
            serving_device=loaded_device(self.settings.generation.device),
            groups=question_groups(data.test), trainings={c.value: t for c, t in self.trainings.items()} | self.extra_trainings,
            training_records=self.state["trainings"], acts_as={e.name: e.acts_as.value for e in more.values()},
            skipped={c.value: why for c, why in self.skipped.items()} | self.extra_skipped, split=data.split, notes=self.notes,
            run={"id": self.state["run_id"], "dir": str(self.run_dir), "wall_s": round(wall, 2),
                 "resumed_phases": self.state.get("done", [])})
        names = [c.value for c in self.config.candidates] + ([DISTILLED, "teacher"] if self.config.teacher is not None else [])
        decision = build_decision(self.config, measured, self.facts, changes, changes_source, names)
        decision.config["model"] = self.spec
        self.measured = Repeat(measured, decision, changes, changes_source, names, self.facts)
        return decision
