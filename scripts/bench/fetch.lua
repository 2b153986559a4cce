-- Fetch benchmark: read a whole table into Lua tables with mylua and with
-- LuaSQL's MySQL driver, and report the client CPU time each one needs.
--
--   lua5.4 scripts/bench/fetch.lua load [ROWS]        create and fill bench_fetch
--   lua5.4 scripts/bench/fetch.lua mylua  [keyed|array]
--   lua5.4 scripts/bench/fetch.lua luasql [keyed|array]
--
-- Run it from the repository root with
--   LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/?.so;;"
-- so that `require "mylua"` finds the driver. The connection comes from
-- MYLUA_TEST_HOST, MYLUA_TEST_PORT, MYLUA_TEST_SOCKET, MYLUA_TEST_USER,
-- MYLUA_TEST_PASSWORD and MYLUA_TEST_DB. Both drivers use TCP unless
-- MYLUA_BENCH_TRANSPORT=socket. MYLUA_BENCH_ROWS (default 1000000) is the
-- row count `load` creates and the fetch modes expect. MYLUA_BENCH_CHECK=0
-- skips the value checks (for profiling the fetch alone).
--
-- A fetch mode prints one line on stdout, for example
--   mylua shape=keyed cpu=1.234 wall=1.456 rows=1000000 heap_mb=812.3 rss_mb=905.1 check=...
-- cpu is os.clock() (user + system CPU of this process) around the fetch
-- alone: the query, reading every row and storing it in a Lua array. The
-- check field summarises the values read (normalised so that both drivers
-- must print the same one); the run script compares it across drivers,
-- and each fetch mode also compares it against aggregates the server
-- computes itself. Any mismatch is an error and a non-zero exit.

local TABLE = "bench_fetch"
local COLS = { "id", "a", "b", "c", "d", "e", "f", "g", "h" }

local function die(fmt, ...)
  io.stderr:write("fetch.lua: ", string.format(fmt, ...), "\n")
  os.exit(1)
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local conf = {
  host = env("MYLUA_TEST_HOST", "127.0.0.1"),
  port = tonumber(env("MYLUA_TEST_PORT", "3306")),
  socket = env("MYLUA_TEST_SOCKET"),
  user = env("MYLUA_TEST_USER", "mylua"),
  password = env("MYLUA_TEST_PASSWORD", ""),
  database = env("MYLUA_TEST_DB", "mylua_test"),
  transport = env("MYLUA_BENCH_TRANSPORT", "tcp"),
  rows = math.tointeger(tonumber(env("MYLUA_BENCH_ROWS", "1000000"))),
}
if not conf.rows or conf.rows < 1 then die("MYLUA_BENCH_ROWS must be a positive integer") end
if conf.transport ~= "tcp" and conf.transport ~= "socket" then
  die("MYLUA_BENCH_TRANSPORT must be tcp or socket")
end
if conf.transport == "socket" and not conf.socket then
  die("MYLUA_BENCH_TRANSPORT=socket needs MYLUA_TEST_SOCKET")
end

-- Wall clock: lua-system's monotonic clock when it is there (it comes with
-- busted), else /proc/uptime (10 ms steps).
local wallclock
do
  local ok, system = pcall(require, "system")
  if ok and type(system) == "table" and system.monotime then
    wallclock = system.monotime
  else
    wallclock = function()
      local f = io.open("/proc/uptime", "r")
      if not f then return os.time() end
      local s = f:read("n")
      f:close()
      return s
    end
  end
end

local function rss_mb()
  local f = io.open("/proc/self/status", "r")
  if not f then return 0 end
  local s = f:read("a")
  f:close()
  local kb = s:match("VmHWM:%s*(%d+)")
  return kb and tonumber(kb) / 1024 or 0
end

---------------------------------------------------------------------------
-- The two drivers behind one small interface used by `load` and the checks:
--   d.exec(sql)      runs a statement, raises on failure
--   d.first(sql)     first row of a query, as an array of strings/numbers
--   d.fetch(shape)   the timed part: returns the array of rows
--   d.get(row, i)    column i of a row, whatever the shape
--   d.isnull(v)      is v this driver's SQL NULL
--   d.close()
---------------------------------------------------------------------------

local SELECT_ALL = "SELECT * FROM " .. TABLE

