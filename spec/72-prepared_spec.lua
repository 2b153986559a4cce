-- Prepared statements against the sandbox server: db:prepare and the
-- statement object, typed values, statement cursors (streamed and server
-- cursors in batches), execute_many, db:execute and its statement cache,
-- mylua.safe's face of all of it, and the errors: wrong parameter count,
-- values the server rejects, dropped and altered tables, a dead
-- connection, too many parameters, closed and collected statements,
-- invalidation by reset and change_user.

local mylua = require "mylua"
local safe = require "mylua.safe"
local helpers = require "helpers"

local raises, raises_string = helpers.raises, helpers.raises_string

local MiB = 1024 * 1024

local function scalar(db, sql, ...)
  return db:query(sql, ...):row(1, "a")[1]
end

-- A session status counter (Com_stmt_prepare, ...) as a number.
local function status(db, name)
  return math.tointeger(tonumber(db:query("SHOW SESSION STATUS LIKE ?", name):row(1, "a")[2]))
end

local function global_status(db, name)
  return math.tointeger(tonumber(db:query("SHOW GLOBAL STATUS LIKE ?", name):row(1, "a")[2]))
end

describe("a prepared statement", function()
  local db, t

  before_each(function()
    db = helpers.connect_big()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, name VARCHAR(20), n TINYINT)")
  end)

  after_each(function()
    if db and not db.closed and not db.broken then db:query("DROP TABLE IF EXISTS " .. t) end
    if db then db:close() end
    db = nil
  end)

  it("knows its parameter count, columns and id", function()
    local st = db:prepare("SELECT id, name FROM " .. t .. " WHERE id > ? AND name <> ?")
    assert.equal(2, st.param_count)
    assert.equal("integer", math.type(st.id))
    assert.is_true(st.id > 0)
    assert.is_false(st.closed)
    assert.equal(2, #st.columns)
    assert.equal("id", st.columns[1].name)
    assert.equal("LONG", st.columns[1].type)
    assert.equal("name", st.columns[2].name)
    assert.truthy(tostring(st):find("mylua.statement (id " .. st.id, 1, true))
    local ins = db:prepare("INSERT INTO " .. t .. " (id) VALUES (?)")
    assert.equal(1, ins.param_count)
    assert.same({}, ins.columns)
    st:close()
    ins:close()
  end)

  it("executes into a result like db:query's: OK fields, rows keyed, as arrays, unpacked", function()
    local ins = db:prepare("INSERT INTO " .. t .. " (id, name, n) VALUES (?, ?, ?)")
    local res = ins:execute(1, "one", 10)
    assert.equal(1, res.affected_rows)
    assert.equal(0, #res)
    ins:execute(2, "two", 20)
    local st = db:prepare("SELECT id, name, n FROM " .. t .. " WHERE id >= ? ORDER BY id")
    res = st:execute(1)
    assert.equal(2, #res)
    assert.same({ id = 1, name = "one", n = 10 }, res:row(1))
    assert.same({ 2, "two", 20 }, res:row(2, "a"))
    local ids = {}
    for id, name in res:rows("v") do ids[#ids + 1] = id .. name end
    assert.same({ "1one", "2two" }, ids)
    assert.equal(1, #st:execute(2))
    assert.same(db:query("SELECT id, name, n FROM " .. t .. " ORDER BY id"):row(2), st:execute(2):row(1))
  end)

  it("binds integers, floats, strings, booleans, nil and mylua.null", function()
    local st = db:prepare("SELECT ? AS i, ? AS f, ? AS s, ? AS b, ? IS NULL AS n1, ? IS NULL AS n2")
    local row = st:execute(-42, 2.5, "it's \0 raw", true, nil, mylua.null):row(1)
    assert.equal(-42, row.i)
    assert.equal(2.5, row.f)
    assert.equal("it's \0 raw", row.s)
    assert.equal(1, row.b)
    assert.equal(1, row.n1)
    assert.equal(1, row.n2)
    assert.equal(math.mininteger, st:execute(math.mininteger, 0.0, "", false, 1, 2):row(1).i)
  end)

  it("raises naming the argument for a value it cannot bind", function()
    local st = db:prepare("SELECT ?, ?")
    raises_string("bad argument #2 to 'execute' (cannot bind a table value)", st.execute, st, 1, {})
    raises_string("bad argument #1 to 'execute' (cannot bind a function value)", st.execute, st, print, 1)
    raises_string("bad argument #2 to 'execute' (cannot bind a non-finite number)", st.execute, st, 1, 1 / 0)
    assert.equal(1, #st:execute(1, 2)) -- still usable
  end)

  it("raises 2031 for a wrong parameter count, and stays usable", function()
    local st = db:prepare("SELECT ? + ?")
    raises(2031, st.execute, st, 1)
    raises(2031, st.execute, st, 1, 2, 3)
    assert.equal(3, st:execute(1, 2):row(1, "a")[1])
  end)

  it("raises the server's error for a value it rejects in strict mode", function()
    db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
    local st = db:prepare("INSERT INTO " .. t .. " (id, n) VALUES (?, ?)")
    raises(1264, st.execute, st, 1, 1000) -- out of range for TINYINT
    raises(1366, st.execute, st, 2, "not a number")
    assert.equal(1, st:execute(3, 100).affected_rows)
  end)

  it("follows an ALTER TABLE (the server prepares again) and raises 1146 after DROP", function()
    db:query("INSERT INTO " .. t .. " (id, name, n) VALUES (1, 'a', 2)")
    local st = db:prepare("SELECT * FROM " .. t .. " WHERE id = ?")
    assert.same({ id = 1, name = "a", n = 2 }, st:execute(1):row(1))
    db:query("ALTER TABLE " .. t .. " ADD COLUMN extra VARCHAR(5) DEFAULT 'x'")
    local res = st:execute(1)
    assert.same({ id = 1, name = "a", n = 2, extra = "x" }, res:row(1))
    assert.equal(4, #res.columns)
    db:query("DROP TABLE " .. t)
    raises(1146, st.execute, st, 1)
  end)

  it("raises 2006 or 2013 once its connection was killed", function()
    local st = db:prepare("SELECT ?")
    local admin <close> = helpers.connect()
    admin:kill(db.thread_id)
    local err = raises({ 2006, 2013 }, function()
      for _ = 1, 50 do -- the kill takes effect at once, or at the next read
        st:execute(1)
        admin:query("DO SLEEP(0.02)")
      end
    end)
    assert.is_not_nil(err)
    raises(2006, st.execute, st, 1)
  end)

  it("refuses more than 65,535 parameters with a clear error", function()
    local sql = "SELECT ?" .. string.rep(", ?", 65535)
    local err = raises(1390, db.prepare, db, sql) -- the server's "too many placeholders"
    assert.truthy(err.message:find("placeholders", 1, true), err.message)
    assert.equal(1, #db:query("SELECT 1")) -- the connection is fine
    local st = db:prepare("SELECT ?" .. string.rep(", ?", 999))
    assert.equal(1000, st.param_count)
    local vals = {}
    for i = 1, 1000 do vals[i] = i end
    assert.same(vals, st:execute(table.unpack(vals)):row(1, "a"))
  end)

  it("closes idempotently, raises once closed, and closes with <close>", function()
    local st = db:prepare("SELECT 1")
    assert.is_true(st:close())
    assert.is_true(st:close())
    assert.is_true(st.closed)
    assert.equal("mylua.statement (closed)", tostring(st))
    raises_string("attempt to use a closed statement", st.execute, st)
    raises_string("attempt to use a closed statement", st.cursor, st)
    raises_string("attempt to use a closed statement", st.execute_many, st, {})
    raises_string("attempt to use a closed statement", function() return st.param_count end)
    local kept
    do
      local scoped <close> = db:prepare("SELECT 2")
      kept = scoped
      assert.is_false(scoped.closed)
    end
    assert.is_true(kept.closed)
  end)

  it("is closed on the server once collected, at the connection's next command", function()
    local base = global_status(db, "Prepared_stmt_count")
    local kept = {}
    for i = 1, 40 do kept[i] = db:prepare("SELECT ?") end
    assert.is_true(global_status(db, "Prepared_stmt_count") >= base + 40)
    kept = nil -- luacheck: ignore
    local closes = status(db, "Com_stmt_close")
    collectgarbage()
    collectgarbage()
    db:ping() -- the next command sends the COM_STMT_CLOSEs first
    assert.is_true(status(db, "Com_stmt_close") >= closes + 40)
    assert.is_true(global_status(db, "Prepared_stmt_count") <= base)
  end)

  it("is invalid after db:reset() and after change_user, and says so (2056)", function()
    local st = db:prepare("SELECT ?")
    assert.equal(1, #st:execute(1))
    db:reset()
    local err = raises(2056, st.execute, st, 1)
    assert.truthy(err.message:lower():find("reset", 1, true), err.message)
    local cur = st:cursor()
    raises(2056, cur.execute, cur, 1)
    local st2 = db:prepare("SELECT ?")
    local p = helpers.params()
    db:change_user{ user = p.user, password = p.password, database = p.database }
    raises(2056, st2.execute, st2, 1)
    raises(2056, st2.execute_many, st2, { { 1 } })
    -- a statement prepared afterwards works
    assert.equal(5, db:prepare("SELECT ?"):execute(5):row(1, "a")[1])
  end)

  it("sends long values as long data and reads them back byte-exact (1 MiB, 20 MiB)", function()
    local big = helpers.connect_big{ max_packet = 64 * MiB }
    local bt = helpers.unique_table()
    big:query("CREATE TABLE " .. bt .. " (id INT PRIMARY KEY, b LONGBLOB)")
    finally(function()
      big:query("DROP TABLE " .. bt)
      big:close()
    end)
    local ins = big:prepare("INSERT INTO " .. bt .. " VALUES (?, ?)")
    local sel = big:prepare("SELECT b, LENGTH(b) FROM " .. bt .. " WHERE id = ?")
    local one = {}
    for i = 0, 255 do one[#one + 1] = string.char(i) end
    local pattern = table.concat(one)
    local mib = pattern:rep(MiB // 256)
    ins:execute(1, mylua.blob(mib))
    ins:execute(2, mib .. "tail") -- a plain string goes as long data too
    local twenty = pattern:rep(20 * MiB // 256)
    ins:execute(3, mylua.blob(twenty))
    twenty = nil
    local row = sel:execute(1):row(1, "a")
    assert.equal(MiB, row[2])
    assert.is_true(row[1] == mib, "1 MiB blob differs")
    row = sel:execute(2):row(1, "a")
    assert.is_true(row[1] == mib .. "tail", "1 MiB string differs")
    row = sel:execute(3):row(1, "a")
    assert.equal(20 * MiB, row[2])
    assert.is_true(row[1] == pattern:rep(20 * MiB // 256), "20 MiB blob differs")
  end)
end)

describe("typed values", function()
  local db

  before_each(function() db = helpers.connect() end)
  after_each(function() if db then db:close() end db = nil end)

  it("keep their text, type and equality", function()
    local d = mylua.decimal("1.10")
    assert.equal("1.10", d.value)
    assert.equal("decimal", d.type)
    assert.equal("1.10", tostring(d))
    assert.is_true(d == mylua.decimal("1.10"))
    assert.is_false(d == mylua.decimal("1.1"))
    assert.is_false(mylua.blob("1.10") == d)
    assert.equal("2024-01-02 03:04:05.123456", mylua.datetime("2024-01-02 03:04:05.123456").value)
    assert.equal("datetime", mylua.datetime("2024-01-02 03:04:05").type)
    assert.equal("date", mylua.date("2024-02-29").type)
    assert.equal("time", mylua.time("-838:59:59").type)
    assert.equal("blob", mylua.blob("\0\1").type)
    assert.equal(2, #mylua.blob("\0\1"))
    assert.equal("12", mylua.decimal(12).value)
  end)

  it("raise at once for a value that is not of their type, naming it", function()
    raises_string("not a date value: \"2024-02-30\"", mylua.date, "2024-02-30")
    raises_string("not a datetime value: \"2024-01-02 25:00:00\"", mylua.datetime, "2024-01-02 25:00:00")
    raises_string("not a time value: \"12:60:00\"", mylua.time, "12:60:00")
    raises_string("not a decimal value: \"1,5\"", mylua.decimal, "1,5")
    raises_string("not a decimal value: \"\"", mylua.decimal, "")
    raises_string("bad argument #1 to 'blob' (string expected, got table)", mylua.blob, {})
    raises_string("bad argument #1 to 'decimal' (string expected, got number)", mylua.decimal, 1.5)
  end)

  it("are sent with their type by a statement", function()
    local st = db:prepare("SELECT ? AS d, ? AS dt, ? AS da, ? AS ti, ? AS b, ? + 0 AS exact")
    local row = st:execute(mylua.decimal("1.10"), mylua.datetime("2024-01-02 03:04:05.123456"),
      mylua.date("2024-01-02"), mylua.time("-100:02:03.5"), mylua.blob("\0\255"),
      mylua.decimal("0.1")):row(1)
    assert.equal("1.10", row.d)
    assert.equal("2024-01-02 03:04:05.123456", row.dt)
    assert.equal("2024-01-02", row.da)
    assert.equal("-100:02:03.500000", row.ti)
    assert.equal("\0\255", row.b)
    assert.equal("0.1", row.exact) -- a DECIMAL, not the double 0.1000000000000000055...
    local cols = st:execute(mylua.decimal("1"), mylua.datetime("2024-01-02 03:04:05"),
      mylua.date("2024-01-02"), mylua.time("01:02:03"), mylua.blob(""), mylua.decimal("1")).columns
    assert.equal("NEWDECIMAL", cols[1].type)
    assert.equal("DATETIME", cols[2].type)
    assert.equal("DATE", cols[3].type)
    assert.equal("TIME", cols[4].type)
  end)

  it("go into typed columns exactly", function()
    local t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (d DECIMAL(30,10), dt DATETIME(6), b BLOB)")
    finally(function() db:query("DROP TABLE " .. t) end)
    db:prepare("INSERT INTO " .. t .. " VALUES (?, ?, ?)"):execute(
      mylua.decimal("12345678901234567890.0123456789"), mylua.datetime("2024-01-02T03:04:05.5"),
      mylua.blob("\0x\0"))
    assert.same({ "12345678901234567890.0123456789", "2024-01-02 03:04:05.500000", "\0x\0" },
      db:query("SELECT d, dt, b FROM " .. t):row(1, "a"))
  end)

  it("are SQL literals for db:query placeholders and db:quote", function()
    assert.equal("'1.10'", db:quote(mylua.decimal("1.10")))
    assert.equal("'2024-01-02'", db:quote(mylua.date("2024-01-02")))
    assert.equal("X'00FF41'", db:quote(mylua.blob("\0\255A")))
    assert.equal("X''", db:quote(mylua.blob("")))
    local row = db:query("SELECT ? AS d, ? AS dt, ? AS b, ? AS t", mylua.decimal("1.10"),
      mylua.datetime("2024-01-02 03:04:05"), mylua.blob("\0'\\"), mylua.time("10:00:00")):row(1)
    assert.same({ d = "1.10", dt = "2024-01-02 03:04:05", b = "\0'\\", t = "10:00:00" }, row)
  end)
end)

describe("a statement's cursor", function()
  local db

  before_each(function() db = helpers.connect_big() end)
  after_each(function() if db then db:close() end db = nil end)

  it("reads a 10,000-row result through a server cursor in batches, in small memory", function()
    local st = db:prepare("SELECT seq, REPEAT('x', 100) AS pad FROM seq_1_to_10000 WHERE seq >= ?")
    local fetches = status(db, "Com_stmt_fetch")
    local cur = st:cursor{ fetch_size = 100 }
    cur:execute(1)
    assert.equal(2, #cur.columns)
    local before = helpers.collected_rss_kb()
    local n, sum, row = 0, 0, {}
    while cur:fetch(row) do
      n = n + 1
      sum = sum + row.seq
      if n % 2500 == 0 then collectgarbage() end
    end
    local grown = helpers.collected_rss_kb() - before
    assert.equal(10000, n)
    assert.equal(10000 * 10001 // 2, sum)
    assert.is_nil(cur:fetch())
    local batches = status(db, "Com_stmt_fetch") - fetches
    assert.is_true(batches >= 100 and batches <= 101, "COM_STMT_FETCH sent " .. batches .. " times")
    assert.is_true(grown < 8 * 1024, "memory grew by " .. grown .. " KiB")
    cur:close()
  end)

  it("iterates with rows() in every mode and executes again", function()
    local st = db:prepare("SELECT seq AS n FROM seq_1_to_5 WHERE seq <= ?")
    local cur = st:cursor{ fetch_size = 2 }
    local seen = {}
    cur:execute(5)
    for r in cur:rows() do seen[#seen + 1] = r.n end
    assert.same({ 1, 2, 3, 4, 5 }, seen)
    cur:execute(3)
    seen = {}
    for v in cur:rows("v") do seen[#seen + 1] = v end
    assert.same({ 1, 2, 3 }, seen)
    cur:close()
  end)

  it("closes its server cursor early and leaves the connection usable", function()
    local st = db:prepare("SELECT seq FROM seq_1_to_1000")
    local cur = st:cursor{ fetch_size = 10 }
    cur:execute()
    assert.equal(1, cur:fetch("a")[1])
    cur:close()
    assert.equal(1000, #st:execute())
    assert.equal(1, #db:query("SELECT 1"))
  end)

  it("says its rows are gone when the statement ran again meanwhile", function()
    local st = db:prepare("SELECT seq FROM seq_1_to_100")
    local cur = st:cursor{ fetch_size = 10 }
    cur:execute()
    -- between batches the connection is free: the statement may run again
    assert.equal(100, #st:execute())
    raises_string("its rows are gone", cur.fetch, cur)
    raises_string("its rows are gone", cur.fetch, cur)
    cur:execute()
    for i = 1, 10 do assert.equal(i, cur:fetch().seq) end
    raises(2014, st.execute, st) -- within a batch it is not
    cur:execute()
    st:reset()
    raises_string("its rows are gone", cur.fetch, cur)
    cur:close()
    assert.equal(1, #db:query("SELECT 1"))
  end)

  it("streams without a server cursor, holding the connection (2014) until read", function()
    local st = db:prepare("SELECT seq FROM seq_1_to_3000 WHERE seq > ?")
    for _, opts in ipairs{ {}, { stream = true } } do
      local cur = st:cursor(next(opts) and opts or nil)
      cur:execute(0)
      assert.equal(1, cur:fetch().seq)
      raises(2014, db.query, db, "SELECT 1")
      raises(2014, st.execute, st, 1)
      local n = 1
      for _ in cur:rows() do n = n + 1 end
      assert.equal(3000, n)
      assert.equal(1, #db:query("SELECT 1"))
      cur:close()
    end
  end)

  it("raises once its statement is closed, and gives the connection back", function()
    local st = db:prepare("SELECT seq FROM seq_1_to_100")
    local cur = st:cursor()
    cur:execute()
    assert.is_not_nil(cur:fetch())
    st:close()
    raises_string("attempt to use a closed statement", cur.fetch, cur)
    assert.equal(1, #db:query("SELECT 1")) -- the unread rows were discarded
    raises_string("attempt to use a closed statement", cur.fetch, cur)
    cur:close()
    assert.equal(1, #db:query("SELECT 1"))
  end)

  it("checks its options", function()
    local st = db:prepare("SELECT 1")
    raises_string("fetch_size must be an integer", st.cursor, st, { fetch_size = 0 })
    raises_string("fetch_size must be an integer", st.cursor, st, { fetch_size = 1.5 })
    raises_string("not both", st.cursor, st, { fetch_size = 5, stream = true })
    raises_string("unknown cursor option", st.cursor, st, { fetchsize = 5 })
    raises_string("stream must be true", st.cursor, st, { stream = false })
  end)
end)

describe("a procedure's result sets through a statement", function()
  local db, proc

  before_each(function()
    db = helpers.connect()
    proc = helpers.unique_table()
    db:query("CREATE PROCEDURE " .. proc .. "(IN k INT) BEGIN SELECT k AS a; SELECT k * 2 AS b, 'x' AS c; END")
  end)

  after_each(function()
    db:query("DROP PROCEDURE IF EXISTS " .. proc)
    db:close()
  end)

  it("come one after another with next_result, buffered and streamed", function()
    local st = db:prepare("CALL " .. proc .. "(?)")
    local res = st:execute(21)
    assert.same({ a = 21 }, res:row(1))
    local second = res:next_result()
    assert.same({ b = 42, c = "x" }, second:row(1))
    local cur = st:cursor()
    cur:execute(5)
    assert.same({ a = 5 }, cur:fetch())
    assert.is_true(cur:next_result())
    assert.same({ b = 10, c = "x" }, cur:fetch())
    while cur:next_result() do end
    assert.equal(1, #db:query("SELECT 1"))
    -- the statement runs again
    assert.same({ a = 7 }, st:execute(7):row(1))
  end)
end)

describe("execute_many", function()
  local db, t

  before_each(function()
    db = helpers.connect_big()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, v VARCHAR(20))")
  end)

  after_each(function()
    if not db.closed then db:query("DROP TABLE IF EXISTS " .. t) end
    db:close()
  end)

  it("sends every kind of value and every string length class byte-exactly in one bulk batch", function()
    local w = helpers.unique_table()
    db:query("CREATE TABLE " .. w .. " (id INT PRIMARY KEY, i BIGINT, u BIGINT UNSIGNED, d DOUBLE, s LONGTEXT, " ..
      "b LONGBLOB, e DECIMAL(20,4), dt DATETIME(6), ok TINYINT)")
    local st = db:prepare("INSERT INTO " .. w .. " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    -- lengths around the one-byte length limit (250, 251) and past the
    -- two-byte one; NULLs between values of one column
    local lengths = { 0, 1, 250, 251, 252, 300, 65535, 65536, 70000 }
    local rows = {}
    for k, n in ipairs(lengths) do
      local bytes = ("\0\255" .. ("%d;"):format(k)):rep(n):sub(1, n)
      rows[k] = { k, k % 2 == 0 and -k * 1000003 or mylua.null, "18446744073709551615", k / 8,
        ("s"):rep(n), mylua.blob(bytes), mylua.decimal(("%d.%04d"):format(k, k)),
        mylua.datetime(("2024-01-%02d 03:04:05.%06d"):format(k, k)), k % 3 == 0 }
    end
    assert.equal(#lengths, st:execute_many(rows))
    local got = db:query("SELECT id, i, CAST(u AS CHAR), d, LENGTH(s), s = REPEAT('s', LENGTH(s)), HEX(b), " ..
      "CAST(e AS CHAR), CAST(dt AS CHAR), ok FROM " .. w .. " ORDER BY id"):fetch_all("a")
    assert.equal(#lengths, #got)
    for k, n in ipairs(lengths) do
      local bytes = ("\0\255" .. ("%d;"):format(k)):rep(n):sub(1, n)
      local r = got[k]
      assert.equal(k, r[1])
      assert.equal(k % 2 == 0 and -k * 1000003 or mylua.null, r[2])
      assert.equal("18446744073709551615", r[3])
      assert.equal(k / 8, r[4])
      assert.equal(n, r[5])
      assert.equal(1, r[6])
      assert.equal(bytes:gsub(".", function(c) return ("%02X"):format(c:byte()) end), r[7])
      assert.equal(("%d.%04d"):format(k, k), r[8])
      assert.equal(("2024-01-%02d 03:04:05.%06d"):format(k, k), r[9])
      assert.equal(k % 3 == 0 and 1 or 0, r[10])
    end
    db:query("DROP TABLE " .. w)
  end)

  it("inserts an array of arrays and sums the affected rows", function()
    local st = db:prepare("INSERT INTO " .. t .. " VALUES (?, ?)")
    assert.equal(3, st:execute_many{ { 1, "a" }, { 2, mylua.null }, { 3, "c" } })
    assert.same({ { 1, "a" }, { 2, mylua.null }, { 3, "c" } },
      (function()
        local out = {}
        for r in db:query("SELECT id, v FROM " .. t .. " ORDER BY id"):rows("a") do out[#out + 1] = r end
        return out
      end)())
    local up = db:prepare("UPDATE " .. t .. " SET v = ? WHERE id <= ?")
    assert.equal(2 + 3, up:execute_many{ { "x", 2 }, { "y", 3 } })
    assert.equal(0, st:execute_many{})
  end)

  it("takes an iterator of any length in bounded memory", function()
    local st = db:prepare("INSERT INTO " .. t .. " VALUES (?, ?)")
    local i, n = 0, 50000
    local row = {}
    local before = helpers.collected_rss_kb()
    local affected = st:execute_many(function()
      i = i + 1
      if i > n then return nil end
      row[1], row[2] = i, "v" .. i -- one table refilled: the rows are copied as they come
      return row
    end)
    local grown = helpers.collected_rss_kb() - before
    assert.equal(n, affected)
    assert.equal(n, scalar(db, "SELECT COUNT(*) FROM " .. t))
    assert.equal("v777", scalar(db, "SELECT v FROM " .. t .. " WHERE id = 777"))
    assert.is_true(grown < 16 * 1024, "memory grew by " .. grown .. " KiB")
  end)

  it("names the failing row of a duplicate key", function()
    local st = db:prepare("INSERT INTO " .. t .. " VALUES (?, ?)")
    local err = raises(1062, st.execute_many, st, { { 1, "a" }, { 2, "b" }, { 1, "dup" }, { 4, "d" } })
    -- a bulk batch: the server numbers its failing row, and undoes the batch (InnoDB)
    assert.equal(3, err.row)
    assert.is_nil(err.batch_rows)
    assert.equal(0, err.affected_rows)
    assert.equal(0, scalar(db, "SELECT COUNT(*) FROM " .. t))
    assert.equal(1, #db:query("SELECT 1")) -- the connection is fine
    db:query("DELETE FROM " .. t)
    db:query("INSERT INTO " .. t .. " VALUES (1, 'first')")
    local ids, k = { 100, 101, 1, 102, 103 }, 0
    local err2 = raises(1062, st.execute_many, st, function()
      k = k + 1
      if ids[k] then return { ids[k], "again" } end
    end)
    assert.equal(3, err2.row)
  end)

  it("pipelines executes with { bulk = false }: the failing row named, the rows after it run", function()
    local st = db:prepare("INSERT INTO " .. t .. " VALUES (?, ?)")
    assert.equal(2, st:execute_many({ { 1, "a" }, { 2, "b" } }, { bulk = false }))
    local err = raises(1062, st.execute_many, st, { { 3, "c" }, { 1, "dup" }, { 5, "e" } }, { bulk = false })
    assert.equal(2, err.row)
    assert.is_nil(err.batch_rows)
    -- every execute of the window ran and was answered: the rows around the failure are in
    assert.equal(2, err.affected_rows)
    assert.equal(4, scalar(db, "SELECT COUNT(*) FROM " .. t))
    assert.equal("e", scalar(db, "SELECT v FROM " .. t .. " WHERE id = 5"))
    raises_string("unknown option (expected bulk)", st.execute_many, st, {}, { bluk = false })
    raises_string("bulk must be a boolean", st.execute_many, st, {}, { bulk = "no" })
  end)

  it("runs statements other than INSERT row by row, naming the failing row exactly", function()
    local ins = db:prepare("INSERT INTO " .. t .. " VALUES (?, ?)")
    assert.equal(4, ins:execute_many{ { 1, "a" }, { 2, "b" }, { 4, "d" }, { 6, "f" } })
    local up = db:prepare("UPDATE " .. t .. " SET id = ? WHERE id = ?")
    -- the third moves 4 onto 2: a duplicate; the others run
    local err = raises(1062, up.execute_many, up, { { 101, 1 }, { 3, 6 }, { 2, 4 }, { 104, 3 } })
    assert.equal(3, err.row)
    assert.equal(3, err.affected_rows)
    local ids = {}
    for id in db:query("SELECT id FROM " .. t .. " ORDER BY id"):rows("v") do ids[#ids + 1] = id end
    assert.same({ 2, 4, 101, 104 }, ids)
  end)

  it("re-raises an error of the iterator or of a row unchanged, naming the row", function()
    local st = db:prepare("INSERT INTO " .. t .. " VALUES (?, ?)")
    local mine = setmetatable({}, { __tostring = function() return "mine" end })
    local k = 0
    local ok, err = pcall(st.execute_many, st, function()
      k = k + 1
      if k == 3 then error(mine) end
      return { k, "x" }
    end)
    assert.is_false(ok)
    assert.equal(mine, err)
    raises_string("execute_many: row 2, value 2: cannot bind a table value", st.execute_many, st,
      { { 10, "a" }, { 11, {} } })
    raises_string("execute_many: row 1 is a string, not an array of values", st.execute_many, st, { "x" })
    raises_string("execute_many: row 1, value 2: cannot bind a table value", st.execute_many, st,
      { { true, {} } })
    raises_string("execute_many: row 1, value 2: cannot bind a function value", st.execute_many, st,
      { { 30, print } })
    raises_string("execute_many: row 1, value 1: cannot bind a non-finite number", st.execute_many, st,
      { { 0 / 0, "a" } })
    local e = raises(2031, st.execute_many, st, { { 20, "a" }, { 21 } })
    assert.equal(2, e.row)
    assert.equal(1, #db:query("SELECT 1")) -- usable after all of them
    raises_string("attempt to use a connection while it runs execute_many", st.execute_many, st,
      function() db:query("SELECT 1") end)
    assert.equal(1, st:execute_many{ { 99, "ok" } })
  end)
end)

describe("statements and finalizers", function()
  it("defer a close asked from execute_many's rows until the rows are done", function()
    local db = helpers.connect()
    local t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY)")
    finally(function()
      local admin = helpers.connect()
      admin:query("DROP TABLE IF EXISTS " .. t)
      admin:close()
      db:close()
    end)
    local st = db:prepare("INSERT INTO " .. t .. " VALUES (?)")
    local others = {}
    for i = 1, 20 do others[i] = db:prepare("SELECT 1") end
    local k = 0
    assert.equal(3, st:execute_many(function()
      k = k + 1
      if k == 2 then
        st:close()                      -- deferred: the statement is busy
        others = nil -- luacheck: ignore
        collectgarbage()                -- other statements freed meanwhile
      end
      if k <= 3 then return { k } end
    end))
    assert.is_true(st.closed)
    raises_string("attempt to use a closed statement", st.execute, st, 1)
    local st2 = db:prepare("INSERT INTO " .. t .. " VALUES (?)")
    k = 10
    assert.equal(2, st2:execute_many(function()
      k = k + 1
      if k == 11 then db:close() end -- deferred too: the connection is busy
      if k <= 12 then return { k } end
    end))
    assert.is_true(db.closed)
    raises_string("attempt to use a closed connection", st2.execute, st2, 1)
    assert.is_true(st2:close())
  end)

  -- Runs body(i) many times while garbage is made, so that a finalizer
  -- set up by body runs inside some allocation of the call it makes; every
  -- outcome must be success or one of the `allowed` error texts, and some
  -- must be errors (else no finalizer ran where it matters).
  local function churn(times, allowed, body)
    -- new settings count from the next cycle: a full one starts it (a 0
    -- would mean "unchanged")
    collectgarbage("incremental", 1, 400, 1)
    collectgarbage()
    local bad, failed = {}, 0
    for i = 1, times do
      local junk = {}
      for k = 1, i % 50 do junk[k] = {} end
      local ok, err = body(i)
      local fine = ok
      for _, a in ipairs(allowed) do fine = fine or tostring(err):find(a, 1, true) ~= nil end
      if not fine then bad[#bad + 1] = tostring(err) end
      if not ok then failed = failed + 1 end
    end
    collectgarbage("incremental", 200, 100, 13) -- Lua's defaults
    assert.same({}, bad)
    assert.is_true(failed > 0, "no finalizer closed anything during a call")
  end

  it("closing the statement or its connection inside a call give clear errors, not crashes", function()
    local db = helpers.connect()
    local closed = { "attempt to use a closed statement", "attempt to use a closed connection" }
    churn(600, closed, function(i)
      local st = db:prepare("SELECT ?, REPEAT('x', ?)")
      setmetatable({}, { __gc = function() st:close() end })
      if i % 3 == 0 then return pcall(function() return st.columns end) end
      if i % 3 == 1 then return pcall(st.execute, st, i, i % 100) end
      local cur = st:cursor(i % 2 == 0 and { fetch_size = 2 } or nil)
      return pcall(function()
        cur:execute(i, 10)
        while cur:fetch() do end
        cur:close()
      end)
    end)
    churn(100, closed, function(i)
      local c = helpers.connect{ statement_cache = i % 2 }
      setmetatable({}, { __gc = function() c:close() end })
      local ok, err
      for k = 1, 40 do -- until the finalizer has closed the connection
        ok, err = pcall(c.execute, c, "SELECT ?", k)
        if not ok then break end
      end
      return ok, err
    end)
    assert.equal(1, #db:query("SELECT 1"))
    db:close()
  end)

  it("outlive their connection harmlessly", function()
    local db = helpers.connect()
    local st = db:prepare("SELECT ?")
    local cur = st:cursor()
    db:close()
    raises_string("attempt to use a closed connection", st.execute, st, 1)
    raises_string("attempt to use a closed connection", cur.execute, cur, 1)
    assert.is_true(st:close())
    assert.is_true(st:close())
    local db2 = helpers.connect()
    for _ = 1, 10 do db2:prepare("SELECT ?"):cursor() end
    db2 = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
  end)
end)

describe("db:execute", function()
  local function prepares(db) return status(db, "Com_stmt_prepare") end

  it("prepares, executes and closes each time without a cache", function()
    local db <close> = helpers.connect()
    local p0 = prepares(db)
    for i = 1, 3 do assert.equal(i * 2, db:execute("SELECT ? * 2", i):row(1, "a")[1]) end
    assert.equal(p0 + 3, prepares(db))
    raises(1064, db.execute, db, "SELEC ?", 1)
    raises(2031, db.execute, db, "SELECT ?, ?", 1)
    raises_string("bad argument #2 to 'execute' (cannot bind a table value)", db.execute, db, "SELECT ?", {})
    local base = global_status(db, "Prepared_stmt_count")
    db:execute("SELECT 1")
    db:ping()
    assert.is_true(global_status(db, "Prepared_stmt_count") <= base)
  end)

  it("reuses statements with statement_cache = N, least recently used first out", function()
    local db <close> = helpers.connect{ statement_cache = 2 }
    local p0 = prepares(db)
    for i = 1, 5 do assert.equal(i + 1, db:execute("SELECT ? + 1", i):row(1, "a")[1]) end
    assert.equal(p0 + 1, prepares(db))
    db:execute("SELECT ? + 2", 1)
    db:execute("SELECT ? + 1", 1) -- still cached
    assert.equal(p0 + 2, prepares(db))
    db:execute("SELECT ? + 3", 1) -- evicts "+ 2", the least recently used
    db:execute("SELECT ? + 1", 1)
    assert.equal(p0 + 3, prepares(db))
    db:execute("SELECT ? + 2", 1)
    assert.equal(p0 + 4, prepares(db))
  end)

  it("prepares a cached statement again after db:reset(), but not a failed one", function()
    local db = helpers.connect{ statement_cache = 4 }
    local t = helpers.unique_table()
    finally(function()
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end)
    db:execute("SELECT ?", 1)
    db:reset()
    local p0 = prepares(db)
    assert.equal(2, db:execute("SELECT ?", 2):row(1, "a")[1])
    assert.equal(3, db:execute("SELECT ?", 3):row(1, "a")[1])
    assert.equal(p0 + 1, prepares(db))
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY)")
    db:execute("INSERT INTO " .. t .. " VALUES (?)", 1)
    local p1 = prepares(db)
    raises(1062, db.execute, db, "INSERT INTO " .. t .. " VALUES (?)", 1)
    assert.equal(1, db:execute("INSERT INTO " .. t .. " VALUES (?)", 2).affected_rows)
    assert.equal(p1, prepares(db)) -- a server error leaves the statement cached
  end)

  it("raises 2006 rather than prepare again on a dead connection", function()
    local db <close> = helpers.connect{ statement_cache = 4 }
    db:execute("SELECT ?", 1)
    local admin <close> = helpers.connect()
    admin:kill(db.thread_id)
    raises({ 2006, 2013 }, function()
      for _ = 1, 50 do
        db:execute("SELECT ?", 1)
        admin:query("DO SLEEP(0.02)")
      end
    end)
  end)

  it("checks the statement_cache option", function()
    for _, bad in ipairs{ -1, 1.5, "2", true, 100000 } do
      raises_string("option 'statement_cache' must be an integer from 0 (off) to", mylua.connect,
        helpers.params{ statement_cache = bad })
    end
    local db <close> = helpers.connect{ statement_cache = 0 }
    assert.equal(1, #db:execute("SELECT 1"))
  end)
end)

describe("mylua.safe's statements", function()
  it("return nil, err instead of raising", function()
    local db <close> = assert(safe.connect(helpers.params()))
    local st = assert(db:prepare("SELECT ? + ?"))
    assert.equal(2, st.param_count)
    assert.equal(5, st:execute(2, 3):row(1, "a")[1])
    local res, err = st:execute(1)
    assert.is_nil(res)
    assert.equal(2031, err.code)
    local n, err2 = st:execute_many{ { 1 } }
    assert.is_nil(n)
    assert.equal(2031, err2.code)
    assert.equal(1, err2.row)
    local bad, err3 = db:prepare("SELEC")
    assert.is_nil(bad)
    assert.equal(1064, err3.code)
    local cur = assert(st:cursor{ fetch_size = 1 })
    assert(cur:execute(1, 1))
    assert.equal(2, cur:fetch("a")[1])
    assert.is_nil(cur:fetch())
    assert.equal(7, db:execute("SELECT ? + 1", 6):row(1, "a")[1])
    assert.is_true(st:close())
    local r, e = st:execute(1, 2)
    assert.is_nil(r)
    assert.truthy(tostring(e):find("closed statement", 1, true))
    local d, derr = safe.decimal("x")
    assert.is_nil(d)
    assert.truthy(derr:find("not a decimal value", 1, true))
    assert.equal("1.5", safe.decimal("1.5").value)
    assert.equal("blob", safe.blob("x").type)
  end)
end)

describe("the README's prepared statement examples", function()
  -- The ```lua blocks of the section "Prepared statements".
  local function examples()
    local f = assert(io.open("README.md", "rb"))
    local text = f:read("a")
    f:close()
    local section = assert(text:match("\n### Prepared statements\n(.-)\n### "))
    local blocks = {}
    for code in section:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = code end
    return blocks
  end

  it("run against the server", function()
    local blocks = examples()
    assert.equal(2, #blocks)
    local db = helpers.connect()
    finally(function()
      db:query("DROP TABLE IF EXISTS users, sessions")
      db:close()
    end)
    db:query("CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20), kind VARCHAR(5))")
    db:query("CREATE TABLE sessions (id INT PRIMARY KEY)")
    db:query("INSERT INTO users VALUES (11, 'k', 'x'), (12, 'l', 'y')")
    db:query("INSERT INTO sessions VALUES (3), (4), (5)")
    local printed = {}
    local function capture(...) printed[#printed + 1] = table.concat({ ... }, " ") end
    local env = setmetatable({ db = db, print = capture }, { __index = _G })
    assert(load(blocks[1], "example 1", "t", env))()
    assert.same({ "2 2", "11 k", "2" }, printed)
    local connect_env = setmetatable({
      mylua = setmetatable({
        connect = function(opts)
          return mylua.connect(helpers.params{ statement_cache = opts.statement_cache })
        end,
      }, { __index = mylua }),
    }, { __index = _G })
    assert(load(blocks[2], "example 2", "t", connect_env))()
    assert.equal(1, db:query("SELECT COUNT(*) FROM sessions"):row(1, "a")[1])
  end)
end)
