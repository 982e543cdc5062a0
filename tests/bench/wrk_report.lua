-- wrk script for the magcds benchmark (issue #7).
--   BENCH_BODY=FILE  POST FILE as application/json (unset: plain GET)
-- At the end it prints one machine-readable line:
--   WRK_RESULT {"requests":..,"rps":..,"p50_us":..,"p99_us":..,...}
-- Latencies are wrk's own (microseconds, per request, closed loop).

local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

done = function(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"seconds":%.3f,"rps":%.1f,"mean_us":%.1f,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"connect_err":%d,"read_err":%d,"write_err":%d,"status_err":%d,' ..
    '"timeout_err":%d}\n',
    summary.requests, seconds, summary.requests / seconds, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
