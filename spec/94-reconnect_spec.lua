-- Reconnecting: db:reconnect(), and reconnect = true, which opens a
-- connection found lost between statements again before the next one
-- (on_reconnect told), never inside a transaction (transaction_lost),
-- never re-running a statement whose outcome is unknown
-- (outcome_unknown).  Sessions are ended from another connection (KILL)
-- or by the server's wait_timeout.

local mylua = require "mylua"
local helpers = require "helpers"

local P = helpers.params()
local q = helpers.shell_quote
local OTHER_DB = "mylua_test_reconnect"

local admin

-- Ends the session `id` from the admin connection and waits until the
-- server has let it go (its socket closed).
local function kill(id)
  admin:query("KILL " .. math.tointeger(id))
  for _ = 1, 100 do
    local n = admin:query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", id)
      :row(1, "a")[1]
    if n == 0 then break end
    mylua.sleep(0.02)
  end
  mylua.sleep(0.05)
end

-- Ends the session `id` after `delay` seconds, from another process.
local function kill_later(id, delay)
  local code = ("require('mylua').connect(%s):query('KILL %d')")
    :format(helpers.options_source(P), math.tointeger(id))
  assert(os.execute(("(sleep %s; %s --no-defaults -e %s) >/dev/null 2>&1 &")
    :format(delay, q(helpers.bin()), q(code))))
end

local function one(db, sql, ...)
  return db:query(sql, ...):row(1, "a")[1]
end

setup(function()
  admin = helpers.connect()
  admin:query("CREATE DATABASE IF NOT EXISTS " .. OTHER_DB)
end)

teardown(function()
  admin:query("DROP DATABASE IF EXISTS " .. OTHER_DB)
  admin:close()
end)

describe("db:reconnect()", function()
  it("opens a new session on the same object: init_command run again, the database selected again", function()
    local db = helpers.connect{ init_command = "SET @from_init = 'yes'" }
    local id = db.thread_id
    db:select_db(OTHER_DB)
    db:query("SET @mine = 1")
    assert.is_true(db:reconnect())
    assert.is_not.equal(id, db.thread_id)
    assert.equal(OTHER_DB, one(db, "SELECT DATABASE()"))
    assert.equal("yes", one(db, "SELECT @from_init"))
    assert.equal(mylua.null, one(db, "SELECT @mine")) -- session state is lost
    db:close()
  end)

  it("selects the database of a USE statement, and none after the session's database was dropped", function()
    local db = helpers.connect()
    db:query("USE " .. OTHER_DB)
    db:reconnect()
    assert.equal(OTHER_DB, one(db, "SELECT DATABASE()"))
    db:query("CREATE DATABASE IF NOT EXISTS mylua_test_dropped")
    db:query("USE mylua_test_dropped")
    db:query("DROP DATABASE mylua_test_dropped")
    db:reconnect()
    assert.equal(mylua.null, one(db, "SELECT DATABASE()"))
    db:close()
  end)

  it("works after the session was killed, without reconnect = true", function()
    local db = helpers.connect()
    kill(db.thread_id)
    helpers.raises({ 2013, 2006 }, db.query, db, "SELECT 1")
    helpers.raises(2006, db.query, db, "SELECT 1") -- no reconnect without asking
    assert.is_true(db:reconnect())
    assert.equal(1, one(db, "SELECT 1"))
    assert.equal(P.database, one(db, "SELECT DATABASE()"))
    db:close()
  end)

  it("uses the whole host list again", function()
    local T = helpers.tls_params()
    local hosts = { P.host .. ":" .. P.port, T.host .. ":" .. T.port }
    local db = mylua.connect(helpers.params{ host = hosts, port = helpers.NONE })
    assert.equal(hosts[1] .. " via TCP/IP", db.host_info)
    db:reconnect()
    assert.equal(hosts[1] .. " via TCP/IP", db.host_info)
    db:close()
  end)

  it("refuses while a stream is unfinished, and on a closed connection", function()
    local db = helpers.connect()
    local cur = db:cursor()
    cur:execute("SELECT 1 UNION ALL SELECT 2")
    assert.equal(1, cur:fetch("a")[1])
    helpers.raises_string("unfinished", db.reconnect, db)
    cur:close()
    assert.is_true(db:reconnect())
    db:close()
    helpers.raises_string("attempt to use a closed connection", db.reconnect, db)
  end)

  it("leaves the old session's statements and cursors with a clear error", function()
    local db = helpers.connect()
    local st = db:prepare("SELECT ?")
    local cur = db:cursor()
    db:reconnect()
    local err = helpers.raises(2056, st.execute, st, 1)
    assert.truthy(err.message:find("opened again", 1, true), err.message)
    helpers.raises_string("earlier session", cur.execute, cur, "SELECT 1")
    assert.equal(5, db:execute("SELECT ?", 5):row(1, "a")[1]) -- the cache prepares again
    db:close()
  end)
end)

