-- Cases that once went wrong and must stay fixed: memory a finalizer could
-- free while a row was being decoded from it, connect options that only a
-- metamethod kept alive, a 2006 message that grew with every call, results
-- wider than 4096 columns, a C locale with a decimal comma, the default
-- user without $USER, multi-line errors printed by the host program, and
-- the mylua.safe face of transactions and closed objects.

local mylua = require "mylua"
local safe = require "mylua.safe"
local helpers = require "helpers"
local peer = require "support.peer"

local raises, raises_string, q = helpers.raises, helpers.raises_string, helpers.shell_quote

local IN_TRANS = 0x0001


-- The same for the results of a pcall made earlier.
local function raised_string(text, ok, err)
  assert.is_false(ok, "expected an error, got a result")
  assert.equal("string", type(err), "expected an error string, got " .. tostring(err))
  assert.truthy(err:find(text, 1, true), err)
end

-- Lua source for a table constructor holding the test server's connect
-- options (for scripts run by the host program).
local function params_source(extra)
  return helpers.options_source(helpers.params(extra))
end

-- Runs `code` with the host program under test, after the shell words
-- `prefix` (e.g. "env -u USER"); returns stdout, stderr, exit code.
local function host(prefix, code)
  local bin = helpers.bin()
  assert(bin and bin ~= "", "MYLUA_BIN is not set")
  return helpers.run(prefix .. " " .. q(bin) .. " -e " .. q(code))
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- Rows of `seq` and WIDE_STRINGS strings longer than Lua interns: decoding
-- one allocates a good deal, so the collector runs during decodes.
local WIDE_STRINGS, WIDE_LENGTH = 20, 1000

local wide_keys, wide_values = {}, {}
for c = 1, WIDE_STRINGS do
  wide_keys[c] = "c" .. c
  wide_values[c] = {}
  for k = 0, 6 do wide_values[c][k] = string.char(96 + c):rep(WIDE_LENGTH + k) end
end

local function wide_rows_sql(nrows)
  local cols = {}
  for c = 1, WIDE_STRINGS do
    cols[c] = ("REPEAT('%s', %d + seq %% 7) AS c%d"):format(string.char(96 + c), WIDE_LENGTH, c)
  end
  return ("SELECT seq, %s FROM seq_1_to_%d"):format(table.concat(cols, ", "), nrows)
end

-- nil when `row` is row i of wide_rows_sql, else what is wrong. Allocates
-- nothing when the row is right.
local function wide_row_error(row, i)
  if row.seq ~= i then return ("row %d: seq is %s"):format(i, tostring(row.seq)) end
  for c = 1, WIDE_STRINGS do
    if row[wide_keys[c]] ~= wide_values[c][i % 7] then
      return ("row %d: column c%d is wrong"):format(i, c)
    end
  end
  return nil
end

-- Keeps one garbage object with a finalizer around until chain.result is
-- set: when the collector finalizes it while busy() is true, it sets
-- chain.result = action(); at any other time it leaves another such object
-- behind for the next collection cycle. Setting chain.stopped ends it.
local function finalizer_chain(busy, action)
  local chain = { stopped = false, result = nil }
  local mt = {}
  mt.__gc = function()
    if chain.stopped or chain.result ~= nil then return end
    if busy() then
      chain.result = action()
    else
      setmetatable({}, mt)
    end
  end
  -- A full collection leaves a small heap, so a cycle is short; a step
  -- starts the next one now (after a big allocation the pace can be far off).
  collectgarbage()
  collectgarbage("step", 0)
  setmetatable({}, mt)
  return chain
end

-- Calls read() for rows i = 1, 2, ... (checking each with wide_row_error)
-- until a finalizer has run during a read, that is while a row was being
-- decoded: the allocations of the decodes run the collector, and nothing
-- else in the loop allocates. That finalizer calls during(); returns what
-- it returned and the number of rows read.
local function finalize_while_reading(read, during)
  local reading = false
  local chain = finalizer_chain(function() return reading end, during)
  local i, wrong, ok, row = 0, nil, true, nil
  repeat
    i = i + 1
    reading = true
    ok, row = pcall(read)
    reading = false
    if not ok or row == nil then break end
    wrong = wrong or wide_row_error(row, i)
  until chain.result ~= nil
  chain.stopped = true
  assert(ok, row)
  assert(chain.result ~= nil, "the rows ran out before a finalizer ran during a read")
  assert(wrong == nil, wrong)
  return chain.result, i
