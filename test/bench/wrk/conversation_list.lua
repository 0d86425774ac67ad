-- GET /v1/guests/lister/conversations: the first page (50) of a guest in
-- 500 conversations.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth}

request = function()
   return wrk.format("GET", "/v1/guests/lister/conversations?as=lister", headers)
end
