"""Typed configuration, loaded once at the edge and passed down.

Sources, later ones win: defaults, ``ragtune.toml`` in the working directory (or ``RAGTUNE_CONFIG``),
``RAGTUNE_*`` environment variables, then explicit overrides from a face (CLI flags, HTTP options).
Only this module reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ragtune.common import validation_message
from ragtune.machine import default_threads
from ragtune.errors import ConfigError


class SearchMode(str, Enum):
    """How chunks are found: words, meaning, or both fused."""

    lexical = "lexical"
    dense = "dense"
    hybrid = "hybrid"


class FusionMethod(str, Enum):
    """How hybrid search merges the lexical and dense rankings (see ``ragtune.retrieval.hybrid``)."""

    convex = "convex"
    rrf = "rrf"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChunkingConfig(_Strict):
    """How documents are cut into chunks (per index; stored in its manifest)."""

    max_tokens: int = Field(256, ge=16, le=8192, description="Token budget of one chunk (approximate word pieces).")
    overlap_tokens: int = Field(24, ge=0, description="Tokens repeated from the end of a chunk at the start of the next.")

    @model_validator(mode="after")
    def _overlap_below_budget(self) -> "ChunkingConfig":
        if self.overlap_tokens >= self.max_tokens:
            raise ValueError("overlap_tokens must be smaller than max_tokens")
        return self


class EmbedderRuntime(str, Enum):
    """What runs a sentence-transformers embedder: onnxruntime on an export of the model, or torch."""

    onnx = "onnx"
    torch = "torch"


class EmbedderPrecision(str, Enum):
    """Weights of the ONNX model that embeds: as trained (fp32) or dynamically quantised to int8."""

    fp32 = "fp32"
    int8 = "int8"


class EmbedderConfig(_Strict):
    """Which embedding model builds and queries indexes, and how it runs."""

    model: str = Field("local", description="Embedder spec: 'local' (bundled MiniLM), 'local:<dir or hub id>', 'fake', "
                                            "'tuned:<name>[@vN]'.")
    batch_size: int = Field(64, ge=1, description="Texts per encode call.")
    device: str = Field("cpu", description="torch device: cpu, cuda, mps.")
    runtime: EmbedderRuntime = Field(EmbedderRuntime.onnx, description="onnx: onnxruntime on an ONNX export of the model, made "
                                     "once and checked against torch (torch where no export can be made or it differs, and on "
                                     "a device other than the CPU); torch: sentence-transformers.")
    precision: EmbedderPrecision = Field(EmbedderPrecision.int8, description="Precision new indexes are built with: int8 "
                                         "(the ONNX export dynamically quantised; on SciFact as good as fp32 and 1.6x faster to "
                                         "ingest, see bench/int8_embeddings.py) or fp32. An index records it and is always "
                                         "queried with it.")
    threads: int | None = Field(None, ge=1, le=256, description="onnxruntime / torch threads for embedding "
                                "(default: the top-level 'threads').")
    onnx_cache: Path | None = Field(None, description="Folder of the ONNX exports of packaged and local models (default: "
                                    "<home>/models/.onnx; <RAGTUNE_MODEL_CACHE>/onnx when that is set). A tuned model "
                                    "keeps its own.")

    @model_validator(mode="after")
    def _torch_builds_fp32(self) -> "EmbedderConfig":
        """runtime 'torch' without a precision builds fp32 indexes (int8 runs only on the ONNX export)."""
        if self.runtime is EmbedderRuntime.torch and "precision" not in self.model_fields_set:
            self.precision = EmbedderPrecision.fp32
        return self


class RetrievalConfig(_Strict):
    """How queries are answered with chunks."""

    mode: SearchMode = Field(SearchMode.hybrid, description="lexical, dense or hybrid.")
    k: int = Field(10, ge=1, description="Chunks returned.")
    candidates: int = Field(100, ge=1, description="Candidates each retriever contributes to fusion and rerank.")
    fusion: FusionMethod = Field(FusionMethod.convex, description="Hybrid fusion (convex scored 0.726 nDCG@10 on SciFact against "
                                                                  "0.715 for RRF): 'convex' (weighted normalised scores) or "
                                                                  "'rrf' (reciprocal rank).")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    lexical_weight: float = Field(0.5, ge=0, description="Weight of the lexical ranking in fusion.")
    dense_weight: float = Field(0.5, ge=0, description="Weight of the dense ranking in fusion.")
    self_query: bool = Field(True, description="Filter by the organisation and period a question names, when documents "
                             "hold them (see ragtune.retrieval.self_query).")
    per_document: bool = Field(True, description="A question over several periods or organisations retrieves from each "
                               "document it names (with self_query).")


class RerankConfig(_Strict):
    """Reordering the top candidates with a cross-encoder before they are returned or cited."""

    model: str | None = Field(None, description="Reranker spec: 'local:<CrossEncoder dir or hub id>', a bare folder, or a "
                                                "registered prefix such as 'tuned:<name>'; none turns reranking off "
                                                "(RAGTUNE_RERANK).")
    candidates: int = Field(30, ge=1, description="Top candidates from retrieval that the reranker scores.")
    batch_size: int = Field(16, ge=1, description="Query-chunk pairs per cross-encoder call.")
    device: str = Field("cpu", description="torch device for the cross-encoder: cpu, cuda, mps.")
    weight: float | None = Field(None, ge=0.0, le=1.0, description="The reranker's share of the final order (1: it alone; "
                                 "below 1: fused with the retrieval order by weighted RRF). Unset: a tuned reranker's calibrated "
                                 "weight, else 1 (RAGTUNE_RERANK_WEIGHT).")


class LocalBackend(str, Enum):
    """Which runtime serves plain ``local``: transformers, llama.cpp (the gguf extra), ONNX Runtime GenAI (the onnx-genai
    extra) or auto (llama.cpp when installed, else transformers; never onnx)."""

    auto = "auto"
    transformers = "transformers"
    gguf = "gguf"
    onnx = "onnx"


class GenerationConfig(_Strict):
    """Which model writes answers and how it decodes."""

    model: str = Field("extractive", description="Generator spec: 'extractive', 'local[:<dir, hub id or .gguf>]', 'gguf:<file>', "
                                                 "'anthropic:<model>', 'openai:<model>[@<base url>]', 'tuned:<name>[@vN]' "
                                                 "(RAGTUNE_MODEL).")
    max_new_tokens: int = Field(96, ge=1, le=32768, description="Most tokens the model may write for one answer.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 decodes greedily; above 0 samples.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass when temperature > 0.")
    seed: int | None = Field(None, description="Seed for sampling, so a sampled answer can be repeated.")
    stop: list[str] | None = Field(None, description="Stop strings; default: a blank line for local models (small models ramble "
                                                     "after the answer), none for servers.")
    constrained: bool = Field(True, description="Constrain JSON answers to their schema while decoding where the backend can "
                                                "(local transformers models with llguidance); else validate and repair.")
    context_window: int | None = Field(None, ge=256, description="Override of the model's context window in tokens (default: "
                                                                 "what the model reports).")
    threads: int | None = Field(None, ge=1, le=256, description="torch / llama.cpp threads for local models (default: the "
                                                                "top-level 'threads').")
    device: str = Field("auto", description="torch device for local models: auto (GPU when present), cpu, cuda, mps.")
    parallel_candidates: int | None = Field(None, ge=1, le=64, description="Candidates of eval and decide that answer at "
                                            "once when they run different models (RAGTUNE_PARALLEL_CANDIDATES; 1: one "
                                            "after another; default: as many as the machine's cores hold at 'threads' "
                                            "each, on the CPU).")
    batch_size: int = Field(32, ge=1, le=256, description="Most answers a local transformers model writes at once (greedy "
                                                          "replies only; 1 answers one at a time).")
    local_backend: LocalBackend = Field(LocalBackend.transformers, description="Runtime for plain 'local': transformers, gguf "
                                                                               "(llama-cpp-python), onnx (ONNX Runtime "
                                                                               "GenAI on an fp32 export of the model) or "
                                                                               "auto (gguf when installed).")
    extractive_sentences: int = Field(3, ge=1, le=10, description="Sentences the 'extractive' generator quotes.")
    timeout_s: float = Field(120.0, gt=0, description="Seconds before a request to a model server gives up.")
    max_retries: int = Field(3, ge=0, le=20, description="Retries, with exponential backoff, on 429, 5xx, overloaded or "
                                                         "unreachable servers.")
    anthropic_key_env: str = Field("ANTHROPIC_API_KEY", description="Environment variable holding the Anthropic API key.")
    anthropic_base_url: str | None = Field(None, description="Messages API base URL (a proxy or gateway); default: the SDK's.")
    openai_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the key for 'openai:' servers "
                                                              "(optional for local servers).")
    openai_base_url: str | None = Field(None, description="Base URL for 'openai:<model>' specs that give no '@<url>'; default: "
                                                          "the SDK's.")


class FallbackPolicy(str, Enum):
    """What happens to a generated answer that no context block supports."""

    extractive = "extractive"
    abstain = "abstain"
    keep = "keep"


class AnswerConfig(_Strict):
    """How ``ask`` turns retrieved chunks into a cited answer, and when it abstains."""

    k: int = Field(3, ge=1, le=100, description="Context blocks given to the model (best first).")
    max_context_tokens: int = Field(1500, ge=64, description="Token budget for context blocks; trimmed further to fit the "
                                                             "model's window.")
    per_document_k: int = Field(2, ge=1, le=20, description="Context blocks from each document for a question over several "
                                "documents (retrieval.per_document); the token budget grows with them, within the window.")
    figure_pool: int = Field(10, ge=0, le=200, description="A question that asks for figures (amounts, rates, totals, how "
                             "one changed) draws this many candidates (per document, for a question over several) ...")
    figure_blocks: int = Field(2, ge=0, le=20, description="... and adds to its k context blocks this many more of them "
                               "(per document, over several), those holding a table row whose sentences or rows best answer "
                               "it, within the context budget (0: none; 10 and 2 chosen on the dev half of "
                               "bench/answers_sec10q.py).")
    min_dense_score: float = Field(0.30, ge=-1.0, le=1.0, description="Abstain when the best chunk's cosine similarity to the "
                                                                      "question is below this ...")
    min_term_coverage: float = Field(0.34, ge=0.0, le=1.0, description="... and fewer than this share of the question's content "
                                                                       "words occur in the best chunk.")
    min_answerability: float = Field(0.33, ge=0.0, le=1.0, description="Abstain when the best chunk (with its headings "
                                     "and context header) holds less than this weighted share of the question's key "
                                     "terms, names weighing most, or comes from another organisation's or period's "
                                     "documents (0-1; chosen on dev data by bench/abstention.py).")
    min_support: float = Field(0.35, ge=0.0, le=1.0, description="A sentence is cited to a block only when the block supports it "
                                                                 "at least this much (0-1).")
    support_model: str | None = Field(None, description="NLI cross-encoder (folder or hub id) that scores support instead of "
                                                        "embedding similarity + lexical overlap.")
    unsupported: FallbackPolicy = Field(FallbackPolicy.extractive, description="A generated answer no block supports: replace it "
                                                                               "with the extractive answer, abstain, or keep it "
                                                                               "uncited.")


class IngestConfig(_Strict):
    """Limits on what one ingest reads: a file above them is a skipped entry with the reason."""

    max_file_mb: float = Field(256.0, gt=0, description="Largest file (on disk) that is read, in MiB.")
    max_unpacked_mb: float = Field(64.0, gt=0, description="Largest decompressed content of a packed file (DOCX), in MiB.")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1024 * 1024)


class ContextMode(str, Enum):
    """What is indexed with each chunk besides its text and heading path."""

    header = "header"  # a line naming the document: title, organisation, form, period
    summary = "summary"  # the header, then a one-sentence situating summary of the chunk written by a generator
    none = "none"


class IndexConfig(_Strict):
    """Store-level settings."""

    ann_threshold: int = Field(200_000, ge=1, description="Chunks above which an approximate (ANN) vector index is built and "
                                                          "used.")
    stemmer: str = Field("english", description="Snowball stemmer for lexical search ('' for none).")
    lock_timeout_s: float = Field(600.0, ge=0, description="How long a writer waits for another process writing the same index "
                                                            "before it gives up (0: fail at once; RAGTUNE_LOCK_TIMEOUT_S).")
    context: ContextMode = Field(ContextMode.header, description="Context indexed with every chunk of a new index "
                                 "('header': its document's title, organisation, form and period; 'summary': the header "
                                 "and a one-sentence situating summary written by summary_model; 'none'; recorded in the "
                                 "index).")
    summary_model: str | None = Field(None, description="Generator that writes the situating summaries of context = "
                                      "'summary' (default: the [generation] model; recorded in the index).")


class ServeConfig(_Strict):
    """The HTTP and MCP servers: where they listen, what clients may send, and which models they may name."""

    host: str = Field("127.0.0.1", description="Interface the HTTP server binds (loopback by default).")
    port: int = Field(8400, ge=1, le=65535, description="TCP port of the HTTP server.")
    max_upload_mb: float = Field(20.0, gt=0, le=4096, description="Largest upload (one request, all files together) in MiB.")
    upload_types: list[str] = Field(default_factory=list, description="File endings uploads may have, e.g. ['.md', '.pdf'] "
                                                                      "(default: every type a loader reads).")
    models: list[str] = Field(default_factory=list, description="Model specs clients may name in ask (default: the configured "
                                                                "generator and 'extractive').")
    roots: list[Path] = Field(default_factory=list, description="Server folders that ingest-by-path may read (none: uploads only "
                                                                "over HTTP; the working directory for MCP).")


class Engine(str, Enum):
    """Where the heavy steps run: this process (``local``) or a Ray cluster (``ray``; the ``ragtune[ray]`` extra)."""

    local = "local"
    ray = "ray"


class RayConfig(_Strict):
    """How ingest and evaluation run on Ray (``engine = "ray"``); a local Ray with every core when no address is given."""

    address: str | None = Field(None, description="Cluster to join: 'auto' or the head node's HOST:PORT (default: start a local "
                                                  "Ray; RAGTUNE_RAY_ADDRESS).")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of the local Ray started when no address is given (default: all).")
    embed_batch_size: int = Field(256, ge=1, description="Chunks per batch sent to an embedding actor.")
    embed_actors: int | None = Field(None, ge=1, description="Embedding actors (default: one per CPU, or per GPU with "
                                                             "embed_gpus).")
    embed_cpus: float = Field(1.0, gt=0, description="CPUs each embedding actor holds.")
    embed_gpus: float = Field(0.0, ge=0, description="GPUs each embedding actor holds (0: CPU actors; 1: one actor per GPU).")
    parse_batch_size: int = Field(16, ge=1, description="Files read and parsed per task.")
    answer_actors: int | None = Field(None, ge=1, description="Generator actors of an eval or decide run for local models, "
                                      "shared by the models answering at once, at least one each (default: one per CPU, or "
                                      "per GPU with answer_gpus); API and served models get one each.")
    answer_gpus: float = Field(0.0, ge=0, description="GPUs each generator actor holds (local models).")
    max_retries: int = Field(3, ge=0, description="Times a parse task or generator actor whose worker died is retried "
                             "(Ray Data restarts chunking tasks and embedding actors on its own).")


class RagtuneConfig(_Strict):
    """Everything ragtune needs to run; each layer gets its own section."""

    home: Path = Field(Path(".ragtune"), description="Workspace directory (RAGTUNE_HOME).")
    store: str = Field("lancedb", description="'lancedb' (embedded, in the workspace) or a postgresql:// URI (RAGTUNE_STORE).")
    threads: int | None = Field(None, ge=1, le=256, description="torch / onnxruntime / BLAS threads (RAGTUNE_THREADS; default: "
                                                                "the "
                                "machine's physical cores, or its cgroup CPU quota when lower; see default_threads).")
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    index: IndexConfig = Field(default_factory=IndexConfig)
    rerank: RerankConfig = Field(default_factory=RerankConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    answer: AnswerConfig = Field(default_factory=AnswerConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    engine: Engine = Field(Engine.local, description="Where ingest, eval and decide run: local or ray (RAGTUNE_ENGINE).")
    ray: RayConfig = Field(default_factory=RayConfig)

    @model_validator(mode="after")
    def _section_threads(self) -> "RagtuneConfig":
        if self.threads is None:
            self.threads = default_threads()
        for section in (self.generation, self.embedder):
            if section.threads is None:
                section.threads = self.threads
        return self

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> "RagtuneConfig":
        """Build the configuration from ragtune.toml, RAGTUNE_* variables and ``overrides``."""
        env = dict(os.environ) if env is None else env
        data: dict[str, Any] = {}
        toml_path = Path(env.get("RAGTUNE_CONFIG", "ragtune.toml"))
        if toml_path.is_file():
            try:
                data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{toml_path}: not valid TOML: {exc}") from exc
        simple = {"RAGTUNE_HOME": "home", "RAGTUNE_STORE": "store", "RAGTUNE_THREADS": "threads", "RAGTUNE_ENGINE": "engine"}
        for var, key in simple.items():
            if env.get(var):
                data[key] = env[var]
        sections = {"RAGTUNE_EMBEDDER": ("embedder", "model"), "RAGTUNE_MODEL": ("generation", "model"),
                    "RAGTUNE_RERANK": ("rerank", "model"), "RAGTUNE_RERANK_WEIGHT": ("rerank", "weight"),
                    "RAGTUNE_RAY_ADDRESS": ("ray", "address"), "RAGTUNE_LOCK_TIMEOUT_S": ("index", "lock_timeout_s"),
                    "RAGTUNE_PARALLEL_CANDIDATES": ("generation", "parallel_candidates")}
        for var, (section, key) in sections.items():
            if env.get(var):
                data.setdefault(section, {})[key] = env[var]
        if env.get("RAGTUNE_MODEL_CACHE"):
            data.setdefault("embedder", {}).setdefault("onnx_cache", str(Path(env["RAGTUNE_MODEL_CACHE"]) / "onnx"))
        for key, value in (overrides or {}).items():
            if value is None:
                continue
            if isinstance(value, dict):
                data.setdefault(key, {}).update({k: v for k, v in value.items() if v is not None})
            else:
                data[key] = value
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(validation_message(exc, str(toml_path) if toml_path.is_file() else "configuration")) from exc


def read_secret(variable: str) -> str | None:
    """The value of the environment variable that holds a secret (config keeps only the variable's name)."""
    value = os.environ.get(variable, "").strip()
    return value or None
