-- Benchmark peer for the Lua drivers: mylua and LuaSQL's MySQL driver
-- (lua-sql-mysql). Each call runs one workload once, in this fresh process,
-- and prints one result line. scripts/bench/run drives it; see
-- scripts/bench/README.md for what each workload does.
--
--   lua5.4 scripts/bench/peer.lua load [ROWS]          create bench_fetch (ROWS rows) and bench_insert
--   lua5.4 scripts/bench/peer.lua ed25519-user create|drop
--                                  the connect-ed25519 account (as the MYLUA_TEST_USER)
--   lua5.4 scripts/bench/peer.lua mylua WORKLOAD
--   lua5.4 scripts/bench/peer.lua luasql WORKLOAD
--   build/mylua scripts/bench/peer.lua mylua-host WORKLOAD
--                                  mylua inside the host program (its allocator)
--
-- stream-refill is stream with one row table refilled for every row
-- (mylua cur:rows(t), LuaSQL cur:fetch(t)).
-- WORKLOAD is fetch, stream, point, insert or connect, optionally followed
-- by -tls (the connection uses TLS), -zlib (protocol compression, zlib) or
-- both, in that order: stream-tls, stream-zlib, stream-tls-zlib,
-- connect-tls. TLS is mode "required" with the CA in MYLUA_BENCH_SSL_CA:
-- encrypted, the chain checked against the CA, the server's name not
-- (libmariadb: the CA given, MYSQL_OPT_SSL_VERIFY_SERVER_CERT off,
-- MYSQL_OPT_SSL_ENFORCE on). Without
-- -tls mylua's connections have TLS disabled, as libmariadb's and LuaSQL's
-- are by default, whether or not the server offers it.
--
-- connect-ed25519, connect-sha2 and connect-peer are connect with another
-- login. connect-ed25519: as MYLUA_BENCH_ED25519_USER (password
-- MYLUA_BENCH_ED25519_PASSWORD), an account IDENTIFIED VIA ed25519 on the
-- same server (`ed25519-user create` makes it). connect-sha2 and
-- connect-peer: to spec/support/mysql8peer.py, a scripted MySQL 8 peer
-- (scripts/bench/run starts it), at MYLUA_BENCH_MYSQL8_HOST
-- (default 127.0.0.1) and MYLUA_BENCH_MYSQL8_PORT, or at
-- MYLUA_BENCH_MYSQL8_SOCKET for the socket transport; connect-sha2 as its
-- account sha2 (caching_sha2_password; the peer's cache holds it, so every
-- login takes the fast path), connect-peer as its account native
-- (mysql_native_password, the greeting naming it too): the same peer's
-- cost without SHA-256. Before the timed part the first connection asks
-- who it is (ed25519: CURRENT_USER()) or how it logged in (the peer's
-- `SHOW STATUS LIKE 'peer_auth_path'`), and the check says so.
--
-- point-prep, fetch-prep, stream-prep, stream-cursor and insert-bulk (mylua
-- only; LuaSQL has no prepared statements) are point, fetch, stream and
-- insert through db:prepare, the binary protocol: st:execute(id) per point
-- select; st:execute() with every row kept; st:cursor() read as the rows
-- come; st:cursor{ fetch_size = MYLUA_BENCH_FETCH_SIZE } (default 1000), a
-- server cursor; st:execute_many with MYLUA_BENCH_BATCH rows a call, the
-- rows (arrays) built before the timed part. Until
-- db:prepare exists they print "skipped: db:prepare not available".
--
-- Run it from the repository root with
--   LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/?.so;;"
-- so that `require "mylua"` finds the driver. The connection comes from
-- MYLUA_TEST_HOST, MYLUA_TEST_PORT, MYLUA_TEST_SOCKET, MYLUA_TEST_USER,
-- MYLUA_TEST_PASSWORD and MYLUA_TEST_DB. Both drivers use TCP unless
-- MYLUA_BENCH_TRANSPORT=socket. The sizes come from MYLUA_BENCH_ROWS (rows
-- in bench_fetch, default 1000000), MYLUA_BENCH_POINT (point selects,
-- 20000), MYLUA_BENCH_INSERT_ROWS (200000), MYLUA_BENCH_BATCH (rows per
-- INSERT, 1000) and MYLUA_BENCH_CONNECTS (500). MYLUA_BENCH_SHAPE is keyed
-- (default) or array: how fetch and stream build their rows.
-- MYLUA_BENCH_CHECK=0 skips the value checks of fetch (for profiling).
--
-- A workload prints one line on stdout, for example
--   mylua fetch cpu=1.234 wall=1.456 rss_mb=905.1 ops=1000000 check=...
-- cpu is os.clock() (user + system CPU of this process) around the timed
-- part alone; wall is the elapsed time of the same part; rss_mb the peak
-- resident size (VmHWM) after it. The check field summarises what was read
-- or written, in a form every peer (scripts/bench/peer_libmariadb.c,
-- scripts/bench/peer_mysql2.js) prints identically; the run script
-- requires all runs of a workload to agree. Any mismatch with what the
-- server holds is an error and a non-zero exit.

