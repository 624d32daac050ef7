"""The MCP face: a stdio server (official ``mcp`` SDK) with tools over ``ragtune.api``."""
