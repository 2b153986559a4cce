-- The Lua binding's own behaviour: argument errors that name the method
-- however it is called, tostring(mylua.null), db.broken, metatables, a
-- <close> scope whose close fails while an error unwinds, and the build
-- layout (a Lua-free static core, a module exporting only luaopen_*).

local mylua = require "mylua"
local safe = require "mylua.safe"
local helpers = require "helpers"
local peer = require "support.peer"

local raises, raises_string = helpers.raises, helpers.raises_string

-- fn(...) must raise exactly `message` (without a position prefix, which
-- depends on how it was called).
local function raises_arg(message, fn, ...)
  local err = raises_string(message, fn, ...)
  assert.equal(message, (err:gsub("^[^:]*:%d+: ", "")))
end

describe("an argument error", function()
  local db

  before_each(function() db = helpers.connect() end)
  after_each(function()
    if db then db:close() end
    db = nil
  end)

  it("names the connection method, called as a method, through pcall or by field", function()
    local msg = "bad argument #1 to 'query' (string expected, got number)"
    raises_arg(msg, function() return db:query(1) end)
    raises_arg(msg, db.query, db, 1)
    raises_arg(msg, function() return db.query(db, 1) end)
  end)

  it("names every connection method and counts arguments after self", function()
    raises_arg("bad argument #1 to 'quote' (value expected)", db.quote, db)
    raises_arg("bad argument #1 to 'escape' (string expected, got table)", db.escape, db, {})
    raises_arg("bad argument #1 to 'quote_name' (string expected, got nil)", db.quote_name, db, nil)
    raises_arg("bad argument #1 to 'quote_name' (empty identifier)", db.quote_name, db, "")
    raises_arg("bad argument #1 to 'select_db' (string expected, got boolean)", db.select_db, db, true)
    raises_arg("bad argument #1 to 'kill' (number expected, got string)", db.kill, db, "x")
    raises_arg("bad argument #1 to 'kill' (number has no integer representation)", db.kill, db, 1.5)
    raises_arg("bad argument #1 to 'kill' (thread id out of range)", db.kill, db, -1)
    raises_arg("bad argument #1 to 'cursor' (table expected, got string)", db.cursor, db, "x")
  end)

  it("on self says which type the method wanted", function()
    raises_arg("calling 'query' on bad self (mylua.connection expected, got number)", db.query, 1, "SELECT 1")
    raises_arg("calling 'ping' on bad self (mylua.connection expected, got no value)", db.ping)
    local cur = db:cursor{ stream = true }
    raises_arg("calling 'fetch' on bad self (mylua.cursor expected, got mylua.connection)", cur.fetch, db)
    cur:close()
    local res = db:query("SELECT 1")
    raises_arg("calling 'rows' on bad self (mylua.result expected, got table)", res.rows, {})
  end)

  it("names the cursor methods", function()
    local cur = db:cursor{ stream = true }
    raises_arg("bad argument #1 to 'execute' (string expected, got number)", cur.execute, cur, 42)
    cur:execute("SELECT 1 AS a")
    raises_arg('bad argument #2 to \'fetch\' (row mode must be "k" (keyed), "a" (array) or "v" (values))',
      cur.fetch, cur, {}, "x")
    raises_arg('bad argument #2 to \'fetch\' (mode "v" cannot refill a table)', cur.fetch, cur, {}, "v")
    raises_arg('bad argument #1 to \'rows\' (row mode must be "k" (keyed), "a" (array) or "v" (values))',
      cur.rows, cur, 42)
    raises_arg('bad argument #2 to \'rows\' (mode "v" cannot refill a table)', cur.rows, cur, {}, "v")
    cur:close()
  end)

  it("names the result methods", function()
    local res = db:query("SELECT 1 AS a")
    raises_arg("bad argument #1 to 'row' (number expected, got string)", res.row, res, "x")
    raises_arg('bad argument #2 to \'row\' (row mode must be "k" (keyed), "a" (array) or "v" (values))',
      res.row, res, 1, "zz")
    raises_arg('bad argument #1 to \'rows\' (row mode must be "k" (keyed), "a" (array) or "v" (values))',
      function() for _ in res:rows("q") do end end)
  end)

  it("names the method through mylua.safe, which calls it through pcall", function()
    local sdb = assert(safe.connect(helpers.params()))
    local r, err = sdb:query(1)
    assert.is_nil(r)
    assert.equal("bad argument #1 to 'query' (string expected, got number)", (err:gsub("^[^:]*:%d+: ", "")))
    local cur = assert(sdb:cursor{ stream = true })
    local ok, cerr = cur:execute({})
    assert.is_nil(ok)
    assert.equal("bad argument #1 to 'execute' (string expected, got table)", cerr)
    sdb:close()
  end)

  it("names the module functions", function()
    raises_arg("bad argument #1 to 'connect' (table expected, got string)", mylua.connect, "localhost")
    raises_arg("bad argument #1 to 'new_error' (number expected, got string)", mylua.new_error, "x", "y")
  end)
end)

