-- wrk script: every request carries the next pre-issued token, each token is used
-- exactly once, and each thread stops when its own slice of the tokens is done.
--
--   wrk -t 2 -c 32 -d 170s --timeout 10s --latency -s bench/tokens.lua URL -- \
--       TOKENS_FILE METHOD BODY_FILE|- THREADS DONE_DIR
--
-- TOKENS_FILE holds one Authorization header value per line ("Bearer <jwt>").
-- BODY_FILE ("-" for none) is a JSON body sent as is, with Content-Type:
-- application/json. THREADS is wrk's -t. Each thread writes DONE_DIR/thread-<k> when
-- its last response is in (see response()).
-- Thread k of n takes the lines k, k+n, k+2n, ... so no two threads share a token.
-- `done()` prints one line "BENCH_JSON {...}" for the harness (bench/run.py). Its
-- duration is wrk's (the whole -d, or until SIGINT); the harness times the run itself.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local function read_lines(path)
   local lines = {}
   for line in io.lines(path) do
      if #line > 0 then table.insert(lines, line) end
   end
   return lines
end

function init(args)
   local all = read_lines(args[1])
   method = args[2] or "GET"
   body = nil
   if args[3] and args[3] ~= "-" then
      local f = assert(io.open(args[3], "rb"))
      body = f:read("*a")
      f:close()
   end
   -- This thread's Lua state cannot see the main one's `counter`: the harness
   -- passes the thread count (wrk -t) as the 4th argument.
   local nthreads = tonumber(args[4] or "1")
   done_dir = args[5] or "/tmp"
   finished = false
   tokens = {}
   for i = id, #all, nthreads do
      table.insert(tokens, all[i])
   end
   next_token = 1
   sent = 0
   received = 0
   ok = 0
   not_ok = 0
   statuses = {}
   first_error = ""
   -- wrk builds one request in the first thread before starting, only to check
   -- that the script produces valid HTTP: that one must not use up a token.
   verifying = (id == 1)
end

local function build(auth)
   local headers = { ["Authorization"] = auth }
   if body then headers["Content-Type"] = "application/json" end
   return wrk.format(method, nil, headers, body)
end

function request()
   if verifying then
      verifying = false
      return build("Bearer verification-only")
   end
   if next_token > #tokens then
      -- Nothing left to send: an empty request leaves this connection idle
      -- while the others finish.
      return ""
   end
   local auth = tokens[next_token]
   next_token = next_token + 1
   sent = sent + 1
   return build(auth)
end

function response(status, headers, resp_body)
   received = received + 1
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      not_ok = not_ok + 1
      statuses[status] = (statuses[status] or 0) + 1
      if first_error == "" then first_error = string.sub(resp_body or "", 1, 300) end
   end
   if received >= #tokens and not finished then
      -- wrk's main thread sleeps for the whole -d duration whatever its threads do:
      -- this file tells the harness that this thread is done, and the harness
      -- interrupts wrk (SIGINT) once every thread has written its file.
      finished = true
      local f = io.open(done_dir .. "/thread-" .. id, "w")
      if f then f:write("done\n"); f:close() end
      wrk.thread:stop()
   end
end

local function json_string(s)
   s = string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end)
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local sent_total, received_total, ok_total, not_ok_total = 0, 0, 0, 0
   local status_parts = {}
   local first = ""
   for _, thread in ipairs(threads) do
      sent_total = sent_total + thread:get("sent")
      received_total = received_total + thread:get("received")
      ok_total = ok_total + thread:get("ok")
      not_ok_total = not_ok_total + thread:get("not_ok")
      local st = thread:get("statuses")
      for code, n in pairs(st) do
         table.insert(status_parts, string.format('"%d": %d', code, n))
      end
      if first == "" then first = thread:get("first_error") end
   end
   local e = summary.errors
   print(string.format(
      'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
      '"sent": %d, "received": %d, "ok": %d, "not_ok": %d, "statuses": {%s}, ' ..
      '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
      '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, ' ..
      '"p50": %d, "p90": %d, "p95": %d, "p99": %d}, "first_error": %s}',
      summary.duration, summary.requests, summary.bytes,
      sent_total, received_total, ok_total, not_ok_total, table.concat(status_parts, ", "),
      e.connect, e.read, e.write, e.timeout,
      latency.min, latency.mean, latency.max, latency.stdev,
      latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99), json_string(first)))
end
