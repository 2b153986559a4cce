-- mylua: the module scripts require.  The protocol lives in C (mylua.core);
-- what reads better in Lua is added here.
local core = require "mylua.core"

local mylua = {
  version = core.version,
  print = require "mylua.print",
  null = core.null,
  connect = core.connect,
  is_error = core.is_error,
  new_error = core.new_error,
  -- typed values for prepared statements (and placeholders): the text says
  -- what it is, so it is sent with that exact type
  decimal = core.decimal,
  date = core.date,
  datetime = core.datetime,
  time = core.time,
  blob = core.blob,
  -- for scripts: time, which Lua lacks, and what a job says on stderr
  now = core.now,
  monotonic = core.monotonic,
  sleep = core.sleep,
  log = require "mylua.log",
  progress = require("mylua.progress").new,
  parallel = require "mylua.parallel",
}

-- Deferred stops (the host program's, src/host/cancel.h): a job that works
-- in steps defers SIGINT/SIGTERM, checks stop_requested() between steps and
-- ends cleanly.  Under a plain lua5.4 there is no host: no stop is ever
-- requested, and deferring is remembered only.
do
  local open_host_stop = package.preload["mylua.host_stop"]
  if open_host_stop then
    local host_stop = open_host_stop("mylua.host_stop")
    mylua.stop_requested = host_stop.stop_requested
    mylua.defer_stop = host_stop.defer_stop
  else
    local deferring = false
    function mylua.stop_requested() return nil end
    function mylua.defer_stop(on)
      if type(on) ~= "boolean" then
        error(("bad argument #1 to 'defer_stop' (boolean expected, got %s)"):format(type(on)), 2)
      end
      local was = deferring
      deferring = on
      return was
    end
  end
end

local methods = core.connection_methods
require "mylua.script" -- db:execute_script, db:execute_file

local IN_TRANS = 1 -- SERVER_STATUS_IN_TRANS in the server's status flags

-- What begin() accepts, in the words START TRANSACTION and SET TRANSACTION
-- use.  Only these fixed texts reach the SQL: nothing the caller wrote is
-- pasted in.
local CHARACTERISTICS = {
  ["WITH CONSISTENT SNAPSHOT"] = "WITH CONSISTENT SNAPSHOT",
  ["READ ONLY"] = "READ ONLY",
  ["READ WRITE"] = "READ WRITE",
}
local ISOLATION_LEVELS = {
  ["REPEATABLE READ"] = "REPEATABLE READ",
  ["READ COMMITTED"] = "READ COMMITTED",
  ["READ UNCOMMITTED"] = "READ UNCOMMITTED",
  ["SERIALIZABLE"] = "SERIALIZABLE",
}

-- "read  only" and "Read Only" both mean READ ONLY.
local function normalize(s)
  return (s:upper():gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

local function bad_option(fname, fmt, ...)
  -- levels: bad_option, transaction_sql, the method, its caller
  error(("bad argument #1 to '%s' (" .. fmt .. ")"):format(fname, ...), 4)
end

-- Turns begin's options into the SQL to send: the START TRANSACTION
-- statement and, for an isolation level, the SET TRANSACTION before it.
-- opts: nil, one characteristic ("READ ONLY", "READ WRITE", "WITH
-- CONSISTENT SNAPSHOT"), or a table holding a list of them and/or
-- isolation = "REPEATABLE READ" | "READ COMMITTED" | "READ UNCOMMITTED" |
-- "SERIALIZABLE".  Anything else raises.
local function transaction_sql(opts, fname)
  local list, isolation = {}, nil
  if type(opts) == "string" then
    list[1] = opts
  elseif type(opts) == "table" then
    for k, v in pairs(opts) do
      if k == "isolation" then
        if type(v) ~= "string" or not ISOLATION_LEVELS[normalize(v)] then
          bad_option(fname, "unknown isolation level %s; expected REPEATABLE READ, READ COMMITTED, "
            .. "READ UNCOMMITTED or SERIALIZABLE", type(v) == "string" and ("%q"):format(v) or type(v))
        end
        isolation = ISOLATION_LEVELS[normalize(v)]
      elseif math.type(k) ~= "integer" or k < 1 or k > #opts then
        bad_option(fname, "unknown transaction option %s", type(k) == "string" and ("%q"):format(k) or tostring(k))
      else
        list[k] = v
      end
    end
  elseif opts ~= nil then
    bad_option(fname, "transaction options expected, got %s", type(opts))
  end
  local seen, words = {}, {}
  for i = 1, #list do
    local v = list[i]
    local word = type(v) == "string" and CHARACTERISTICS[normalize(v)]
    if not word then
      bad_option(fname, "unknown transaction option %s; expected READ ONLY, READ WRITE or WITH CONSISTENT SNAPSHOT",
        type(v) == "string" and ("%q"):format(v) or type(v))
    end
    seen[word] = true
  end
  if seen["READ ONLY"] and seen["READ WRITE"] then
    bad_option(fname, "READ ONLY and READ WRITE together")
  end
  for _, word in ipairs{ "WITH CONSISTENT SNAPSHOT", "READ ONLY", "READ WRITE" } do
    if seen[word] then words[#words + 1] = word end
  end
  local start = "START TRANSACTION"
  if #words > 0 then start = start .. " " .. table.concat(words, ", ") end
  return start, isolation and ("SET TRANSACTION ISOLATION LEVEL " .. isolation)
end

-- Starts a transaction with the options above.  Raises when one is open
-- already (begun by begin(), transaction() or plain SQL): a second START
-- TRANSACTION would commit it silently.
function methods:begin(opts)
  local start, set = transaction_sql(opts, "begin")
  if self.status & IN_TRANS ~= 0 then
    error("begin: a transaction is already open (transaction() nests with a savepoint)", 2)
  end
  if set then self:query(set) end
  self:query(start)
  return true
end

function methods:commit()
  self:query("COMMIT")
  return true
end

function methods:rollback()
  self:query("ROLLBACK")
  return true
end

function methods:autocommit(on)
  self:query(on and "SET autocommit = 1" or "SET autocommit = 0")
  return true
end

-- How deep each connection is inside transaction() calls.
local depth = setmetatable({}, { __mode = "k" })

local function callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- transaction([opts,] fn, ...): runs fn(db, ...) inside a transaction and
-- returns fn's results.
--
-- Outermost (no transaction open): begin(opts), then COMMIT when fn returns,
-- or ROLLBACK and re-raise fn's error unchanged when it raises.  Inside an
-- open transaction (an enclosing transaction(), or one begun by begin() or
-- plain SQL): SAVEPOINT mylua_N, then RELEASE SAVEPOINT when fn returns, or
-- ROLLBACK TO SAVEPOINT and re-raise, so the enclosing work stays and is
-- committed (or not) by whoever began it.  opts apply only where a
-- transaction starts: with a transaction open they raise.  When the ROLLBACK
-- (or ROLLBACK TO SAVEPOINT) itself fails (the connection may be gone, or a
-- stream fn left unread holds it), the connection is closed, so the server
-- rolls the whole transaction back rather than a later COMMIT keeping the
-- failed work; either way fn's error is what is raised.  opts.retries
-- (outermost only) re-runs the whole of fn on a retryable error: see
-- run_with_retries below.
local function roll_back(self, sql)
  if not pcall(self.query, self, sql) then pcall(self.close, self) end
end

local run_with_retries, retry_options

local function run_transaction(self, opts, fn, ...)
  local sql_opts, retry = retry_options(opts)
  local start, set = transaction_sql(sql_opts, "transaction")
  if not callable(fn) then
    error(("bad argument #%d to 'transaction' (function expected, got %s)"):format(
      opts == nil and 1 or 2, type(fn)), 2)
  end
  local level = depth[self] or 0
  if level == 0 and self.status & IN_TRANS == 0 then
    if retry and retry.retries > 0 then return run_with_retries(self, start, set, retry, fn, ...) end
    if set then self:query(set) end
    self:query(start)
    depth[self] = 1
    local results = table.pack(pcall(fn, self, ...))
    depth[self] = level
    if not results[1] then
      roll_back(self, "ROLLBACK")
      error(results[2], 0)
    end
    self:query("COMMIT")
    return table.unpack(results, 2, results.n)
  end
  if retry then
    error("transaction: retries apply only to the outermost transaction; a nested one is a savepoint, "
      .. "and a deadlock or a lost connection undoes the whole transaction, not the savepoint", 2)
  end
  if opts ~= nil then
    error("transaction: options apply only where a transaction starts; one is open already", 2)
  end
  local savepoint = "mylua_" .. (level + 1)
  self:query("SAVEPOINT " .. savepoint)
  depth[self] = level + 1
  local results = table.pack(pcall(fn, self, ...))
  depth[self] = level
  if not results[1] then
    roll_back(self, "ROLLBACK TO SAVEPOINT " .. savepoint)
    if not self.closed then pcall(self.query, self, "RELEASE SAVEPOINT " .. savepoint) end
    error(results[2], 0)
  end
  self:query("RELEASE SAVEPOINT " .. savepoint)
  return table.unpack(results, 2, results.n)
end

---------------------------------------------------------------------------
-- Retries: transaction({ retries = N, backoff = ..., on_retry = ... }, fn)

local CR_SERVER_GONE, CR_SERVER_LOST, WSREP_NOT_READY = 2006, 2013, 1047

-- The default wait before attempt n + 1: exponential from 50 ms, capped at
-- 2 s, with jitter (between half and all of it) so that two clients that
-- deadlocked on each other do not meet again at the same moment.
local function default_backoff(attempt)
  local d = math.min(2, 0.05 * 2 ^ (attempt - 1))
  return d / 2 + math.random() * d / 2
end

-- Takes retries, backoff and on_retry out of transaction's options (the
-- rest becomes SQL); nil when none of them is there.
function retry_options(opts)
  if type(opts) ~= "table" then return opts, nil end
  local rest, retry = {}, nil
  for k, v in pairs(opts) do
    if k == "retries" or k == "backoff" or k == "on_retry" then
      retry = retry or {}
      retry[k] = v
    else
      rest[k] = v
    end
  end
  if not retry then return opts, nil end
  -- levels: bad, retry_options, run_transaction, its caller (transaction() is a tail call)
  local function bad(fmt, ...) error(("bad argument #1 to 'transaction' (" .. fmt .. ")"):format(...), 4) end
  local n, b = retry.retries, retry.backoff
  if n == nil then bad("'backoff' and 'on_retry' need 'retries'") end
  if math.type(n) ~= "integer" or n < 0 then bad("'retries' must be an integer >= 0") end
  if b ~= nil and not callable(b) and not (type(b) == "number" and b >= 0 and b < math.huge) then
    bad("'backoff' must be seconds >= 0 or a function(attempt) returning them")
  end
  if retry.on_retry ~= nil and not callable(retry.on_retry) then bad("'on_retry' must be a function") end
  return next(rest) ~= nil and rest or nil, retry
end

local function backoff_seconds(retry, attempt)
  local b = retry.backoff
  if b == nil then return default_backoff(attempt) end
  if type(b) == "number" then return b end
  local s = b(attempt)
  if type(s) ~= "number" or s ~= s or s < 0 or s == math.huge then
    error(("transaction: backoff(%d) returned %s; seconds >= 0 expected"):format(attempt, tostring(s)), 0)
  end
  return s
end

-- One run of an outermost transaction: its start, fn, COMMIT.  Returns
-- true and fn's results (packed), or false, the error and where it
-- happened: "begin", "fn" or "commit".
local function run_once(self, start, set, fn, ...)
  local ok, err = pcall(function()
    if set then self:query(set) end
    self:query(start)
  end)
  if not ok then return false, err, "begin" end
  depth[self] = 1
  local results = table.pack(pcall(fn, self, ...))
  depth[self] = 0
  if not results[1] then
    -- a lost connection's transaction is rolled back by the server; a
    -- ROLLBACK on it would only fail, and close what reconnect() reuses
    if not (self.closed or self.broken) then roll_back(self, "ROLLBACK") end
    return false, results[2], "fn"
  end
  ok, err = pcall(self.query, self, "COMMIT")
  if not ok then
    if not (self.closed or self.broken) then roll_back(self, "ROLLBACK") end
    return false, err, "commit"
  end
  return true, results
end

-- Whether the whole transaction may run again after err.  A COMMIT whose
-- connection was lost may have committed: running the work again could
-- apply it twice, so that error is raised, never retried.
local function worth_retrying(err, stage)
  if not mylua.is_error(err) then return false end
  if err.transaction_lost == true then return true end
  if not err.retryable then return false end
  if stage == "commit" and (err.code == CR_SERVER_LOST or err.code == CR_SERVER_GONE
      or err.outcome_unknown == true) then
    return false
  end
  return true
end

-- Whether the connection must be made again before the next attempt: it
-- died, or the node said it is not ready (1047: another node of the host
-- list should take the work).
local function needs_reconnect(self, err)
  if self.closed or self.broken then return true end
  if not mylua.is_error(err) then return false end
  return err.code == CR_SERVER_LOST or err.code == CR_SERVER_GONE or err.code == WSREP_NOT_READY
    or err.transaction_lost == true
end

function run_with_retries(self, start, set, retry, fn, ...)
  local attempt, reconnect = 0, false
  while true do
    local ok, res, stage
    if reconnect then
      ok, res = pcall(self.reconnect, self)
      stage = "reconnect"
      if ok then
        reconnect = false
        ok, res, stage = run_once(self, start, set, fn, ...)
      end
    else
      ok, res, stage = run_once(self, start, set, fn, ...)
    end
    if ok then return table.unpack(res, 2, res.n) end
    -- a failed reconnect is one more failed attempt: the next may find a node
    if stage ~= "reconnect" and not worth_retrying(res, stage) then error(res, 0) end
    if attempt >= retry.retries then error(res, 0) end
    reconnect = reconnect or stage == "reconnect" or needs_reconnect(self, res)
    if reconnect and not self.reconnect then error(res, 0) end
    attempt = attempt + 1
    local wait = backoff_seconds(retry, attempt)
    if retry.on_retry then retry.on_retry(res, attempt, wait) end
    if wait > 0 then mylua.sleep(wait) end
  end
end

function methods:transaction(opts, ...)
  if callable(opts) then return run_transaction(self, nil, opts, ...) end
  return run_transaction(self, opts, ...)
end

return mylua
