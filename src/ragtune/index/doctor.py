"""Checking and repairing indexes (``ragtune doctor``).

For each LanceDB index folder, under the index's writer lock (so a running ingest is never mistaken for damage):

- a first ingest that died before its first commit: its leftovers are removed;
- the manifest: there, readable, matching its checksum; else the newest sound copy (``manifests/``) is put back;
- the tables, read whole at the manifest's versions, hold the documents and chunks the manifest counts;
- the segments: every file against its recorded checksum, row and live counts, the deletion lists, the IVF
  partitioning; and the segments' live chunk ids are exactly the chunks table's;
- orphan files: segments, deletion lists, partitionings and temporary files no manifest names.

Repairs: segments rebuilt from the tables; the chunks table rewritten from sound segments; orphans removed. What
cannot be repaired (the documents table, or both tables and segments) is reported with the recovery that works:
move the folder aside and ingest the sources again. A store other than LanceDB keeps its state in transactions;
only its manifests are checked.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ragtune.common import write_text_atomic
from ragtune.errors import RagtuneError
from ragtune.index.base import IndexManifest, Store, index_not_found
from ragtune.index.lancedb import LanceDBStore
from ragtune.index.lancedb_commit import check_counts, collect, referenced
from ragtune.index.lancedb_snapshot import open_segment
from ragtune.index.lancedb_tables import chunk_schema, committed_table, table_library_error
from ragtune.index.lancedb_tables import error_line as _first_line
from ragtune.index.manifest_files import ManifestDamagedError, ManifestFiles
from ragtune.index.segments import RECORD_COLUMNS, SegmentError, file_checksum

START_OVER = "move the index folder aside and ingest its sources again"


@dataclass
class Finding:
    """One problem found in an index, whether it was repaired, and what to do when it was not."""

    problem: str
    repaired: bool = False
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"problem": self.problem, "repaired": self.repaired, "hint": self.hint}


@dataclass
class IndexHealth:
    """What ``doctor`` found in one index: ``ok``, ``repaired`` (every problem), or ``damaged``."""

    name: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        if not self.findings:
            return "ok"
        return "repaired" if all(f.repaired for f in self.findings) else "damaged"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "findings": [f.to_json() for f in self.findings]}


@dataclass
class DoctorReport:
    """Every index checked; ``healthy`` when none is left damaged."""

    indexes: list[IndexHealth]
    repair: bool

    @property
    def healthy(self) -> bool:
        return all(h.status != "damaged" for h in self.indexes)

    def to_json(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "repair": self.repair, "indexes": [h.to_json() for h in self.indexes]}


def check_store(store: Store, names: Sequence[str] | None, repair: bool) -> DoctorReport:
    """Check ``names`` (default: every index) of ``store``, repairing with ``repair``."""
    if isinstance(store, LanceDBStore):
        return IndexDoctor(store).check(names, repair)
    damaged = store.damaged_indexes()
    known = sorted(set(store.list_indexes()) | set(damaged))
    for name in names or ():
        if name not in known:
            raise index_not_found(name, known)
    return DoctorReport([IndexHealth(n, [Finding(damaged[n])] if n in damaged else []) for n in names or known], repair)


class IndexDoctor:
    """``doctor`` for the LanceDB store (see the module docstring)."""

    def __init__(self, store: LanceDBStore) -> None:
        self.store = store

    def folders(self) -> list[str]:
        root = self.store.root
        return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []

    def check(self, names: Sequence[str] | None, repair: bool) -> DoctorReport:
        folders = self.folders()
        for name in names or ():
            if name not in folders:
                raise index_not_found(name, self.store.list_indexes())
        return DoctorReport([self._check(name, repair) for name in names or folders], repair)

    def _check(self, name: str, repair: bool) -> IndexHealth:
        health = IndexHealth(name)
        try:
            with self.store.writing(name):
                self._check_locked(name, health, repair)
        except RagtuneError as exc:
            health.findings.append(Finding(f"the check could not finish: {exc}"))
        return health

    def _check_locked(self, name: str, health: IndexHealth, repair: bool) -> None:
        files = ManifestFiles(self.store.root / name)
        if files.abandoned():
            found = Finding("a first ingest stopped before its first commit; nothing of it was committed")
            health.findings.append(found)
            if repair:
                shutil.rmtree(files.folder)
                found.repaired = True
            return
        manifest = self._manifest(name, files, health, repair)
        if manifest is None:
            return
        tables, table_damage = self._tables(name, manifest)
        segments, segment_damage = self._segments(files.folder, manifest)
        health.findings += [f for f in (table_damage, segment_damage) if f is not None]
        self._agree(name, files, manifest, (tables, table_damage), (segments, segment_damage), health, repair)
        self._orphans(files, health, repair)

    # -- the manifest ------------------------------------------------------------------------------------------------
    def _manifest(self, name: str, files: ManifestFiles, health: IndexHealth, repair: bool) -> IndexManifest | None:
        try:
            return files.read(name)
        except FileNotFoundError:
            if not files.has_data():
                return None  # an empty folder: nothing to check
            found = Finding("manifest.json is missing")
        except ManifestDamagedError:
            found = Finding("manifest.json is unreadable or does not match its checksum")
        health.findings.append(found)
        for generation in reversed(files.generations()):
            copy = files.copies / f"{generation}.json"
            try:
                manifest = files.parse(copy, name)
            except (ManifestDamagedError, OSError):
                continue
            if repair:
                write_text_atomic(files.path, copy.read_text(encoding="utf-8"), durable=True)
                found.repaired = True
            else:
                found.hint = f"the copy of generation {generation} can be put back: ragtune doctor --index {name} --repair"
            return manifest
        found.hint = f"no sound copy of the manifest is left: {START_OVER}"
        return None

    # -- tables and segments -----------------------------------------------------------------------------------------
    def _tables(self, name: str, manifest: IndexManifest) -> tuple[Any | None, Finding | None]:
        """The chunks table as Arrow, or the damage that keeps it from being read whole."""
        db = self.store._db(name)
        try:
            chunks = committed_table(db, manifest, "chunks").to_arrow()
            documents = committed_table(db, manifest, "docs").to_arrow().num_rows
        except BaseException as exc:  # any failure to read a table (a Rust panic included) is damage to report
            if not _failed(exc):
                raise
            return None, Finding(f"its tables cannot be read ({_first_line(exc)})")
        if documents != manifest.documents or chunks.num_rows != manifest.chunks:
            return None, Finding(f"its tables hold {documents} documents and {chunks.num_rows} chunks, "
                                 f"the manifest counts {manifest.documents} and {manifest.chunks}")
        return chunks, None

    def _segments(self, folder: Path, manifest: IndexManifest) -> tuple[dict | None, Finding | None]:
        """The live rows of the segments as columns, or the damage found in them."""
        backend = manifest.backend
        try:
            check_counts(manifest)
            for entry in backend.get("segments") or []:
                for file, expected in (entry.get("sums") or {}).items():
                    if file_checksum(folder / "segments" / entry["id"] / file) != expected:
                        raise SegmentError(f"segment {entry['id']}: {file} does not match its checksum")
            ivf = backend.get("ivf")
            if ivf and ivf.get("sum") and file_checksum(folder / "ivf" / f"{ivf['id']}.npy") != ivf["sum"]:
                raise SegmentError("the IVF partitioning does not match its checksum")
            return _live_rows(folder, backend), None
        except (SegmentError, OSError) as exc:
            return None, Finding(f"its search segments are damaged ({_first_line(exc)})")

    def _agree(self, name: str, files: ManifestFiles, manifest: IndexManifest, tables: tuple, segments: tuple,
               health: IndexHealth, repair: bool) -> None:
        """Compare the tables with the segments, and repair the damaged side from the sound one."""
        (table, table_damage), (rows, segment_damage) = tables, segments
        if table is not None and rows is not None:
            if sorted(table.column("chunk_id").to_pylist()) == sorted(rows["chunk_id"]):
                return
            segment_damage = Finding("the search segments do not hold the chunks of the table")
            health.findings.append(segment_damage)
        damage = segment_damage if table is not None else table_damage
        if table is None and (rows is None or not _docs_readable(self.store, name, manifest)):
            for found in (table_damage, segment_damage):
                if found is not None:
                    found.hint = START_OVER
            return
        if not repair:
            damage.hint = f"repair it with: ragtune doctor --index {name} --repair"
            return
        try:
            if table is not None:
                self.store.rebuild_segments(name, damage.problem)
            else:
                _rewrite_chunks(self.store, name, files, manifest, rows)
            damage.repaired = True
        except BaseException as exc:  # a repair that fails is damage left
            if not _failed(exc):
                raise
            damage.hint = f"the repair failed ({_first_line(exc)}): {START_OVER}"

    # -- orphans -----------------------------------------------------------------------------------------------------
    def _orphans(self, files: ManifestFiles, health: IndexHealth, repair: bool) -> None:
        try:
            backend = files.read(files.folder.name).backend
        except (ManifestDamagedError, FileNotFoundError):
            return
        segments, deletes, ivf = referenced(backend)
        orphans = [p for sub, keep in (("segments", segments), ("deletes", deletes), ("ivf", ivf))
                   if (files.folder / sub).is_dir() for p in (files.folder / sub).iterdir() if p.name not in keep]
        orphans += [p for where in (files.folder, files.copies) if where.is_dir() for p in where.glob(".*.tmp")]
        if not orphans:
            return
        found = Finding(f"{len(orphans)} file(s) no manifest names (left by a writer that stopped)")
        health.findings.append(found)
        if repair:
            collect(files.folder, backend)
            for path in orphans:
                path.unlink(missing_ok=True) if path.is_file() else None
            found.repaired = True


def _live_rows(folder: Path, backend: dict) -> dict[str, list]:
    """The live rows of every segment, as columns (``RECORD_COLUMNS`` and ``vector``)."""
    columns: dict[str, list] = {c: [] for c in [*RECORD_COLUMNS, "vector"]}
    for entry in backend.get("segments") or []:
        segment, alive = open_segment(folder, entry)
        rows = np.arange(segment.rows) if alive is None else np.flatnonzero(alive)
        table = segment.table.select(RECORD_COLUMNS).take(rows)
        for column in RECORD_COLUMNS:
            columns[column].extend(table.column(column).to_pylist())
        columns["vector"].append(np.asarray(segment.vectors[rows], np.float32))
    return columns


def _docs_readable(store: LanceDBStore, name: str, manifest: IndexManifest) -> bool:
    try:
        return committed_table(store._db(name), manifest, "docs").to_arrow().num_rows == manifest.documents
    except BaseException as exc:  # unreadable is the answer
        if not _failed(exc):
            raise
        return False


def _rewrite_chunks(store: LanceDBStore, name: str, files: ManifestFiles, manifest: IndexManifest, rows: dict) -> None:
    """Write the segments' live rows as a new version of the chunks table and name it in the manifest."""
    import pyarrow as pa

    dim = manifest.embedder.dimension
    vectors = np.concatenate(rows["vector"]) if rows["vector"] else np.zeros((0, dim), np.float32)
    schema = chunk_schema(dim)
    arrays = [pa.array(rows[f.name], type=f.type) for f in schema if f.name != "vector"]
    arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), type=pa.float32()), dim))
    data, db = pa.Table.from_arrays(arrays, schema=schema), store._db(name)
    try:
        table = db.create_table("chunks", data, mode="overwrite")
    except BaseException as exc:  # the table's own version files are damaged: start it again
        if not _failed(exc):
            raise
        db.drop_table("chunks")
        table = db.create_table("chunks", data)
    manifest.backend["chunks_version"] = table.version
    files.write(manifest)


def _failed(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure to report (not Ctrl-C or an exit)."""
    return isinstance(exc, Exception) or table_library_error(exc)
