-- Timeouts, lost connections, failed connects and transports, against the
-- sandbox server (and the scripted peer for a server that never speaks).

local mylua = require "mylua"
local helpers = require "helpers"
local peer = require "support.peer"

local raises = helpers.raises

local function select_one(db)
  return db:query("SELECT 1"):row(1, "a")[1]
end

-- A TCP port on 127.0.0.1 that nothing listens on.
local function closed_port()
  local out = helpers.run([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']])
  return assert(math.tointeger(tonumber(out)), "no free port")
end

-- How the server sees this session's client: "localhost" for the socket,
-- "host:port" for TCP.
local function server_side_host(db)
  return db:query("SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()")
    :row(1, "a")[1]
end

describe("read timeouts", function()
  it("end a SELECT SLEEP(5) after read_timeout = 1 with 2013, then 2006", function()
    local db = helpers.connect{ read_timeout = 1 }
    local err, elapsed = raises(2013, db.query, db, "SELECT SLEEP(5)")
    assert.is_true(elapsed >= 0.9, "gave up early: " .. elapsed .. " s")
    assert.is_true(elapsed < 2.5, "took " .. elapsed .. " s")
    assert.equal("HY000", err.sqlstate)
    raises(2006, db.query, db, "SELECT 1")
    raises(2006, db.ping, db)
    assert.is_true(db:close())
  end)

  it("accept fractions of a second", function()
    local db = helpers.connect{ read_timeout = 0.5 }
    local _, elapsed = raises(2013, db.query, db, "SELECT SLEEP(3)")
    assert.is_true(elapsed < 1.3, "took " .. elapsed .. " s")
    db:close()
  end)

  it("leave a query that finishes in time alone", function()
    local db = helpers.connect{ read_timeout = 1 }
    assert.equal(0, db:query("SELECT SLEEP(0.2)"):row(1, "a")[1])
    assert.equal(1, select_one(db))
    db:close()
  end)
end)

describe("a connection killed by another", function()
  it("raises 2013 or 2006 on its next query, and a new connection works", function()
    local a = helpers.connect()
    local b = helpers.connect()
    assert.equal("integer", math.type(b.thread_id))
    a:query("KILL " .. b.thread_id)
    raises({ 2013, 2006 }, b.query, b, "SELECT 1")
    raises(2006, b.query, b, "SELECT 1")
    assert.is_true(b:close())
    local c = helpers.connect()
    assert.equal(1, select_one(c))
    c:close()
    a:close()
  end)

  it("through db:kill(thread_id) is gone as well", function()
    local a = helpers.connect()
    local b = helpers.connect()
    assert.is_true(a:kill(b.thread_id))
    raises({ 2013, 2006 }, b.ping, b)
    raises(2006, b.ping, b)
    b:close()
    assert.equal(1, select_one(a))
    a:close()
  end)
end)

describe("a failed connect", function()
  it("to a closed TCP port raises 2003", function()
    local err, elapsed = raises(2003, mylua.connect,
      helpers.params{ host = "127.0.0.1", port = closed_port(), connect_timeout = 2 })
    assert.is_true(elapsed < 1, "took " .. elapsed .. " s")
    assert.truthy(err.message:find("127.0.0.1", 1, true), err.message)
  end)

  it("to an unknown host raises 2005", function()
    local err = raises(2005, mylua.connect,
      helpers.params{ host = "no-such-host.invalid", connect_timeout = 5 })
    assert.truthy(err.message:find("no-such-host.invalid", 1, true), err.message)
  end)

  it("to a missing unix socket raises 2002", function()
    local path = os.tmpname()
    os.remove(path)
    local err = raises(2002, mylua.connect, helpers.socket_params{ socket = path .. ".sock" })
    assert.truthy(err.message:find(path .. ".sock", 1, true), err.message)
  end)

  it("with a wrong password raises 1045 (28000)", function()
    local err = raises(1045, mylua.connect, helpers.params{ password = "not-the-password" })
    assert.equal("28000", err.sqlstate)
    assert.truthy(err.message:find("Access denied", 1, true), err.message)
    assert.equal("ERROR 1045 (28000): " .. err.message, tostring(err))
  end)

  it("to a server that never speaks gives up after connect_timeout with 2013", function()
    local p = peer.start("silent")
    local ok, err = pcall(function()
      local _, elapsed = raises(2013, mylua.connect, {
        host = "127.0.0.1", port = p.port, user = "u", password = "p", connect_timeout = 1,
      })
      assert.is_true(elapsed >= 0.9, "gave up early: " .. elapsed .. " s")
      assert.is_true(elapsed < 1.6, "took " .. elapsed .. " s")
    end)
    p:stop()
    assert(ok, err)
  end)
end)

describe("transports", function()
  local function check(db, host_info_part, tcp)
    assert.equal(1, select_one(db))
    assert.is_string(db.host_info)
    assert.truthy(db.host_info:find(host_info_part, 1, true), db.host_info)
    local seen = server_side_host(db)
    if tcp then
      assert.truthy(db.host_info:find("TCP/IP", 1, true), db.host_info)
      assert.truthy(seen:match(":%d+$"), "server sees " .. seen)
    else
      assert.truthy(db.host_info:lower():find("socket", 1, true), db.host_info)
      assert.equal("localhost", seen)
    end
    assert.is_true(db:close())
  end

  it("IPv4 127.0.0.1", function()
    check(helpers.connect{ host = "127.0.0.1" }, "127.0.0.1", true)
  end)

  -- Shown as pending (which scripts/check counts as not passed) when the
  -- sandbox server could not listen on ::1, never skipped silently.
  local host6 = os.getenv("MYLUA_TEST_HOST6")
  if host6 and host6 ~= "" then
    it("IPv6 " .. host6, function()
      check(helpers.connect{ host = host6 }, host6, true)
    end)
  else
    pending("IPv6: the sandbox server has no IPv6 address (MYLUA_TEST_HOST6 is empty)")
  end

  it("the name localhost with protocol = \"tcp\"", function()
    check(helpers.connect{ host = "localhost", protocol = "tcp" }, "localhost", true)
  end)

  it("the unix socket", function()
    check(mylua.connect(helpers.socket_params()), "", false)
  end)
end)
