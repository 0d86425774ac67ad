-- GET /v1/guests/lister/conversations: the first page (50) of a guest in
-- 500 conversations.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

-- One request: wrk sends it as it is, with no Lua call per request.
wrk.path = "/v1/guests/lister/conversations?as=lister"
wrk.headers["Authorization"] = auth