describe("mylua.null", function()
  it("prints as NULL and is still the light userdata rows hold", function()
    assert.equal("NULL", tostring(mylua.null))
    assert.equal("NULL", tostring(safe.null))
    assert.equal("userdata", type(mylua.null))
    local db = helpers.connect()
    local v = db:query("SELECT NULL AS n"):row(1).n
    db:close()
    assert.is_true(rawequal(mylua.null, v))
    assert.equal("NULL", tostring(v))
    assert.equal("x NULL", ("x %s"):format(v))
  end)

  it("keeps Lua's word for the type in argument errors", function()
    local db = helpers.connect()
    raises_arg("bad argument #1 to 'escape' (string expected, got light userdata)", db.escape, db, mylua.null)
    db:close()
  end)
end)

describe("db.broken", function()
  it("is false on a working connection and true once the server killed it", function()
    local db, admin = helpers.connect(), helpers.connect()
    assert.is_false(db.broken)
    db:query("SELECT 1")
    assert.is_false(db.broken)
    admin:kill(db.thread_id)
    -- the client learns it at its next command
    raises({ 2013, 2006, 1927 }, db.query, db, "SELECT 1")
    assert.is_true(db.broken)
    assert.is_false(db.closed)
    raises(2006, db.ping, db)
    assert.is_true(db.broken)
    db:close()
    assert.is_false(db.broken)
    assert.is_true(db.closed)
    admin:close()
  end)

  it("is not set by an SQL error", function()
    local db = helpers.connect()
    raises(1064, db.query, db, "SELEKT")
    assert.is_false(db.broken)
    db:close()
  end)

  it("is set by a protocol error from the server", function()
    local p = peer.start("truncated_row")
    local db = mylua.connect{ host = "127.0.0.1", port = p.port, user = "u", password = "p",
                              connect_timeout = 2, read_timeout = 1 }
    assert.is_false(db.broken)
    raises({ 2027, 2013 }, db.query, db, "SELECT 1")
    assert.is_true(db.broken)
    db:close()
    p:stop()
  end)
end)

describe("metatables", function()
  it("carry the type names and the methods tables", function()
    local db = helpers.connect()
    local cur = db:cursor{ stream = true }
    local res = db:query("SELECT 1")
    assert.equal("mylua.connection", getmetatable(db).__name)
    assert.equal("mylua.cursor", getmetatable(cur).__name)
    assert.equal("mylua.result", getmetatable(res).__name)
    assert.equal(db.query, getmetatable(db).methods.query)
    assert.equal(cur.fetch, getmetatable(cur).methods.fetch)
    assert.equal(res.rows, getmetatable(res).methods.rows)
    -- methods the Lua layer adds sit in the same table
    assert.equal(db.transaction, getmetatable(db).methods.transaction)
    for _, o in ipairs{ db, cur, res } do
      local mt = getmetatable(o)
      assert.equal("function", type(mt.__gc))
      assert.equal("function", type(mt.__close))
      assert.equal("function", type(mt.__tostring))
    end
    cur:close()
    db:close()
  end)
end)

