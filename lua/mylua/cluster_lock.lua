-- mylua.cluster_lock: a named lock that holds across a Galera cluster.
--
-- MariaDB's GET_LOCK is local to the server that grants it: on a Galera
-- cluster each node grants the same name to a different client.  There
-- the lock is a row in a table (InnoDB, with a primary key, as Galera
-- needs), which every node agrees on:
--
--   taking it   an INSERT of the row; only one client wins it cluster-wide
--               (a loser gets a duplicate key, or 1213 when Galera's
--               certification refused its write: both mean "held");
--   keeping it  a heartbeat thread of its own, with its own connection
--               (core.heartbeat), refreshes heartbeat_at while the job
--               runs, whatever the script does meanwhile;
--   a crash     leaves the row; once its heartbeat is older than the
--               stale timeout another run takes it over, with an UPDATE
--               guarded by the old owner and the age, so two takers
--               cannot both win;
--   releasing   deletes the row, guarded by the owner.
--
--   local cluster_lock = require "mylua.cluster_lock"
--   local lock <close>, holder = cluster_lock.acquire(db, "nightly",
--     { method = "auto", wait = 0, stale = 30 })
--   if not lock then error("held by " .. (cluster_lock.describe(holder) or "another run")) end
--   ... if lock:lost() then stop end ...
--   lock:release()
--
-- method: "auto" (the default) is the table on a Galera node (@@wsrep_on
-- = 1, asked once, when the lock is taken) and GET_LOCK elsewhere;
-- "table" and "get_lock" force one.  Times come from the server's
-- UTC_TIMESTAMP(6): the nodes' clocks must agree within the stale timeout.
local mylua = require "mylua"
local core = require "mylua.core"

local cluster_lock = {}

cluster_lock.DEFAULT_TABLE = "mylua_locks"
cluster_lock.DEFAULT_STALE = 30
cluster_lock.NAME_MAX = 64 -- GET_LOCK's limit, kept for both methods
local METHODS = { auto = true, get_lock = true, table = true }

local LOCKS_DDL = [[
CREATE TABLE IF NOT EXISTS %s (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  owner CHAR(32) NOT NULL,
  host VARCHAR(255) NOT NULL,
  pid BIGINT NOT NULL,
  acquired_at DATETIME(6) NOT NULL,
  heartbeat_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4]]

local SERVER_STATUS_IN_TRANS, SERVER_STATUS_AUTOCOMMIT = 1, 2
local ER_DUP_ENTRY, ER_LOCK_DEADLOCK, ER_UNKNOWN_SYSTEM_VARIABLE = 1062, 1213, 1193

-- Raises at the caller of acquire (usage <- check_opts <- acquire).
local function usage(fmt, ...)
  error(fmt:format(...), 4)
end

-- A text as a literal that reads the same whatever the session's
-- sql_mode (the heartbeat's connection has the server's default).
local function literal(s)
  return ("CONVERT(X'%s' USING utf8mb4)"):format((s:gsub(".", function(c)
    return ("%02X"):format(c:byte())
  end)))
end

-- 32 random hex digits naming this holder.
local function new_token()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(16)
  if f then f:close() end
  if not bytes or #bytes ~= 16 then
    bytes = core.sha256(("%s %s %.6f %s"):format(core.host_name(), core.process_id(), core.now(),
      tostring({}))):sub(1, 16)
  end
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end)):sub(1, 32)
end

-- Whether db's server is a Galera node with replication on.
function cluster_lock.is_galera(db)
  local ok, res = pcall(db.query, db, "SELECT @@wsrep_on")
  if not ok then
    if mylua.is_error(res) and res.code == ER_UNKNOWN_SYSTEM_VARIABLE then return false end
    error(res, 0)
  end
  local v = res:row(1, "a")[1]
  return v == 1 or v == "1" or v == "ON"
end

-- The method "auto" stands for on db's server.
function cluster_lock.method_for(db, method)
  method = method or "auto"
  if method ~= "auto" then return method end
  return cluster_lock.is_galera(db) and "table" or "get_lock"
end

