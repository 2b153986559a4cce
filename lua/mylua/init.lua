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
-- failed work; either way fn's error is what is raised.
local function roll_back(self, sql)
  if not pcall(self.query, self, sql) then pcall(self.close, self) end
end

local function run_transaction(self, opts, fn, ...)
  local start, set = transaction_sql(opts, "transaction")
  if not callable(fn) then
    error(("bad argument #%d to 'transaction' (function expected, got %s)"):format(
      opts == nil and 1 or 2, type(fn)), 2)
  end
  local level = depth[self] or 0
  if level == 0 and self.status & IN_TRANS == 0 then
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

function methods:transaction(opts, ...)
  if callable(opts) then return run_transaction(self, nil, opts, ...) end
  return run_transaction(self, opts, ...)
end

return mylua
