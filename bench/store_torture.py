"""Store torture: concurrent writers, kills and file damage against the LanceDB store, with what was lost or served wrong.

Kinds of rounds (seeded, bounded, on the fake embedder):

a. two first ingests into a new index at once (two writer processes);
b. two ingests at once whose JSONL rows carry the same ids, into an existing index;
c. a writer process killed (SIGKILL) at one point of an ingest: while creating a first index, embedding, writing
   segments, after the manifest copy, right after the manifest swap, while removing old files;
d. one index file damaged (truncated, same-size garbage, or deleted): the manifest, each kind of segment file,
   a deletion list, the IVF partitioning, a table data file or version file;
e. the manifest deleted.

Per kind: rounds, documents lost (committed documents no longer stored), wrong results served (an answer without an
error that differs from the truth), damage detected (an error, a warning, a refusal or ``doctor`` naming it), damage
repaired (``doctor --repair`` gives back every document and the right answers). Run:

    python bench/store_torture.py --seed 7 --rounds 40,40,25,80,20
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS, ROOT, finish, log

os.environ["RAGTUNE_EMBEDDER"] = "fake:64"

from ragtune.api import Workspace  # noqa: E402
from ragtune.config import RagtuneConfig  # noqa: E402
from ragtune.errors import RagtuneError  # noqa: E402
from ragtune.index import segments as segments_mod  # noqa: E402

WORDS = [f"w{i}" for i in range(300)]
ANN = 40  # a low ANN threshold so that indexes of a few dozen chunks carry an IVF partitioning too
WORKER = ROOT / "bench" / "_store_torture_worker.py"
KILL_POINTS = ["create", "prepare", "segment", "manifest_copy", "swap", "collect"]
DAMAGE = ["truncate", "garbage", "delete"]


def workspace(home: Path) -> Workspace:
    config = RagtuneConfig.load({"home": str(home), "index": {"ann_threshold": ANN}}, env={"RAGTUNE_EMBEDDER": "fake:64"})
    return Workspace(config)


def corpus(folder: Path, rng: random.Random, docs: int, tag: str) -> dict[str, str]:
    """``docs`` markdown files with a unique word each; their text by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {}
    for i in range(docs):
        text = f"{tag}x{i} " + " ".join(rng.choice(WORDS) for _ in range(12))
        (folder / f"{tag}{i}.md").write_text(text + "\n")
        texts[f"{tag}{i}.md"] = text
    return texts


def jsonl(path: Path, rows: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in rows.items()))
    return path