-- "host H, pid P, since T UTC, last heartbeat S s ago", "connection N",
-- or nil when nothing is known of the holder.
function cluster_lock.describe(holder)
  if type(holder) ~= "table" then return nil end
  if holder.connection then return ("connection %s"):format(tostring(holder.connection)) end
  if holder.host then
    return ("host %s, pid %s, since %s UTC, last heartbeat %.1f s ago"):format(holder.host,
      tostring(holder.pid), tostring(holder.acquired_at), (holder.age or 0))
  end
  return nil
end

local Lock = {}
Lock.__index = Lock

-- lock:lost(): nil while held; else why the lock was lost (the table
-- method's heartbeat could not be written for longer than the stale
-- timeout, or another run took the row over).  A GET_LOCK lock is held
-- by its session: this is nil for it.
function Lock:lost()
  if self.heartbeat and not self.released then return self.heartbeat:lost() end
  return nil
end

-- lock:release(): true; or false and why when the lock turned out lost
-- (another run may have held it meanwhile).  Idempotent: false after the
-- first.
function Lock:release()
  if self.released then return false, "released already" end
  self.released = true
  if self.heartbeat then return self.heartbeat:stop() end
  local db = self.db
  if db.closed or db.broken then return false, "its connection is closed" end
  local ok, r = pcall(function()
    return db:query("SELECT RELEASE_LOCK(?)", self.name):row(1, "a")[1]
  end)
  if not ok then return false, "its connection failed: " .. tostring(r) end
  if r ~= 1 then return false, "the server no longer had it" end
  return true
end

-- __close releases, silently (a raising __close would replace the error
-- being unwound).  __gc: the heartbeat's own __gc stops it and deletes
-- the row; a GET_LOCK lock ends with its session.
Lock.__close = function(self)
  if not self.released then pcall(self.release, self) end
end

Lock.__tostring = function(self)
  return ("mylua.cluster_lock '%s' (%s%s)"):format(self.name, self.method,
    self.released and ", released" or "")
end

local function check_opts(name, opts)
  if type(name) ~= "string" or name == "" or #name > cluster_lock.NAME_MAX then
    usage("a lock needs a name of 1 to %d bytes", cluster_lock.NAME_MAX)
  end
  local method = opts.method or "auto"
  if not METHODS[method] then
    usage("lock method must be 'auto', 'get_lock' or 'table' (got '%s')", tostring(method))
  end
  local stale = opts.stale or cluster_lock.DEFAULT_STALE
  if type(stale) ~= "number" or not (stale >= 0.1 and stale <= 86400) then
    usage("the stale timeout must be 0.1 to 86400 seconds")
  end
  local interval = opts.interval or stale / 3
  if type(interval) ~= "number" or not (interval >= 0.01 and interval <= stale) then
    usage("the heartbeat interval must be 0.01 seconds up to the stale timeout")
  end
  local wait = opts.wait or 0
  if type(wait) ~= "number" or wait ~= wait or wait < 0 then
    usage("the wait must be a number of seconds, 0 or more")
  end
  local tbl = opts.table or cluster_lock.DEFAULT_TABLE
  if type(tbl) ~= "string" or tbl == "" or #tbl > 64 then
    usage("the lock table needs a name of 1 to 64 characters")
  end
  local poll = opts.poll or 0.5
  if type(poll) ~= "number" or not (poll > 0) then
    usage("the poll interval must be a positive number of seconds")
  end
  return method, stale, interval, wait, tbl, poll
end

-- GET_LOCK, waiting up to `wait` seconds on the server.
local function acquire_get_lock(db, name, wait)
  local got = db:query("SELECT GET_LOCK(?, ?)", name, wait):row(1, "a")[1]
  if got == 1 then return setmetatable({ db = db, name = name, method = "get_lock" }, Lock) end
  local holder = db:query("SELECT IS_USED_LOCK(?)", name):row(1, "a")[1]
  if got ~= 0 and got ~= mylua.null then error(("GET_LOCK('%s') failed"):format(name), 0) end
  return nil, { connection = holder ~= mylua.null and holder or nil }
end

local function is_conflict(err)
  return mylua.is_error(err) and (err.code == ER_DUP_ENTRY or err.code == ER_LOCK_DEADLOCK)
end