local TABLE = "bench_fetch"
local COLS = { "id", "a", "b", "c", "d", "e", "f", "g", "h" }

local function die(fmt, ...)
  io.stderr:write("peer.lua: ", string.format(fmt, ...), "\n")
  os.exit(1)
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local function env_count(name, default)
  local n = math.tointeger(tonumber(env(name, default)))
  if not n or n < 1 then die("%s must be a positive integer", name) end
  return n
end

local conf = {
  host = env("MYLUA_TEST_HOST", "127.0.0.1"),
  port = tonumber(env("MYLUA_TEST_PORT", "3306")),
  socket = env("MYLUA_TEST_SOCKET"),
  user = env("MYLUA_TEST_USER", "mylua"),
  password = env("MYLUA_TEST_PASSWORD", ""),
  database = env("MYLUA_TEST_DB", "mylua_test"),
  transport = env("MYLUA_BENCH_TRANSPORT", "tcp"),
  shape = env("MYLUA_BENCH_SHAPE", "keyed"),
  rows = env_count("MYLUA_BENCH_ROWS", "1000000"),
  point = env_count("MYLUA_BENCH_POINT", "20000"),
  insert_rows = env_count("MYLUA_BENCH_INSERT_ROWS", "200000"),
  batch = env_count("MYLUA_BENCH_BATCH", "1000"),
  connects = env_count("MYLUA_BENCH_CONNECTS", "500"),
  fetch_size = env_count("MYLUA_BENCH_FETCH_SIZE", "1000"),
  ssl_ca = env("MYLUA_BENCH_SSL_CA"),
  tls = false,      -- set from the workload's name
  compress = false,
  auth = nil,       -- "ed25519", "sha2" or "peer": set from the workload's name
  local_infile = false, -- mylua's db:load of the load workload
}

-- The logins of connect-ed25519, connect-sha2 and connect-peer. The last
-- two are accounts of mysql8peer.py, with what the peer says of such a
-- login (SHOW STATUS LIKE 'peer_auth_path').
local LOGINS = {
  ed25519 = {
    user = env("MYLUA_BENCH_ED25519_USER", "mylua_bench_ed25519"),
    password = env("MYLUA_BENCH_ED25519_PASSWORD", "bench-ed25519-secret"),
  },
  sha2 = { user = "sha2", password = "sha2-secret", path = "caching_sha2_password fast" },
  peer = { user = "native", password = "native-secret", path = "mysql_native_password" },
}
local MYSQL8 = {
  host = env("MYLUA_BENCH_MYSQL8_HOST", "127.0.0.1"),
  port = math.tointeger(tonumber(env("MYLUA_BENCH_MYSQL8_PORT", "0"))),
  socket = env("MYLUA_BENCH_MYSQL8_SOCKET"),
}

-- The workload's login replaces the connection settings.
local function use_login(auth)
  local login = LOGINS[auth]
  conf.auth = auth
  conf.user, conf.password = login.user, login.password
  if login.path then -- the MySQL 8 peer's
    if conf.transport == "socket" then
      if not MYSQL8.socket then die("connect-%s over the socket needs MYLUA_BENCH_MYSQL8_SOCKET", auth) end
      conf.socket = MYSQL8.socket
    else
      if not MYSQL8.port or MYSQL8.port < 1 then die("connect-%s needs MYLUA_BENCH_MYSQL8_PORT", auth) end
      conf.host, conf.port = MYSQL8.host, MYSQL8.port
    end
  end
end
if conf.transport ~= "tcp" and conf.transport ~= "socket" then
  die("MYLUA_BENCH_TRANSPORT must be tcp or socket")
end
if conf.transport == "socket" and not conf.socket then
  die("MYLUA_BENCH_TRANSPORT=socket needs MYLUA_TEST_SOCKET")
end
if conf.shape ~= "keyed" and conf.shape ~= "array" then
  die("MYLUA_BENCH_SHAPE must be keyed or array")
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
-- What every peer does the same way: the ids of the point selects and the
-- rows of the insert workload. peer_libmariadb.c and peer_mysql2.js repeat
-- these formulas; the checks catch any drift.
---------------------------------------------------------------------------

local SELECT_ALL = "SELECT * FROM " .. TABLE
local POINT_SQL = "SELECT * FROM " .. TABLE .. " WHERE id = "

local function point_id(i) -- i = 0 .. point-1
  return (i * 7919) % conf.rows + 1
end

local INSERT_HEAD = "INSERT INTO bench_insert (id, a, b, c, d, g, h) VALUES "

-- Row k of the insert workload: id, a, b, c, d, g (nil for NULL), h.
-- Every tenth h has a quote and a backslash to escape.
local function insert_row(k)
  local h
  if k % 10 == 0 then
    h = "it's a \\ test " .. k
  else
    h = "row " .. k .. " " .. ("x"):rep(k % 50)
  end
  return k, (k * 37) % 100003 - 50000, k * 1000003 - 4000000000000,
    "name-" .. (k % 1000), k / 4, (k % 3 ~= 0) and k or nil, h
end

