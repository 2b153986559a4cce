-- The lock row of mylua.cluster_lock (the lock --lock and migrations use on
-- a Galera node, where GET_LOCK is only the node's), with the table method
-- forced on the plain sandbox: one holder at a time, the holder named, the
-- row gone on release (and on __close and __gc), a heartbeat that goes on
-- while the script is busy in a long statement or in pure Lua, a row left
-- by a killed run taken over only once it is stale, a lost row noticed
-- (by the script, by the host program, which stops the run with exit 3,
-- and by a migration, which stops between statements).

local helpers = require "helpers"
local core = require "mylua.core"
local cluster_lock = require "mylua.cluster_lock"
local migrate = require "mylua.migrate"

local bin = helpers.bin()
local q = helpers.shell_quote

local n_names = 0
local function lock_name()
  n_names = n_names + 1
  return ("spec97-%d-%d"):format(math.random(1, 1 << 30), n_names)
end

local function conn_args(...)
  local p = helpers.params()
  return helpers.append({ "--host=" .. p.host, "--port=" .. p.port, "--user=" .. p.user,
    "--password=" .. p.password, "--database=" .. p.database }, ...)
end

-- The host program in the background: pid, finish() -> stdout, code, stderr.
local function start(args)
  return helpers.start(helpers.append({ bin, "--timeout", "60" }, table.unpack(args)))
end

local TABLE = { method = "table" }
local function opts(extra)
  local o = { method = "table" }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

describe("the lock row (cluster_lock, table method)", function()
  local observer

  setup(function()
    observer = helpers.connect()
  end)

  teardown(function()
    pcall(observer.query, observer, "DELETE FROM mylua_locks WHERE name LIKE 'spec97-%' "
      .. "OR name LIKE 'mylua_migrate.%'")
    observer:close()
  end)

  after_each(function()
    helpers.remove_temp_files()
  end)

  local function row(name)
    return observer:query("SELECT owner, host, pid, acquired_at, heartbeat_at FROM mylua_locks "
      .. "WHERE name = ?", name):row(1)
  end

  -- Waits (up to 10 s) until pred() is true.
  local function wait_until(what, pred)
    for _ = 1, 200 do
      if pred() then return end
      core.sleep(0.05)
    end
    error("gave up waiting: " .. what)
  end

  it("is one holder's at a time, the other told who holds it; release deletes the row", function()
    local a, b = helpers.connect(), helpers.connect()
    local name = lock_name()
    local lock, holder = cluster_lock.acquire(a, name, TABLE)
    assert.is_nil(holder)
    assert.are.equal("table", lock.method)
    local r = row(name)
    assert.are.equal(lock.owner, r.owner)
    assert.are.equal(32, #r.owner)
    assert.are.equal(core.host_name(), r.host)
    assert.are.equal(core.process_id(), r.pid)

    local none, held = cluster_lock.acquire(b, name, TABLE)
    assert.is_nil(none)
    assert.are.equal(r.owner, held.owner)
    local said = cluster_lock.describe(held)
    assert.truthy(said:find("host " .. core.host_name() .. ", pid " .. core.process_id(), 1, true), said)
    assert.truthy(said:find("last heartbeat", 1, true), said)
    -- waiting a bounded time for it, polling, still fails while it is held
    local t0 = core.monotonic()
    assert.is_nil((cluster_lock.acquire(b, name, opts{ wait = 0.6, poll = 0.1 })))
    local waited = core.monotonic() - t0
    assert.is_true(waited >= 0.55 and waited < 3, tostring(waited))

    assert.is_true(lock:release())
    assert.is_nil(row(name))
    assert.are.same({ false, "released already" }, { lock:release() })
    local again = assert(cluster_lock.acquire(b, name, TABLE))
    assert.is_true(again:release())
    a:close()
    b:close()
  end)

  it("is a table Galera can hold: InnoDB, with a primary key on the name", function()
    local db = helpers.connect()
    local lock = assert(cluster_lock.acquire(db, lock_name(), TABLE))
    local t = observer:query("SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
      .. "AND TABLE_NAME = 'mylua_locks'"):row(1, "a")
    assert.are.equal("InnoDB", t[1])
    local pk = observer:query("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
      .. "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'mylua_locks' AND CONSTRAINT_NAME = 'PRIMARY'"):row(1, "a")
    assert.are.equal("name", pk[1])
    lock:release()
    db:close()
  end)

  it("is GET_LOCK on a server that is not a Galera node, unless the table is asked for", function()
    local db = helpers.connect()
    assert.is_false(cluster_lock.is_galera(db))
    assert.are.equal("get_lock", cluster_lock.method_for(db, "auto"))
    local name = lock_name()
    local lock = assert(cluster_lock.acquire(db, name))
    assert.are.equal("get_lock", lock.method)
    assert.are.equal(db.thread_id, observer:query("SELECT IS_USED_LOCK(?)", name):row(1, "a")[1])
    assert.is_nil(row(name))
    assert.is_true(lock:release())
    db:close()
  end)

  it("rejects a bad method, name or stale timeout", function()
    local db = helpers.connect()
    assert.has_error(function() cluster_lock.acquire(db, "x", { method = "flock" }) end,
      "lock method must be 'auto', 'get_lock' or 'table' (got 'flock')")
    assert.has_error(function() cluster_lock.acquire(db, ("x"):rep(65), TABLE) end)
    assert.has_error(function() cluster_lock.acquire(db, "x", opts{ stale = 0 }) end)
    db:query("START TRANSACTION")
    assert.has_error(function() cluster_lock.acquire(db, lock_name(), TABLE) end,
      "the table lock is taken outside a transaction, with autocommit on")
    db:query("ROLLBACK")
    db:close()
  end)

  it("keeps beating while the script is in a long statement and in pure Lua", function()
    local db = helpers.connect()
    local name = lock_name()
    local lock = assert(cluster_lock.acquire(db, name, opts{ stale = 3, interval = 0.1 }))
    local before = row(name).heartbeat_at
    db:query("SELECT SLEEP(1.2)") -- the lock's own connection is busy meanwhile
    local during_sql = row(name).heartbeat_at
    assert.is_true(during_sql > before, during_sql .. " !> " .. before)
    local beats = lock.heartbeat:beats()
    assert.is_true(beats >= 5, "beats: " .. beats)
    local t0 = core.monotonic()
    local spin = 0
    while core.monotonic() - t0 < 1 do spin = spin + 1 end
    local during_lua = row(name).heartbeat_at
    assert.is_true(during_lua > during_sql, during_lua .. " !> " .. during_sql)
    assert.is_true(lock.heartbeat:beats() >= beats + 5)
    assert.is_nil(lock:lost())
    assert.is_true(lock:release())
    db:close()
  end)

  it("notices a row taken over by another run, and leaves that run's row alone", function()
    local db = helpers.connect()
    local name = lock_name()
    local lock = assert(cluster_lock.acquire(db, name, opts{ stale = 2, interval = 0.1 }))
    observer:query("UPDATE mylua_locks SET owner = 'someone-else' WHERE name = ?", name)
    wait_until("the loss", function() return lock:lost() ~= nil end)
    assert.truthy(lock:lost():find("taken over", 1, true))
    local released, why = lock:release()
    assert.is_false(released)
    assert.truthy(why:find("taken over", 1, true), why)
    assert.are.equal("someone-else", row(name).owner)
    observer:query("DELETE FROM mylua_locks WHERE name = ?", name)
    db:close()
  end)

  it("notices when its heartbeat cannot be written for longer than the stale timeout", function()
    local db = helpers.connect()
    local name = lock_name()
    local lock = assert(cluster_lock.acquire(db, name, opts{ stale = 1, interval = 0.1 }))
    local blocker = helpers.connect()
    blocker:query("START TRANSACTION")
    blocker:query("SELECT * FROM mylua_locks WHERE name = ? FOR UPDATE", name)
    local t0 = core.monotonic()
    wait_until("the loss", function() return lock:lost() ~= nil end)
    local took = core.monotonic() - t0
    blocker:query("ROLLBACK")
    assert.is_true(took >= 0.9 and took < 6, tostring(took))
    assert.truthy(lock:lost():find("could not be written", 1, true), lock:lost())
    lock:release()
    blocker:close()
    db:close()
  end)

  it("deletes the row on __close and on __gc", function()
    local db = helpers.connect()
    local name = lock_name()
    do
      local lock <close> = assert(cluster_lock.acquire(db, name, TABLE))
      assert.is_not_nil(row(name))
    end
    assert.is_nil(row(name))
    local lock = assert(cluster_lock.acquire(db, name, TABLE))
    assert.is_not_nil(row(name))
    lock = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.is_nil(row(name))
    -- a heartbeat stopped by hand is then a stopped object
    local l2 = assert(cluster_lock.acquire(db, name, TABLE))
    assert.is_true(l2.heartbeat:stop())
    assert.has_error(function() l2.heartbeat:lost() end, "attempt to use a stopped heartbeat")
    assert.matches("%(stopped%)", tostring(l2.heartbeat))
    db:close()
  end)

  describe("with --lock in the host program", function()
    it("lets one of two runs run; the other exits 3 naming the holder's host and pid", function()
      local name = lock_name()
      local flag = os.tmpname()
      os.remove(flag)
      local first = start(conn_args("--lock", name, "--lock-method=table", "-e", ([[
        print("running") io.stdout:flush()
        while not io.open(%q) do require("mylua").sleep(0.05) end]]):format(flag)))
      assert.are.equal("running", first.read_line())
      local r = row(name)
      assert.are.equal(first.pid, r.pid)
      local out, err, code = helpers.run_host(conn_args("--lock", name, "--lock-method=table", "-e",
        "print('second ran')"))
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.truthy(err:find(("mylua: lock '%s' is held by another run (host %s, pid %d, since "):format(
        name, r.host, first.pid), 1, true), err)
      assert(io.open(flag, "w")):close()
      local rest, code1, err1 = first.finish()
      os.remove(flag)
      assert.are.same({ "", 0, "" }, { rest, code1, err1 })
      assert.is_nil(row(name))
    end)

    it("takes over the row of a killed run only once its heartbeat is stale", function()
      local name = lock_name()
      local first = start(conn_args("--lock", name, "--lock-method=table", "--lock-stale=2", "-e",
        "print('running') io.stdout:flush() require('mylua').sleep(30)"))
      assert.are.equal("running", first.read_line())
      assert(os.execute("kill -KILL " .. first.pid))
      local _, code1 = first.finish()
      assert.are.equal(137, code1)
      local left = row(name)
      assert.are.equal(first.pid, left.pid)
      -- not stale yet: held
      local out, err, code = helpers.run_host(conn_args("--lock", name, "--lock-method=table",
        "--lock-stale=2", "-e", "print('too early')"))
      assert.are.same({ "", 3 }, { out, code })
      assert.truthy(err:find("pid " .. first.pid, 1, true), err)
      -- once it is
      wait_until("the row to go stale", function()
        return observer:query("SELECT TIMESTAMPDIFF(MICROSECOND, heartbeat_at, UTC_TIMESTAMP(6)) "
          .. "FROM mylua_locks WHERE name = ?", name):row(1, "a")[1] > 2.2e6
      end)
      out, err, code = helpers.run_host(conn_args("--lock", name, "--lock-method=table", "--lock-stale=2",
        "-e", ([[
        local db = require("mylua").connect()
        local r = db:query("SELECT owner, pid FROM mylua_locks WHERE name = ?", %q):row(1)
        print(r.owner ~= %q, r.pid ~= %d)]]):format(name, left.owner, first.pid)))
      assert.are.same({ "true\ttrue\n", "", 0 }, { out, err, code })
      assert.is_nil(row(name))
    end)

    it("stops the run with exit 3 when the lock is lost, even in a long statement", function()
      local name = lock_name()
      local t0 = core.monotonic()
      local out, err, code = helpers.run_host(conn_args("--lock", name, "--lock-method=table",
        "--lock-stale=1", "-e", ([[
        local db = require("mylua").connect()
        db:query("UPDATE mylua_locks SET owner = 'another' WHERE name = ?", %q)
        db:query("SELECT SLEEP(20)")
        print("not reached")]]):format(name)))
      local took = core.monotonic() - t0
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.truthy(err:find(("mylua: lock '%s' was lost: its row was taken over"):format(name), 1, true), err)
      assert.is_true(took < 10, tostring(took))
      assert.are.equal("another", row(name).owner) -- not ours: left alone
      observer:query("DELETE FROM mylua_locks WHERE name = ?", name)
    end)

    it("stops the run with exit 3 when the heartbeat cannot be written for the stale timeout", function()
      local name = lock_name()
      local t0 = core.monotonic()
      local out, err, code = helpers.run_host(conn_args("--lock", name, "--lock-method=table",
        "--lock-stale=1.5", "-e", ([[
        local mylua = require("mylua")
        local blocker = mylua.connect()
        blocker:query("START TRANSACTION")
        blocker:query("SELECT * FROM mylua_locks WHERE name = ? FOR UPDATE", %q)
        mylua.connect():query("SELECT SLEEP(20)")
        print("not reached")]]):format(name)))
      local took = core.monotonic() - t0
      assert.are.equal(3, code)
      assert.are.equal("", out)
      assert.truthy(err:find(("mylua: lock '%s' was lost: its heartbeat could not be written for "):format(name),
        1, true), err)
      assert.is_true(took < 12, tostring(took))
      -- whether its release could delete the row depends on when the
      -- blocker's connection was collected: not asserted
      observer:query("DELETE FROM mylua_locks WHERE name = ?", name)
    end)

    it("rejects a bad --lock-method or --lock-stale", function()
      helpers.assert_host_usage_error({ "--lock-method=flock" }, "--lock-method")
      helpers.assert_host_usage_error({ "--lock-stale=0" }, "--lock-stale")
    end)
  end)

  describe("in migrations (lock_method = 'table')", function()
    local dir

    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir " .. q(dir)))
      observer:query("DROP TABLE IF EXISTS spec97_history, spec97_a, spec97_b, spec97_seen")
    end)

    after_each(function()
      os.execute("rm -rf " .. q(dir))
      observer:query("DROP TABLE IF EXISTS spec97_history, spec97_a, spec97_b, spec97_seen")
      observer:query("DELETE FROM mylua_locks WHERE name LIKE 'mylua_migrate.%'")
    end)

    local function write(file, text)
      local f = assert(io.open(dir .. "/" .. file, "wb"))
      f:write(text)
      f:close()
    end

    it("holds a lock row while it runs, and deletes it after", function()
      write("20260101000000_a.sql", [[
-- migrate:up
CREATE TABLE spec97_seen AS SELECT name, pid FROM mylua_locks WHERE name LIKE 'mylua_migrate.%';
-- migrate:down
DROP TABLE spec97_seen;
]])
      local db = helpers.connect()
      local m = migrate.new(db, { dir = dir, table = "spec97_history", lock_method = "table" })
      local res = m:up()
      assert.are.equal(1, #res.ran)
      local seen = observer:query("SELECT name, pid FROM spec97_seen"):row(1)
      assert.are.equal("mylua_migrate." .. helpers.params().database .. ".spec97_history", seen.name)
      assert.are.equal(core.process_id(), seen.pid)
      assert.are.equal(0, observer:query("SELECT COUNT(*) FROM mylua_locks WHERE name LIKE "
        .. "'mylua_migrate.%'"):row(1, "a")[1])
      db:close()
    end)

    it("waits up to lock_timeout for a held row, then fails with kind 'lock' naming the holder", function()
      write("20260101000000_a.sql",
        "-- migrate:up\nCREATE TABLE spec97_a (x INT);\n-- migrate:down\nDROP TABLE spec97_a;\n")
      local holder_db, db = helpers.connect(), helpers.connect()
      local name = "mylua_migrate." .. helpers.params().database .. ".spec97_history"
      local lock = assert(cluster_lock.acquire(holder_db, name, TABLE))
      local m = migrate.new(db, { dir = dir, table = "spec97_history", lock_method = "table", lock_timeout = 0.5 })
      local t0 = core.monotonic()
      local ok, err = pcall(m.up, m)
      assert.is_false(ok)
      assert.are.equal("lock", err.kind)
      assert.truthy(err.message:find("held by another run (host " .. core.host_name(), 1, true), err.message)
      assert.is_true(core.monotonic() - t0 >= 0.45)
      assert.are.equal(0, observer:query("SELECT COUNT(*) FROM information_schema.TABLES WHERE "
        .. "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'spec97_a'"):row(1, "a")[1])
      lock:release()
      assert.are.equal(1, #m:up().ran)
      holder_db:close()
      db:close()
    end)

    it("takes --lock-method and --lock-stale on the command line (mylua migrate)", function()
      write("20260101000000_a.sql", [[
-- migrate:up
CREATE TABLE spec97_seen AS SELECT name FROM mylua_locks WHERE name LIKE 'mylua_migrate.%';
-- migrate:down
DROP TABLE spec97_seen;
]])
      local out, err, code = helpers.run_host(conn_args("migrate", "up", "--dir", dir, "--table", "spec97_history",
        "--lock-method", "table", "--lock-stale=5"))
      assert.are.equal(0, code, err)
      assert.truthy(out:find("applied 20260101000000_a", 1, true), out)
      assert.are.equal(1, observer:query("SELECT COUNT(*) FROM spec97_seen"):row(1, "a")[1])
      out, err, code = helpers.run_host(conn_args("migrate", "up", "--dir", dir, "--lock-method=flock"))
      assert.are.equal(2, code)
      assert.truthy(err:find("'--lock-method' must be auto, get_lock or table (got 'flock')", 1, true), err)
      _, err, code = helpers.run_host(conn_args("migrate", "up", "--dir", dir, "--lock-stale", "0"))
      assert.are.equal(2, code)
      assert.truthy(err:find("'--lock-stale' needs a number of seconds", 1, true), err)
      assert.has_error(function() migrate.new(observer, { lock_method = "flock" }) end)
    end)

    it("stops between statements once the lock row is lost", function()
      write("20260101000000_a.sql", [[
-- migrate:up
CREATE TABLE spec97_a (x INT);
UPDATE mylua_locks SET owner = 'another' WHERE name LIKE 'mylua_migrate.%';
DO SLEEP(0.6);
CREATE TABLE spec97_b (x INT);
-- migrate:down
DROP TABLE spec97_b;
DROP TABLE spec97_a;
]])
      local db = helpers.connect()
      local m = migrate.new(db, { dir = dir, table = "spec97_history", lock_method = "table", lock_stale = 0.6 })
      local ok, err = pcall(m.up, m)
      assert.is_false(ok)
      assert.are.equal("lock", err.kind)
      assert.truthy(tostring(err):find("was lost", 1, true), tostring(err))
      local function exists(t)
        return observer:query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
          .. "DATABASE() AND TABLE_NAME = ?", t):row(1, "a")[1] == 1
      end
      assert.is_true(exists("spec97_a"))
      assert.is_false(exists("spec97_b"))
      assert.are.equal("failed", observer:query("SELECT status FROM spec97_history"):row(1, "a")[1])
      -- the other run's row is left alone
      assert.are.equal("another", observer:query("SELECT owner FROM mylua_locks WHERE name LIKE "
        .. "'mylua_migrate.%'"):row(1, "a")[1])
      db:close()
    end)
  end)
end)
