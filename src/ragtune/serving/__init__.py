"""What the serving faces (HTTP, MCP) share: API keys, roles and per-index scopes."""

from ragtune.serving.keys import ALL_INDEXES, ApiKey, KeyStore, Principal, Role

__all__ = ["ALL_INDEXES", "ApiKey", "KeyStore", "Principal", "Role"]
