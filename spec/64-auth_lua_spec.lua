-- Authentication plugins written in Lua (auth = { [name] = function(exchange) }),
-- auth_plugins, and db:change_user, against the real server.  The sandbox
-- loads MariaDB's test_plugin_server: its client side ("auth_test_plugin")
-- answers the server's one question with the destination user's name and a
-- NUL, and the server then logs the user in as that (proxied) user.  mylua
-- has no such plugin: the specs write it in Lua.

local helpers = require "helpers"
local mylua = require "mylua"

local USER, DEST = "mylua_lua_plugin", "mylua_lua_dest"

-- A Lua client side of test_plugin_server that answers `answer`, and
-- records what it saw in `seen`.
local function test_plugin(answer, seen)
  return function(x)
    seen = seen or {}
    seen.plugin, seen.secure, seen.scramble = x.plugin, x.secure, x.scramble
    x:write(answer .. "\0")
    seen.after = x:read() -- nil: the server has answered
    seen.after_again = x:read()
  end
end

local function scalar(db, sql)
  return db:query(sql):row(1, "a")[1]
end

-- Logged-in sessions of `user`, as the server lists them.
local function sessions(admin, user)
  return math.tointeger(scalar(admin, ("SELECT COUNT(*) FROM information_schema.PROCESSLIST " ..
    "WHERE USER = %s"):format(admin:quote(user))))
end

local function no_sessions_left(admin, user)
  for _ = 1, 40 do
    if sessions(admin, user) == 0 then return true end
    os.execute("sleep 0.05")
  end
  return false
end