-- One attempt at the row: true (taken, or taken over), or false and the
-- holder's row as read (nil when it was gone by then).
local function try_row(db, t, name, me, stale)
  local ok, err = pcall(db.query, db, "INSERT INTO " .. t .. " (name, owner, host, pid, acquired_at, "
    .. "heartbeat_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))", name, me.owner, me.host,
    me.pid)
  if ok then return true end
  if not is_conflict(err) then error(err, 0) end
  local row = db:query("SELECT owner, host, pid, acquired_at, heartbeat_at, "
    .. "TIMESTAMPDIFF(MICROSECOND, heartbeat_at, UTC_TIMESTAMP(6)) AS age_us FROM " .. t
    .. " WHERE name = ?", name):row(1)
  if not row then return false, nil end
  row.age = row.age_us / 1e6
  if row.age > stale then
    -- taken over only if it is still that owner's and still stale: a
    -- second taker, or the old holder beating again, makes this change
    -- nothing (or, on Galera, fail certification)
    local ok2, res = pcall(db.query, db, "UPDATE " .. t .. " SET owner = ?, host = ?, pid = ?, "
      .. "acquired_at = UTC_TIMESTAMP(6), heartbeat_at = UTC_TIMESTAMP(6) WHERE name = ? AND owner = ? "
      .. "AND heartbeat_at < UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND", me.owner, me.host, me.pid, name,
      row.owner, math.floor(stale * 1e6))
    if ok2 and res.affected_rows == 1 then return true, row end
    if not ok2 and not is_conflict(res) then error(res, 0) end
  end
  return false, row
end

local function acquire_table(db, name, tbl, stale, interval, wait, poll)
  local status = db.status
  if status & SERVER_STATUS_IN_TRANS ~= 0 or status & SERVER_STATUS_AUTOCOMMIT == 0 then
    error("the table lock is taken outside a transaction, with autocommit on", 3)
  end
  local dbname = db:query("SELECT DATABASE()"):row(1, "a")[1]
  if dbname == mylua.null then
    error("the table lock needs a database: name one (-D, --database or the connection's)", 3)
  end
  local t = db:quote_name(dbname) .. "." .. db:quote_name(tbl)
  -- made only when missing: on Galera any DDL, even one that changes
  -- nothing, is run in total order across the cluster
  if db:query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
      dbname, tbl):row(1, "a")[1] == 0 then
    db:query(LOCKS_DDL:format(t))
  end
  local me = { owner = new_token(), host = core.host_name(), pid = core.process_id() }
  local deadline = core.monotonic() + wait
  local took_over
  while true do
    local got, row = try_row(db, t, name, me, stale)
    if got then took_over = row break end
    local left = deadline - core.monotonic()
    if left <= 0 then return nil, row end
    core.sleep(math.min(poll, left))
  end
  local where = " WHERE name = " .. literal(name) .. " AND owner = " .. literal(me.owner)
  local ok, hb = pcall(core.heartbeat, db, {
    beat = "UPDATE " .. t .. " SET heartbeat_at = UTC_TIMESTAMP(6)" .. where,
    release = "DELETE FROM " .. t .. where,
    interval = interval, stale = stale,
  })
  if not ok then
    pcall(db.query, db, "DELETE FROM " .. t .. where)
    error(hb, 0)
  end
  return setmetatable({ db = db, name = name, method = "table", heartbeat = hb, owner = me.owner,
                        table = t, took_over = took_over }, Lock)
end

-- acquire(db, name [, opts]): the lock, or nil and its holder (a table
-- for describe(): host, pid, acquired_at, age, owner; or connection).
-- opts: method ("auto"), table ("mylua_locks", in db's database, made
-- when missing), stale (seconds, 30), interval (seconds between
-- heartbeats, stale / 3), wait (seconds to wait for a held lock, 0),
-- poll (seconds between attempts while waiting, 0.5).  The table method
-- takes the lock on db (outside a transaction) and keeps it with a
-- connection of its own, made with db's login options.
function cluster_lock.acquire(db, name, opts)
  opts = opts or {}
  local method, stale, interval, wait, tbl, poll = check_opts(name, opts)
  method = cluster_lock.method_for(db, method)
  if method == "get_lock" then return acquire_get_lock(db, name, wait) end
  return acquire_table(db, name, tbl, stale, interval, wait, poll)
end

return cluster_lock
