"""What the serving faces (HTTP, MCP) share: API keys, roles and per-index scopes."""

from ragtune.serving.keys import ALL_INDEXES, ApiKey, KeyStore, Principal, Role
from ragtune.serving.paths import confine, safe_upload_name

__all__ = ["ALL_INDEXES", "ApiKey", "KeyStore", "Principal", "Role", "confine", "safe_upload_name"]