end

describe("a finalizer that runs while a row is decoded", function()
  local db

  before_each(function()
    db = helpers.connect_big()
  end)

  after_each(function()
    if db then db:close() end
    db = nil
  end)

  it("may close the connection of a stream: the row is whole, the connection closed after it", function()
    local cur = db:cursor{ stream = true }
    cur:execute(wide_rows_sql(2000))
    local seen = finalize_while_reading(function() return cur:fetch() end,
      function()
        return {
          query = table.pack(pcall(db.query, db, "SELECT 1")),
          fetch = table.pack(pcall(cur.fetch, cur)),
          close = db:close(),
          closed = db.closed,
          text = tostring(db),
        }
      end)
    -- during the decode: any other use raised, close() was taken
    raised_string("attempt to use a connection", table.unpack(seen.query, 1, 2))
    raised_string("attempt to use a cursor", table.unpack(seen.fetch, 1, 2))
    assert.is_true(seen.close)
    assert.is_true(seen.closed)
    assert.truthy(seen.text:find("(closed)", 1, true), seen.text)
    -- after it
    assert.is_true(db.closed)
    assert.truthy(tostring(db):find("(closed)", 1, true), tostring(db))
    assert.is_true(cur.closed)
    raises_string("attempt to use a closed", cur.fetch, cur)
    raises_string("attempt to use a closed connection", db.query, db, "SELECT 1")
    assert.is_true(db:close())
  end)

  it("may close the stream's cursor: the row is whole, the connection usable after it", function()
    local cur = db:cursor{ stream = true }
    cur:execute(wide_rows_sql(2000))
    local seen = finalize_while_reading(function() return cur:fetch() end,
      function()
        return {
          fetch = table.pack(pcall(cur.fetch, cur)),
          rows = table.pack(pcall(cur.rows, cur)),
          query = table.pack(pcall(db.query, db, "SELECT 1")),
          close = cur:close(),
          closed = cur.closed,
          text = tostring(cur),
        }
      end)
    raised_string("attempt to use a cursor", table.unpack(seen.fetch, 1, 2))
    raised_string("attempt to use a cursor", table.unpack(seen.rows, 1, 2))
    raised_string("attempt to use a connection", table.unpack(seen.query, 1, 2))
    assert.is_true(seen.close)
    assert.is_true(seen.closed)
    assert.truthy(seen.text:find("(closed)", 1, true), seen.text)
    assert.is_true(cur.closed)
    assert.truthy(tostring(cur):find("(closed)", 1, true), tostring(cur))
    raises_string("attempt to use a closed cursor", cur.fetch, cur)
    -- the unread rows are dropped and the connection serves the next query
    assert.equal(7, db:query("SELECT 7"):row(1, "a")[1])
    assert.is_false(db.closed)
  end)

  it("may close a buffered result: the row is whole, the result closed after it", function()
    local res = db:query(wide_rows_sql(500))
    local iter = res:rows()
    local seen = finalize_while_reading(iter, function()
      return {
        row = table.pack(pcall(res.row, res, 1)),
        len = table.pack(pcall(function() return #res end)),
        close = res:close(),
        text = tostring(res),
      }
    end)
    raised_string("attempt to use a result", table.unpack(seen.row, 1, 2))
    raised_string("attempt to use a result", table.unpack(seen.len, 1, 2))
    assert.is_true(seen.close)
    assert.truthy(seen.text:find("(closed)", 1, true), seen.text)
    assert.truthy(tostring(res):find("(closed)", 1, true), tostring(res))
    raises_string("attempt to use a closed result", iter)
    raises_string("attempt to use a closed result", res.row, res, 1)
    assert.is_true(res:close())
  end)

  it("may close a result while its column list is built", function()
    local N = 1000
    local exprs = {}
    for c = 1, N do exprs[c] = ("%d AS %s"):format(c, ("column_%04d_"):format(c):rep(4)) end
    local sql = "SELECT " .. table.concat(exprs, ", ")
    local res, building = nil, false
    local function get_columns() return res.columns end
    local chain = finalizer_chain(function() return building end, function() return res:close() end)
    local ok, columns
    for _ = 1, 200 do
      res = db:query(sql)
      building = true
      ok, columns = pcall(get_columns)
      building = false
      if not ok or chain.result ~= nil then break end
      res:close()
    end
    chain.stopped = true
    assert(ok, columns)
    assert.is_true(chain.result, "no finalizer ran while the columns were built")
    assert.equal(N, #columns)
    assert.equal(("column_%04d_"):format(N):rep(4), columns[N].name)
    assert.truthy(tostring(res):find("(closed)", 1, true), tostring(res))
    raises_string("attempt to use a closed result", get_columns)
  end)
end)

describe("a finalizer that closes the connection while a statement is built", function()
  -- Building the SQL of 50 long placeholder values allocates; a finalizer
  -- run by that may close the connection, which the call must then notice
  -- instead of sending on a freed connection.
  local args = {}
  for i = 1, 50 do args[i] = ("v"):rep(5000 + i) end
  local sql = "SELECT " .. ("?,"):rep(49) .. "?"

  local function close_during(call)
    local db = helpers.connect()
    local inside = false
    local chain = finalizer_chain(function() return inside end, function() return db:close() end)
    local n, ok, err = 0, true, nil
    while chain.result == nil and n < 5000 do
      n = n + 1
      inside = true
      ok, err = pcall(call, db)
      inside = false
      if not ok then break end
    end
    chain.stopped = true
    assert.is_true(chain.result, "no finalizer ran while a statement was built")
    assert.is_true(db.closed)
    if not ok then
      assert.equal("string", type(err), tostring(err))
      assert.truthy(err:find("attempt to use a closed connection", 1, true), err)
    end
    raises_string("attempt to use a closed connection", db.query, db, "SELECT 1")
  end

  it("makes db:query raise, not crash", function()
    close_during(function(db) return db:query(sql, table.unpack(args)) end)
  end)

  it("makes cur:execute raise, not crash", function()
    close_during(function(db)
      local cur = db:cursor{ stream = true }
      cur:execute(sql, table.unpack(args))
      return cur:close()
    end)
  end)
end)

describe("connect options from an __index function", function()
  -- Names longer than Lua interns, so each string the metamethod returns is
  -- a new object that nothing but the connect call refers to.
  local LONG = ("_0123456789abcdefghijklmnopqrstuvwxyz"):rep(2)
  local user = ("mylua_regress_user" .. LONG):sub(1, 60)
  local password = "pw" .. LONG
  local database = ("mylua_regress_db" .. LONG):sub(1, 60)
  local admin

  setup(function()
    admin = helpers.connect()
    admin:query("CREATE OR REPLACE USER ?@'%' IDENTIFIED BY ?", user, password)
    admin:query("CREATE DATABASE IF NOT EXISTS " .. admin:quote_name(database))
    admin:query("GRANT ALL ON " .. admin:quote_name(database) .. ".* TO ?@'%'", user)
  end)

  teardown(function()
    if admin then
      admin:query("DROP USER IF EXISTS ?@'%'", user)
      admin:query("DROP DATABASE IF EXISTS " .. admin:quote_name(database))
      admin:close()
    end
  end)

  it("are used as given even when collections run between the lookups", function()
    local stored = helpers.params{ user = user, password = password, database = database }
    local junk = {}
    local options = setmetatable({}, {
      __index = function(_, key)
        collectgarbage()
        collectgarbage()
        -- new strings of every size, to take the place of freed ones
        for len = 1, 100 do
          local tag = "!" .. #junk
          junk[#junk + 1] = ("#"):rep(len - #tag) .. tag
        end
        local v = stored[key]
        if type(v) == "string" then return v:sub(1) end -- a fresh copy
        return v
      end,
    })
    local db = mylua.connect(options)
    local who, current = db:query("SELECT CURRENT_USER(), DATABASE()"):row(1, "v")
    assert.equal(user .. "@%", who)
    assert.equal(database, current)
    db:close()
  end)
end)

describe("a broken connection", function()
  after_each(peer.stop_all)

  it("names the cause in its 2006 error, the same message on every call", function()
    local p = peer.start("close_mid_result")
    local db = mylua.connect{
      host = "127.0.0.1", port = p.port, user = "u", password = "p",
      connect_timeout = 2, read_timeout = 1,
    }
    local lost = raises(2013, db.query, db, "SELECT 1")
    local first = raises(2006, db.ping, db)
    assert.equal("Server has gone away (" .. lost.message .. ")", first.message)
    for _ = 1, 3 do
      assert.equal(first.message, raises(2006, db.query, db, "SELECT 1").message)
      assert.equal(first.message, raises(2006, db.ping, db).message)
    end
    local cur = db:cursor{ stream = true }
    assert.equal(first.message, raises(2006, cur.execute, cur, "SELECT 1").message)
    db:close()
  end)
end)

describe("a result with 5000 columns", function()
  local N = 5000
  local db, sql

  setup(function()
    db = helpers.connect_big()
    local exprs = {}
    for i = 1, N do exprs[i] = tostring(i) end
    sql = "SELECT " .. table.concat(exprs, ",")
  end)

  teardown(function()
    if db then db:close() end
  end)

  local function check_array(row)
    assert.equal(N, #row)
    for i = 1, N do
      if row[i] ~= i then assert.equal(i, row[i], "column " .. i) end
    end
  end

  local function check_keyed(row)
    local n = 0
    for k, v in pairs(row) do
      n = n + 1
      if tostring(v) ~= k then assert.equal(k, tostring(v), "column " .. k) end
    end
    assert.equal(N, n)
    assert.equal(N, row[tostring(N)])
  end

  local function check_values(...)
    assert.equal(N, select("#", ...))
    check_array({ ... })
  end

  it("is read by a buffered query in every row mode", function()
    local res = db:query(sql)
    assert.equal(1, #res)
    assert.equal(N, #res.columns)
    assert.equal(tostring(N), res.columns[N].name)
    check_keyed(res:row(1))
    check_array(res:row(1, "a"))
    check_values(res:row(1, "v"))
    local keyed, arrays = 0, 0
    for row in res:rows() do check_keyed(row); keyed = keyed + 1 end
    for row in res:rows("a") do check_array(row); arrays = arrays + 1 end
    assert.equal(1, keyed)
    assert.equal(1, arrays)
    check_values(res:rows("v")())
    assert.is_true(db:ping())
  end)

  it("is read by a streaming cursor in every row mode", function()
    local cur = db:cursor{ stream = true }
    cur:execute(sql)
    assert.equal(N, #cur.columns)
    check_keyed(cur:fetch())
    assert.is_nil(cur:fetch())
    cur:execute(sql)
    check_array(cur:fetch({}, "a"))
    assert.is_nil(cur:fetch())
    cur:execute(sql)
    check_values(cur:fetch(nil, "v"))
    assert.is_nil(cur:fetch())
    cur:execute(sql)
    local rows = 0
    for row in cur:rows("a") do check_array(row); rows = rows + 1 end
    assert.equal(1, rows)
    cur:close()
    assert.is_true(db:ping())
  end)
end)

describe("a C locale with a decimal comma", function()
  local dir

  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  -- A locale whose decimal point is a comma: the shell words a child needs
  -- to find it, and its name. One the system has, or one made with localedef.
  local function comma_locale()
    local names = helpers.run("locale -a")
    for _, name in ipairs{ "de_DE.utf8", "de_DE.UTF-8", "fr_FR.utf8", "fr_FR.UTF-8", "de_DE", "fr_FR" } do
      if ("\n" .. names):find("\n" .. name .. "\n", 1, true) then
        local point = helpers.run("LC_ALL=" .. q(name) .. " locale decimal_point")
        if trim(point) == "," then return "env", name end
      end
    end
    dir = os.tmpname()
    os.remove(dir)
    local _, err, code = helpers.run("mkdir " .. q(dir) .. " && localedef -i de_DE -f UTF-8 "
      .. q(dir .. "/de_DE.UTF-8"))
    assert(code == 0, "no locale with a decimal comma, and localedef could not make one "
      .. "(Debian: install the package locales): " .. err)
    return "env LOCPATH=" .. q(dir), "de_DE.UTF-8"
  end

  it("changes neither the literals written nor the floats read", function()
    local prefix, name = comma_locale()
    local out, err, code = host(prefix, ([[
      local mylua = require "mylua"
      assert(os.setlocale(%q, "numeric"), "os.setlocale failed")
      local db = mylua.connect(%s)
      local row = db:query("SELECT CAST(1.5 AS DOUBLE) AS d, ? AS p, 5 IN (?) AS hit", 2.25, 1.5):row(1)
      io.write(("%%.1f"):format(1.5), "|", db:quote(1.5), "|", db:quote(-0.125), "|",
        tostring(math.type(row.d)), "|", tostring(row.d == 1.5), "|",
        tostring(math.type(row.p)), "|", tostring(row.p == 2.25), "|", tostring(row.hit), "\n")
    ]]):format(name, params_source()))
    assert.equal("", err)
    assert.equal(0, code)
    -- the first field shows the locale is in effect in the child
    assert.equal("1,5|1.5e0|-0.125e0|float|true|float|true|0\n", out)
  end)
end)

describe("the default user", function()
  it("is the login name when USER is unset", function()
    local login = trim((helpers.run("id -un")))
    assert.truthy(#login > 0)
    local p = helpers.params()
    local out, err, code = host("env -u USER", ([[
      require("mylua").connect{ host = %q, port = %d, password = "not-the-password", connect_timeout = 5 }
    ]]):format(p.host, p.port))
    assert.equal(1, code)
    assert.equal("", out)
    local expected = "mylua: (command line):1: ERROR 1045 (28000): Access denied for user '" .. login .. "'@"
    assert.equal(expected, err:sub(1, #expected))
  end)
end)

describe("the host program", function()
  it("prints a server error that spans lines on one stderr line", function()
    local sql = "SELEC 1\nFROM dual"
    local db = helpers.connect()
    local err = raises(1064, db.query, db, sql)
    db:close()
    assert.truthy(err.message:find("\n", 1, true), "the server's message has no newline: " .. err.message)
    local out, stderr, code = host("", ([[
      local db = require("mylua").connect(%s)
      db:query(%q)
    ]]):format(params_source(), sql))
    assert.equal(1, code)
    assert.equal("", out)
    assert.equal("mylua: (command line):2: " .. tostring(err):gsub("\n", " ") .. "\n", stderr)
  end)
end)

describe("mylua.safe", function()
  local db, other, t

  local function count()
    return other:query("SELECT COUNT(*) FROM " .. t):row(1, "a")[1]
  end

  setup(function()
    db = assert(safe.connect(helpers.params()))
    other = helpers.connect()
    t = helpers.unique_table()
    other:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY) ENGINE = InnoDB")
  end)

  teardown(function()
    if other then
      other:query("DROP TABLE IF EXISTS " .. t)
      other:close()
    end
    if db then db:close() end
  end)

  before_each(function()
    other:query("DELETE FROM " .. t)
  end)

  it("hands transaction's fn the safe connection and rolls back when fn returns nil, err", function()
    local got, got_arg, failure
    local res, err = db:transaction(function(tx, arg)
      got, got_arg = tx, arg
      assert(tx:query("INSERT INTO " .. t .. " VALUES (1)"))
      local r, e = tx:query("SELECT * FROM nope") -- returns nil, err: it does not raise
      failure = e
      return r, e
    end, "extra")
    assert.is_true(rawequal(db, got))
    assert.equal("extra", got_arg)
    assert.is_nil(res)
    assert.is_true(mylua.is_error(err), tostring(err))
    assert.equal(1146, err.code)
    assert.is_true(rawequal(failure, err))
    assert.equal(0, count())
    assert.equal(0, db.status & IN_TRANS)
  end)

  it("rolls back when fn returns nil and a message of its own", function()
    local res, err = db:transaction(function(tx)
      assert(tx:query("INSERT INTO " .. t .. " VALUES (2)"))
      return nil, "not today"
    end)
    assert.is_nil(res)
    assert.equal("not today", err)
    assert.equal(0, count())
  end)

  it("still commits and returns fn's results when fn succeeds", function()
    assert.same({ "done", 3 }, { db:transaction(function(tx)
      assert(tx:query("INSERT INTO " .. t .. " VALUES (3)"))
      return "done", 3
    end) })
    assert.equal(1, count())
  end)

  it("reads a field of a closed connection or cursor as nil", function()
    local c = assert(safe.connect(helpers.params()))
    local cur = assert(c:cursor{ stream = true })
    assert(cur:execute("SELECT 1 AS a"))
    assert.equal("a", cur.columns[1].name)
    assert.is_true(cur:close())
    assert.is_true(cur.closed)
    assert.is_nil(cur.columns)
    assert.is_true(c:close())
    assert.is_true(c.closed)
    assert.is_nil(c.server_version)
    assert.is_nil(c.thread_id)
    local res, err = c:query("SELECT 1")
    assert.is_nil(res)
    assert.truthy(tostring(err):find("attempt to use a closed connection", 1, true), tostring(err))
  end)
end)