class Worker:
    """A writer process that runs ingests sent on its stdin (``_store_torture_worker.py``)."""

    def __init__(self, home: Path, kill: dict | None = None) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "LANCE_LOG": "error", "RAGTUNE_LOCK_TIMEOUT_S": "120"}
        self.proc = subprocess.Popen([sys.executable, str(WORKER), str(home), str(ANN), json.dumps(kill)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def send(self, paths: list[str], index: str) -> None:
        self.proc.stdin.write(json.dumps({"paths": paths, "index": index}) + "\n")
        self.proc.stdin.flush()

    def reply(self) -> dict:
        line = self.proc.stdout.readline()
        return json.loads(line) if line else {"killed": True}

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def retrievable(ws: Workspace, truth: dict[str, str]) -> set[str]:
    """The chunk ids of ``truth`` that the index still gives back, with their text."""
    found = set()
    for cid, text in truth.items():
        try:
            got = ws.store.get_chunks("kb", [cid])
        except RagtuneError:
            continue
        if got[0].text == text:
            found.add(cid)
    return found


def listed(ws: Workspace) -> int:
    try:
        return len(ws.index("kb").documents())
    except RagtuneError:
        return 0


def stored(ws: Workspace, index: str) -> dict[str, str]:
    """Text of every stored chunk by document id (first chunk)."""
    return {c.doc_id: c.text for c in ws.store.all_chunks(index) if c.position == 0}


def served(ws: Workspace, index: str, probes: list[str]) -> list:
    """What search serves for each probe: per mode, the hits as (score, chunk id, text)."""
    idx = ws.index(index)
    return [[[(round(h.score, 4), h.chunk_id, h.text) for h in idx.search(probe, k=5, mode=mode)]
             for mode in ("lexical", "dense")] for probe in probes]


def same_answer(got: list, want: list) -> bool:
    """Whether two answers agree: the same scores, the same chunks and texts at each score above the last one (hits
    of equal score may come in any order, and which of them a cut at ``k`` keeps is arbitrary)."""
    for hits, truth in zip(got, want):
        if [h[0] for h in hits] != [t[0] for t in truth]:
            return False
        last = truth[-1][0] if truth else None
        if {h for h in hits if h[0] != last} != {t for t in truth if t[0] != last}:
            return False
        texts = {t[1]: t[2] for t in truth}
        if any(h[1] in texts and texts[h[1]] != h[2] for h in hits):
            return False
    return True


def same_answers(got: list, want: list) -> bool:
    return len(got) == len(want) and all(same_answer(g, w) for g, w in zip(got, want))


# -- a / b ---------------------------------------------------------------------------------------------------------


def round_first_ingests(work: Path, workers: list[Worker], rng: random.Random, n: int) -> dict:
    index = f"a{n}"
    left, right = corpus(work / f"a{n}" / "x", rng, 4, "l"), corpus(work / f"a{n}" / "y", rng, 4, "r")
    workers[0].send([str(work / f"a{n}" / "x")], index)
    workers[1].send([str(work / f"a{n}" / "y")], index)
    replies = [w.reply() for w in workers]
    ws = workspace(work / "home")
    have = stored(ws, index) if ws.store.exists(index) else {}
    want = {f"x/{k}": v for k, v in left.items()} | {f"y/{k}": v for k, v in right.items()}
    ok_sides = [r for r in replies if r.get("ok")]
    lost = sum(1 for k in want if k not in have) if len(ok_sides) == 2 else 0
    wrong = sum(1 for k, v in have.items() if want.get(k) != v)
    wrong += sum(1 for r in replies if r.get("ok") and r["added"] != 4)
    return {"lost": lost, "wrong": wrong, "failed_ingests": 2 - len(ok_sides)}


def round_colliding_ids(work: Path, workers: list[Worker], rng: random.Random, n: int) -> dict:
    index = "b"
    ids = [f"b{n}-{i}" for i in range(5)]
    left = {i: f"left {i} " + rng.choice(WORDS) for i in ids}
    right = {i: f"right {i} " + rng.choice(WORDS) for i in ids}
    workers[0].send([str(jsonl(work / f"b{n}-l.jsonl", left))], index)
    workers[1].send([str(jsonl(work / f"b{n}-r.jsonl", right))], index)
    replies = [w.reply() for w in workers]
    have = stored(workspace(work / "home"), index)
    wrong = lost = 0
    for i in ids:
        text = have.get(i)
        if text is None:
            lost += 1
        elif text not in (left[i], right[i]):
            wrong += 1
    added = [r.get("added", 0) for r in replies]
    winner = left if replies[0].get("added") == 5 else right
    wrong += sum(1 for i in ids if have.get(i) not in (None, winner[i]))  # the side that reported a skip won
    wrong += 0 if sorted(added) == [0, 5] else 1  # exactly one side added them, the other reported them skipped
    return {"lost": lost, "wrong": wrong}


# -- c -------------------------------------------------------------------------------------------------------------


def round_kill(work: Path, rng: random.Random, n: int) -> dict:
    home = work / "home"
    first = rng.random() < 0.4
    index = f"c{n}" if first else "c"
    ws = workspace(home)
    folder = work / f"c{n}"
    before = {}
    if not first:
        if not ws.store.exists("c"):
            ws.ingest([str(work / "c-seed")], "c")
        before = stored(ws, "c")
        corpus(folder, rng, 3, f"k{n}")
    else:
        corpus(folder, rng, 3, f"k{n}")
    point = rng.choice(KILL_POINTS if first else [p for p in KILL_POINTS if p != "create"])
    worker = Worker(home, {"at": point})
    worker.send([str(folder)], index)
    reply = worker.reply()
    worker.proc.wait(timeout=60)
    ws = workspace(home)
    have = stored(ws, index) if ws.store.exists(index) else {}
    after_ingest = ws.ingest([str(folder)], index)  # the next writer finds whatever was left
    final = stored(ws, index)
    lost = sum(1 for k in before if k not in final)
    wrong = 0 if (have == before or set(before) <= set(have)) else 1
    wrong += sum(1 for k, v in final.items() if k in before and before[k] != v)
    return {"lost": lost, "wrong": wrong, "killed": bool(reply.get("killed")), "point": point,
            "next_ingest_added": after_ingest.added}


# -- d / e ---------------------------------------------------------------------------------------------------------


def prepared(work: Path, rng: random.Random) -> tuple[Path, dict[str, str], list[str]]:
    """An index of ~60 chunks with deletions, an IVF partitioning, and two table versions; its truth and probes."""
    home = work / "pristine"
    folder = work / "d-docs"
    texts = corpus(folder, rng, 60, "d")
    ws = workspace(home)
    ws.ingest([str(folder)], "kb")
    for name in list(texts)[:8]:
        texts[name] = f"{name[:-3]}x0 changed " + " ".join(rng.choice(WORDS) for _ in range(8))
        (folder / name).write_text(texts[name] + "\n")
    ws.ingest([str(folder)], "kb")
    probes = [f"{k[:-3]}x{k[1:-3]}" for k in list(texts)[::7]] + [" ".join(rng.sample(WORDS, 3)) for _ in range(6)]
    return home, {c.chunk_id: c.text for c in ws.store.all_chunks("kb")}, probes


def index_files(folder: Path) -> dict[str, list[Path]]:
    """The files of an index by kind (only those the committed generation uses)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    backend = manifest["backend"]
    kinds: dict[str, list[Path]] = {"manifest": [folder / "manifest.json"]}
    for entry in backend["segments"]:
        for path in (folder / "segments" / entry["id"]).iterdir():
            kinds.setdefault(f"segment/{path.name}", []).append(path)
        if entry.get("deleted"):
            kinds.setdefault("deletion list", []).append(folder / "deletes" / entry["deleted"])
    if backend.get("ivf"):
        kinds["ivf"] = [folder / "ivf" / f"{backend['ivf']['id']}.npy"]
    for table in ("chunks", "docs"):
        base = folder / "lance" / f"{table}.lance"
        kinds[f"table {table}/data"] = sorted((base / "data").glob("*.lance"))
        version = backend[f"{table}_version"]
        kinds[f"table {table}/version"] = [p for p in (base / "_versions").glob("*.manifest") if _lance_version(p) == version]
    return {k: v for k, v in kinds.items() if v}


def _lance_version(path: Path) -> int | None:
    stem = path.stem
    try:
        value = int(stem)
    except ValueError:
        return None
    return value if value < 2**63 else 2**64 - 1 - value  # newer formats name versions inverted


def damage(path: Path, how: str, rng: random.Random) -> None:
    if how == "delete":
        path.unlink()
        return
    size = path.stat().st_size
    if how == "truncate":
        with open(path, "r+b") as handle:
            handle.truncate(rng.randrange(0, max(size, 1)))
        return
    data = bytearray(path.read_bytes())
    start = rng.randrange(0, max(size, 1))
    for i in range(start, min(size, start + max(16, size // 4))):
        data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))


class Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


def judge(work: Path, home: Path, truth: dict[str, str], answers: list, probes: list[str], lost_manifest: bool) -> dict:
    """Serve the probes from the damaged index (fresh process state), run doctor, repair, and compare with the truth."""
    segments_mod._verified.clear()
    catcher = Warnings()
    logging.getLogger("ragtune").addHandler(catcher)
    ws = workspace(home)
    detected, wrong = False, 0
    try:
        if lost_manifest:
            detected = "kb" in ws.damaged_indexes()
            try:
                ws.ingest([str(work / "d-docs")], "kb")
            except RagtuneError:
                detected = True
        got = served(ws, "kb", probes)
        wrong = sum(1 for a, b in zip(got, answers) if not same_answer(a, b))
    except RagtuneError:
        detected = True
    finally:
        logging.getLogger("ragtune").removeHandler(catcher)
    detected = detected or bool(catcher.seen)
    report = ws.doctor("kb")
    detected = detected or report.indexes[0].status != "ok"
    repaired_report = ws.doctor("kb", repair=True)
    segments_mod._verified.clear()
    ws = workspace(home)
    try:
        right = same_answers(served(ws, "kb", probes), answers)
    except RagtuneError:
        right = False
    lost = len(truth) - len(retrievable(ws, truth))
    unlisted = len(truth) - listed(ws)
    return {"detected": detected, "wrong": wrong, "lost": lost, "unlisted": unlisted,
            "repaired": repaired_report.healthy and right and not lost and not unlisted}


def round_damage(work: Path, pristine: Path, truth: dict, answers: list, probes: list, rng: random.Random, n: int,
                 kind: str | None) -> dict:
    home = work / f"d{n}"
    shutil.copytree(pristine, home)
    folder = home / "indexes" / "kb"
    files = index_files(folder)
    kind = kind or rng.choice(sorted(files))
    how = "delete" if kind == "manifest (deleted)" else rng.choice(DAMAGE)
    path = rng.choice(files["manifest" if kind == "manifest (deleted)" else kind])
    damage(path, how, rng)
    result = judge(work, home, truth, answers, probes, lost_manifest=(how == "delete" and kind.startswith("manifest")))
    shutil.rmtree(home)
    return {**result, "file": kind, "how": how}


# -- the run ---------------------------------------------------------------------------------------------------------


def summary(rows: list[dict], damage_kind: bool) -> dict:
    out = {"rounds": len(rows), "documents_lost": sum(r["lost"] for r in rows),
           "wrong_results_served": sum(r["wrong"] for r in rows)}
    if damage_kind:
        out["documents_unlisted_after_repair"] = sum(r["unlisted"] for r in rows)
        out["damage_detected"] = sum(r["detected"] for r in rows)
        out["damage_repaired"] = sum(r["repaired"] for r in rows)
        out["by_file"] = {}
        for r in rows:
            by = out["by_file"].setdefault(r["file"], {"rounds": 0, "detected": 0, "repaired": 0})
            by["rounds"] += 1
            by["detected"] += r["detected"]
            by["repaired"] += r["repaired"]
    return out


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", default="40,40,25,80,20", help="rounds of kinds a,b,c,d,e")
    parser.add_argument("--out", type=Path, default=RESULTS / "store_torture.json")
    args = parser.parse_args()
    counts = dict(zip("abcde", (int(x) for x in args.rounds.split(","))))
    rng = random.Random(args.seed)
    started, ran_at = time.monotonic(), commit()  # the commit the run starts from
    rows: dict[str, list[dict]] = {k: [] for k in "abcde"}
    with tempfile.TemporaryDirectory(prefix="torture-") as tmp:
        work = Path(tmp)
        workspace(work / "home").ingest([str(jsonl(work / "b-seed.jsonl", {"seed": "seed row"}))], "b")
        corpus(work / "c-seed", rng, 4, "s")
        workers = [Worker(work / "home"), Worker(work / "home")]
        try:
            for n in range(counts["a"]):
                rows["a"].append(round_first_ingests(work, workers, rng, n))
            log(f"a: {summary(rows['a'], False)}")
            for n in range(counts["b"]):
                rows["b"].append(round_colliding_ids(work, workers, rng, n))
            log(f"b: {summary(rows['b'], False)}")
        finally:
            for w in workers:
                w.close()
        for n in range(counts["c"]):
            rows["c"].append(round_kill(work, rng, n))
        log(f"c: {summary(rows['c'], False)}")
        pristine, truth, probes = prepared(work, rng)
        answers = served(workspace(pristine), "kb", probes)
        kinds = sorted(index_files(pristine / "indexes" / "kb"))
        for n in range(counts["d"]):
            rows["d"].append(round_damage(work, pristine, truth, answers, probes, rng, n, kinds[n % len(kinds)]))
        log(f"d: {summary(rows['d'], True)}")
        for n in range(counts["e"]):
            rows["e"].append(round_damage(work, pristine, truth, answers, probes, rng, 1000 + n, "manifest (deleted)"))
        log(f"e: {summary(rows['e'], True)}")
    kinds_out = {"a_concurrent_first_ingests": summary(rows["a"], False),
                 "b_colliding_ids": summary(rows["b"], False),
                 "c_kills": {**summary(rows["c"], False), "points": sorted({r["point"] for r in rows["c"]}),
                             "killed": sum(r["killed"] for r in rows["c"])},
                 "d_file_damage": summary(rows["d"], True),
                 "e_deleted_manifest": summary(rows["e"], True)}
    damage_rounds = rows["d"] + rows["e"]
    result = {
        "benchmark": "store_torture", "commit": ran_at,
        "command": "python bench/store_torture.py " + " ".join(sys.argv[1:]),
        "seed": args.seed, "embedder": "fake:64", "ann_threshold": ANN, "resumed_or_cached": False,
        "subset": "synthetic corpora of 4-60 documents per index; the whole bench is bounded by the round counts",
        "rounds_total": sum(len(v) for v in rows.values()),
        "documents_lost": sum(r["lost"] for v in rows.values() for r in v),
        "wrong_results_served": sum(r["wrong"] for v in rows.values() for r in v),
        "damage_detected": f"{sum(r['detected'] for r in damage_rounds)}/{len(damage_rounds)}",
        "damage_repaired": f"{sum(r['repaired'] for r in damage_rounds)}/{len(damage_rounds)}",
        "kinds": kinds_out, "seconds": round(time.monotonic() - started, 1),
    }
    return finish(args.out, result)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
