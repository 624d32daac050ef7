"""The MCP server spoken to by the SDK's own client over stdio, launching `python -m ragtune mcp`."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

mcp = pytest.importorskip("mcp")
from mcp import Client, StdioServerParameters  # noqa: E402

SRC = str(Path(__file__).resolve().parents[2] / "src")


def params(tmp_path, *args, cwd=None) -> StdioServerParameters:
    env = {"RAGTUNE_HOME": str(tmp_path / "home"), "RAGTUNE_EMBEDDER": "fake:64", "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return StdioServerParameters(command=sys.executable, args=["-m", "ragtune", "mcp", *args], env=env, cwd=str(cwd or tmp_path))


def data(result):
    """The JSON a tool returned (structured content, else the text block)."""
    if result.structured_content is not None:
        content = result.structured_content
        return content.get("result", content) if set(content) == {"result"} else content
    return json.loads(result.content[0].text)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=240))


def test_tools_over_stdio(tmp_path, docs_dir):
    async def session():
        async with Client(params(tmp_path)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"search", "ask", "list_indexes", "ingest"}
            ingested = data(await client.call_tool("ingest", {"index": "support", "paths": ["docs"]}))
            assert ingested["added"] == 3 and ingested["index"] == "support"
            listed = data(await client.call_tool("list_indexes", {}))
            assert [i["name"] for i in listed] == ["support"] and listed[0]["documents"] == 3
            found = data(await client.call_tool("search", {"index": "support", "query": "audit log retention", "k": 2}))
            assert found["hits"][0]["doc_id"] == "docs/audit.txt" and len(found["hits"]) == 2
            answer = data(await client.call_tool("ask", {"index": "support", "question": "How often must API keys be rotated?"}))
            assert "90 days" in answer["answer"] and answer["citations"][0]["doc_id"] == "docs/keys.md"
            missing = await client.call_tool("search", {"index": "nope", "query": "x"})
            assert missing.is_error and "no index named 'nope'" in missing.content[0].text
            outside = await client.call_tool("ingest", {"index": "support", "paths": ["/etc"]})
            assert outside.is_error and "outside the allowed folders" in outside.content[0].text
            dotdot = await client.call_tool("ingest", {"index": "support", "paths": ["docs/../../x"]})
            assert dotdot.is_error and "'..' is not allowed" in dotdot.content[0].text
            model = await client.call_tool("ask", {"index": "support", "question": "q", "model": "local:/etc"})
            assert model.is_error and "not served here" in model.content[0].text

    run(session())


def test_index_scope_and_read_only(tmp_path, docs_dir):
    from ragtune.api import Workspace
    from ragtune.config import RagtuneConfig

    ws = Workspace(RagtuneConfig.load({"home": str(tmp_path / "home"), "embedder": {"model": "fake:64"}}))
    ws.ingest([str(docs_dir)], index="support")
    ws.ingest([str(docs_dir / "audit.txt")], index="secret")

    async def session():
        async with Client(params(tmp_path, "--index", "support", "--read-only")) as client:
            assert {t.name for t in (await client.list_tools()).tools} == {"search", "ask", "list_indexes"}
            assert [i["name"] for i in data(await client.call_tool("list_indexes", {}))] == ["support"]
            hidden = await client.call_tool("search", {"index": "secret", "query": "audit"})
            assert hidden.is_error and hidden.content[0].text.endswith("no index named 'secret'")  # no list of the others

    run(session())
