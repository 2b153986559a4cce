-- The workload of scripts/bench/parallel: the same job of QUERIES point
-- selects against each of TARGETS schemas (bench_par_1 .. bench_par_N) on
-- one server, run three ways:
--
--   mylua parallel.lua setup N            creates and fills the N schemas
--   mylua parallel.lua parallel N [Q [L]] one process, mylua.parallel, N at a time
--   mylua parallel.lua serial N [Q [L]]   one process, one schema after another
--   mylua parallel.lua one I [Q [L]]      schema I only (the 20-process way runs N of these)
--   mylua parallel.lua teardown N         drops the schemas
--
-- Connection options come from the host program's command line (-h, -P,
-- -u, -p).  L: seconds each query also sleeps on the server (default 0).  Each run prints one line: "<mode> <seconds> <checksum>"; the
-- checksum (sum of every value read) proves the three ways did the same work.
local mylua = require "mylua"

local mode, n, queries = arg[1], math.tointeger(tonumber(arg[2] or "20")), math.tointeger(tonumber(arg[3] or "1000"))
-- seconds each query waits on the server (SLEEP), standing for the round
-- trip to a remote server; 0: none
local latency = tonumber(arg[4] or "0")
assert(mode and n and queries, "usage: parallel.lua setup|parallel|serial|one|teardown N [QUERIES]")
local ROWS = 100

local function schema(i) return "bench_par_" .. i end

-- The job: `queries` point selects, each value summed.
local function job(db)
  local sum = 0
  for q = 1, queries do
    if latency > 0 then
      sum = sum + db:query("SELECT v + SLEEP(?) AS v FROM t WHERE id = ?", latency, q % ROWS + 1):row(1).v
    else
      sum = sum + db:query("SELECT v FROM t WHERE id = ?", q % ROWS + 1):row(1).v
    end
  end
  return sum
end

local started = mylua.monotonic()
local checksum = 0
if mode == "setup" then
  local db <close> = mylua.connect()
  for i = 1, n do
    db:query("DROP DATABASE IF EXISTS " .. schema(i))
    db:query("CREATE DATABASE " .. schema(i))
    db:query("CREATE TABLE " .. schema(i) .. ".t (id INT PRIMARY KEY, v INT NOT NULL)")
    db:query("INSERT INTO " .. schema(i) .. ".t SELECT seq, seq * " .. i ..
             " FROM " .. schema(i) .. ".seq_1_to_" .. ROWS)
  end
elseif mode == "teardown" then
  local db <close> = mylua.connect()
  for i = 1, n do db:query("DROP DATABASE IF EXISTS " .. schema(i)) end
elseif mode == "parallel" then
  local targets = {}
  for i = 1, n do targets[i] = { database = schema(i) } end
  local results, summary = mylua.parallel(targets, job, { concurrency = n })
  assert(summary.ok == n, "a target failed: " .. tostring((results[1] or {}).error))
  for _, r in ipairs(results) do checksum = checksum + r.value end
elseif mode == "serial" then
  for i = 1, n do
    local db <close> = mylua.connect{ database = schema(i) }
    checksum = checksum + job(db)
  end
elseif mode == "one" then
  local db <close> = mylua.connect{ database = schema(n) }
  checksum = job(db)
else
  error("unknown mode " .. mode)
end
print(("%s %.3f %d"):format(mode, mylua.monotonic() - started, checksum))
