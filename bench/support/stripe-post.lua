-- wrk script for bench/ingress: each thread posts the pre-signed requests in its own file,
-- BENCH_REQUESTS.<thread> (written by stripe-requests.py as `<length>\n<request bytes>`), each
-- exactly once. With BENCH_RATE set, requests follow a fixed schedule (open loop): each thread
-- sends one every THREADS/RATE seconds, whatever the answers' latency, so a slow answer does not
-- slow the load.
local prefix = os.getenv("BENCH_REQUESTS")
local threads_total = tonumber(os.getenv("BENCH_THREADS") or "1")
local rate = tonumber(os.getenv("BENCH_RATE") or "0")

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  -- wrk runs each thread's init before starting the next thread: keep it to slicing one file.
  local file = assert(io.open(prefix .. "." .. id, "rb"))
  local data = file:read("*a")
  file:close()
  requests = {}
  local at = 1
  while at <= #data do
    local newline = data:find("\n", at, true)
    local length = tonumber(data:sub(at, newline - 1))
    requests[#requests + 1] = data:sub(newline + 1, newline + length)
    at = newline + length + 1
  end
  position = 0
  exhausted = 0
end

function request()
  position = position + 1
  if position > #requests then
    -- Out of unique deliveries: what follows are duplicates, which done() reports.
    exhausted = exhausted + 1
    position = 1
  end
  return requests[position]
end

if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock, bench_timespec *ts);
  ]]
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 * threads_total / rate
  local next_slot = nil
  -- Called before each request after a connection's first: wait for the next free slot.
  function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now - 1000 then next_slot = now end
    next_slot = next_slot + interval
    local wait = next_slot - now
    return wait > 0 and wait or 0
  end
end

function done(summary, latency, requests)
  local exhausted_total = 0
  for _, thread in ipairs(threads) do
    exhausted_total = exhausted_total + thread:get("exhausted")
  end
  local errors = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d exhausted=%d p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d\n",
    summary.requests, summary.duration, errors.status, errors.connect, errors.read, errors.write, errors.timeout,
    exhausted_total, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max))
end
