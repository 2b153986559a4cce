-- Two connect options: init_command, SQL run right after the login before
-- connect returns (every result discarded; a failure fails connect with
-- the server's error and closes the connection), and bind_address, the
-- local address a TCP connection comes from (ignored for the Unix socket).

local mylua = require "mylua"
local helpers = require "helpers"

local function scalar(db, sql)
  local row = db:query(sql):row(1, "a")
  assert.is_not_nil(row, "no row: " .. sql)
  return row[1]
end

-- What the server sees of this connection: its host (with the port) and USER().
local function seen_from(db)
  local row = db:query("SELECT HOST, USER() FROM information_schema.PROCESSLIST"
    .. " WHERE ID = CONNECTION_ID()"):row(1, "a")
  return row[1], row[2]
end

describe("init_command", function()
  it("runs on the new connection before connect returns", function()
    local db <close> = mylua.connect(helpers.params{ init_command = "SET @x = 42" })
    assert.are.equal(42, math.tointeger(scalar(db, "SELECT @x")))
  end)

  it("runs several statements, results and rows discarded, the connection ready after", function()
    local db <close> = mylua.connect(helpers.params{
      init_command = "SET @x = 1; SELECT 1, 2; SET @x = @x + 1;"
        .. " SELECT * FROM information_schema.COLLATIONS; DO @y := 'last'",
    })
    assert.are.equal(2, math.tointeger(scalar(db, "SELECT @x")))
    assert.are.equal("last", scalar(db, "SELECT @y"))
    -- nothing of the init command's response is left to be read
    assert.are.equal(7, math.tointeger(scalar(db, "SELECT 7")))
  end)

  it("sets session state the connection keeps (sql_mode, time_zone)", function()
    local db <close> = mylua.connect(helpers.params{
      init_command = "SET SESSION sql_mode = 'ANSI_QUOTES', time_zone = '+05:00'",
    })
    assert.are.equal("ANSI_QUOTES", scalar(db, "SELECT @@SESSION.sql_mode"))
    assert.are.equal("+05:00", scalar(db, "SELECT @@SESSION.time_zone"))
  end)

  it("that fails makes connect fail with the server's error", function()
    local err = helpers.raises(1146, mylua.connect, helpers.params{ init_command = "SELECT * FROM no_such_table_x" })
    assert.are.equal("42S02", err.sqlstate)
    assert.truthy(err.message:find("init_command failed: Table '[^']*no_such_table_x' doesn't exist"), err.message)
    -- a later statement failing: its error, and which statement it was
    err = helpers.raises(1054, mylua.connect, helpers.params{ init_command = "SET @x = 1; SELECT no_such_column" })
    assert.are.equal("42S22", err.sqlstate)
    assert.are.equal(2, err.statement)
    assert.truthy(err.message:find("init_command failed: Unknown column 'no_such_column'", 1, true), err.message)
  end)

  it("needs multi_statements for several statements", function()
    local err = helpers.raises(1064, mylua.connect, helpers.params{
      init_command = "SET @x = 1; SET @y = 2", multi_statements = false,
    })
    assert.truthy(err.message:find("init_command failed: ", 1, true), err.message)
  end)

  it("that fails leaves no connection open on the server", function()
    local watch <close> = mylua.connect(helpers.params())
    local count_sql = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '"
      .. helpers.params().user .. "'"
    local before = math.tointeger(scalar(watch, count_sql))
    for _ = 1, 5 do
      helpers.raises(1146, mylua.connect, helpers.params{ init_command = "SELECT * FROM no_such_table_x" })
    end
    local now, deadline = nil, helpers.now() + 5
    repeat
      now = math.tointeger(scalar(watch, count_sql))
      if now > before then os.execute("sleep 0.05") end
    until now <= before or helpers.now() > deadline
    assert.are.equal(before, now)
  end)

  it("is not run again by change_user or reset, as Connector/C", function()
    local db <close> = mylua.connect(helpers.params{ init_command = "SET @x = 42" })
    assert.is_true(db:reset())
    assert.are.equal(mylua.null, scalar(db, "SELECT @x"))
    assert.is_true(db:change_user{ user = helpers.params().user, password = helpers.params().password })
    assert.are.equal(mylua.null, scalar(db, "SELECT @x"))
  end)

  it("also runs over the Unix socket, and an empty one is none", function()
    local db <close> = mylua.connect(helpers.socket_params{ init_command = "SET @x = 'socket'" })
    assert.are.equal("socket", scalar(db, "SELECT @x"))
    local plain <close> = mylua.connect(helpers.params{ init_command = "" })
    assert.are.equal(mylua.null, scalar(plain, "SELECT @x"))
  end)

  it("must be a string", function()
    helpers.raises_string("option 'init_command' must be a string", mylua.connect,
      helpers.params{ init_command = true })
  end)
end)

describe("bind_address", function()
  it("127.0.0.1: connects, and the server sees the loopback", function()
    local db <close> = mylua.connect(helpers.params{ bind_address = "127.0.0.1" })
    local host, user = seen_from(db)
    assert.truthy(host:match("^localhost:%d+$") or host:match("^127%.0%.0%.1:%d+$"), host)
    assert.truthy(user:match("@localhost$") or user:match("@127%.0%.0%.1$"), user)
  end)

  it("127.0.0.2: the server sees the connection come from it", function()
    -- the test user is 'mylua'@'%', so any address of the loopback may log in
    local db <close> = mylua.connect(helpers.params{ bind_address = "127.0.0.2" })
    local host, user = seen_from(db)
    assert.truthy(host:match("^127%.0%.0%.2:%d+$"), host)
    assert.are.equal(helpers.params().user .. "@127.0.0.2", user)
    -- without it, the same server sees another address
    local plain <close> = mylua.connect(helpers.params())
    assert.falsy(select(1, seen_from(plain)):match("^127%.0%.0%.2:"))
  end)

  it("takes a name, resolved like the host", function()
    local db <close> = mylua.connect(helpers.params{ bind_address = "localhost" })
    assert.are.equal(1, math.tointeger(scalar(db, "SELECT 1")))
  end)

  it("an address that is not local: error 2003 naming it", function()
    local err = helpers.raises(2003, mylua.connect, helpers.params{ bind_address = "203.0.113.1" })
    assert.truthy(err.message:find("can't bind to local address '203.0.113.1'", 1, true), err.message)
    assert.truthy(err.message:find("Cannot assign requested address", 1, true), err.message)
  end)

  it("a name that does not resolve: error 2005 naming it", function()
    local err = helpers.raises(2005, mylua.connect,
      helpers.params{ bind_address = "no-such-host.invalid", connect_timeout = 10 })
    assert.truthy(err.message:find("Unknown bind address 'no-such-host.invalid'", 1, true), err.message)
  end)

  it("an address of another family than the server's: error 2003 saying so", function()
    local err = helpers.raises(2003, mylua.connect, helpers.params{ bind_address = "::1" })
    assert.truthy(err.message:find("bind address '::1' has no address of the server address's family", 1, true),
      err.message)
  end)

  -- only where the sandbox listens on ::1 (scripts/check says so in MYLUA_TEST_HOST6)
  local host6 = os.getenv("MYLUA_TEST_HOST6") or ""
  if host6 ~= "" then it("IPv6: binds to ::1 for a server on ::1", function()
    local db <close> = mylua.connect(helpers.params{ host = host6, bind_address = "::1" })
    local host = seen_from(db)
    assert.truthy(host:match("^::1:%d+$") or host:match("^localhost:%d+$") or host:match("^ip6%-localhost:%d+$"), host)
    helpers.raises(2003, mylua.connect, helpers.params{ host = host6, bind_address = "127.0.0.1" })
  end) end

  it("is ignored for the Unix socket", function()
    local db <close> = mylua.connect(helpers.socket_params{ bind_address = "203.0.113.1" })
    assert.are.equal(1, math.tointeger(scalar(db, "SELECT 1")))
  end)

  it("must be a string", function()
    helpers.raises_string("option 'bind_address' must be a string", mylua.connect,
      helpers.params{ bind_address = 127 })
  end)
end)

describe("init_command and bind_address together", function()
  it("both apply to the same connection", function()
    local db <close> = mylua.connect(helpers.params{ bind_address = "127.0.0.2", init_command = "SET @from = 'both'" })
    assert.are.equal("both", scalar(db, "SELECT @from"))
    assert.truthy(select(1, seen_from(db)):match("^127%.0%.0%.2:"))
  end)
end)
