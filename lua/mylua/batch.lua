-- mylua.batch: maintenance jobs that work through a table in chunks, walking
-- its primary key (keyset pagination, never OFFSET), as pt-archiver does:
--
--   batch.each_chunk(db, opts, fn)  every row, chunk by chunk, to fn
--   batch.purge(db, opts)           delete the rows matching a condition
--   batch.archive(db, opts)         copy them to a table (this connection or
--                                   another) or a file, then delete them
--
-- Each chunk is one transaction, re-run from its start on a retryable error
-- (err.retryable: a deadlock or Galera certification failure, a lock wait
-- timeout, a Galera node not ready, a lost connection, after reconnecting);
-- between chunks the job pauses, waits while a replica lags, Galera flow
-- control pauses the cluster or the server is busy, and stops cleanly on
-- SIGINT/SIGTERM (the host's deferred stops: the chunk in progress is
-- finished first).
-- Every call returns a summary and logs it.  README "Batch maintenance".
local mylua = require "mylua"
local core = require "mylua.core"

local log = mylua.log
local null = mylua.null

local batch = {}

local WSREP_NOT_READY = 1047

---------------------------------------------------------------------------
-- Options

local function is_connection(v)
  return (type(v) == "table" or type(v) == "userdata") and v.query ~= nil
end

local function check(fname, cond, name, what)
  -- levels: check, validate, new_state, the batch function, its caller
  if not cond then error(("mylua.batch.%s: option '%s' must be %s"):format(fname, name, what), 5) end
end

local CHECKS = {
  table = function(v) return type(v) == "string" and v ~= "", "a table name" end,
  schema = function(v) return type(v) == "string" and v ~= "", "a database name" end,
  key = function(v)
    if type(v) == "string" then return v ~= "", "a column name or a list of them" end
    if type(v) ~= "table" or #v == 0 then return false, "a column name or a list of them" end
    for _, c in ipairs(v) do if type(c) ~= "string" or c == "" then return false, "a list of column names" end end
    return true
  end,
  where = function(v) return type(v) == "string" and v:find("%S") ~= nil, "SQL text" end,
  params = function(v) return type(v) == "table", "a list of values" end,
  chunk_size = function(v) return math.type(v) == "integer" and v >= 1, "an integer >= 1" end,
  limit = function(v) return math.type(v) == "integer" and v >= 0, "an integer >= 0" end,
  pause = function(v) return type(v) == "number" and v >= 0 and v < math.huge, "seconds >= 0" end,
  dry_run = function(v) return type(v) == "boolean", "a boolean" end,
  retries = function(v) return math.type(v) == "integer" and v >= 0, "an integer >= 0" end,
  retry_wait = function(v) return type(v) == "number" and v >= 0 and v < math.huge, "seconds >= 0" end,
  replica = function(v) return is_connection(v), "a connection" end,
  max_lag = function(v) return type(v) == "number" and v >= 0, "seconds >= 0" end,
  max_threads_running = function(v) return math.type(v) == "integer" and v >= 1, "an integer >= 1" end,
  max_flow_control = function(v) return type(v) == "number" and v >= 0 and v < 1, "a fraction >= 0 and < 1" end,
  throttle_wait = function(v) return type(v) == "number" and v > 0 and v < math.huge, "seconds > 0" end,
  progress = function(v) return type(v) == "boolean", "a boolean" end,
  log = function(v) return type(v) == "boolean", "a boolean" end,
  columns = function(v)
    if type(v) ~= "table" or #v == 0 then return false, "a list of column names" end
    for _, c in ipairs(v) do if type(c) ~= "string" or c == "" then return false, "a list of column names" end end
    return true
  end,
  mode = function(v) return v == "a", '"a" (rows as arrays)' end,
  dest_table = function(v) return type(v) == "string" and v ~= "", "a table name" end,
  dest_schema = function(v) return type(v) == "string" and v ~= "", "a database name" end,
  dest_connection = function(v) return is_connection(v), "a connection" end,
  dest_file = function(v) return type(v) == "string" and v ~= "", "a file name" end,
}

