-- wrk script: one purchase per request to a random one of CUSTOMERS customers (ids w0 … w<N-1>), each with a new
-- event id, authenticated with CRM_KEY. PREFER=return=minimal asks for the acknowledgement only.
-- Usage: CUSTOMERS=2000 CRM_KEY=… wrk -t2 -c32 -d20s --latency -s bench/wrk/ingest.lua http://127.0.0.1:5080
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  customers = tonumber(os.getenv("CUSTOMERS") or "2000")
  key = os.getenv("CRM_KEY") or ""
  prefer = os.getenv("PREFER") or ""
  occurred = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 60)
  counter = 0
  math.randomseed(os.time() * 100 + id)
end

function request()
  counter = counter + 1
  local customer = math.random(0, customers - 1)
  local body = string.format(
    '{"eventId":"wrk-%d-%d","type":"purchase","occurredAt":"%s","channel":"web","data":{"amount":%d.50}}',
    id, counter, occurred, customer % 90 + 10)
  local headers = { ["Content-Type"] = "application/json", ["X-Api-Key"] = key }
  if prefer ~= "" then
    headers["Prefer"] = prefer
  end
  return wrk.format("POST", "/api/v1/customers/w" .. customer .. "/events", headers, body)
end