describe("reconnect = true", function()
  it("reopens a session killed between statements, calls on_reconnect, re-selects the database and re-runs init_command", function()
    local calls = {}
    local db = helpers.connect{
      reconnect = true,
      init_command = "SET @from_init = 'again'",
      on_reconnect = function(conn, info) calls[#calls + 1] = { conn = conn, info = info } end,
    }
    db:query("USE " .. OTHER_DB) -- the server reports it (session tracking of the schema)
    db:query("SET @from_init = 'changed'")
    local id = db.thread_id
    kill(id)
    assert.equal(OTHER_DB, one(db, "SELECT DATABASE()"))
    assert.is_not.equal(id, db.thread_id)
    assert.equal("again", one(db, "SELECT @from_init"))
    assert.equal(1, #calls)
    assert.equal(db, calls[1].conn)
    assert.is_true(mylua.is_error(calls[1].info.error))
    assert.equal(2006, calls[1].info.error.code)
    assert.equal(P.host .. " via TCP/IP", calls[1].info.host_info)
    -- a live connection is left alone
    assert.equal(1, one(db, "SELECT 1"))
    assert.equal(1, #calls)
    db:close()
  end)

  it("reopens a session the server ended for idleness (wait_timeout)", function()
    local n = 0
    local db = helpers.connect{ reconnect = true, on_reconnect = function() n = n + 1 end }
    db:query("SET SESSION wait_timeout = 1")
    mylua.sleep(2.5)
    assert.equal(1, db:execute("SELECT ?", 1):row(1, "a")[1])
    assert.equal(1, n)
    db:close()
  end)

  it("leaves a live TLS session alone and reopens a killed one", function()
    local n = 0
    local db = mylua.connect(helpers.tls_params{ ssl = "required", reconnect = true,
      on_reconnect = function() n = n + 1 end })
    assert.is_table(db.tls)
    local id = db.thread_id
    for _ = 1, 3 do
      mylua.sleep(0.2)
      assert.equal(1, one(db, "SELECT 1"))
    end
    assert.equal(0, n)
    assert.equal(id, db.thread_id)
    local tls_admin = mylua.connect(helpers.tls_params())
    tls_admin:query("KILL " .. id)
    tls_admin:close()
    mylua.sleep(0.3)
    assert.equal(1, one(db, "SELECT 1"))
    assert.equal(1, n)
    assert.is_table(db.tls)
    assert.is_not.equal(id, db.thread_id)
    db:close()
  end)

  it("works for ping, prepare and select_db too", function()
    local db = helpers.connect{ reconnect = true }
    for _, call in ipairs({
      function() return db:ping() end,
      function() return db:prepare("SELECT 1") end,
      function() return db:select_db(P.database) end,
    }) do
      kill(db.thread_id)
      assert.truthy(call())
    end
    db:close()
  end)

  it("never reconnects inside a transaction: transaction_lost, until db:reconnect()", function()
    local t = helpers.unique_table()
    admin:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY) ENGINE=InnoDB")
    local called = false
    local db = helpers.connect{ reconnect = true, on_reconnect = function() called = true end }
    db:query("START TRANSACTION")
    db:query("INSERT INTO " .. t .. " VALUES (1)")
    kill(db.thread_id)
    local err = helpers.raises(2006, db.query, db, "INSERT INTO " .. t .. " VALUES (2)")
    assert.is_true(err.transaction_lost)
    assert.truthy(err.message:find("transaction", 1, true), err.message)
    err = helpers.raises(2006, db.query, db, "COMMIT")
    assert.is_true(err.transaction_lost)
    assert.is_false(called)
    assert.is_true(db:reconnect())
    assert.equal(0, one(db, "SELECT COUNT(*) FROM " .. t))
    db:close()
    admin:query("DROP TABLE " .. t)
  end)

  it("raises outcome_unknown for a statement lost while it ran, never runs it again, and reconnects on the next call", function()
    local t = helpers.unique_table()
    admin:query("CREATE TABLE " .. t .. " (n INT) ENGINE=InnoDB")
    admin:query("INSERT INTO " .. t .. " VALUES (0)")
    local hooks = 0
    local db = helpers.connect{ reconnect = true, on_reconnect = function() hooks = hooks + 1 end }
    kill_later(db.thread_id, 0.5)
    local err = helpers.raises(2013, db.query, db,
      "UPDATE " .. t .. " SET n = n + 1 WHERE SLEEP(5) = 0")
    assert.is_true(err.outcome_unknown)
    assert.is_nil(err.transaction_lost)
    assert.equal(0, hooks)
    assert.equal(0, one(db, "SELECT n FROM " .. t)) -- the next call: a new session
    assert.equal(1, hooks)
    db:close()
    admin:query("DROP TABLE " .. t)
  end)

  it("is off by default: a killed session raises as it always did", function()
    local db = helpers.connect()
    kill(db.thread_id)
    helpers.raises({ 2013, 2006 }, db.query, db, "SELECT 1")
    helpers.raises(2006, db.query, db, "SELECT 1")
    db:close()
  end)

  it("rejects options of the wrong type", function()
    local ok, err = pcall(mylua.connect, helpers.params{ reconnect = "yes" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("'reconnect' must be a boolean", 1, true), tostring(err))
    ok, err = pcall(mylua.connect, helpers.params{ on_reconnect = 1 })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("'on_reconnect' must be a function", 1, true), tostring(err))
  end)
end)