local WALK = { "table", "schema", "key", "where", "params", "chunk_size", "limit", "pause", "retries",
  "retry_wait", "replica", "max_lag", "max_threads_running", "max_flow_control", "throttle_wait", "progress", "log" }
local ALLOWED = {
  each_chunk = { "columns", "mode" },
  purge = { "dry_run" },
  archive = { "dry_run", "dest_table", "dest_schema", "dest_connection", "dest_file" },
}

local function validate(fname, opts)
  if type(opts) ~= "table" then
    error(("bad argument #2 to '%s' (options table expected, got %s)"):format(fname, type(opts)), 4)
  end
  local allowed = {}
  for _, k in ipairs(WALK) do allowed[k] = true end
  for _, k in ipairs(ALLOWED[fname]) do allowed[k] = true end
  for k, v in pairs(opts) do
    if not allowed[k] then
      error(("mylua.batch.%s: unknown option '%s'"):format(fname, tostring(k)), 4)
    end
    local ok, what = CHECKS[k](v)
    check(fname, ok, k, what)
  end
  check(fname, opts.table ~= nil, "table", "given")
  if fname ~= "each_chunk" then
    check(fname, opts.where ~= nil, "where", "given (SQL text; '1=1' to take every row)")
  end
  if opts.params then check(fname, opts.where ~= nil, "params", "given with 'where' only") end
  if opts.max_lag ~= nil then check(fname, opts.replica ~= nil, "max_lag", "given with 'replica'") end
  if opts.replica ~= nil and opts.max_lag == nil then
    check(fname, false, "replica", "given with 'max_lag'")
  end
  if fname == "archive" then
    local n = (opts.dest_table and 1 or 0) + (opts.dest_file and 1 or 0)
    check(fname, n == 1, "dest_table", "given, or 'dest_file' (one of them)")
    if opts.dest_connection or opts.dest_schema then
      check(fname, opts.dest_table ~= nil, opts.dest_connection and "dest_connection" or "dest_schema",
        "given with 'dest_table' only")
    end
  end
end

---------------------------------------------------------------------------
-- SQL text

local function qualified(db, schema, name)
  if schema then return db:quote_name(schema) .. "." .. db:quote_name(name) end
  return db:quote_name(name)
end

local function name_list(db, names)
  local t = {}
  for i, n in ipairs(names) do t[i] = db:quote_name(n) end
  return table.concat(t, ", ")
end

-- `(a, b) > (1, 2)` for a composite key, `a > 1` for one column.
local function after_sql(db, key, after)
  if not after then return nil end
  local vals = {}
  for i, v in ipairs(after) do vals[i] = db:quote(v) end
  if #key == 1 then return db:quote_name(key[1]) .. " > " .. vals[1] end
  return "(" .. name_list(db, key) .. ") > (" .. table.concat(vals, ", ") .. ")"
end

