-- mylua.migrate: schema migrations, as `mylua migrate ...` runs them and
-- as scripts call them.
--
--   local migrate = require "mylua.migrate"
--   local m = migrate.new(db, { dir = "migrations", table = "mylua_migrations",
--                               lock_timeout = 60, lock_method = "auto",
--                               log = print })
--   m:up{ to = 20260101000000, dry_run = false, out_of_order = false }
--
-- Files and their sections: mylua.migrate.files.  Which migrations run in
-- one transaction: mylua.migrate.classify.  The command line: main() in
-- mylua.migrate.cli.  README "Migrations" documents what each call returns.
local mylua = require "mylua"
local core = require "mylua.core"
local files = require "mylua.migrate.files"
local classify = require "mylua.migrate.classify"
local sha256 = require("mylua.core").sha256
local cluster_lock = require "mylua.cluster_lock"

local migrate = {}

-- Errors raised by the runner: err.kind is "lock" (another run holds the
-- lock), "refused" (the history or the files forbid it: a failed or
-- unfinished migration, a changed file, out of order), "failed" (a
-- migration failed; recorded), "usage" (a bad argument) or "error";
-- err.message the one-line text, err.cause the error underneath (a mylua
-- error object with code, statement, line) when there is one.
local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.message end
Error.__concat = function(a, b) return tostring(a) .. tostring(b) end

local function raise(kind, cause, fmt, ...)
  error(setmetatable({ kind = kind, cause = cause, message = fmt:format(...) }, Error), 0)
end

function migrate.is_error(v)
  return getmetatable(v) == Error
end

local Migrator = {}
Migrator.__index = Migrator

local DEFAULT_LOCK_TIMEOUT = 60
local LOCK_NAME_MAX = cluster_lock.NAME_MAX
local KEPT_TEXT = 4000   -- bytes of an error or a statement kept in the history

local HISTORY_DDL = [[
CREATE TABLE IF NOT EXISTS %s (
  version BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  kind VARCHAR(8) NOT NULL,
  checksum VARCHAR(64) NOT NULL,
  status VARCHAR(16) NOT NULL,
  direction VARCHAR(4) NOT NULL DEFAULT 'up',
  transactional BOOLEAN NOT NULL DEFAULT FALSE,
  applied_at DATETIME(6) NOT NULL,
  execution_ms BIGINT NULL,
  db_user VARCHAR(400) NOT NULL,
  os_user VARCHAR(255) NOT NULL,
  client_host VARCHAR(255) NOT NULL,
  error_statement INT NULL,
  error_line INT NULL,
  error_code INT NULL,
  error_message TEXT NULL,
  error_sql TEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4]]

local APPLIED = { success = true, baseline = true }

-- A name for messages: "20260101000000_create_users".
local function label(m)
  return ("%d_%s"):format(m.version, m.name)
end

local function to_version(v, what)
  local n = math.tointeger(v) or (type(v) == "string" and v:match("^%d+$") and #v <= 18
    and math.tointeger(tonumber(v, 10)))
  if not n or n < 0 then raise("usage", nil, "%s must be a version (digits), got '%s'", what, tostring(v)) end
  return n
end

local function first_line(s)
  s = tostring(s)
  return (s:gsub("%s*\r?\n%s*", " "))
end

local function command_output(cmd)
  local p = io.popen(cmd .. " 2>/dev/null", "r")
  if not p then return nil end
  local out = p:read("l")
  p:close()
  return out ~= "" and out or nil
end

local function os_user()
  return os.getenv("USER") or os.getenv("LOGNAME") or command_output("id -un") or "?"
end

local function client_host()
  local f = io.open("/proc/sys/kernel/hostname", "r")
  local name = f and f:read("l")
  if f then f:close() end
  return name or os.getenv("HOSTNAME") or command_output("uname -n") or "?"
end

-- new(db, opts): opts.dir (default "migrations"), opts.table (default
-- "mylua_migrations"), opts.lock_timeout (seconds, default 60),
-- opts.lock_method ("auto", the default: a lock row on a Galera node,
-- GET_LOCK elsewhere; "get_lock" or "table" force one), opts.lock_stale
-- (seconds after which a lock row left by a run that died is taken over,
-- default 30), opts.log (a function given one line per migration run,
-- default none).
function migrate.new(db, opts)
  opts = opts or {}
  if db == nil then error("bad argument #1 to 'new' (connection expected, got nil)", 2) end
  local tbl = opts.table or "mylua_migrations"
  if type(tbl) ~= "string" or tbl == "" or #tbl > 64 then
    raise("usage", nil, "the history table needs a name of 1 to 64 characters")
  end
  local timeout = opts.lock_timeout or DEFAULT_LOCK_TIMEOUT
  if type(timeout) ~= "number" or timeout ~= timeout or timeout < 0 then
    raise("usage", nil, "the lock timeout must be a number of seconds, 0 or more")
  end
  local method = opts.lock_method or "auto"
  if method ~= "auto" and method ~= "get_lock" and method ~= "table" then
    raise("usage", nil, "the lock method must be auto, get_lock or table (got '%s')", tostring(method))
  end
  local stale = opts.lock_stale or cluster_lock.DEFAULT_STALE
  if type(stale) ~= "number" or not (stale >= 0.1 and stale <= 86400) then
    raise("usage", nil, "the lock's stale timeout must be 0.1 to 86400 seconds")
  end
  return setmetatable({
    db = db, dir = opts.dir or "migrations", table = tbl, lock_timeout = timeout,
    lock_method = method, lock_stale = stale,
    log = opts.log or function() end,
    quoted_table = db:quote_name(tbl),
  }, Migrator)
end

function Migrator:_database()
  local name = self.db:query("SELECT DATABASE()"):row(1, "a")[1]
  if name == mylua.null then
    raise("error", nil, "no database selected: name one (-D, --database or the connection's database)")
  end
  return name
end

function Migrator:_table_exists()
  return self.db:query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
    .. "AND TABLE_NAME = ?", self.table):row(1, "a")[1] > 0
