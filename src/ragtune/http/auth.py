"""Who is calling and what they may touch: bearer keys, roles, and indexes outside a key's scope.

A key scoped to one index gets 404 ``no index named 'X'`` for every other index, the same answer as for an
index that does not exist, so a key never learns what else the server holds. Inside its scope, a role
that is too small gets 403.
"""

from __future__ import annotations

from typing import Callable

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ragtune.api import Index, Workspace
from ragtune.errors import IndexNotFoundError
from ragtune.http.errors import HTTPProblem
from ragtune.api import check_index_name
from ragtune.api import ALL_INDEXES, Principal, Role

bearer = HTTPBearer(auto_error=False, description="An API key from `ragtune keys create`.")

_ACTIONS = {Role.reader: "read", Role.writer: "change documents", Role.admin: "administer"}


def workspace(request: Request) -> Workspace:
    """The workspace the app serves."""
    return request.app.state.workspace


def principal(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    """The caller, from ``Authorization: Bearer KEY``; 401 without a valid key (unless auth is off)."""
    if not request.app.state.auth:
        return Principal.anonymous_admin()
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPProblem(401, "no API key: send 'Authorization: Bearer KEY' (create one with: ragtune keys create --index NAME)",
                          headers=challenge)
    found = request.app.state.workspace.keys.authenticate(credentials.credentials)
    if found is None:
        raise HTTPProblem(401, "the API key is not valid (unknown, malformed or revoked)", headers=challenge)
    return found


def not_found(name: str) -> HTTPProblem:
    return HTTPProblem(404, f"no index named '{name}'", "IndexNotFoundError")


def require(who: Principal, name: str, role: Role, action: str | None = None) -> None:
    """404 when ``name`` is outside the key's scope; 403 when its role is too small (naming ``action``, by default what
    ``role`` may do)."""
    check_index_name(name)
    if not who.sees(name):
        raise not_found(name)
    if not who.role.includes(role):
        raise HTTPProblem(403, f"this key ({who.role.value}) may not {action or _ACTIONS[role]} in index '{name}'")


def open_index(ws: Workspace, who: Principal, name: str, role: Role, action: str | None = None) -> Index:
    """The index ``name`` if ``who`` may act on it with ``role`` (see the module docstring)."""
    require(who, name, role, action)
    try:
        return ws.index(name)
    except IndexNotFoundError:
        if who.index == ALL_INDEXES:
            raise  # a key for every index may hear which indexes exist
        raise not_found(name) from None


def index_access(role: Role) -> Callable[..., Index]:
    """A dependency giving the path's index to a caller holding at least ``role`` on it."""

    def dependency(name: str = Path(..., description="Index name.", max_length=64), who: Principal = Depends(principal),
                   ws: Workspace = Depends(workspace)) -> Index:
        return open_index(ws, who, name, role)

    dependency.__name__ = f"{role.value}_index"
    return dependency


ReaderIndex = Depends(index_access(Role.reader))
WriterIndex = Depends(index_access(Role.writer))
AdminIndex = Depends(index_access(Role.admin))
