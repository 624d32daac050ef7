"""What hosting an index's store costs per month: one rule, used by ``decide``, ``advise`` and ``cost`` alike.

    monthly = base + GB stored × store_usd_per_gb_month
    GB stored = chunks × (dimension × 4 bytes + mean chunk bytes + store_overhead_bytes) / 1e9

The base is the price table's ``store_embedded_usd_per_month`` (default 0: LanceDB runs inside the serving process)
for the embedded store, or ``store_server_usd_per_month`` (default 50, a managed plan minimum) for a store served
apart (PostgreSQL with pgvector). The figure is ``assumed`` unless a price file (``--prices``) or the advisor's
config states the prices it uses; the store kind and its size are measured from the index.
"""

from __future__ import annotations

from ragtune.costs.figures import Basis, Figure
from ragtune.costs.prices import PriceTable

EMBEDDED, SERVER = "embedded", "server"


def store_gb(prices: PriceTable, chunks: float, dimension: int, chunk_bytes: float) -> float:
    """The gigabytes an index of ``chunks`` chunks takes in a store (float32 vectors, text, per-chunk overhead)."""
    return chunks * (dimension * 4 + chunk_bytes + prices.store_overhead_bytes) / 1e9


def store_hosting(prices: PriceTable, store: str, chunks: float, dimension: int, chunk_bytes: float) -> Figure:
    """The monthly cost of hosting an index in ``store`` (``EMBEDDED`` or ``SERVER``), labelled (module docstring)."""
    base_field = "store_embedded_usd_per_month" if store == EMBEDDED else "store_server_usd_per_month"
    base, per_gb = float(getattr(prices, base_field)), prices.store_usd_per_gb_month
    gb = store_gb(prices, chunks, dimension, chunk_bytes)
    used = (base_field, "store_usd_per_gb_month", "store_overhead_bytes")
    basis = Basis.stated if all(prices.stated(f) for f in used) else Basis.assumed
    where = ("the embedded store runs in the serving process" if store == EMBEDDED
             else "a store served apart from the answering machine")
    dated = "stated prices" if basis is Basis.stated else f"prices as of {prices.as_of}"
    source = (f"{where}: {base:g} {prices.currency}/month + {gb:.3g} GB × {per_gb:g}/GB-month "
              f"({chunks:,.0f} chunks of {dimension}-dimensional vectors; {dated})")
    return Figure(round(base + gb * per_gb, 6), basis, source)