local function open_mylua()
  local ok, mylua = pcall(require, "mylua")
  if not ok then die("cannot load mylua (run `make` first): %s", tostring(mylua)) end
  local opts = {
    user = conf.user, password = conf.password, database = conf.database,
  }
  if conf.transport == "socket" then
    opts.socket = conf.socket
    opts.protocol = "socket"
  else
    opts.host = conf.host
    opts.port = conf.port
    opts.protocol = "tcp"
  end
  local db = mylua.connect(opts)
  local d = { name = "mylua", null = mylua.null }
  function d.exec(sql) db:query(sql) end
  function d.first(sql)
    local res = db:query(sql)
    return res:row(1, "a")
  end
  function d.fetch(shape)
    local rows, n = {}, 0
    local res = db:query(SELECT_ALL)
    if shape == "array" then
      for row in res:rows("a") do n = n + 1; rows[n] = row end
    else
      for row in res:rows() do n = n + 1; rows[n] = row end
    end
    return rows, n
  end
  function d.isnull(v) return v == mylua.null end
  function d.close() db:close() end
  return d
end

local function open_luasql()
  local ok, driver = pcall(require, "luasql.mysql")
  if not ok then die("cannot load luasql.mysql (install lua-sql-mysql): %s", tostring(driver)) end
  local envh = assert(driver.mysql())
  local conn, err
  if conf.transport == "socket" then
    -- LuaSQL has no socket argument; libmariadb takes the path from the
    -- environment when the host is "localhost". Only this process sees it.
    if os.getenv("MYSQL_UNIX_PORT") ~= conf.socket then
      die("for the socket transport, run with MYSQL_UNIX_PORT=%s", conf.socket)
    end
    conn, err = envh:connect(conf.database, conf.user, conf.password, "localhost")
  else
    conn, err = envh:connect(conf.database, conf.user, conf.password, conf.host, conf.port)
  end
  if not conn then die("luasql connect: %s", tostring(err)) end
  local d = { name = "luasql" }
  function d.exec(sql)
    local r, e = conn:execute(sql)
    if not r then error(e, 2) end
    if type(r) == "userdata" then r:close() end
  end
  function d.first(sql)
    local cur, e = conn:execute(sql)
    if not cur then error(e, 2) end
    local row = cur:fetch({}, "n")
    cur:close()
    return row
  end
  function d.fetch(shape)
    local rows, n = {}, 0
    local cur, e = conn:execute(SELECT_ALL)
    if not cur then error(e, 2) end
    local mode = shape == "array" and "n" or "a"
    local row = cur:fetch({}, mode)
    while row do
      n = n + 1; rows[n] = row
      row = cur:fetch({}, mode)
    end
    -- LuaSQL frees the result when fetch reaches the end.
    return rows, n
  end
  function d.isnull(v) return v == nil end
  function d.close() conn:close(); envh:close() end
  return d
end

---------------------------------------------------------------------------
-- load
---------------------------------------------------------------------------

-- Values vary by row, cover the usual types, and are computed by the server
-- so the load is one statement. seq is UNSIGNED, so cast before arithmetic
-- that may go negative.
local function insert_select(source)
  return ([[
INSERT INTO bench_fetch (id, a, b, c, d, e, f, g, h)
SELECT s,
       (s * 7919) %% 2000003 - 1000000,
       (s * 2654435761) %% 9000000000000 - 4500000000000,
       CONCAT(ELT(1 + s %% 5, 'alpha', 'bravo', 'charlie', 'delta', 'echo'), '-', s %% 100003),
       SQRT(s) * 1000.5e0 / 3,
       ((s * 7177) %% 10000000) / 100 - 50000,
       TIMESTAMPADD(MICROSECOND, s * 37000123, '2020-01-01 00:00:00'),
       IF(s %% 2 = 0, NULL, (s * 31) %% 100003 - 50000),
       LEFT(SHA2(s, 512), 10 + s %% 91)
  FROM (%s) AS src]]):format(source)
end