-- The load workload writes the rows of bench_fetch (as insert_select()
-- below makes them on the server) into bench_load. Every column but h is
-- computed here as the server computes it; h (a prefix of SHA2(s, 512)) is
-- read from bench_fetch before the timed part, into hs. The checks compare
-- bench_load with bench_fetch, so any drift in these formulas fails a run.
local LOAD_TABLE = "bench_load"
local LOAD_HEAD = "INSERT INTO " .. LOAD_TABLE .. " (id, a, b, c, d, e, f, g, h) VALUES "
local C_WORDS = { "alpha", "bravo", "charlie", "delta", "echo" }
local EPOCH_2020 = 1577836800 -- 2020-01-01 00:00:00 UTC: f's origin, read as calendar time

-- Row s of bench_fetch: id, a, b, c, d, e (DECIMAL(12,2) as text), f
-- (DATETIME(6) as text), g (`null` for NULL), h.
local function fetch_row(s, hs, null)
  local us = s * 37000123
  local cents = (s * 7177) % 10000000 - 5000000
  local abs = cents < 0 and -cents or cents
  local g = null -- not `s % 2 == 0 and null or ...`: null may be nil
  if s % 2 ~= 0 then g = (s * 31) % 100003 - 50000 end
  return s, (s * 7919) % 2000003 - 1000000, (s * 2654435761) % 9000000000000 - 4500000000000,
    C_WORDS[1 + s % 5] .. "-" .. s % 100003, math.sqrt(s) * 1000.5 / 3,
    ("%s%d.%02d"):format(cents < 0 and "-" or "", abs // 100, abs % 100),
    os.date("!%Y-%m-%d %H:%M:%S", EPOCH_2020 + us // 1000000) .. (".%06d"):format(us % 1000000),
    g, hs[s]
end

-- What a table of the bench_fetch shape holds, computed by the server: the
-- row count, SUM(id), and the sum and XOR of a CRC32 of each whole row.
local LOAD_CHECK_SQL = [[
SELECT CONCAT_WS(':', COUNT(*), SUM(id), SUM(r), BIT_XOR(r)) FROM (
  SELECT id, CRC32(CONCAT_WS('|', id, a, b, c, d, e, f, IFNULL(g, 'N'), h)) AS r FROM %s) AS t]]

---------------------------------------------------------------------------
-- The two drivers behind one small interface:
--   d.exec(sql)      runs a statement, raises on failure
--   d.first(sql)     first row of a query, as an array
--   d.fetch(shape)   timed: the whole table into an array of rows
--   d.stream(shape)  timed: every row of the table, keeping none; returns n, sum of id
--   d.point(n)       timed: n point selects; returns rows found, sum id, sum a, sum #h
--   d.insert(v, n, b) timed: n rows (their values in v, 7 per row) in INSERTs of b rows
--   d.connects(n)    timed: n connect + close
--   d.h_column()     bench_fetch's h values in id order (for the load workload)
--   d.load_insert(rows, b)  timed: the rows (arrays, built before) into bench_load by INSERTs of b rows
--   d.load(rows)     timed (mylua): the same rows by db:load
--   d.null           what a row holds for NULL
--   d.can_load       (mylua) whether this build has db:load
--   d.isnull(v)      is v this driver's SQL NULL
--   d.close()
---------------------------------------------------------------------------

local function open_mylua()
  local ok, mylua = pcall(require, "mylua")
  if not ok then die("cannot load mylua (run `make` first): %s", tostring(mylua)) end
  local opts = {
    user = conf.user, password = conf.password, database = conf.database,
    read_timeout = 300,
    ssl = conf.tls and { mode = "required", ca = conf.ssl_ca } or { mode = "disabled" },
    compress = conf.compress,
    local_infile = conf.local_infile or nil,
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
  local mode = nil
  if conf.shape == "array" then mode = "a" end
  -- All rows at once with res:fetch_all where the checkout has it; else
  -- the iterator, row by row.
  local function all_rows(res)
    if res.fetch_all then
      local rows = res:fetch_all(mode)
      return rows, #rows
    end
    local rows, n = {}, 0
    for row in res:rows(mode) do n = n + 1; rows[n] = row end
    return rows, n
  end
  function d.fetch()
    return all_rows(db:query(SELECT_ALL))
  end
  function d.stream()
    local n, ids = 0, 0
    local cur <close> = db:cursor{ stream = true }
    cur:execute(SELECT_ALL)
    if conf.refill then -- one table for every row: cur:rows(t [, mode])
      local key = mode and 1 or "id"
      for row in cur:rows({}, mode) do n = n + 1; ids = ids + row[key] end
    elseif mode then
      for row in cur:rows(mode) do n = n + 1; ids = ids + row[1] end
    else
      for row in cur:rows() do n = n + 1; ids = ids + row.id end
    end
    return n, ids
  end
  function d.point(count)
    local found, ids, as, hs = 0, 0, 0, 0
    local sql = "SELECT * FROM " .. TABLE .. " WHERE id = ?"
    for i = 0, count - 1 do
      local row = db:query(sql, point_id(i)):row(1)
      if row then
        found = found + 1
        ids = ids + row.id; as = as + row.a; hs = hs + #row.h
      end
    end
    return found, ids, as, hs
  end
  -- values: every row's 7 values one after another (made before the clock).
  function d.insert(values, count, batch)
    local unpack = table.unpack
    local sqls = {}
    for first = 1, count, batch do
      local m = math.min(batch, count - first + 1)
      local sql = sqls[m]
      if not sql then
        sql = INSERT_HEAD .. ("(?,?,?,?,?,?,?)"):rep(m, ",")
        sqls[m] = sql
      end
      local j = (first - 1) * 7
      db:query(sql, unpack(values, j + 1, j + m * 7))
    end
  end
  -- The workloads through prepared statements (the binary protocol).
  d.can_prepare = db.prepare ~= nil
  function d.fetch_prep()
    local st <close> = db:prepare(SELECT_ALL)
    return all_rows(st:execute())
  end
  -- A statement cursor: read as the rows come (fetch_size nil), or from a
  -- server cursor fetch_size rows at a time.
  function d.stream_prep(fetch_size)
    local n, ids = 0, 0
    local st <close> = db:prepare(SELECT_ALL)
    local cur <close> = fetch_size and st:cursor{ fetch_size = fetch_size } or st:cursor()
    cur:execute()
    if mode then
      for row in cur:rows(mode) do n = n + 1; ids = ids + row[1] end
    else
      for row in cur:rows() do n = n + 1; ids = ids + row.id end
    end
    return n, ids
  end
  function d.point_prep(count)
    local found, ids, as, hs = 0, 0, 0, 0
    local st <close> = db:prepare(POINT_SQL .. "?")
    for i = 0, count - 1 do
      local row = st:execute(point_id(i)):row(1)
      if row then
        found = found + 1
        ids = ids + row.id; as = as + row.a; hs = hs + #row.h
      end
    end
    return found, ids, as, hs
  end
  -- One execute_many per batch (an array of row arrays, built before).
  function d.insert_bulk(batches)
    local st <close> = db:prepare(INSERT_HEAD .. "(?,?,?,?,?,?,?)")
    for _, rows in ipairs(batches) do
      local affected = st:execute_many(rows)
      if affected ~= #rows then
        error(("execute_many: %s rows affected, expected %d"):format(tostring(affected), #rows))
      end
    end
  end
  function d.connects(count)
    for _ = 1, count do
      local c = mylua.connect(opts)
      c:close()
    end
  end
  function d.h_column()
    local hs, n = {}, 0
    for h in db:query("SELECT h FROM " .. TABLE .. " ORDER BY id"):rows("v") do n = n + 1; hs[n] = h end
    return hs
  end
  d.null = mylua.null
  function d.load_insert(rows, batch)
    local count = #rows
    local sqls, vals = {}, {}
    for first = 1, count, batch do
      local m = math.min(batch, count - first + 1)
      local sql = sqls[m]
      if not sql then
        sql = LOAD_HEAD .. ("(?,?,?,?,?,?,?,?,?)"):rep(m, ",")
        sqls[m] = sql
      end
      local j = 0
      for s = first, first + m - 1 do
        local r = rows[s]
        vals[j + 1], vals[j + 2], vals[j + 3], vals[j + 4], vals[j + 5], vals[j + 6], vals[j + 7],
          vals[j + 8], vals[j + 9] = r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]
        j = j + 9
      end
      db:query(sql, table.unpack(vals, 1, j))
    end
  end
  d.can_load = db.load ~= nil
  function d.load(rows)
    db:load{ table = LOAD_TABLE, columns = COLS, rows = rows }
  end
  function d.isnull(v) return v == mylua.null end
  function d.close() db:close() end
  return d
end

local function open_luasql()
  local ok, driver = pcall(require, "luasql.mysql")
  if not ok then die("cannot load luasql.mysql (install lua-sql-mysql): %s", tostring(driver)) end
  local envh = assert(driver.mysql())
  local function connect()
    if conf.transport == "socket" then
      -- LuaSQL has no socket argument; libmariadb takes the path from the
      -- environment when the host is "localhost". Only this process sees it.
      if os.getenv("MYSQL_UNIX_PORT") ~= conf.socket then
        die("for the socket transport, run with MYSQL_UNIX_PORT=%s", conf.socket)
      end
      return envh:connect(conf.database, conf.user, conf.password, "localhost")
    end
    return envh:connect(conf.database, conf.user, conf.password, conf.host, conf.port)
  end
  local conn, err = connect()
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
  local mode = conf.shape == "array" and "n" or "a"
  function d.fetch()
    local rows, n = {}, 0
    local cur, e = conn:execute(SELECT_ALL)
    if not cur then error(e, 2) end
    local row = cur:fetch({}, mode)
    while row do
      n = n + 1; rows[n] = row
      row = cur:fetch({}, mode)
    end
    -- LuaSQL frees the result when fetch reaches the end.
    return rows, n
  end
  -- LuaSQL has no streaming: execute stores the whole result in
  -- libmariadb (mysql_store_result) and fetch walks it.
  function d.stream()
    local n, ids = 0, 0
    local cur, e = conn:execute(SELECT_ALL)
    if not cur then error(e, 2) end
    local key = mode == "n" and 1 or "id"
    local t = conf.refill and {} or nil -- stream-refill: cur:fetch(t, mode) refills t
    local row = cur:fetch(t or {}, mode)
    while row do
      n = n + 1; ids = ids + tonumber(row[key])
      row = cur:fetch(t or {}, mode)
    end
    return n, ids
  end
  function d.point(count)
    local found, ids, as, hs = 0, 0, 0, 0
    for i = 0, count - 1 do
      local cur, e = conn:execute(POINT_SQL .. point_id(i))
      if not cur then error(e, 2) end
      local row = cur:fetch({}, "a")
      if row then
        found = found + 1
        ids = ids + tonumber(row.id); as = as + tonumber(row.a); hs = hs + #row.h
      end
      cur:close()
    end
    return found, ids, as, hs
  end
  function d.insert(values, count, batch)
    local fmt = string.format
    local parts = {}
    for first = 1, count, batch do
      local m = math.min(batch, count - first + 1)
      local j = (first - 1) * 7
      for i = 1, m do
        local id, a, b, c, dd, g, h = table.unpack(values, j + 1, j + 7)
        j = j + 7
        parts[i] = fmt("(%d,%d,%d,'%s',%.17g,%s,'%s')", id, a, b, conn:escape(c), dd,
                       g == nil and "NULL" or fmt("%d", g), conn:escape(h))
      end
      local r, e = conn:execute(INSERT_HEAD .. table.concat(parts, ",", 1, m))
      if not r then error(e, 2) end
    end
  end
  function d.connects(count)
    for _ = 1, count do
      local c, e = connect()
      if not c then error(e, 2) end
      c:close()
    end
  end
  function d.h_column()
    local cur, e = conn:execute("SELECT h FROM " .. TABLE .. " ORDER BY id")
    if not cur then error(e, 2) end
    local hs, n = {}, 0
    local h = cur:fetch()
    while h do
      n = n + 1; hs[n] = h
      h = cur:fetch()
    end
    return hs
  end
  d.null = nil
  function d.load_insert(rows, batch)
    local fmt = string.format
    local parts = {}
    local count = #rows
    for first = 1, count, batch do
      local m = math.min(batch, count - first + 1)
      local j = 0
      for s = first, first + m - 1 do
        local r = rows[s]
        local id, a, b, c, dd, e, f, g, h = r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]
        j = j + 1
        parts[j] = fmt("(%d,%d,%d,'%s',%.17g,%s,'%s',%s,'%s')", id, a, b, conn:escape(c), dd, e,
                       f, g == nil and "NULL" or fmt("%d", g), conn:escape(h))
      end
      local r, e = conn:execute(LOAD_HEAD .. table.concat(parts, ",", 1, j))
      if not r then error(e, 2) end
    end
  end
  function d.isnull(v) return v == nil end
  function d.close() conn:close(); envh:close() end
  return d
end

local function open(name)
  if name == "mylua" then return open_mylua() end
  if name == "mylua-host" then -- mylua inside the host program, build/mylua
    -- only the host preloads the core; under lua5.4 it comes from mylua.so
    if not package.preload["mylua.core"] then die("mylua-host runs inside the host program (build/mylua)") end
    local d = open_mylua()
    d.name = name
    return d
  end
  if name == "mylua-insert" then -- mylua, for the load workload by INSERTs
    local d = open_mylua()
    d.name = name
    return d
  end
  if conf.tls or conf.compress then die("luasql has no options for TLS or compression") end
  return open_luasql()
end

-- What the server says of this session's transport, as every peer prints
-- it: "tls=VERSION/CIPHER" or "tls=none", then ",compression=ON" or OFF.
-- A run whose transport is not what its workload asks for stops here.
local function transport_check(d)
  local function status(name)
    local row = d.first("SHOW SESSION STATUS LIKE '" .. name .. "'")
    return row and tostring(row[2]) or ""
  end
  local version, cipher, compression = status("Ssl_version"), status("Ssl_cipher"), status("Compression")
  local tls = version ~= "" and (version .. "/" .. cipher) or "none"
  if (tls ~= "none") ~= conf.tls then
    die("%s: the session's TLS is %s, the workload asks for %s", d.name, tls, conf.tls and "TLS" or "none")
  end
  if (compression == "ON") ~= conf.compress then
    die("%s: the session's compression is %s, the workload asks for %s", d.name, compression,
        conf.compress and "ON" or "OFF")
  end
  return ("tls=%s,compression=%s"):format(tls, compression)
end

-- Who the first connection of connect-ed25519 is (the account has no
-- other plugin, so being it means the signature was accepted), or how the
-- first of connect-sha2 or connect-peer logged in, as every peer prints
-- it; a run whose login is not the one its workload asks for stops here.
-- The run script also counts the MySQL 8 peer's logins of the whole run.
local function auth_check(d)
  local login = LOGINS[conf.auth]
  if not login.path then
    local who = tostring(d.first("SELECT CURRENT_USER()")[1])
    if who ~= login.user .. "@%" then
      die("%s: logged in as %s, not as %s@%%", d.name, who, login.user)
    end
    return "user=" .. who
  end
  local path = tostring(d.first("SHOW STATUS LIKE 'peer_auth_path'")[2])
  if path ~= login.path then die("%s: the peer says the login went by %q, not %q", d.name, path, login.path) end
  return "auth=" .. (path:gsub(" ", "-"))
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
  local d = open(driver_name)
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
  d.exec("DROP TABLE IF EXISTS bench_insert")
  d.exec([[
CREATE TABLE bench_insert (
  id INT NOT NULL PRIMARY KEY,
  a INT NOT NULL,
  b BIGINT NOT NULL,
  c VARCHAR(20) NOT NULL,
  d DOUBLE NOT NULL,
  g INT NULL,
  h VARCHAR(100) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4]])
  d.exec("DROP TABLE IF EXISTS " .. LOAD_TABLE)
  d.exec("CREATE TABLE " .. LOAD_TABLE .. " LIKE " .. TABLE)
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
  -- Read every row once so the runs start with a warm buffer pool.
  d.first("SELECT SUM(LENGTH(h)), SUM(d) FROM " .. TABLE)
  print(("load driver=%s rows=%d wall=%.3f source=%s"):format(
    d.name, n, wallclock() - t0w, has_seq and "seq" or "cte"))
  d.close()
end

-- The account of connect-ed25519, made or dropped by the MYLUA_TEST_USER
-- (it needs CREATE USER and GRANT, and the server's ed25519 plugin).
local function ed25519_user(action)
  local ED25519 = LOGINS.ed25519
  -- Both go into the SQL as they are: keep them to what needs no quoting.
  if not ED25519.user:match("^[%w_]+$") then die("MYLUA_BENCH_ED25519_USER: letters, digits and _ only") end
  if not ED25519.password:match("^[%w_%-]+$") then
    die("MYLUA_BENCH_ED25519_PASSWORD: letters, digits, _ and - only")
  end
  if not conf.database:match("^[%w_]+$") then die("MYLUA_TEST_DB: letters, digits and _ only") end
  local d = open("luasql")
  local account = ("'%s'@'%%'"):format(ED25519.user)
  if action == "drop" then
    d.exec("DROP USER IF EXISTS " .. account)
  else
    local ok, err = pcall(d.exec, ("CREATE OR REPLACE USER %s IDENTIFIED VIA ed25519 USING PASSWORD('%s')")
      :format(account, ED25519.password))
    if not ok then
      die("cannot create %s IDENTIFIED VIA ed25519 (%s): the server needs the ed25519 plugin "
          .. "(mariadbd --plugin-load-add=auth_ed25519, or INSTALL SONAME 'auth_ed25519') and %s "
          .. "needs CREATE USER; or make the account yourself and give it in "
          .. "MYLUA_BENCH_ED25519_USER and MYLUA_BENCH_ED25519_PASSWORD", account, tostring(err), conf.user)
    end
    d.exec(("GRANT SELECT ON `%s`.* TO %s"):format(conf.database, account))
  end
  print(("ed25519-user %s %s"):format(action, account))
  d.close()
end

---------------------------------------------------------------------------
-- checks of fetch (outside the timed part)
---------------------------------------------------------------------------

-- What each driver promises per column, as type names: LuaSQL gives every
-- value as a string; mylua follows README's value table.
local EXPECTED_TYPES = {
  mylua = { id = "integer", a = "integer", b = "integer", c = "string", d = "float",
            e = "string", f = "string", g = "integer", h = "string" },
  ["mylua-host"] = { id = "integer", a = "integer", b = "integer", c = "string", d = "float",
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

-- One pass over the rows: type checks, and a summary every peer must
-- agree on. Column values are read through get so the shape is hidden.
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
  -- Sample rows, every column as text, so every peer prints the same.
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
  -- Compact and identical across peers; the run script compares it.
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

-- What bench_insert holds, as one string of server-computed aggregates.
local INSERT_CHECK_SQL = [[
SELECT CONCAT_WS(':', COUNT(*), SUM(id), SUM(a), SUM(b), SUM(LENGTH(c)), SUM(CRC32(c)),
                 CAST(SUM(d * 4) AS SIGNED), SUM(g IS NULL), SUM(g), SUM(LENGTH(h)), SUM(CRC32(h)))
  FROM bench_insert]]

---------------------------------------------------------------------------
-- workloads
---------------------------------------------------------------------------

local function report(d, workload, c0, w0, c1, w1, ops, check)
  print(("%s %s cpu=%.4f wall=%.4f rss_mb=%.1f ops=%d check=%s"):format(
    d.name, workload, c1 - c0, w1 - w0, rss_mb(), ops, check))
end

local function settle()
  collectgarbage("collect")
  collectgarbage("collect")
end

-- The workloads through prepared statements (mylua's db:prepare): the
-- name is the plain workload's and a variant.
local STATEMENT_WORKLOADS = {
  ["point-prep"] = true, ["fetch-prep"] = true, ["stream-prep"] = true, ["stream-cursor"] = true,
  ["insert-bulk"] = true,
}

local function run(driver_name, name)
  -- fetch, stream, ... with -tls, -zlib or -tls-zlib after it
  local workload, variant = name:match("^(%a+)(.*)$")
  local statement = STATEMENT_WORKLOADS[name] and variant or nil
  if name == "connect-ed25519" or name == "connect-sha2" or name == "connect-peer" then
    use_login(variant:sub(2))
  elseif name == "stream-refill" then
    conf.refill = true -- stream, every row refilling one table
  elseif statement then
    if driver_name ~= "mylua" and driver_name ~= "mylua-host" then
      die("%s has no prepared statements (%s)", driver_name, name)
    end
  elseif variant ~= "" and variant ~= "-tls" and variant ~= "-zlib" and variant ~= "-tls-zlib" then
    die("unknown workload %q", name)
  else
    conf.tls = variant:find("tls", 1, true) ~= nil
    conf.compress = variant:find("zlib", 1, true) ~= nil
  end
  if conf.tls and not conf.ssl_ca then die("%s needs MYLUA_BENCH_SSL_CA (the server's CA file)", name) end
  if driver_name == "mylua-insert" and name ~= "load" then die("mylua-insert runs the load workload only") end
  conf.local_infile = name == "load" and (driver_name == "mylua" or driver_name == "mylua-host")
  local d = open(driver_name)
  if conf.local_infile and not d.can_load then
    -- The run script notes it and runs the other variants.
    print("mylua load skipped: db:load not available")
    d.close()
    os.exit(0)
  end
  if statement and not d.can_prepare then
    print(("mylua %s skipped: db:prepare not available"):format(name))
    d.close()
    os.exit(0)
  end
  -- mysql8peer.py answers none of the status queries of transport_check:
  -- it serves no TLS and no compression, and says how the login went.
  local transport = (conf.auth == "sha2" or conf.auth == "peer") and auth_check(d) or transport_check(d)
  if conf.auth == "ed25519" then transport = auth_check(d) .. ":" .. transport end
  local report_plain = report
  -- A workload with a transport or login variant says in its check what
  -- transport it had.
  local function report(dd, _, c0, w0, c1, w1, ops, check)
    report_plain(dd, name, c0, w0, c1, w1, ops,
      (variant == "" or statement or conf.refill) and check or (check .. ":" .. transport))
  end
  -- Warm the connection and the server's path with a tiny query (the
  -- MySQL 8 peer has no tables).
  d.first(conf.auth and "SELECT 1" or ("SELECT COUNT(*) FROM " .. TABLE .. " WHERE id <= 10"))

  if workload == "fetch" then
    settle()
    local c0, w0 = os.clock(), wallclock()
    local rows, n
    if statement then rows, n = d.fetch_prep() else rows, n = d.fetch() end
    local c1, w1 = os.clock(), wallclock()
    if n ~= conf.rows then die("%s: fetched %d rows, expected %d", d.name, n, conf.rows) end
    local check = "skipped"
    if env("MYLUA_BENCH_CHECK", "1") ~= "0" then
      local s = summarise(d, rows, n, conf.shape)
      verify_against_server(d, s, n)
      check = checksum_field(s)
    end
    report(d, workload, c0, w0, c1, w1, n, check)
  elseif workload == "stream" then
    settle()
    local c0, w0 = os.clock(), wallclock()
    local n, ids
    if statement == "-cursor" then n, ids = d.stream_prep(conf.fetch_size)
    elseif statement then n, ids = d.stream_prep(nil)
    else n, ids = d.stream() end
    local c1, w1 = os.clock(), wallclock()
    if n ~= conf.rows then die("%s: streamed %d rows, expected %d", d.name, n, conf.rows) end
    report(d, workload, c0, w0, c1, w1, n, ("%d:%d"):format(n, ids))
  elseif workload == "point" then
    settle()
    local c0, w0 = os.clock(), wallclock()
    local found, ids, as, hs
    if statement then found, ids, as, hs = d.point_prep(conf.point) else found, ids, as, hs = d.point(conf.point) end
    local c1, w1 = os.clock(), wallclock()
    if found ~= conf.point then die("%s: %d of %d point selects found a row", d.name, found, conf.point) end
    report(d, workload, c0, w0, c1, w1, conf.point, ("%d:%d:%d:%d"):format(found, ids, as, hs))
  elseif workload == "insert" then
    d.exec("TRUNCATE TABLE bench_insert")
    -- The rows' values are made before the clock starts, by every client
    -- alike (the C and Node peers too): what is timed is the driver's work,
    -- turning values into statements, sending them and reading the replies.
    -- insert-bulk takes them as execute_many's batches of row arrays,
    -- insert as one flat array of 7 values per row.
    local batches, values
    if statement then
      batches = {}
      for first = 1, conf.insert_rows, conf.batch do
        local rows = {}
        for k = first, math.min(first + conf.batch - 1, conf.insert_rows) do
          local id, a, b, c, dd, g, h = insert_row(k)
          rows[#rows + 1] = { id, a, b, c, dd, g == nil and d.null or g, h }
        end
        batches[#batches + 1] = rows
      end
    else
      values = {}
      for k = 1, conf.insert_rows do
        local j = (k - 1) * 7
        local id, a, b, c, dd, g, h = insert_row(k)
        values[j + 1], values[j + 2], values[j + 3], values[j + 4] = id, a, b, c
        values[j + 5], values[j + 6], values[j + 7] = dd, g == nil and d.null or g, h
      end
    end
    settle()
    local c0, w0 = os.clock(), wallclock()
    if statement then d.insert_bulk(batches) else d.insert(values, conf.insert_rows, conf.batch) end
    local c1, w1 = os.clock(), wallclock()
    local check = tostring(d.first(INSERT_CHECK_SQL)[1])
    if not check:match("^" .. conf.insert_rows .. ":") then
      die("%s: bench_insert holds %s, expected %d rows", d.name, check, conf.insert_rows)
    end
    report(d, workload, c0, w0, c1, w1, conf.insert_rows, check)
  elseif workload == "load" then
    d.exec("TRUNCATE TABLE " .. LOAD_TABLE)
    local hs = d.h_column()
    if #hs ~= conf.rows then die("%s: %s holds %d rows, expected %d", d.name, TABLE, #hs, conf.rows) end
    -- The application's rows exist before the load: building them is not
    -- the driver's work (the C peer formats its values as it goes).
    local rows = {}
    for s = 1, conf.rows do rows[s] = { fetch_row(s, hs, d.null) } end
    hs = nil
    settle()
    local c0, w0 = os.clock(), wallclock()
    if d.name == "mylua" or d.name == "mylua-host" then d.load(rows) else d.load_insert(rows, conf.batch) end
    local c1, w1 = os.clock(), wallclock()
    local check = tostring(d.first(LOAD_CHECK_SQL:format(LOAD_TABLE))[1])
    local want = tostring(d.first(LOAD_CHECK_SQL:format(TABLE))[1])
    if check ~= want then die("%s: %s holds %s, %s %s", d.name, LOAD_TABLE, check, TABLE, want) end
    report(d, workload, c0, w0, c1, w1, conf.rows, check)
  elseif workload == "connect" then
    settle()
    local c0, w0 = os.clock(), wallclock()
    d.connects(conf.connects)
    local c1, w1 = os.clock(), wallclock()
    report(d, workload, c0, w0, c1, w1, conf.connects, tostring(conf.connects))
  else
    die("unknown workload %q (fetch, stream, point, insert, load or connect)", workload)
  end
  d.close()
  -- Leave without closing the Lua state: freeing a million rows one by one
  -- takes seconds and measures nothing (and would show in a profile).
  os.exit(0, false)
end

-- The file mariadb-import loads in the load workload: bench_fetch's rows as
-- fetch_row() makes them, tab-separated, NULL as \N, with LOAD DATA's
-- default escapes. Its name (bench_load.*) names the table.
local function load_file(path)
  if not path:match("bench_load%.[^/]*$") then die("load-file: the file must be named bench_load.EXT") end
  local d = open("luasql")
  local hs = d.h_column()
  if #hs ~= conf.rows then die("load-file: %s holds %d rows, expected %d", TABLE, #hs, conf.rows) end
  local f = assert(io.open(path, "wb"))
  local ESC = { ["\t"] = "\\t", ["\n"] = "\\n", ["\\"] = "\\\\", ["\0"] = "\\0" }
  local cells = {}
  for s = 1, conf.rows do
    local v = table.pack(fetch_row(s, hs, nil))
    for i = 1, #COLS do
      local x = v[i]
      if x == nil then x = "\\N"
      elseif math.type(x) == "float" then x = ("%.17g"):format(x)
      else x = tostring(x):gsub("[\t\n\\%z]", ESC) end
      cells[i] = x
    end
    f:write(table.concat(cells, "\t", 1, #COLS), "\n")
  end
  assert(f:close())
  print(("load-file %s rows=%d"):format(path, conf.rows))
  d.close()
end

---------------------------------------------------------------------------

local mode = arg[1]
if mode == "load" then
  if arg[2] and arg[2] ~= "" then
    conf.rows = math.tointeger(tonumber(arg[2])) or die("load: bad row count %q", arg[2])
  end
  load(arg[3] or "luasql")
elseif mode == "load-file" and arg[2] then
  load_file(arg[2])
elseif mode == "ed25519-user" and (arg[2] == "create" or arg[2] == "drop") then
  ed25519_user(arg[2])
elseif (mode == "mylua" or mode == "mylua-host" or mode == "luasql" or mode == "mylua-insert") and arg[2] then
  run(mode, arg[2])
else
  io.stderr:write("usage: peer.lua load [ROWS [mylua|luasql]] | load-file PATH | ed25519-user create|drop",
                  " | mylua WORKLOAD | mylua-host WORKLOAD (in build/mylua) | luasql WORKLOAD | mylua-insert load\n",
                  "WORKLOAD: fetch, stream, point, insert, load, connect, connect-ed25519, connect-sha2, connect-peer,\n",
                  "  point-prep, fetch-prep, stream-prep, stream-cursor, insert-bulk (mylua only)\n")
  os.exit(2)
end