describe("a Lua auth plugin", function()
  local admin

  setup(function()
    admin = helpers.connect()
    for _, u in ipairs{ USER, DEST } do admin:query("DROP USER IF EXISTS " .. admin:quote(u) .. "@'%'") end
    admin:query(("CREATE USER %s@'%%' IDENTIFIED VIA test_plugin_server USING %s")
      :format(admin:quote(USER), admin:quote(DEST)))
    admin:query(("CREATE USER %s@'%%'"):format(admin:quote(DEST)))
    admin:query(("GRANT SELECT ON *.* TO %s@'%%'"):format(admin:quote(DEST)))
    admin:query(("GRANT PROXY ON %s@'%%' TO %s@'%%'"):format(admin:quote(DEST), admin:quote(USER)))
  end)

  teardown(function()
    for _, u in ipairs{ USER, DEST } do admin:query("DROP USER IF EXISTS " .. admin:quote(u) .. "@'%'") end
    admin:close()
  end)

  it("logs in through the exchange, and sees the server's data and the channel", function()
    local seen = {}
    local db <close> = mylua.connect(helpers.params{ user = USER, password = helpers.NONE,
      auth = { auth_test_plugin = test_plugin(DEST, seen) } })
    assert.equal(DEST .. "@%", scalar(db, "SELECT CURRENT_USER()"))
    assert.equal("auth_test_plugin", seen.plugin)
    assert.equal("\4", seen.scramble) -- the plugin's one question: "password"
    assert.is_false(seen.secure)      -- plain TCP
    assert.is_nil(seen.after)
    assert.is_nil(seen.after_again)
  end)

  it("is told the Unix socket is a secure channel", function()
    local seen = {}
    local db <close> = mylua.connect(helpers.socket_params{ user = USER, password = helpers.NONE,
      auth = { auth_test_plugin = test_plugin(DEST, seen) } })
    assert.is_true(seen.secure)
    assert.equal(DEST .. "@%", scalar(db, "SELECT CURRENT_USER()"))
  end)

  it("gets the server's refusal for a wrong answer", function()
    local seen = {}
    local err = helpers.raises(1045, mylua.connect, helpers.params{ user = USER,
      auth = { auth_test_plugin = test_plugin("somebody_else", seen) } })
    assert.truthy(err.message:find(USER, 1, true), err.message)
    assert.equal("auth_test_plugin", seen.plugin)
    assert.is_nil(seen.after)
  end)

  it("that raises aborts the connect with that same error value, leaving no session", function()
    local mine = setmetatable({}, { __tostring = function() return "my own error" end })
    local ok, err = pcall(mylua.connect, helpers.params{ user = USER,
      auth = { auth_test_plugin = function(x) x:write("half\0"); error(mine) end } })
    assert.is_false(ok)
    assert.is_true(rawequal(mine, err))
    assert.is_true(no_sessions_left(admin, USER))
    local ok2, err2 = pcall(mylua.connect, helpers.params{ user = USER,
      auth = { auth_test_plugin = function() error("plain message", 0) end } })
    assert.is_false(ok2)
    assert.equal("plain message", err2)
  end)

  it("cannot use the exchange after it returned", function()
    local kept
    local db <close> = mylua.connect(helpers.params{ user = USER,
      auth = { auth_test_plugin = function(x) kept = x; x:write(DEST .. "\0") end } })
    helpers.raises_string("after the plugin returned", kept.read, kept)
    helpers.raises_string("after the plugin returned", kept.write, kept, "x")
    helpers.raises_string("after the plugin returned", function() return kept.secure end)
    assert.equal("auth_test_plugin", kept.plugin)
    assert.truthy(tostring(kept):find("finished", 1, true))
  end)

  it("that yields gets an error saying it cannot", function()
    local co = coroutine.wrap(function()
      return pcall(mylua.connect, helpers.params{ user = USER,
        auth = { auth_test_plugin = function() coroutine.yield("leaked") end } })
    end)
    local ok, err = co()
    assert.is_false(ok)
    assert.truthy(tostring(err):find("cannot yield", 1, true), tostring(err))
  end)

  it("must be a function, in a table keyed by plugin names", function()
    helpers.raises_string("option 'auth' must be a table of functions (got a string)",
      mylua.connect, helpers.params{ auth = "dialog" })
    helpers.raises_string("option 'auth': 'auth_test_plugin' must be a function (got a string)",
      mylua.connect, helpers.params{ auth = { auth_test_plugin = "x" } })
    helpers.raises_string("keyed by plugin names (got a number key)",
      mylua.connect, helpers.params{ auth = { function() end } })
  end)

  it("is missing: the error names the plugin and how to supply it", function()
    local err = helpers.raises(2059, mylua.connect, helpers.params{ user = USER })
    assert.truthy(err.message:find("'auth_test_plugin' cannot be loaded", 1, true), err.message)
    assert.truthy(err.message:find('auth = { ["auth_test_plugin"]', 1, true), err.message)
  end)

  it("does not count the time it spends against connect_timeout", function()
    local db <close> = mylua.connect(helpers.params{ user = USER, connect_timeout = 0.5,
      auth = { auth_test_plugin = function(x)
        os.execute("sleep 1") -- a person typing, a secret store answering
        x:write(DEST .. "\0")
      end } })
    assert.equal(DEST .. "@%", scalar(db, "SELECT CURRENT_USER()"))
  end)

  describe("with auth_plugins", function()
    it("refuses a switch to a plugin it does not name, before the plugin runs", function()
      local called = false
      local err = helpers.raises(5010, mylua.connect, helpers.params{ user = USER,
        auth_plugins = { "mysql_native_password", "client_ed25519" },
        auth = { auth_test_plugin = function() called = true end } })
      assert.is_false(called)
      assert.truthy(err.message:find("'auth_test_plugin' is not allowed", 1, true), err.message)
      assert.truthy(err.message:find("mysql_native_password,client_ed25519", 1, true), err.message)
    end)

    it("allows the plugins it names, as a list or a string", function()
      for _, list in ipairs{ { "auth_test_plugin" }, "mysql_native_password, auth_test_plugin" } do
        local db <close> = mylua.connect(helpers.params{ user = USER, auth_plugins = list,
          auth = { auth_test_plugin = test_plugin(DEST) } })
        assert.equal(DEST .. "@%", scalar(db, "SELECT CURRENT_USER()"))
      end
    end)

    it("starts with a plugin it names when the greeting's is not among them", function()
      -- the greeting names mysql_native_password; the first answer goes by
      -- auth_test_plugin, and the server takes it
      local seen = {}
      local db <close> = mylua.connect(helpers.params{ user = USER,
        auth_plugins = { "auth_test_plugin" }, auth = { auth_test_plugin = function(x)
          seen.scramble = x.scramble
          x:write(DEST .. "\0")
        end } })
      assert.equal(DEST .. "@%", scalar(db, "SELECT CURRENT_USER()"))
    end)

    it("refuses a native login when only other plugins are allowed", function()
      helpers.raises(5010, mylua.connect, helpers.params{ auth_plugins = { "client_ed25519" } })
    end)

    it("must be a list of names", function()
      helpers.raises_string("must name at least one plugin", mylua.connect,
        helpers.params{ auth_plugins = {} })
      helpers.raises_string("entry 2 is not one", mylua.connect,
        helpers.params{ auth_plugins = { "dialog", 7 } })
      helpers.raises_string("entry 1 is not one", mylua.connect,
        helpers.params{ auth_plugins = { "a,b" } })
    end)
  end)

  describe("db:change_user", function()
    it("logs in again on the same connection, across plugins, and resets the session", function()
      local db <close> = helpers.connect()
      local thread = db.thread_id
      db:query("SET @kept = 1")
      db:change_user{ user = USER, auth = { auth_test_plugin = test_plugin(DEST) } }
      assert.equal(DEST .. "@%", scalar(db, "SELECT CURRENT_USER()"))
      assert.equal(thread, db.thread_id)
      assert.equal(1, math.tointeger(tonumber(scalar(db, "SELECT @kept IS NULL"))))
      local p = helpers.params()
      db:change_user{ user = p.user, password = p.password, database = p.database }
      assert.equal(p.user, scalar(db, "SELECT CURRENT_USER()"):match("^(.-)@"))
      assert.equal(p.database, scalar(db, "SELECT DATABASE()"))
      assert.equal(thread, db.thread_id)
    end)

    it("closes the connection when the login fails, as the server does", function()
      local db = helpers.connect()
      local err = helpers.raises(1045, db.change_user, db, { user = helpers.params().user,
        password = "wrong" })
      assert.truthy(err.message:find("Access denied", 1, true), err.message)
      assert.is_true(db.closed)
      helpers.raises_string("attempt to use a closed connection", db.query, db, "SELECT 1")
    end)

    it("keeps the connect's auth_plugins", function()
      local db = helpers.connect{ auth_plugins = { "mysql_native_password" } }
      local called = false
      helpers.raises(5010, db.change_user, db, { user = USER,
        auth = { auth_test_plugin = function() called = true end } })
      assert.is_false(called)
      assert.is_true(db.closed)
    end)

    it("re-raises a callback's error, and the connection is busy meanwhile", function()
      local db = helpers.connect()
      local inner
      local ok, err = pcall(db.change_user, db, { user = USER, auth = { auth_test_plugin =
        function() inner = select(2, pcall(db.query, db, "SELECT 1")); error("stop", 0) end } })
      assert.is_false(ok)
      assert.equal("stop", err)
      assert.truthy(inner:find("attempt to use a connection while it changes user", 1, true), inner)
      assert.is_true(db.closed)
    end)

    it("takes only its own options", function()
      local db <close> = helpers.connect()
      helpers.raises_string("unknown option 'host'", db.change_user, db, { host = "x" })
      helpers.raises_string("option 'user' must be a string", db.change_user, db, { user = 1 })
      assert.equal(1, math.tointeger(scalar(db, "SELECT 1")))
    end)
  end)
end)