-- Matches exactly the keys given: `a IN (1, 2)`, or `(a = 1 AND b = 2) OR
-- (...)` for a composite key (which every version's range optimizer uses).
local function keys_sql(db, key, keys)
  if #key == 1 then
    local vals = {}
    for i, k in ipairs(keys) do vals[i] = db:quote(k[1]) end
    return db:quote_name(key[1]) .. " IN (" .. table.concat(vals, ", ") .. ")"
  end
  local names = {}
  for i, c in ipairs(key) do names[i] = db:quote_name(c) end
  local terms = {}
  for i, k in ipairs(keys) do
    local t = {}
    for j, v in ipairs(k) do t[j] = names[j] .. " = " .. db:quote(v) end
    terms[i] = "(" .. table.concat(t, " AND ") .. ")"
  end
  return table.concat(terms, " OR ")
end

-- The WHERE clause of the next chunk: the caller's condition, then the key
-- past the last chunk's.
local function chunk_where(db, opts, key, after)
  local parts = {}
  if opts.where then parts[#parts + 1] = "(" .. opts.where .. ")" end
  local a = after_sql(db, key, after)
  if a then parts[#parts + 1] = a end
  if #parts == 0 then return "" end
  return " WHERE " .. table.concat(parts, " AND ")
end

local function params_of(opts)
  local p = opts.params or {}
  return p, p.n or #p
end

local function select_chunk(db, opts, st, columns, n, lock)
  local key = st.key
  local sql = ("SELECT %s FROM %s%s ORDER BY %s LIMIT %d%s"):format(columns, st.source,
    chunk_where(db, opts, key, st.after), name_list(db, key), n, lock and " FOR UPDATE" or "")
  local p, np = params_of(opts)
  return db:query(sql, table.unpack(p, 1, np))
end

---------------------------------------------------------------------------
-- The table's shape, from information_schema

local function primary_key(db, schema, name)
  local res = db:query([[
    SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
    WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
    ORDER BY ORDINAL_POSITION]], schema or null, name)
  local key = {}
  for row in res:rows("a") do key[#key + 1] = row[1] end
  return key
end

local function table_columns(db, schema, name)
  local res = db:query([[
    SELECT COLUMN_NAME FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION]],
    schema or null, name)
  local cols = {}
  for row in res:rows("a") do cols[#cols + 1] = row[1] end
  return cols
end

-- batch.primary_key(db, table [, schema]): the primary key's columns in
-- order; raises when the table has none.
function batch.primary_key(db, name, schema)
  local key = primary_key(db, schema, name)
  if #key > 0 then return key end
  if #table_columns(db, schema, name) == 0 then
    error(("mylua.batch: table %s does not exist"):format(qualified(db, schema, name)), 2)
  end
  error(("mylua.batch: table %s has no primary key: give opts.key (the columns of a unique key "
    .. "whose columns are NOT NULL)"):format(qualified(db, schema, name)), 2)
end

local function position(list, name)
  for i, v in ipairs(list) do if v:lower() == name:lower() then return i end end
end

---------------------------------------------------------------------------
-- Waiting: retries, throttling, the stop between chunks

local function rollback_quietly(db)
  if db and not db.closed and not db.broken then pcall(db.query, db, "ROLLBACK") end
end

local function retryable(err)
  return mylua.is_error(err) and (err.retryable == true or err.transaction_lost == true)
end

-- The connections to make again before the chunk runs again: those lost,
-- and the job's own after a node said it is not ready (1047: another node
-- of its host list should take the work).  Raises err when one of them
-- cannot reconnect (no db:reconnect()).
local function to_reconnect(st, err)
  local list = {}
  for i, c in ipairs(st.connections) do
    local lost = c.closed or c.broken
    if i == 1 and mylua.is_error(err) and (err.code == WSREP_NOT_READY or err.transaction_lost == true) then
      lost = true
    end
    if lost then
      if not c.reconnect then error(err, 0) end
      list[#list + 1] = c
    end
  end
  return list
end

-- Runs step() until it succeeds; a retryable error rolls the chunk back (on
-- every connection it used), reconnects the connections that were lost,
-- and runs it again from its start, after a wait that doubles (with
-- jitter) each time.  Re-running a chunk whose COMMIT was lost is safe:
-- the chunk is chosen again from the last key done, so rows it deleted
-- are not found again, and a copy is written idempotently.
local function with_retries(st, step)
  local attempt, pending = 0, {}
  while true do
    local ok, res = true, nil
    while ok and #pending > 0 do
      ok, res = pcall(pending[1].reconnect, pending[1])
      if ok then
        table.remove(pending, 1)
        st.summary.reconnects = st.summary.reconnects + 1
        if st.log then log.info("%s: reconnected", st.label) end
      end
    end
    if ok then
      ok, res = pcall(step)
      if ok then return res end
      for _, c in ipairs(st.connections) do rollback_quietly(c) end
      if not retryable(res) then error(res, 0) end
    end
    -- a failed reconnect is one more failed attempt: the next may find a node
    if attempt >= st.retries then error(res, 0) end
    for _, c in ipairs(to_reconnect(st, res)) do
      local listed = false
      for _, p in ipairs(pending) do listed = listed or p == c end
      if not listed then pending[#pending + 1] = c end
    end
    attempt = attempt + 1
    st.summary.retries = st.summary.retries + 1
    local wait = st.retry_wait * 2 ^ (attempt - 1) * (0.5 + math.random() / 2)
    if st.log then
      log.warn("%s: chunk %d: %s; retry %d of %d in %.2f s", st.label, st.summary.chunks + 1,
        tostring(res), attempt, st.retries, wait)
    end
    mylua.sleep(wait)
  end
end

-- The replica's status: SHOW ALL SLAVES STATUS (MariaDB: a row per
-- replication channel), or SHOW SLAVE STATUS (the default channel only)
-- where that is refused (MySQL, or a user without the privilege for it).
local function slave_status(st, replica)
  if not st.plain_slave_status then
    local ok, res = pcall(replica.query, replica, "SHOW ALL SLAVES STATUS")
    if ok then return res, "SHOW ALL SLAVES STATUS" end
    if not mylua.is_error(res) or res.retryable then error(res, 0) end
    st.plain_slave_status = true
  end
  return replica:query("SHOW SLAVE STATUS"), "SHOW SLAVE STATUS"
end

-- The replica's lag: the largest Seconds_Behind_Master of its channels, or
-- nil with the reason when replication of any channel is stopped (NULL).
-- A connection that is not a replica (no rows) raises: waiting would never
-- end.
local function replica_lag(st, replica)
  local res, sql = slave_status(st, replica)
  local lag, any = 0, false
  for row in res:rows() do
    any = true
    local s = row.Seconds_Behind_Master
    if s == nil or s == null then
      local channel = row.Connection_name
      if channel and channel ~= null and channel ~= "" then
        return nil, ("replication channel '%s' is stopped (Seconds_Behind_Master is NULL)"):format(channel)
      end
      return nil, "replication is stopped (Seconds_Behind_Master is NULL)"
    end
    s = tonumber(s)
    if s > lag then lag = s end
  end
  if not any then
    error(("mylua.batch: the replica connection is not a replica (%s returned no rows)"):format(sql), 0)
  end
  return lag
end

-- The fraction of the time since the last look that Galera's flow control
-- held replication paused on db's node (the cluster waited for a node
-- that fell behind), from wsrep_flow_control_paused_ns, which only grows:
-- its change over the wall time between two reads.  The first read (no
-- earlier one) gives nil.  wsrep_flow_control_paused itself is a fraction
-- over a span the server chooses (since its last FLUSH STATUS, or since
-- the last read on older Galera versions), which says little about the
-- last chunk; it is used only where the _ns counter is missing.  A server
-- without either is no Galera node: it raises.
local function flow_control_paused(st, db)
  local paused_ns, paused
  for row in db:query("SHOW GLOBAL STATUS LIKE 'wsrep\\_flow\\_control\\_paused%'"):rows("a") do
    if row[1]:lower() == "wsrep_flow_control_paused_ns" then paused_ns = tonumber(row[2]) end
    if row[1]:lower() == "wsrep_flow_control_paused" then paused = tonumber(row[2]) end
  end
  local now = mylua.monotonic()
  if paused_ns then
    local last = st.flow_control
    st.flow_control = { ns = paused_ns, at = now }
    if not last or now <= last.at then return nil end
    return math.max(0, (paused_ns - last.ns) / 1e9 / (now - last.at))
  end
  if paused then return paused end
  error("mylua.batch: max_flow_control: the server is not a Galera node (no wsrep_flow_control_paused)", 0)
end

local function threads_running(db)
  local row = db:query("SHOW GLOBAL STATUS LIKE 'Threads_running'"):row(1, "a")
  return row and tonumber(row[2]) or 0
end

-- Why the job must wait before its next chunk, or nil.
local function busy(st, db)
  local opts = st.opts
  if opts.max_flow_control then
    local f = flow_control_paused(st, db)
    if f and f > opts.max_flow_control then
      return ("flow control paused replication %.0f%% of the time > %.0f%%"):format(f * 100,
        opts.max_flow_control * 100)
    end
  end
  if opts.replica then
    local lag, why = replica_lag(st, opts.replica)
    if not lag then return why end
    if lag > opts.max_lag then return ("replica lag %g s > %g s"):format(lag, opts.max_lag) end
  end
  if opts.max_threads_running then
    local n = threads_running(db)
    if n > opts.max_threads_running then
      return ("Threads_running %d > %d"):format(n, opts.max_threads_running)
    end
  end
end

-- Waits while busy; false when a stop came meanwhile.
local function throttle(st, db)
  local said
  while true do
    if mylua.stop_requested() then return false end
    local why = busy(st, db)
    if not why then
      if said and st.log then log.info("%s: going on", st.label) end
      return true
    end
    if why ~= said and st.log then log.warn("%s: waiting: %s", st.label, why) end
    said = why
    st.summary.throttle_waits = st.summary.throttle_waits + 1
    local t0 = mylua.monotonic()
    mylua.sleep(st.throttle_wait)
    st.summary.throttled = st.summary.throttled + (mylua.monotonic() - t0)
  end
end

---------------------------------------------------------------------------
-- The loop every job shares

local function summary_text(st)
  local s = st.summary
  local text
  if s.dry_run then
    text = ("%s: dry run: %d rows would go, in %d chunks of %d"):format(st.label, s.rows, s.chunks, st.chunk_size)
  else
    text = ("%s: %d rows in %d chunks, %.1f s (%.0f rows/s)"):format(st.label, s.rows, s.chunks, s.seconds, s.rate)
  end
  if s.already_archived > 0 then text = text .. (", %d found archived already"):format(s.already_archived) end
  if s.retries > 0 then text = text .. (", %d retries"):format(s.retries) end
  if s.reconnects > 0 then text = text .. (", %d reconnects"):format(s.reconnects) end
  if s.throttle_waits > 0 then text = text .. (", %.1f s waiting (throttled)"):format(s.throttled) end
  if s.stopped then text = text .. ", stopped: " .. s.stopped end
  return text
end

local function new_state(fname, db, opts, defaults)
  validate(fname, opts)
  local st = {
    opts = opts,
    key = type(opts.key) == "string" and { opts.key } or opts.key,
    source = qualified(db, opts.schema, opts.table),
    chunk_size = opts.chunk_size or 1000,
    retries = opts.retries or 5,
    retry_wait = opts.retry_wait or 0.1,
    throttle_wait = opts.throttle_wait or 1,
    log = opts.log ~= false,
    label = fname .. " " .. (opts.schema and (opts.schema .. ".") or "") .. opts.table,
    connections = { db },
    summary = { rows = 0, chunks = 0, seconds = 0, rate = 0, stopped = false, retries = 0, reconnects = 0,
      throttle_waits = 0, throttled = 0, already_archived = 0, dry_run = opts.dry_run == true },
  }
  if not st.key then st.key = batch.primary_key(db, opts.table, opts.schema) end
  st.progress_on = opts.progress
  if st.progress_on == nil then st.progress_on = defaults.progress end
  return st
end

-- Runs step(n) chunk after chunk: it does one chunk of at most n rows and
-- returns how many it did (fewer than n: the last one).  Stops deferred
-- meanwhile: a SIGINT or SIGTERM is looked at between chunks.
local function run(st, db, step)
  local opts, s = st.opts, st.summary
  local t0 = mylua.monotonic()
  local was_deferring = mylua.defer_stop(true)
  -- the bar only where it is seen: elsewhere the summary line says it all
  local bar = st.progress_on and core.isatty(io.stderr) and mylua.progress{ label = st.label } or nil
  local ok, err = pcall(function()
    while true do
      local want = st.chunk_size
      if opts.limit then want = math.min(want, opts.limit - s.rows) end
      if want <= 0 then break end
      if not throttle(st, db) then break end
      local n = with_retries(st, function() return step(want) end)
      if n > 0 then
        s.rows, s.chunks = s.rows + n, s.chunks + 1
        if bar then bar:add(n) end
      end
      if n < want or st.done then break end
      if mylua.stop_requested() then break end
      if opts.pause and opts.pause > 0 then mylua.sleep(opts.pause) end
    end
  end)
  s.stopped = mylua.stop_requested() or st.stopped_by or false
  s.seconds = mylua.monotonic() - t0
  s.rate = s.seconds > 0 and s.rows / s.seconds or 0
  if bar then bar:done() end
  if not ok then
    if st.log then log.error("%s: failed after %d rows in %d chunks: %s", st.label, s.rows, s.chunks, tostring(err)) end
    mylua.defer_stop(was_deferring)
    error(err, 0)
  end
  if st.log then
    if s.stopped then log.warn("%s", summary_text(st)) else log.info("%s", summary_text(st)) end
  end
  -- a stop recorded while deferred takes effect here, unless the caller
  -- defers stops too (and then reads summary.stopped)
  mylua.defer_stop(was_deferring)
  return s
end

local function dry_run(st, db)
  local p, np = params_of(st.opts)
  local n = db:query(("SELECT COUNT(*) FROM %s WHERE (%s)"):format(st.source, st.opts.where),
    table.unpack(p, 1, np)):row(1, "a")[1]
  n = math.tointeger(tonumber(n))
  if st.opts.limit then n = math.min(n, st.opts.limit) end
  local s = st.summary
  s.rows, s.chunks = n, (n + st.chunk_size - 1) // st.chunk_size
  if st.log then log.info("%s", summary_text(st)) end
  return s
end

-- The keys of the rows of a result whose first #key columns are the key.
local function keys_of(res, nkey)
  local keys = {}
  for row in res:rows("a") do
    local k = {}
    for i = 1, nkey do
      if row[i] == null then error("mylua.batch: a key column is NULL: the key must be NOT NULL", 0) end
      k[i] = row[i]
    end
    keys[#keys + 1] = k
  end
  return keys
end

local function expect_affected(res, n, what)
  if math.tointeger(res.affected_rows) ~= n then
    error(("mylua.batch: %s touched %s rows, %d expected: the chunk is rolled back"):format(
      what, tostring(res.affected_rows), n), 0)
  end
end

---------------------------------------------------------------------------
-- each_chunk

function batch.each_chunk(db, opts, fn)
  local st = new_state("each_chunk", db, opts, { progress = false })
  if type(fn) ~= "function" then
    error(("bad argument #3 to 'each_chunk' (function expected, got %s)"):format(type(fn)), 2)
  end
  local key, nkey = st.key, #st.key
  local cols = opts.columns and name_list(db, opts.columns) or "*"
  local sel = name_list(db, key) .. ", " .. (cols == "*" and (st.source .. ".*") or cols)
  return run(st, db, function(n)
    local res = select_chunk(db, opts, st, sel, n, false)
    local count = #res
    if count == 0 then return 0 end
    local names = {}
    for i = nkey + 1, #res.columns do names[#names + 1] = res.columns[i].name end
    local rows, keys = {}, {}
    for row in res:rows("a") do
      local k, r = {}, {}
      for i = 1, nkey do k[i] = row[i] end
      for i = 1, #names do
        if opts.mode == "a" then r[i] = row[nkey + i] else r[names[i]] = row[nkey + i] end
      end
      rows[#rows + 1], keys[#keys + 1] = r, k
    end
    local go_on = fn(rows, { number = st.summary.chunks + 1, first = keys[1], last = keys[#keys] })
    st.after = keys[#keys]
    if go_on == false then
      st.done, st.stopped_by = true, "stopped by the callback"
    end
    return count
  end)
end

---------------------------------------------------------------------------
-- purge

function batch.purge(db, opts)
  local st = new_state("purge", db, opts, { progress = true })
  if opts.dry_run then return dry_run(st, db) end
  local key = st.key
  return run(st, db, function(n)
    db:begin()
    local keys = keys_of(select_chunk(db, opts, st, name_list(db, key), n, true), #key)
    if #keys == 0 then db:commit() return 0 end
    local res = db:query(("DELETE FROM %s WHERE %s"):format(st.source, keys_sql(db, key, keys)))
    expect_affected(res, #keys, "the DELETE")
    db:commit()
    st.after = keys[#keys]
    return #keys
  end)
end

---------------------------------------------------------------------------
-- archive: the three destinations

-- To a table on the same connection: copy and delete in one transaction.
local function archive_same(st, db)
  local opts, key = st.opts, st.key
  local cols = table_columns(db, opts.schema, opts.table)
  local dest = qualified(db, opts.dest_schema, opts.dest_table)
  local list = name_list(db, cols)
  return function(n)
    db:begin()
    local keys = keys_of(select_chunk(db, opts, st, name_list(db, key), n, true), #key)
    if #keys == 0 then db:commit() return 0 end
    local match = keys_sql(db, key, keys)
    expect_affected(db:query(("INSERT INTO %s (%s) SELECT %s FROM %s WHERE %s"):format(
      dest, list, list, st.source, match)), #keys, "the INSERT")
    expect_affected(db:query(("DELETE FROM %s WHERE %s"):format(st.source, match)), #keys, "the DELETE")
    db:commit()
    st.after = keys[#keys]
    return #keys
  end
end

-- To a table on another connection: written there idempotently (INSERT ...
-- ON DUPLICATE KEY UPDATE, committed), then deleted here.  A kill between
-- the two leaves the rows in both; the next run copies them again, which
-- overwrites the same rows, by the same primary key.
local function archive_remote(st, db)
  local opts, key = st.opts, st.key
  local dest_db = opts.dest_connection
  st.connections[#st.connections + 1] = dest_db
  local cols = table_columns(db, opts.schema, opts.table)
  local dest_key = primary_key(dest_db, opts.dest_schema, opts.dest_table)
  local same = #dest_key == #key
  for i = 1, #key do same = same and dest_key[i] and dest_key[i]:lower() == key[i]:lower() end
  if not same then
    error(("mylua.batch.archive: the destination %s must have the source's primary key (%s), so that a "
      .. "chunk copied twice overwrites itself; it has (%s)"):format(
      qualified(dest_db, opts.dest_schema, opts.dest_table), table.concat(key, ", "),
      table.concat(dest_key, ", ")), 0)
  end
  local keypos = {}
  for i, k in ipairs(key) do
    keypos[i] = position(cols, k) or error(("mylua.batch.archive: no column %s in the source"):format(k), 0)
  end
  local dest = qualified(dest_db, opts.dest_schema, opts.dest_table)
  local updates = {}
  for _, c in ipairs(cols) do
    if not position(key, c) then
      local q = dest_db:quote_name(c)
      updates[#updates + 1] = q .. " = VALUES(" .. q .. ")"
    end
  end
  local on_dup = #updates > 0 and (" ON DUPLICATE KEY UPDATE " .. table.concat(updates, ", "))
    or (" ON DUPLICATE KEY UPDATE " .. dest_db:quote_name(key[1]) .. " = " .. dest_db:quote_name(key[1]))
  local insert_head = ("INSERT INTO %s (%s) VALUES "):format(dest, name_list(dest_db, cols))
  return function(n)
    db:begin()
    local res = select_chunk(db, opts, st, name_list(db, cols), n, true)
    if #res == 0 then db:commit() return 0 end
    local values, keys = {}, {}
    for row in res:rows("a") do
      local v, k = {}, {}
      for i = 1, #cols do v[i] = dest_db:quote(row[i]) end
      for i, p in ipairs(keypos) do k[i] = row[p] end
      values[#values + 1] = "(" .. table.concat(v, ", ") .. ")"
      keys[#keys + 1] = k
    end
    dest_db:begin()
    dest_db:query(insert_head .. table.concat(values, ", ") .. on_dup)
    dest_db:commit()
    expect_affected(db:query(("DELETE FROM %s WHERE %s"):format(st.source, keys_sql(db, key, keys))),
      #keys, "the DELETE")
    db:commit()
    st.after = keys[#keys]
    return #keys
  end
end

-- The file's format: tab-separated lines as LOAD DATA INFILE reads them by
-- default (and SELECT ... INTO OUTFILE writes them), one header line of
-- column names first: \ escapes \, tab, newline, carriage return and NUL
-- (\\ \t \n \r \0), NULL is \N.
local ESCAPES = { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r", ["\0"] = "\\0" }

local function float_text(x)
  for digits = 15, 17 do
    local s = ("%." .. digits .. "g"):format(x)
    if tonumber(s) == x then return s end
  end
  return ("%.17g"):format(x)
end

local function field(v)
  if v == null or v == nil then return "\\N" end
  if math.type(v) == "integer" then return ("%d"):format(v) end
  if math.type(v) == "float" then return float_text(v) end
  return (tostring(v):gsub("[\\\t\n\r%z]", ESCAPES))
end

local function tsv_line(values, n)
  local t = {}
  for i = 1, n do t[i] = field(values[i]) end
  return table.concat(t, "\t") .. "\n"
end

-- Opens the archive file for appending; when a killed run left it, cuts a
-- partial last line and returns the set of its last `tail` lines (rows
-- that may still be in the source: the chunk in progress was written and
-- synced before its DELETE committed).  The header line is never in it.
local function open_archive(path, tail, header)
  local f = io.open(path, "r+b")
  if not f then f = assert(io.open(path, "w+b")) end
  local size = assert(f:seek("end"))
  local have = {}
  if size > 0 then
    local block, text, from = 65536, "", size
    while true do
      from = math.max(0, size - block)
      assert(f:seek("set", from))
      text = assert(f:read(size - from))
      local _, lines = text:gsub("\n", "")
      if from == 0 or lines > tail + 1 then break end
      block = block * 4
    end
    local last_nl = text:match(".*()\n")
    local keep = last_nl and (from + last_nl) or 0
    if keep < size then
      core.ftruncate(f, keep)
      text = last_nl and text:sub(1, last_nl) or ""
      size = keep
    end
    local lines = {}
    for line in text:gmatch("([^\n]*\n)") do lines[#lines + 1] = line end
    if from > 0 then table.remove(lines, 1) end -- maybe cut in the middle
    local first = (from == 0) and 2 or 1 -- the header is no row
    for i = math.max(first, #lines - tail + 1), #lines do have[lines[i]] = true end
  end
  assert(f:seek("end"))
  if size == 0 then
    f:write(header)
    core.fsync(f)
  end
  return f, have
end

-- To a file: each chunk's lines appended and synced before its DELETE
-- commits.  Rows whose line is in the file already (a run killed between
-- the two, or a chunk retried) are deleted without being written again.
local function archive_file(st, db)
  local opts, key = st.opts, st.key
  local cols = table_columns(db, opts.schema, opts.table)
  local keypos = {}
  for i, k in ipairs(key) do
    keypos[i] = position(cols, k) or error(("mylua.batch.archive: no column %s in the source"):format(k), 0)
  end
  local f, written = open_archive(opts.dest_file, st.chunk_size, tsv_line(cols, #cols))
  st.file = f
  return function(n)
    db:begin()
    local res = select_chunk(db, opts, st, name_list(db, cols), n, true)
    if #res == 0 then db:commit() return 0 end
    local out, keys, lines = {}, {}, {}
    for row in res:rows("a") do
      local line = tsv_line(row, #cols)
      if written[line] then
        st.summary.already_archived = st.summary.already_archived + 1
      else
        out[#out + 1] = line
      end
      lines[#lines + 1] = line
      local k = {}
      for i, p in ipairs(keypos) do k[i] = row[p] end
      keys[#keys + 1] = k
    end
    if #out > 0 then
      assert(f:write(table.concat(out)))
      core.fsync(f)
      for i = 1, #lines do written[lines[i]] = true end -- a retry must not write them again
    end
    expect_affected(db:query(("DELETE FROM %s WHERE %s"):format(st.source, keys_sql(db, key, keys))),
      #keys, "the DELETE")
    db:commit()
    for i = 1, #lines do written[lines[i]] = nil end -- gone from the source
    st.after = keys[#keys]
    return #keys
  end
end

function batch.archive(db, opts)
  local st = new_state("archive", db, opts, { progress = true })
  if opts.dry_run then return dry_run(st, db) end
  local step
  if opts.dest_file then
    step = archive_file(st, db)
  elseif opts.dest_connection and opts.dest_connection ~= db then
    step = archive_remote(st, db)
  else
    step = archive_same(st, db)
  end
  local ok, res = pcall(run, st, db, step)
  if st.file then st.file:close() end
  if not ok then error(res, 0) end
  return res
end

return batch
