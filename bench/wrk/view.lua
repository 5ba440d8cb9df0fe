-- wrk script: GET one of CUSTOMERS customers' views at random (ids w0 … w<N-1>), authenticated with CRM_KEY; with
-- TARGET=me it asks GET /api/v1/auth/me instead (the same gateway stack without a grain call: the ceiling); with
-- TARGET=compact the view's name and segments only (?fields=firstName,lastName,segments: a screen's compact read).
-- Usage: CUSTOMERS=2000 CRM_KEY=… [TARGET=me|compact] wrk -t2 -c32 -d20s --latency -s bench/wrk/view.lua http://127.0.0.1:5080
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  customers = tonumber(os.getenv("CUSTOMERS") or "2000")
  key = os.getenv("CRM_KEY") or ""
  target = os.getenv("TARGET") or "view"
  math.randomseed(os.time() * 100 + id)
end

function request()
  local headers = { ["X-Api-Key"] = key }
  if target == "me" then
    return wrk.format("GET", "/api/v1/auth/me", headers)
  end
  local path = "/api/v1/customers/w" .. math.random(0, customers - 1)
  if target == "compact" then
    path = path .. "?fields=firstName,lastName,segments"
  end
  return wrk.format("GET", path, headers)
end