describe("a <close> scope unwinding an error", function()
  after_each(peer.stop_all)

  local function open(p)
    return mylua.connect{ host = "127.0.0.1", port = p.port, user = "u", password = "p",
                          connect_timeout = 2, read_timeout = 1 }
  end

  it("keeps that error when discarding the cursor's rows loses the connection", function()
    local p = peer.start("close_after_first_row")
    local db = open(p)
    local mine = mylua.new_error(1234, "the scope's own error")
    local ok, err = pcall(function()
      local cur <close> = db:cursor{ stream = true }
      cur:execute("SELECT seq")
      error(mine)
    end)
    assert.is_false(ok)
    assert.is_true(rawequal(mine, err))
    -- the failure is kept by the connection instead
    assert.is_true(db.broken)
    raises(2006, db.ping, db)
    db:close()
  end)

  it("keeps a string error too, and a <close> connection does not replace it", function()
    local p = peer.start("close_after_first_row")
    local ok, err = pcall(function()
      local db <close> = open(p)
      local cur <close> = db:cursor{ stream = true }
      cur:execute("SELECT seq")
      error("plain failure", 0)
    end)
    assert.is_false(ok)
    assert.equal("plain failure", err)
  end)

  it("but an explicit close() reports the lost connection, and closes the cursor anyway", function()
    local p = peer.start("close_after_first_row")
    local db = open(p)
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT seq")
    raises(2013, cur.close, cur)
    assert.is_true(cur.closed)
    assert.is_true(cur:close()) -- idempotent
    db:close()
  end)

  it("closes a cursor at the end of a scope without an error, draining its rows", function()
    local db = helpers.connect()
    do
      local cur <close> = db:cursor{ stream = true }
      cur:execute("SELECT seq FROM seq_1_to_1000")
      assert.equal(1, cur:fetch().seq)
    end
    assert.equal(7, db:query("SELECT 7 AS x"):row(1).x)
    db:close()
  end)
end)

describe("the build", function()
  local bin = helpers.bin()
  local build = bin:match("^(.*)/[^/]+$")

  it("exports nothing from mylua.so but luaopen_* functions", function()
    local so = build .. "/mylua.so"
    local out, err, code = helpers.run("nm -D --defined-only " .. helpers.shell_quote(so))
    assert.equal(0, code, err)
    local names = {}
    for line in out:gmatch("[^\n]+") do
      local kind, name = line:match("^%x*%s+(%a)%s+(%S+)$")
      assert(name, "unexpected nm line: " .. line)
      -- absolute symbols (A) are the linker's section marks, not code
      if kind ~= "A" then names[#names + 1] = name end
    end
    assert.same({ "luaopen_mylua_core" }, names)
  end)

  it("compiles the core without the Lua include path, into a static library", function()
    local mark = "-DLUA_INC_WAS_HERE"
    local out, err, code = helpers.run(("make -n -B BUILD=%s LUA_INC=%s %s/mylua.so"):format(
      helpers.shell_quote(build), mark, helpers.shell_quote(build)))
    assert.equal(0, code, err)
    local core_lines, binding_lines, archive = 0, 0, false
    for line in out:gmatch("[^\n]+") do
      if line:find(" -c ", 1, true) and line:find("src/core/", 1, true) then
        core_lines = core_lines + 1
        assert.is_nil(line:find(mark, 1, true), line)
      elseif line:find(" -c ", 1, true) and line:find("src/lua/", 1, true) then
        binding_lines = binding_lines + 1
        assert.truthy(line:find(mark, 1, true), line)
      end
      if line:find("libmylua_core.a", 1, true) and line:match("^%S*ar ") then archive = true end
    end
    assert.is_true(core_lines >= 8, "core compile lines: " .. core_lines)
    assert.is_true(binding_lines >= 5, "binding compile lines: " .. binding_lines)
    assert.is_true(archive, "no archive step for libmylua_core.a in:\n" .. out)
    -- and no core source asks for a Lua header
    local src = helpers.run("grep -l -E '#include *[<\"](lua|lauxlib|lualib)' src/core/*.c src/core/*.h")
    assert.equal("", src)
  end)

  it("declares luaopen_mylua_core in one header", function()
    local out = helpers.run("grep -rn -E 'int +luaopen_mylua_core *\\(' src")
    local files = {}
    for file in out:gmatch("([^\n:]+):%d+:") do files[#files + 1] = file end
    table.sort(files)
    assert.same({ "src/lua/module.c", "src/lua/mylua_core.h" }, files)
    for _, user in ipairs{ "src/lua/module.c", "src/host/main.c" } do
      local _, _, code = helpers.run("grep -q 'mylua_core.h' " .. user)
      assert.equal(0, code, user .. " does not include mylua_core.h")
    end
  end)
end)
