"""A tiny stdio MCP server for the elicitation tests: one tool, ``ask_form``, that asks
the client to fill a form (``elicitation/create``) and returns what came back.

Newline-delimited JSON-RPC, as MCP's stdio transport is; no SDK needed."""

from __future__ import annotations

import json
import sys

FORM = {
    "message": "Who are you?",
    "requestedSchema": {
        "type": "object",
        "properties": {"name": {"type": "string", "title": "Name"}, "age": {"type": "integer"}},
        "required": ["name"],
    },
}


def send(message: dict[str, object]) -> None:
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
    sys.stdout.flush()


def main() -> None:
    call_id = None
    for line in sys.stdin:
        message = json.loads(line)
        method = message.get("method")
        if method == "initialize":
            version = message["params"].get("protocolVersion", "2025-06-18")
            server = {"name": "formy", "version": "1"}
            result = {
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": server,
            }
            send({"id": message["id"], "result": result})
        elif method == "tools/list":
            tool = {
                "name": "ask_form",
                "description": "Ask the user who they are.",
                "inputSchema": {"type": "object", "properties": {}},
            }
            send({"id": message["id"], "result": {"tools": [tool]}})
        elif method == "tools/call":
            call_id = message["id"]
            send({"id": "form-1", "method": "elicitation/create", "params": FORM})
        elif message.get("id") == "form-1":
            answer = "ELICITED " + json.dumps(message.get("result"), sort_keys=True)
            send({"id": call_id, "result": {"content": [{"type": "text", "text": answer}]}})
        elif "id" in message and method:
            send({"id": message["id"], "result": {}})


if __name__ == "__main__":
    main()
