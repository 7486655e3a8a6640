-- post.lua - wrk: every request is the same POST, from the environment:
-- BODY (the JSON-RPC message) and TOKEN.
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
