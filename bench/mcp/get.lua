-- get.lua - wrk: GET with the token (TOKEN), as an agent's REST call would.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