local function load(driver_name)
  local d = (driver_name == "mylua") and open_mylua() or open_luasql()
  local t0w = wallclock()
  d.exec("DROP TABLE IF EXISTS " .. TABLE)
  d.exec([[
CREATE TABLE bench_fetch (
  id INT NOT NULL PRIMARY KEY,
  a INT NOT NULL,
  b BIGINT NOT NULL,
  c VARCHAR(20) NOT NULL,
  d DOUBLE NOT NULL,
  e DECIMAL(12,2) NOT NULL,
  f DATETIME(6) NOT NULL,
  g INT NULL,
  h VARCHAR(100) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4]])
  -- MariaDB's Sequence engine gives seq_1_to_N; elsewhere a recursive CTE.
  local has_seq = pcall(d.first, "SELECT seq FROM seq_1_to_1")
  local source
  if has_seq then
    source = ("SELECT CAST(seq AS SIGNED) AS s FROM seq_1_to_%d"):format(conf.rows)
  else
    pcall(d.exec, ("SET SESSION max_recursive_iterations = %d"):format(conf.rows + 1))
    pcall(d.exec, ("SET SESSION cte_max_recursion_depth = %d"):format(conf.rows + 1))
    source = ("WITH RECURSIVE q(s) AS (SELECT 1 UNION ALL SELECT s + 1 FROM q WHERE s < %d) SELECT s FROM q")
      :format(conf.rows)
  end
  d.exec("START TRANSACTION")
  d.exec(insert_select(source))
  d.exec("COMMIT")
  d.exec("ANALYZE TABLE " .. TABLE)
  local n = tonumber(d.first("SELECT COUNT(*) FROM " .. TABLE)[1])
  if n ~= conf.rows then die("load: table has %s rows, wanted %d", tostring(n), conf.rows) end
  -- Read every row once so the fetch runs start with a warm buffer pool.
  d.first("SELECT SUM(LENGTH(h)), SUM(d) FROM " .. TABLE)
  print(("load driver=%s rows=%d wall=%.3f source=%s"):format(
    d.name, n, wallclock() - t0w, has_seq and "seq" or "cte"))
  d.close()
end

---------------------------------------------------------------------------
-- checks (outside the timed part)
---------------------------------------------------------------------------

-- What each driver promises per column, as type names: LuaSQL gives every
-- value as a string; mylua follows README's value table.
local EXPECTED_TYPES = {
  mylua = { id = "integer", a = "integer", b = "integer", c = "string", d = "float",
            e = "string", f = "string", g = "integer", h = "string" },
  luasql = { id = "string", a = "string", b = "string", c = "string", d = "string",
             e = "string", f = "string", g = "string", h = "string" },
}

local function typename(v)
  return math.type(v) or type(v)
end

local function to_int(v)
  local i = math.tointeger(tonumber(v))
  if not i then error("not an integer: " .. tostring(v), 2) end
  return i
end

-- DECIMAL(12,2) as exact cents, from its text.
local function cents(v)
  local s = tostring(v)
  local sign, int, frac = s:match("^(%-?)(%d+)%.(%d%d)$")
  if not int then error("not a DECIMAL(12,2): " .. s, 2) end
  local c = tonumber(int) * 100 + tonumber(frac)
  return sign == "-" and -c or c
end

-- One pass over the rows: type checks, and a summary both drivers must
-- agree on. Column values are read through d.get so the shape is hidden.
local function summarise(d, rows, n, shape)
  local get
  if shape == "array" then
    get = function(row, i) return row[i] end
  else
    get = function(row, i) return row[COLS[i]] end
  end
  local want = EXPECTED_TYPES[d.name]
  local s = { ids = 0, a = 0, b = 0, clen = 0, d = 0.0, e = 0, fus = 0, flen = 0,
              gnull = 0, g = 0, hlen = 0 }
  for r = 1, n do
    local row = rows[r]
    for i = 1, #COLS do
      local name, v = COLS[i], get(row, i)
      if d.isnull(v) then
        if name ~= "g" then die("row %d: column %s is NULL", r, name) end
      elseif typename(v) ~= want[name] then
        die("%s row %d column %s: %s %q, expected a %s", d.name, r, name,
            typename(v), tostring(v), want[name])
      end
    end
    s.ids = s.ids + to_int(get(row, 1))
    s.a = s.a + to_int(get(row, 2))
    s.b = s.b + to_int(get(row, 3))
    s.clen = s.clen + #get(row, 4)
    s.d = s.d + tonumber(get(row, 5))
    s.e = s.e + cents(get(row, 6))
    local f = get(row, 7)
    local us = f:match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d%.(%d%d%d%d%d%d)$")
    if not us then die("row %d: DATETIME(6) value %q", r, f) end
    s.fus = s.fus + tonumber(us)
    s.flen = s.flen + #f
    local g = get(row, 8)
    if d.isnull(g) then s.gnull = s.gnull + 1 else s.g = s.g + to_int(g) end
    s.hlen = s.hlen + #get(row, 9)
  end
  -- Sample rows, every column as text, so both drivers print the same.
  local sample = {}
  for _, r in ipairs({ 1, (n + 1) // 2, n }) do
    local cells = {}
    for i = 1, #COLS do
      local v = get(rows[r], i)
      if d.isnull(v) then v = "NULL"
      elseif i == 5 then v = ("%.17g"):format(tonumber(v))
      else v = tostring(v) end
      cells[i] = v
    end
    sample[#sample + 1] = table.concat(cells, ",")
  end
  s.sample = sample
  return s
end

local function verify_against_server(d, s, n)
  local q = d.first([[
SELECT COUNT(*), SUM(id), SUM(a), SUM(b), SUM(LENGTH(c)), SUM(e * 100),
       SUM(MICROSECOND(f)), SUM(LENGTH(f)), SUM(g IS NULL), SUM(g), SUM(LENGTH(h)), SUM(d)
  FROM bench_fetch]])
  local function want(i, got, what)
    local w = tonumber(q[i])
    if w ~= got then die("%s: %s is %s, the server says %s", d.name, what, tostring(got), tostring(q[i])) end
  end
  want(1, n, "row count")
  want(2, s.ids, "SUM(id)")
  want(3, s.a, "SUM(a)")
  want(4, s.b, "SUM(b)")
  want(5, s.clen, "SUM(LENGTH(c))")
  want(6, s.e, "SUM(e)*100")
  want(7, s.fus, "SUM(MICROSECOND(f))")
  want(8, s.flen, "SUM(LENGTH(f))")
  want(9, s.gnull, "NULLs in g")
  want(10, s.g, "SUM(g)")
  want(11, s.hlen, "SUM(LENGTH(h))")
  local sd = tonumber(q[12])
  if math.abs(sd - s.d) > 1e-9 * math.abs(sd) then
    die("%s: SUM(d) is %.17g, the server says %.17g", d.name, s.d, sd)
  end
end

local function checksum_field(s)
  -- Compact and identical across drivers; the run script compares it.
  local parts = { s.ids, s.a, s.b, s.clen, ("%.17g"):format(s.d), s.e, s.fus, s.flen,
                  s.gnull, s.g, s.hlen }
  for i, p in ipairs(parts) do parts[i] = tostring(p) end
  -- A short FNV-1a hash of the sample rows keeps the line readable.
  local h = 2166136261
  for _, line in ipairs(s.sample) do
    for i = 1, #line do
      h = ((h ~ line:byte(i)) * 16777619) & 0xffffffff
    end
  end
  parts[#parts + 1] = ("%08x"):format(h)
  return table.concat(parts, ":")
end

---------------------------------------------------------------------------
-- fetch modes
---------------------------------------------------------------------------

local function fetch(driver_name, shape)
  if shape ~= "keyed" and shape ~= "array" then die("shape must be keyed or array, not %q", shape) end
  local d = driver_name == "mylua" and open_mylua() or open_luasql()
  -- Warm the connection and the server's plan/cache path with a tiny query.
  d.first("SELECT COUNT(*) FROM " .. TABLE .. " WHERE id <= 10")
  collectgarbage("collect")
  collectgarbage("collect")

  local c0, w0 = os.clock(), wallclock()
  local rows, n = d.fetch(shape)
  local c1, w1 = os.clock(), wallclock()

  local heap = collectgarbage("count") / 1024
  local rss = rss_mb()
  if n ~= conf.rows then die("%s: fetched %d rows, expected %d", d.name, n, conf.rows) end
  local check = "skipped"
  if env("MYLUA_BENCH_CHECK", "1") ~= "0" then
    local s = summarise(d, rows, n, shape)
    verify_against_server(d, s, n)
    check = checksum_field(s)
  end
  print(("%s shape=%s cpu=%.3f wall=%.3f rows=%d heap_mb=%.1f rss_mb=%.1f check=%s"):format(
    d.name, shape, c1 - c0, w1 - w0, n, heap, rss, check))
  d.close()
  -- Leave without closing the Lua state: freeing a million rows one by one
  -- takes seconds and measures nothing (and would show in a profile).
  os.exit(0, false)
end

---------------------------------------------------------------------------

local mode = arg[1]
if mode == "load" then
  if arg[2] and arg[2] ~= "" then
    conf.rows = math.tointeger(tonumber(arg[2])) or die("load: bad row count %q", arg[2])
  end
  load(arg[3] or "luasql")
elseif mode == "mylua" or mode == "luasql" then
  fetch(mode, arg[2] or "keyed")
else
  io.stderr:write("usage: fetch.lua load [ROWS [mylua|luasql]] | mylua [keyed|array] | luasql [keyed|array]\n")
  os.exit(2)
end