end

function Migrator:_ensure_table()
  self.db:query(HISTORY_DDL:format(self.quoted_table))
end

-- The history rows by version (empty when the table does not exist yet).
function Migrator:_history()
  local rows = {}
  if not self:_table_exists() then return rows end
  local res = self.db:query("SELECT version, name, kind, checksum, status, direction, transactional, "
    .. "applied_at, execution_ms, db_user, os_user, client_host, error_statement, error_line, "
    .. "error_code, error_message, error_sql FROM " .. self.quoted_table .. " ORDER BY version")
  for row in res:rows() do
    for k, v in pairs(row) do
      if v == mylua.null then row[k] = nil end
    end
    row.transactional = row.transactional == 1
    rows[row.version] = row
  end
  return rows
end

-- The files of the directory, each loaded (checksum, sections).
function Migrator:_files()
  local list = files.list(self.dir)
  for _, f in ipairs(list) do files.load(f) end
  return list
end

-- Every migration known from the files and the history, sorted by version,
-- each with its state (see status()).
function Migrator:_entries()
  local list, history = self:_files(), self:_history()
  local newest = nil
  for v, row in pairs(history) do
    if APPLIED[row.status] and (not newest or v > newest) then newest = v end
  end
  local entries, seen = {}, {}
  for _, f in ipairs(list) do
    local row = history[f.version]
    local e = { version = f.version, name = f.name, file = f.file, kind = f.kind, checksum = f.checksum,
                history = row, source = f }
    if not row then
      e.state = (newest and f.version < newest) and "out_of_order" or "pending"
    elseif APPLIED[row.status] then
      if row.checksum ~= f.checksum then e.state = "changed"
      else e.state = row.status == "baseline" and "baseline" or "applied" end
    else
      e.state = row.status -- running, failed, rolled_back
    end
    seen[f.version] = true
    entries[#entries + 1] = e
  end
  for v, row in pairs(history) do
    if not seen[v] then
      local e = { version = v, name = row.name, kind = row.kind, history = row }
      if row.status == "baseline" and row.checksum == "" then e.state = "baseline"
      elseif APPLIED[row.status] then e.state = "missing"
      else e.state = row.status end
      entries[#entries + 1] = e
    end
  end
  table.sort(entries, function(a, b) return a.version < b.version end)
  return entries
end

-- Runs fn holding the lock of this database's history table, so two runs
-- never migrate at once; waits up to lock_timeout.  The lock is
-- mylua.cluster_lock's: GET_LOCK, or on a Galera node (where GET_LOCK is
-- only the node's) a row of mylua_locks kept fresh by a heartbeat; a lost
-- row stops the run between statements (_check_lock).
function Migrator:_locked(fn, ...)
  local name = "mylua_migrate." .. self:_database() .. "." .. self.table
  if #name > LOCK_NAME_MAX then name = "mylua_migrate." .. sha256(name):sub(1, 40) end
  local lock, holder = cluster_lock.acquire(self.db, name, { method = self.lock_method,
    wait = self.lock_timeout, stale = self.lock_stale })
  if not lock then
    local who = cluster_lock.describe(holder)
    raise("lock", nil, "lock '%s' is held by another run%s; gave up after %g s", name,
      who and (" (%s)"):format(who) or "", self.lock_timeout)
  end
  self.lock = lock
  local results = table.pack(pcall(fn, self, ...))
  self.lock = nil
  lock:release()
  if not results[1] then error(results[2], 0) end
  return table.unpack(results, 2, results.n)
end

-- Raises a "lock" error when the lock row was lost (its heartbeat could
-- not be written for longer than the stale timeout, or another run took
-- it over): checked before each migration and after each statement.
function Migrator:_check_lock()
  local why = self.lock and self.lock:lost()
  if why then raise("lock", nil, "lock '%s' was lost: %s; stopped", self.lock.name, why) end
end

local function is_lock_loss(err)
  return migrate.is_error(err) and err.kind == "lock"
end

-- The statements of a script section, without running them: { {sql =,
-- line =}, ... }, split as db:execute_script splits them (the same
-- splitter, reading backslashes as the connection's server does now).
local function split(db, text, name)
  local splitter = core.sql_splitter(text)
  local out = {}
  while true do
    local first, last, line = splitter:next(db)
    if first == nil then return out end
    if first == false then raise("error", nil, "%s: %s", name, last) end
    out[#out + 1] = { sql = text:sub(first, last), line = line }
  end
end

function Migrator:_who()
  if not self.who then
    self.who = { db_user = self.db:query("SELECT USER()"):row(1, "a")[1], os_user = os_user(),
                 client_host = client_host() }
  end
  return self.who
end

-- What a migration would run in `direction`: the record up() and down()
-- return (statements and transactional set, not yet run).
function Migrator:_plan(f, direction)
  local rec = { version = f.version, name = f.name, file = f.file, kind = f.kind, direction = direction }
  local body = f[direction]
  if f.kind == "sql" then
    rec.statements = split(self.db, body, f.file)
    local texts = {}
    for i, s in ipairs(rec.statements) do texts[i] = s.sql end
    rec.transactional, rec.reason = classify.all(texts)
  else
    rec.transactional = f.transaction
    if not f.transaction then rec.reason = "a Lua migration without transaction = true" end
  end
  return rec
end

local function cut(s, n)
  if s == nil then return nil end
  s = tostring(s)
  return #s > n and s:sub(1, n) or s
end

-- The error fields of a history row, from a migration's error.
local function error_fields(err, rec)
  local f = { message = cut(first_line(err), KEPT_TEXT) }
  if type(err) == "table" or type(err) == "userdata" then
    f.statement = math.tointeger(err.statement)
    f.line = math.tointeger(err.line)
    f.code = math.tointeger(err.code)
  end
  if f.statement and rec.statements and rec.statements[f.statement] then
    f.sql = cut(rec.statements[f.statement].sql, KEPT_TEXT)
  end
  return f
end

function Migrator:_write_row(f, status, direction, rec, ms, e)
  local who = self:_who()
  e = e or {}
  self.db:query("REPLACE INTO " .. self.quoted_table .. " (version, name, kind, checksum, status, direction, "
    .. "transactional, applied_at, execution_ms, db_user, os_user, client_host, error_statement, error_line, "
    .. "error_code, error_message, error_sql) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), ?, ?, ?, ?, ?, ?, "
    .. "?, ?, ?)", f.version, f.name, f.kind, f.checksum or "", status, direction,
    rec and rec.transactional or false, ms, who.db_user, who.os_user, who.client_host,
    e.statement, e.line, e.code, e.message, e.sql)
end

local function run_body(self, f, direction)
  local body = f[direction]
  if f.kind == "sql" then
    self.db:execute_script(body, { name = f.file, progress = function() self:_check_lock() end })
  else
    body(self.db)
    self:_check_lock()
  end
end

local function elapsed_ms(t0)
  return math.floor((mylua.monotonic() - t0) * 1000 + 0.5)
end

-- Runs one migration in `direction`, recording it; returns its record
-- with seconds set.  Raises a "failed" error when it fails.
function Migrator:_run(f, direction)
  self:_check_lock()
  local rec = self:_plan(f, direction)
  local db, t0 = self.db, mylua.monotonic()
  local what = direction == "up" and "apply" or "undo"
  if rec.transactional then
    local ok, err = pcall(db.transaction, db, function()
      run_body(self, f, direction)
      if direction == "up" then
        self:_write_row(f, "success", "up", rec, elapsed_ms(t0))
      else
        db:query("DELETE FROM " .. self.quoted_table .. " WHERE version = ?", f.version)
      end
    end)
    if not ok then
      local note = ""
      if direction == "up" and not db.closed and not db.broken then
        local wrote, werr = pcall(self._write_row, self, f, "rolled_back", "up", rec, elapsed_ms(t0),
          error_fields(err, rec))
        if not wrote then note = "; recording the failure failed too: " .. first_line(werr) end
      end
      raise(is_lock_loss(err) and "lock" or "failed", err,
        "could not %s %s (%s): %s; rolled back, nothing changed%s", what, label(f), f.file, first_line(err), note)
    end
  else
    if direction == "up" then
      self:_write_row(f, "running", "up", rec)
    else
      db:query("UPDATE " .. self.quoted_table .. " SET status = 'running', direction = 'down' WHERE version = ?",
        f.version)
    end
    local ok, err = pcall(run_body, self, f, direction)
    if not ok then
      local e, note = error_fields(err, rec), ""
      local wrote, werr = pcall(db.query, db, "UPDATE " .. self.quoted_table .. " SET status = 'failed', "
        .. "execution_ms = ?, error_statement = ?, error_line = ?, error_code = ?, error_message = ?, "
        .. "error_sql = ? WHERE version = ?", elapsed_ms(t0), e.statement, e.line, e.code, e.message, e.sql,
        f.version)
      if not wrote then note = "; recording the failure failed too: " .. first_line(werr) end
      raise(is_lock_loss(err) and "lock" or "failed", err,
        "could not %s %s (%s): %s; it is recorded as failed: make the schema match the "
        .. "migration not being applied, then run 'mylua migrate repair'%s", what, label(f), f.file,
        first_line(err), note)
    end
    if direction == "up" then
      db:query("UPDATE " .. self.quoted_table .. " SET status = 'success', execution_ms = ?, "
        .. "applied_at = UTC_TIMESTAMP(6) WHERE version = ?", elapsed_ms(t0), f.version)
    else
      db:query("DELETE FROM " .. self.quoted_table .. " WHERE version = ?", f.version)
    end
  end
  rec.seconds = mylua.monotonic() - t0
  self.log(("%s %s (%.3f s%s)"):format(direction == "up" and "applied" or "undid", label(f), rec.seconds,
    rec.transactional and ", in one transaction" or ""))
  return rec
end

-- status(): every migration, sorted by version: { version =, name =,
-- file = (nil when missing), kind = "sql"|"lua", checksum = (the file's),
-- state =, history = (its history row or nil) }.  state is one of
-- "applied", "baseline", "pending", "out_of_order" (pending, older than
-- the newest in the history), "changed" (applied, file changed since),
-- "missing" (applied, file gone), "running" (started by a run that did not
-- finish), "failed", "rolled_back" (failed in a transaction, nothing left).
function Migrator:status()
  local entries = self:_entries()
  for _, e in ipairs(entries) do e.source = nil end
  return entries
end

local PROBLEMS = {
  changed = "was applied, and its file has changed since",
  missing = "was applied, and its file is gone",
  out_of_order = "is pending and older than the newest applied migration",
  running = "was started by a run that did not finish",
  failed = "failed",
  rolled_back = "failed and was rolled back",
}

-- verify(): { ok = boolean, problems = { {version =, name =, state =,
-- message =}, ... }, entries = status() }.
function Migrator:verify()
  local entries = self:status()
  local problems = {}
  for _, e in ipairs(entries) do
    if PROBLEMS[e.state] then
      local msg = ("%s %s"):format(label(e), PROBLEMS[e.state])
      if e.history and e.history.error_message and e.state ~= "running" then
        msg = msg .. ": " .. e.history.error_message
      end
      problems[#problems + 1] = { version = e.version, name = e.name, state = e.state, message = msg }
    end
  end
  return { ok = #problems == 0, problems = problems, entries = entries }
end

-- Raises when an unfinished or failed migration, or a changed file, is in
-- the history.
local function check_history(entries)
  for _, e in ipairs(entries) do
    if e.state == "running" or e.state == "failed" then
      local h = e.history
      raise("refused", nil, "%s %s (%s%s); make the schema match the migration not being applied, then "
        .. "run 'mylua migrate repair'", label(e), e.state == "running"
          and "was left unfinished by a run that ended" or "failed",
        h.direction == "down" and "while being undone" or "while being applied",
        h.error_message and (": " .. h.error_message) or "")
    elseif e.state == "changed" then
      raise("refused", nil, "%s was applied, and %s has changed since (checksum %s, applied %s); restore the "
        .. "file, or accept it with 'mylua migrate repair --checksums'", label(e), e.file, e.checksum:sub(1, 12),
        e.history.checksum:sub(1, 12))
    end
  end
end

function Migrator:_up(opts)
  local to = opts.to ~= nil and to_version(opts.to, "to") or nil
  local entries = self:_entries()
  check_history(entries)
  local todo = {}
  for _, e in ipairs(entries) do
    if e.state == "out_of_order" and not opts.out_of_order and (not to or e.version <= to)
        and (not opts.only or e.version == opts.only) then
      raise("refused", nil, "%s is pending and older than the newest applied migration; apply it with "
        .. "--out-of-order (out_of_order = true)", label(e))
    end
    if (e.state == "pending" or e.state == "out_of_order" or e.state == "rolled_back")
        and (not to or e.version <= to) and (not opts.only or e.version == opts.only) then
      todo[#todo + 1] = e.source
    end
  end
  local ran = {}
  for _, f in ipairs(todo) do
    ran[#ran + 1] = opts.dry_run and self:_plan(f, "up") or self:_run(f, "up")
  end
  return ran
end

function Migrator:_down(opts)
  local to = opts.to ~= nil and to_version(opts.to, "to") or nil
  local entries = self:_entries()
  check_history(entries)
  local todo = {}
  for i = #entries, 1, -1 do
    local e = entries[i]
    if e.history and APPLIED[e.history.status] and (not to or e.version > to) then
      if e.state == "missing" then raise("refused", nil, "cannot undo %s: its file is gone", label(e)) end
      if e.state == "baseline" and not e.file then
        raise("refused", nil, "cannot undo the baseline at %d: no file has that version", e.version)
      end
      if not e.source.down then raise("refused", nil, "cannot undo %s: %s has no down section", label(e), e.file) end
      todo[#todo + 1] = e.source
      if not to then break end
    end
  end
  local ran = {}
  for _, f in ipairs(todo) do
    ran[#ran + 1] = opts.dry_run and self:_plan(f, "down") or self:_run(f, "down")
  end
  return ran
end

-- Runs a changing command: under the lock, the history table made first;
-- for a dry run without either, touching nothing.
function Migrator:_changing(opts, fn)
  if opts.dry_run then return fn(self, opts) end
  return self:_locked(function()
    self:_ensure_table()
    return fn(self, opts)
  end)
end

-- up{ to =, dry_run =, out_of_order = }: applies the pending migrations in
-- order (up to version `to`).  Returns { ran = { record, ... }, dry_run =
-- boolean }; a record is { version =, name =, file =, kind =, direction =
-- "up", transactional = boolean, reason = (why not, or nil), statements =
-- { {sql =, line =}, ... } (SQL files), seconds = (nil in a dry run) }.
function Migrator:up(opts)
  opts = opts or {}
  return { ran = self:_changing(opts, self._up), dry_run = opts.dry_run == true }
end

-- down{ to =, dry_run = }: undoes the newest applied migration, or with
-- `to` every applied one above version `to`, newest first.  Returns as up.
function Migrator:down(opts)
  opts = opts or {}
  return { ran = self:_changing(opts, self._down), dry_run = opts.dry_run == true }
end

-- redo{ dry_run = }: down, then up again, of the newest applied migration.
-- Returns as up (ran: the down record, then the up record).
function Migrator:redo(opts)
  opts = opts or {}
  local ran = self:_changing(opts, function()
    local down = self:_down{ dry_run = opts.dry_run }
    if #down == 0 then raise("refused", nil, "nothing to redo: no migration is applied") end
    if opts.dry_run then
      for _, e in ipairs(self:_entries()) do
        if e.version == down[1].version then return { down[1], self:_plan(e.source, "up") } end
      end
    end
    local up = self:_up{ only = down[1].version }
    return { down[1], up[1] }
  end)
  return { ran = ran, dry_run = opts.dry_run == true }
end

-- baseline(version): records every migration file up to `version` as
-- applied (status "baseline") without running it, and `version` itself
-- when no file has it; only on an empty history.  Returns { marked = {
-- {version =, name =}, ... } }.
function Migrator:baseline(version)
  version = to_version(version, "baseline")
  return self:_locked(function()
    self:_ensure_table()
    local n = self.db:query("SELECT COUNT(*) FROM " .. self.quoted_table):row(1, "a")[1]
    if n > 0 then
      raise("refused", nil, "baseline needs an empty history, and %s has %d row%s", self.table, n,
        n == 1 and "" or "s")
    end
    local marked, exact = {}, false
    for _, f in ipairs(self:_files()) do
      if f.version <= version then
        self:_write_row(f, "baseline", "up")
        marked[#marked + 1] = { version = f.version, name = f.name }
        exact = exact or f.version == version
      end
    end
    if not exact then
      local marker = { version = version, name = "<< baseline >>", kind = "none", checksum = "" }
      self:_write_row(marker, "baseline", "up")
      marked[#marked + 1] = { version = version, name = marker.name }
    end
    return { marked = marked }
  end)
end

-- repair{ checksums = }: removes the rows of migrations that failed or did
-- not finish (after the schema was fixed by hand, they count as not
-- applied); with checksums = true also records the current checksum of
-- each applied migration whose file changed.  Returns { removed = {
-- {version =, name =, status =}, ... }, rechecked = { {version =, name =,
-- old =, new =}, ... } }.
function Migrator:repair(opts)
  opts = opts or {}
  return self:_locked(function()
    self:_ensure_table()
    local removed, rechecked = {}, {}
    local entries = self:_entries()
    for _, e in ipairs(entries) do
      local h = e.history
      if h and not APPLIED[h.status] then
        self.db:query("DELETE FROM " .. self.quoted_table .. " WHERE version = ?", e.version)
        removed[#removed + 1] = { version = e.version, name = e.name, status = h.status }
      elseif e.state == "changed" and opts.checksums then
        self.db:query("UPDATE " .. self.quoted_table .. " SET checksum = ? WHERE version = ?", e.checksum,
          e.version)
        rechecked[#rechecked + 1] = { version = e.version, name = e.name, old = h.checksum, new = e.checksum }
      end
    end
    return { removed = removed, rechecked = rechecked }
  end)
end

-- new_file(dir, name [, kind]): writes <UTC yyyymmddHHMMSS>_<name>.sql
-- (kind "lua": .lua) with empty up and down parts; returns its path.  A
-- version taken already (two in the same second) is moved up by one.
function migrate.new_file(dir, name, kind)
  kind = kind or "sql"
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    raise("usage", nil, "a migration's name is letters, digits, '_' and '-' (got '%s')", tostring(name))
  end
  if kind ~= "sql" and kind ~= "lua" then raise("usage", nil, "a migration is .sql or .lua") end
  local taken = {}
  for _, f in ipairs(files.list(dir)) do taken[f.version] = true end
  local version = math.tointeger(tonumber(os.date("!%Y%m%d%H%M%S")))
  while taken[version] do version = version + 1 end
  local path = ("%s/%d_%s.%s"):format(dir, version, name, kind)
  local f, err = io.open(path, "wb")
  if not f then raise("error", nil, "cannot write %s: %s", path, err) end
  f:write(kind == "sql" and files.TEMPLATE or files.LUA_TEMPLATE)
  f:close()
  return path
end

-- The command line: `mylua migrate ...` calls main(args) (cli.lua).
function migrate.main(args, db)
  return require("mylua.migrate.cli").main(migrate, args, db)
end

return migrate
