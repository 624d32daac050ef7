"""Key commands: keys create, keys list, keys revoke."""

from __future__ import annotations

import typer
from rich.table import Table

from ragtune.cli.index_commands import JsonFlag, workspace
from ragtune.cli.output import emit_json, err, handle_errors, out
from ragtune.api import Role


def register(app: typer.Typer) -> None:
    keys = typer.Typer(name="keys", no_args_is_help=True, help="API keys for ragtune serve and ragtune mcp: per index, per role.")
    app.add_typer(keys)

    @keys.command("create")
    @handle_errors
    def create(
        index: str = typer.Option(..., "--index", "-i", help="The index the key may use, or '*' for every index."),
        role: Role = typer.Option(Role.reader, "--role",
                                  help="reader (search, ask), writer (+ ingest, remove), admin (+ indexes, keys)."),
        name: str = typer.Option("", "--name", help="A label to recognise the key by in listings."),
        as_json: bool = JsonFlag,
    ) -> None:
        """Create a key. It is printed once; only its salted hash is stored."""
        record, key = workspace().keys.create(index, role, name)
        if as_json:
            emit_json({"key": key, "index": record.index, "role": record.role.value})
            return
        out.print(key, markup=False, highlight=False)
        err.print(f"key {record.id}: {record.role.value} on {record.index}. Store it now: it is not shown again.",
                  highlight=False)

    @keys.command("list")
    @handle_errors
    def list_keys(as_json: bool = JsonFlag) -> None:
        """List keys (ids, scopes and roles; never the keys themselves)."""
        records = workspace().keys.list()
        if as_json:
            emit_json([k.public() for k in records])
            return
        table = Table(title="keys")
        for col in ("id", "index", "role", "name", "created", "revoked"):
            table.add_column(col)
        for k in records:
            table.add_row(k.id, k.index, k.role.value, k.name, k.created_at, k.revoked_at or "")
        out.print(table)

    @keys.command("revoke")
    @handle_errors
    def revoke(key_id: str = typer.Argument(..., help="The key's id (from ragtune keys list)."),
               as_json: bool = JsonFlag) -> None:
        """Revoke a key: it stops working on the next request."""
        record = workspace().keys.revoke(key_id)
        if as_json:
            emit_json(record.public())
        else:
            out.print(f"revoked key {record.id} ({record.role.value} on {record.index})", highlight=False)
