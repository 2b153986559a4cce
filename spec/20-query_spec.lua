-- Queries against a real MariaDB server: OK packets, server errors, result
-- sets and their metadata, multiple result sets, values larger than one
-- protocol packet, placeholders and quoting, connection commands,
-- transactions, closed objects and the `mylua.safe` face.

local helpers = require "helpers"
local mylua = require "mylua"

-- server status flags (MariaDB / MySQL protocol)
local IN_TRANS = 0x0001
local AUTOCOMMIT = 0x0002
local MORE_RESULTS_EXIST = 0x0008
local NO_BACKSLASH_ESCAPES = 0x0200

local MiB = 1024 * 1024

-- Calls f(...) and returns what it raised; fails if it did not raise.
local function raised(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error to be raised")
  return err
end

-- nil when `got` is byte-for-byte `expected`, otherwise a short description
-- of the first difference (never the whole, possibly huge, strings).
local function byte_diff(expected, got)
  if type(got) ~= "string" then
    return "expected a string, got " .. type(got)
  end
  if got == expected then return nil end
  local n = math.min(#expected, #got)
  for i = 1, n do
    if expected:byte(i) ~= got:byte(i) then
      return ("first difference at byte %d: expected 0x%02X, got 0x%02X (lengths %d and %d)")
        :format(i, expected:byte(i), got:byte(i), #expected, #got)
    end
  end
  return ("lengths differ: expected %d, got %d"):format(#expected, #got)
end

local all_bytes, hex = helpers.all_bytes, helpers.hex

local function scalar(db, sql, ...)
  local res = db:query(sql, ...)
  local row = res:row(1, "a")
  assert.is_not_nil(row, "query returned no row: " .. sql)
  return row[1]
end

local function count(db, tbl)
  return scalar(db, "SELECT COUNT(*) FROM " .. tbl)
end

local function database_name()
  local p = helpers.params()
  return p.database
end

-- Polls `probe` (with a short server-side sleep between tries on `db`)
-- until it returns true or `seconds` have passed.
local function eventually(db, seconds, probe)
  local deadline = os.time() + seconds
  repeat
    if probe() then return true end
    db:query("DO SLEEP(0.05)")
  until os.time() > deadline
  return probe()
end

local function thread_alive(db, id)
  return scalar(db, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", id) == 1
end

describe("OK packet", function()
  local db, t

  setup(function()
    db = helpers.connect()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(5))")
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
  end)

  before_each(function()
    db:query("SET SESSION sql_mode = DEFAULT")
    db:query("SET autocommit = 1")
    db:query("DELETE FROM " .. t)
  end)

  it("reports affected_rows and insert_id for a single-row INSERT", function()
    local res = db:query("INSERT INTO " .. t .. " (v) VALUES ('a')")
    assert.equal(1, res.affected_rows)
    assert.equal(scalar(db, "SELECT MAX(id) FROM " .. t), res.insert_id)
    assert.equal(scalar(db, "SELECT LAST_INSERT_ID()"), res.insert_id)
    assert.equal(0, res.warnings)
  end)

  it("reports the first generated id and the info message for a multi-row INSERT", function()
    local first = db:query("INSERT INTO " .. t .. " (v) VALUES ('a')")
    local res = db:query("INSERT INTO " .. t .. " (v) VALUES ('b'), ('c'), ('d')")
    assert.equal(3, res.affected_rows)
    assert.equal(scalar(db, "SELECT MIN(id) FROM " .. t .. " WHERE v IN ('b', 'c', 'd')"), res.insert_id)
    assert.equal(scalar(db, "SELECT LAST_INSERT_ID()"), res.insert_id)
    assert.is_true(res.insert_id > first.insert_id)
    assert.equal(res.insert_id + 2, scalar(db, "SELECT MAX(id) FROM " .. t))
    assert.equal("Records: 3  Duplicates: 0  Warnings: 0", res.info)
  end)

  it("reports insert_id 0 when the table has no AUTO_INCREMENT column", function()
    local plain = helpers.unique_table()
    db:query("CREATE TEMPORARY TABLE " .. plain .. " (a INT)")
    local res = db:query("INSERT INTO " .. plain .. " VALUES (7), (8)")
    assert.equal(2, res.affected_rows)
    assert.equal(0, res.insert_id)
  end)

  it("reports affected_rows and info for UPDATE", function()
    db:query("INSERT INTO " .. t .. " (v) VALUES ('a'), ('b'), ('c')")
    local res = db:query("UPDATE " .. t .. " SET v = 'z' WHERE v IN ('a', 'b')")
    assert.equal(2, res.affected_rows)
    assert.equal("Rows matched: 2  Changed: 2  Warnings: 0", res.info)
    res = db:query("UPDATE " .. t .. " SET v = 'z'")
    assert.equal("Rows matched: 3  Changed: 1  Warnings: 0", res.info)
    res = db:query("UPDATE " .. t .. " SET v = 'y' WHERE v = 'nothing'")
    assert.equal(0, res.affected_rows)
    assert.equal("Rows matched: 0  Changed: 0  Warnings: 0", res.info)
  end)

  it("reports affected_rows for DELETE", function()
    db:query("INSERT INTO " .. t .. " (v) VALUES ('a'), ('b'), ('c'), ('d')")
    local res = db:query("DELETE FROM " .. t .. " WHERE v <> 'a'")
    assert.equal(3, res.affected_rows)
    assert.equal(1, count(db, t))
    res = db:query("DELETE FROM " .. t .. " WHERE v = 'nothing'")
    assert.equal(0, res.affected_rows)
  end)

  it("counts the warnings of a truncating INSERT in a non-strict session", function()
    db:query("SET SESSION sql_mode = ''")
    local res = db:query("INSERT INTO " .. t .. " (v) VALUES ('toolongvalue'), ('ok')")
    assert.equal(2, res.affected_rows)
    assert.equal(1, res.warnings)
    assert.equal("Records: 2  Duplicates: 0  Warnings: 1", res.info)
    local w = db:query("SHOW WARNINGS")
    assert.equal(1, #w)
    local row = w:row(1)
    assert.equal("Warning", row.Level)
    assert.equal(1265, row.Code)
    assert.equal("Data truncated for column 'v' at row 1", row.Message)
    assert.equal("toolo", scalar(db, "SELECT v FROM " .. t .. " ORDER BY id LIMIT 1"))
  end)

  it("counts the warnings of a result set (division by zero)", function()
    db:query("SET SESSION sql_mode = 'ERROR_FOR_DIVISION_BY_ZERO'")
    local res = db:query("SELECT 1/0 AS a, 2/0 AS b")
    assert.equal(2, res.warnings)
    assert.equal(1, #res)
    local row = res:row(1)
    assert.equal(mylua.null, row.a)
    assert.equal(mylua.null, row.b)
    res = db:query("SELECT 1/1 AS a")
    assert.equal(0, res.warnings)
  end)

  it("rejects the truncating INSERT in a strict session", function()
    db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
    local err = raised(db.query, db, "INSERT INTO " .. t .. " (v) VALUES ('toolongvalue')")
    assert.equal(1406, err.code)
    assert.equal("22001", err.sqlstate)
    assert.equal("Data too long for column 'v' at row 1", err.message)
  end)

  it("reports the server status flags", function()
    local res = db:query("SELECT 1")
    assert.is_true(res.status & AUTOCOMMIT ~= 0)
    assert.is_true(res.status & IN_TRANS == 0)
    db:query("BEGIN")
    res = db:query("INSERT INTO " .. t .. " (v) VALUES ('x')")
    assert.is_true(res.status & IN_TRANS ~= 0)
    assert.is_true(db.status & IN_TRANS ~= 0)
    res = db:query("COMMIT")
    assert.is_true(res.status & IN_TRANS == 0)
    assert.is_true(db.status & IN_TRANS == 0)
    res = db:query("SET autocommit = 0")
    assert.is_true(res.status & AUTOCOMMIT == 0)
    assert.is_true(db.status & AUTOCOMMIT == 0)
    res = db:query("SET autocommit = 1")
    assert.is_true(res.status & AUTOCOMMIT ~= 0)
  end)

  it("decodes large affected_rows and insert_id values", function()
    local big = helpers.unique_table()
    db:query("CREATE TEMPORARY TABLE " .. big
      .. " (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT = 5000000000")
    local res = db:query("INSERT INTO " .. big .. " (v) SELECT seq FROM seq_1_to_70000")
    assert.equal(70000, res.affected_rows)
    assert.equal(5000000000, res.insert_id)
    assert.equal("integer", math.type(res.insert_id))
    assert.equal("Records: 70000  Duplicates: 0  Warnings: 0", res.info)
    res = db:query("UPDATE " .. big .. " SET v = v + 1")
    assert.equal(70000, res.affected_rows)
    assert.equal("Rows matched: 70000  Changed: 70000  Warnings: 0", res.info)
  end)

  it("gives an insert_id above math.maxinteger as a decimal string", function()
    local big = helpers.unique_table()
    db:query("CREATE TEMPORARY TABLE " .. big
      .. " (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY) AUTO_INCREMENT = 18446744073709551610")
    local res = db:query("INSERT INTO " .. big .. " VALUES ()")
    assert.equal(1, res.affected_rows)
    assert.equal("18446744073709551610", res.insert_id)
  end)

  it("counts 2 affected rows when ON DUPLICATE KEY UPDATE changes a row", function()
    local res = db:query("INSERT INTO " .. t .. " (id, v) VALUES (10, 'a') ON DUPLICATE KEY UPDATE v = 'b'")
    assert.equal(1, res.affected_rows)
    res = db:query("INSERT INTO " .. t .. " (id, v) VALUES (10, 'a') ON DUPLICATE KEY UPDATE v = 'b'")
    assert.equal(2, res.affected_rows)
    assert.equal("b", scalar(db, "SELECT v FROM " .. t .. " WHERE id = 10"))
  end)

  it("has no columns and no rows for a statement without a result set", function()
    local res = db:query("INSERT INTO " .. t .. " (v) VALUES ('x')")
    assert.equal(0, #res.columns)
    assert.equal(0, #res)
    assert.equal(0, res.row_count)
    assert.is_nil(res:row(1))
    local n = 0
    for _ in res:rows() do n = n + 1 end
    assert.equal(0, n)
  end)
end)

describe("server errors", function()
  local db, t

  setup(function()
    db = helpers.connect()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY)")
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
  end)

  it("raises an error object for an unknown table (1146)", function()
    local err = raised(db.query, db, "SELECT * FROM nope")
    assert.is_true(mylua.is_error(err))
    assert.are_not.equal("string", type(err))
    assert.equal(1146, err.code)
    assert.equal("42S02", err.sqlstate)
    local message = ("Table '%s.nope' doesn't exist"):format(database_name())
    assert.equal(message, err.message)
    assert.equal("ERROR 1146 (42S02): " .. message, tostring(err))
  end)

  it("raises a syntax error (1064)", function()
    local err = raised(db.query, db, "SELEC 1")
    assert.is_true(mylua.is_error(err))
    assert.equal(1064, err.code)
    assert.equal("42000", err.sqlstate)
    assert.equal("You have an error in your SQL syntax; check the manual that corresponds to your "
      .. "MariaDB server version for the right syntax to use near 'SELEC 1' at line 1", err.message)
    assert.equal("ERROR 1064 (42000): " .. err.message, tostring(err))
  end)

  it("raises a duplicate key error (1062, 23000)", function()
    db:query("INSERT INTO " .. t .. " VALUES (1)")
    local err = raised(db.query, db, "INSERT INTO " .. t .. " VALUES (1)")
    assert.equal(1062, err.code)
    assert.equal("23000", err.sqlstate)
    assert.equal("Duplicate entry '1' for key 'PRIMARY'", err.message)
    assert.equal("ERROR 1062 (23000): Duplicate entry '1' for key 'PRIMARY'", tostring(err))
    assert.equal(1, count(db, t))
  end)

  it("raises an error that arrives after some rows were sent", function()
    local err = raised(db.query, db, "SELECT IF(seq < 5, seq, (SELECT 1 UNION SELECT 2)) AS x FROM seq_1_to_10")
    assert.is_true(mylua.is_error(err))
    assert.equal(1242, err.code)
    assert.equal("21000", err.sqlstate)
    assert.equal("Subquery returns more than 1 row", err.message)
    assert.equal(5, scalar(db, "SELECT 5"))
  end)

  it("raises SIGNAL with its own SQLSTATE, message and code", function()
    local err = raised(db.query, db,
      "BEGIN NOT ATOMIC SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'custom failure'; END")
    assert.equal(1644, err.code)
    assert.equal("45000", err.sqlstate)
    assert.equal("custom failure", err.message)
    assert.equal("ERROR 1644 (45000): custom failure", tostring(err))
    err = raised(db.query, db, "BEGIN NOT ATOMIC SELECT 1 AS a; "
      .. "SIGNAL SQLSTATE '22012' SET MESSAGE_TEXT = 'boom', MYSQL_ERRNO = 1365; END")
    assert.equal(1365, err.code)
    assert.equal("22012", err.sqlstate)
    assert.equal("boom", err.message)
    assert.equal(6, scalar(db, "SELECT 6"))
  end)

  it("raises when a statement is interrupted by max_statement_time", function()
    local err = raised(db.query, db, "SET STATEMENT max_statement_time = 0.1 FOR SELECT SLEEP(5)")
    assert.equal(1969, err.code)
    assert.equal("70100", err.sqlstate)
    assert.equal(1, scalar(db, "SELECT 1"))
  end)

  it("raises for an empty query (1065)", function()
    local err = raised(db.query, db, "")
    assert.equal(1065, err.code)
    assert.equal("ERROR 1065 (42000): Query was empty", tostring(err))
  end)

  it("keeps UTF-8 in error messages", function()
    local err = raised(db.query, db, "SELECT * FROM `tabl\u{E9}_nope`")
    assert.equal(("Table '%s.tabl\u{E9}_nope' doesn't exist"):format(database_name()), err.message)
  end)

  it("keeps % sequences in error messages as they are", function()
    local text = "100% %s %d %n %% done"
    local err = raised(db.query, db, "BEGIN NOT ATOMIC SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '" .. text .. "'; END")
    assert.equal(text, err.message)
    assert.equal("ERROR 1644 (45000): " .. text, tostring(err))
    err = raised(db.query, db, "SELECT * FROM `%s%n`")
    assert.equal(("Table '%s.%%s%%n' doesn't exist"):format(database_name()), err.message)
  end)

  it("leaves the connection usable after an error", function()
    assert.equal(1146, raised(db.query, db, "SELECT * FROM nope").code)
    assert.equal(1064, raised(db.query, db, "SELEC 1").code)
    assert.equal(42, scalar(db, "SELECT 42"))
  end)

  it("is_error tells error objects from other values", function()
    local err = raised(db.query, db, "SELECT * FROM nope")
    assert.is_true(mylua.is_error(err))
    assert.is_false(mylua.is_error(tostring(err)))
    assert.is_false(mylua.is_error({ code = 1146, sqlstate = "42S02", message = "x" }))
    assert.is_false(mylua.is_error(nil))
    assert.is_false(mylua.is_error(1146))
    assert.is_false(mylua.is_error(mylua.null))
    assert.is_false(mylua.is_error(db))
  end)
end)

describe("result sets", function()
  local db, t

  setup(function()
    db = helpers.connect_big()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. [[ (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(20) CHARACTER SET utf8mb4 NOT NULL,
        price DECIMAL(10,2),
        big BIGINT UNSIGNED,
        d DOUBLE,
        ts DATETIME(3),
        note TEXT)]])
    db:query("INSERT INTO " .. t .. [[ (name, price, big, d, ts, note) VALUES
        ('one', 1.50, 1, 0.5, '2024-01-02 03:04:05.678', 'first'),
        ('two', NULL, 2, NULL, NULL, NULL),
        ('three', 3.00, 3, 1.25, '2024-12-31 23:59:59.999', '')]])
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
  end)

  it("describes the columns", function()
    local res = db:query("SELECT id AS ident, name, price, big, d, ts, 1 + 1 AS two, 'lit' AS lit FROM "
      .. t .. " AS tt ORDER BY id")
    local c = res.columns
    assert.equal(8, #c)
    local dbname = database_name()

    assert.equal("ident", c[1].name)
    assert.equal("id", c[1].org_name)
    assert.equal("tt", c[1].table)
    assert.equal(t, c[1].org_table)
    assert.equal(dbname, c[1].db)
    assert.equal("LONG", c[1].type)
    assert.equal(3, c[1].type_id)
    assert.is_true(c[1].unsigned)
    assert.is_true(c[1].not_null)
    assert.equal(10, c[1].length)
    assert.equal(63, c[1].charset)

    assert.equal("name", c[2].name)
    assert.equal("name", c[2].org_name)
    assert.equal("VAR_STRING", c[2].type)
    assert.equal(253, c[2].type_id)
    assert.is_false(c[2].unsigned)
    assert.is_true(c[2].not_null)
    assert.equal(80, c[2].length) -- 20 characters of at most 4 bytes in utf8mb4
    assert.equal(0, c[2].decimals)

    assert.equal("price", c[3].name)
    assert.equal("NEWDECIMAL", c[3].type)
    assert.equal(246, c[3].type_id)
    assert.equal(2, c[3].decimals)
    assert.equal(12, c[3].length)
    assert.is_false(c[3].not_null)
    assert.is_false(c[3].unsigned)

    assert.equal("LONGLONG", c[4].type)
    assert.equal(8, c[4].type_id)
    assert.is_true(c[4].unsigned)
    assert.equal(20, c[4].length)

    assert.equal("DOUBLE", c[5].type)
    assert.equal(5, c[5].type_id)

    assert.equal("DATETIME", c[6].type)
    assert.equal(12, c[6].type_id)
    assert.equal(3, c[6].decimals)
    assert.equal(23, c[6].length)

    assert.equal("two", c[7].name)
    assert.equal("", c[7].org_name)
    assert.equal("", c[7].table)
    assert.equal("", c[7].org_table)
    assert.equal("", c[7].db)
    assert.equal("LONG", c[7].type)
    assert.is_true(c[7].not_null)

    assert.equal("lit", c[8].name)
    assert.equal("VAR_STRING", c[8].type)
    assert.equal(12, c[8].length) -- 3 characters, 4 bytes each

    assert.equal(3, #res)
    local row = res:row(1)
    assert.equal(1, row.ident)
    assert.equal("one", row.name)
    assert.equal("1.50", row.price)
    assert.equal(0.5, row.d)
    assert.equal("2024-01-02 03:04:05.678", row.ts)
    assert.equal(2, row.two)
    assert.equal("lit", row.lit)
  end)

  it("keeps the columns of an empty result set", function()
    local res = db:query("SELECT id, name FROM " .. t .. " WHERE 1 = 0")
    assert.equal(2, #res.columns)
    assert.equal("id", res.columns[1].name)
    assert.equal("name", res.columns[2].name)
    assert.equal(0, #res)
    assert.equal(0, res.row_count)
    assert.is_nil(res:row(1))
    for _, mode in ipairs { false, "a", "v" } do
      local n = 0
      for _ in res:rows(mode or nil) do n = n + 1 end
      assert.equal(0, n)
    end
  end)

  it("counts rows with # and row_count", function()
    local res = db:query("SELECT id FROM " .. t)
    assert.equal(3, #res)
    assert.equal(3, res.row_count)
    res = db:query("SELECT id FROM " .. t .. " WHERE id > 1")
    assert.equal(2, #res)
    assert.equal(2, res.row_count)
  end)

  it("iterates rows keyed by column name", function()
    local res = db:query("SELECT id, name, price FROM " .. t .. " ORDER BY id")
    local names, prices = {}, {}
    for row in res:rows() do
      names[#names + 1] = row.name
      prices[#prices + 1] = row.price
    end
    assert.same({ "one", "two", "three" }, names)
    assert.same({ "1.50", mylua.null, "3.00" }, prices)
  end)

  it("iterates rows as arrays", function()
    local res = db:query("SELECT name, price, note FROM " .. t .. " ORDER BY id")
    local rows = {}
    for row in res:rows("a") do rows[#rows + 1] = row end
    assert.equal(3, #rows)
    assert.same({ "one", "1.50", "first" }, rows[1])
    assert.same({ "two", mylua.null, mylua.null }, rows[2])
    assert.equal(3, #rows[2]) -- NULLs keep the row's shape
    assert.same({ "three", "3.00", "" }, rows[3])
  end)

  it("iterates rows with the values unpacked", function()
    local res = db:query("SELECT id, name, d FROM " .. t .. " ORDER BY id")
    local got = {}
    for id, name, d in res:rows("v") do
      got[#got + 1] = { id, name, d }
    end
    assert.same({ { 1, "one", 0.5 }, { 2, "two", mylua.null }, { 3, "three", 1.25 } }, got)
  end)

  it("does not stop a values iteration at a NULL first column", function()
    local res = db:query("SELECT NULL AS a, 1 AS b UNION ALL SELECT 2, 3")
    local got = {}
    for a, b in res:rows("v") do got[#got + 1] = { a, b } end
    assert.same({ { mylua.null, 1 }, { 2, 3 } }, got)
  end)

  it("fetches a row by index", function()
    local res = db:query("SELECT id, name FROM " .. t .. " ORDER BY id")
    assert.equal("one", res:row(1).name)
    assert.equal("three", res:row(3).name)
    assert.same({ 2, "two" }, res:row(2, "a"))
    assert.is_nil(res:row(0))
    assert.is_nil(res:row(-1))
    assert.is_nil(res:row(4))
    assert.is_nil(res:row(4, "a"))
  end)

  it("can iterate the same result twice", function()
    local res = db:query("SELECT id FROM " .. t .. " ORDER BY id")
    local a, b = {}, {}
    for row in res:rows("a") do a[#a + 1] = row[1] end
    for id in res:rows("v") do b[#b + 1] = id end
    assert.same({ 1, 2, 3 }, a)
    assert.same(a, b)
  end)

  it("reads 100000 rows", function()
    local res = db:query("SELECT seq, seq * 2 AS twice, IF(seq % 3 = 0, NULL, 'x') AS maybe FROM seq_1_to_100000")
    assert.equal(100000, #res)
    local n, sum, nulls = 0, 0, 0
    for seq, twice, maybe in res:rows("v") do
      n = n + 1
      assert(seq == n and twice == 2 * n, "row " .. n)
      sum = sum + seq
      if maybe == mylua.null then nulls = nulls + 1 end
    end
    assert.equal(100000, n)
    assert.equal(5000050000, sum)
    assert.equal(33333, nulls)
    assert.same({ 100000, 200000, "x" }, res:row(100000, "a"))
  end)

  it("reads a row of 1000 columns in every mode", function()
    local cols = {}
    for i = 1, 1000 do cols[i] = ("%d AS c%d"):format(i * 7, i) end
    local res = db:query("SELECT " .. table.concat(cols, ", "))
    assert.equal(1000, #res.columns)
    assert.equal("c1000", res.columns[1000].name)
    assert.equal(7000, res:row(1).c1000)
    local arr = res:row(1, "a")
    assert.equal(1000, #arr)
    assert.equal(3500, arr[500])
    local rows = 0
    for a, b in res:rows("v") do
      rows = rows + 1
      assert.equal(7, a)
      assert.equal(14, b)
    end
    assert.equal(1, rows)
    -- one step of the generic for, keeping every value
    local iter, state, control = res:rows("v")
    local values = table.pack(iter(state, control))
    assert.equal(1000, values.n)
    assert.equal(7, values[1])
    assert.equal(7000, values[1000])
  end)

  it("names columns in UTF-8", function()
    -- (identifiers are utf8mb3 in MariaDB: no 4-byte characters)
    local res = db:query("SELECT 1 AS `\u{43A}\u{43B}\u{44E}\u{447}`, 2 AS `\u{9F8D}`")
    assert.equal("\u{43A}\u{43B}\u{44E}\u{447}", res.columns[1].name)
    assert.equal(1, res:row(1)["\u{43A}\u{43B}\u{44E}\u{447}"])
    assert.equal(2, res:row(1)["\u{9F8D}"])
  end)

  it("keeps a result readable after its connection is closed and collected", function()
    local c = helpers.connect()
    local res = c:query("SELECT 1 AS a, 'one' AS b; SELECT 2 AS a")
    c:close()
    c = nil
    collectgarbage()
    collectgarbage()
    assert.same({ a = 1, b = "one" }, res:row(1))
    assert.equal(1, #res)
    assert.equal("b", res.columns[2].name)
    local second = res:next_result()
    assert.equal(2, second:row(1).a)
    assert.is_nil(second:next_result())
  end)

  it("handles duplicate column names", function()
    local res = db:query("SELECT 1 AS a, 2 AS a, 3 AS b")
    assert.equal("a", res.columns[1].name)
    assert.equal("a", res.columns[2].name)
    assert.equal(2, res:row(1).a) -- a later duplicate name wins
    assert.equal(3, res:row(1).b)
    assert.same({ 1, 2, 3 }, res:row(1, "a"))
    local x, y, z
    for a1, a2, b in res:rows("v") do x, y, z = a1, a2, b end
    assert.same({ 1, 2, 3 }, { x, y, z })
  end)
end)

describe("multiple result sets", function()
  local db, t, proc

  setup(function()
    db = helpers.connect()
    t = helpers.unique_table()
    proc = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, v INT)")
    db:query("INSERT INTO " .. t .. " VALUES (1, 10), (2, 20), (3, 30)")
    db:query("CREATE PROCEDURE " .. proc .. [[ (IN n INT)
      BEGIN
        SELECT n AS a;
        SELECT n + 1 AS b, 'x' AS c UNION ALL SELECT n + 2, 'y';
      END]])
  end)

  teardown(function()
    if db then
      db:query("DROP PROCEDURE IF EXISTS " .. proc)
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
  end)

  it("chains the results of a multi-statement query", function()
    local before = scalar(db, "SELECT CAST(SUM(v) AS SIGNED) FROM " .. t)
    local res = db:query("SELECT 1 AS one; SELECT 2 AS two, 3 AS three; UPDATE " .. t
      .. " SET v = v + 1 WHERE id <= 2")
    assert.equal(1, #res.columns)
    assert.equal("one", res.columns[1].name)
    assert.same({ 1 }, res:row(1, "a"))
    assert.is_true(res.status & MORE_RESULTS_EXIST ~= 0)

    local second = res:next_result()
    assert.is_not_nil(second)
    assert.equal(2, #second.columns)
    assert.same({ 2, 3 }, second:row(1, "a"))
    assert.equal(3, second:row(1).three)

    local third = second:next_result()
    assert.is_not_nil(third)
    assert.equal(0, #third.columns)
    assert.equal(2, third.affected_rows)
    assert.equal("Rows matched: 2  Changed: 2  Warnings: 0", third.info)
    assert.is_true(third.status & MORE_RESULTS_EXIST == 0)

    assert.is_nil(third:next_result())
    assert.equal(before + 2, scalar(db, "SELECT CAST(SUM(v) AS SIGNED) FROM " .. t))
  end)

  it("has no next result for a single statement", function()
    local res = db:query("SELECT 1")
    assert.is_nil(res:next_result())
  end)

  it("raises when a later statement fails, and stays usable", function()
    local err = raised(db.query, db, "SELECT 1; SELECT * FROM nope; SELECT 3")
    assert.is_true(mylua.is_error(err))
    assert.equal(1146, err.code)
    assert.equal("42S02", err.sqlstate)
    assert.equal(7, scalar(db, "SELECT 7"))
  end)

  it("does not run the statements after the failing one", function()
    local before = scalar(db, "SELECT CAST(SUM(v) AS SIGNED) FROM " .. t)
    local err = raised(db.query, db, "UPDATE " .. t .. " SET v = v + 100 WHERE id = 1; SELEC 2; UPDATE "
      .. t .. " SET v = v + 1000 WHERE id = 2")
    assert.equal(1064, err.code)
    assert.equal(before + 100, scalar(db, "SELECT CAST(SUM(v) AS SIGNED) FROM " .. t))
  end)

  it("returns an OK result first when the first statement has no result set", function()
    local res = db:query("SET @mr = 41; SELECT @mr + 1 AS v")
    assert.equal(0, #res.columns)
    assert.equal(0, #res)
    local second = res:next_result()
    assert.equal(42, second:row(1).v)
    assert.is_nil(second:next_result())
  end)

  it("keeps an empty result set in the middle of the chain", function()
    local res = db:query("SELECT 1 AS a; SELECT 1 AS b FROM DUAL WHERE 0; SELECT 3 AS c")
    local second = res:next_result()
    assert.equal("b", second.columns[1].name)
    assert.equal(0, #second)
    local third = second:next_result()
    assert.equal(3, third:row(1).c)
    assert.is_nil(third:next_result())
  end)

  it("fills placeholders across statements", function()
    local res = db:query("SELECT ? AS a; SELECT ? AS b, ? AS c", "x", 2, "z")
    assert.equal("x", res:row(1).a)
    assert.same({ 2, "z" }, res:next_result():row(1, "a"))
  end)

  it("chains the result sets of a stored procedure and its final OK", function()
    local res = db:query("CALL " .. proc .. "(5)")
    assert.equal("a", res.columns[1].name)
    assert.same({ 5 }, res:row(1, "a"))
    assert.equal(1, #res)

    local second = res:next_result()
    assert.is_not_nil(second)
    assert.equal("b", second.columns[1].name)
    assert.equal("c", second.columns[2].name)
    assert.equal(2, #second)
    assert.same({ 6, "x" }, second:row(1, "a"))
    assert.same({ 7, "y" }, second:row(2, "a"))

    local final = second:next_result()
    assert.is_not_nil(final)
    assert.equal(0, #final.columns)
    assert.equal(0, #final)
    assert.is_nil(final:next_result())

    assert.equal(8, scalar(db, "SELECT 8")) -- the connection is free again
  end)
end)

describe("values larger than 16 MiB", function()
  local db, t

  setup(function()
    db = helpers.connect_big{ max_packet = 64 * MiB } -- the default ceiling is 16 MiB
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, b LONGBLOB)")
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
  end)

  it("sends and receives a 17 MiB binary value through a placeholder", function()
    local data = all_bytes():rep(17 * MiB // 256)
    assert.equal(17 * MiB, #data)
    local res = db:query("INSERT INTO " .. t .. " (id, b) VALUES (1, ?)", data)
    assert.equal(1, res.affected_rows)
    assert.equal(17 * MiB, scalar(db, "SELECT LENGTH(b) FROM " .. t .. " WHERE id = 1"))
    assert.equal(hex(all_bytes()), scalar(db, "SELECT HEX(SUBSTRING(b, 1 + 256 * 40000, 256)) FROM "
      .. t .. " WHERE id = 1"))
    local back = scalar(db, "SELECT b FROM " .. t .. " WHERE id = 1")
    assert.is_nil(byte_diff(data, back))
  end)

  it("receives a 17 MiB value computed by the server", function()
    local res = db:query("SELECT REPEAT('x', 17*1024*1024) AS big, 'after' AS tail")
    local row = res:row(1)
    assert.equal(17 * MiB, #row.big)
    assert.is_nil(byte_diff(("x"):rep(17 * MiB), row.big))
    assert.equal("after", row.tail)
  end)

  it("receives a row of exactly 0xFFFFFF bytes (followed by an empty packet)", function()
    -- one column: a 4-byte length prefix plus the value
    local n = 0xFFFFFF - 4
    local res = db:query("SELECT REPEAT('y', " .. n .. ")")
    local v = res:row(1, "a")[1]
    assert.equal(n, #v)
    assert.is_nil(byte_diff(("y"):rep(n), v))
    assert.equal(1, scalar(db, "SELECT 1"))
  end)

  it("sends a query of exactly 0xFFFFFF bytes (followed by an empty packet)", function()
    local prefix, suffix = "SELECT LENGTH('", "')"
    -- the packet holds the command byte and the statement
    local n = 0xFFFFFF - 1 - #prefix - #suffix
    local sql = prefix .. ("z"):rep(n) .. suffix
    assert.equal(0xFFFFFF, 1 + #sql)
    assert.equal(n, scalar(db, sql))
    assert.equal(1, scalar(db, "SELECT 1"))
  end)
end)

describe("placeholders", function()
  local db, t

  setup(function()
    db = helpers.connect()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, b BLOB, i BIGINT, d DOUBLE, s VARCHAR(100))")
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
  end)

  before_each(function()
    db:query("DELETE FROM " .. t)
  end)

  it("escapes quotes, backslashes and control bytes", function()
    local cases = {
      "it's", 'say "hi"', "back\\slash", "trailing\\", "\\'", "nul\0byte", "\0",
      "line\nfeed\rreturn\ttab\26ctrl-z", "'; DROP TABLE x; -- ", "?", "'?'", "",
    }
    for _, s in ipairs(cases) do
      local res = db:query("SELECT ? AS v, LENGTH(?) AS n", s, s)
      local row = res:row(1)
      assert.is_nil(byte_diff(s, row.v), ("round trip of %q"):format(s))
      assert.equal(#s, row.n)
    end
  end)

  it("round-trips every byte 0x00-0xFF into a BLOB", function()
    local data = all_bytes()
    local rdata = data:reverse()
    db:query("INSERT INTO " .. t .. " (id, b) VALUES (1, ?), (2, ?)", data, rdata)
    local res = db:query("SELECT LENGTH(b) AS n, HEX(b) AS h, b FROM " .. t .. " ORDER BY id")
    assert.equal(256, res:row(1).n)
    assert.equal(hex(data), res:row(1).h)
    assert.is_nil(byte_diff(data, res:row(1).b))
    assert.equal(hex(rdata), res:row(2).h)
    assert.is_nil(byte_diff(rdata, res:row(2).b))
  end)

  it("round-trips 4-byte UTF-8", function()
    local s = "\u{1F600} and \u{20000}"
    local row = db:query("SELECT ? AS v, HEX(?) AS h, CHAR_LENGTH(?) AS n", s, s, s):row(1)
    assert.equal(s, row.v)
    assert.equal("F09F988020616E6420F0A08080", row.h)
    assert.equal(7, row.n)
  end)

  it("sends nil and mylua.null as NULL", function()
    local row = db:query("SELECT ? IS NULL AS a, ? IS NULL AS b, ? AS c, ? AS d", nil, mylua.null, 7, nil)
      :row(1, "a")
    assert.same({ 1, 1, 7, mylua.null }, row)
    db:query("INSERT INTO " .. t .. " (id, s) VALUES (?, ?)", 1, nil)
    assert.equal(1, scalar(db, "SELECT COUNT(*) FROM " .. t .. " WHERE s IS NULL"))
  end)

  it("sends booleans as TRUE and FALSE", function()
    local row = db:query("SELECT ? AS t, ? AS f, ? IS TRUE AS it, ? IS FALSE AS iff", true, false, true, false)
      :row(1)
    assert.equal(1, row.t)
    assert.equal(0, row.f)
    assert.equal(1, row.it)
    assert.equal(1, row.iff)
  end)

  it("sends integers exactly, including the extremes", function()
    local values = { 0, 1, -1, 255, -2147483648, 4294967295, math.maxinteger, math.mininteger }
    for i, v in ipairs(values) do
      db:query("INSERT INTO " .. t .. " (id, i) VALUES (?, ?)", i, v)
    end
    local res = db:query("SELECT i FROM " .. t .. " ORDER BY id")
    local got = {}
    for v in res:rows("v") do
      assert.equal("integer", math.type(v))
      got[#got + 1] = v
    end
    assert.same(values, got)
    assert.equal(1, scalar(db, "SELECT ? = 9223372036854775807", math.maxinteger))
    assert.equal(1, scalar(db, "SELECT ? = -9223372036854775807 - 1", math.mininteger))
  end)

  it("sends floats exactly", function()
    local values = { 1.5, 0.1, 1 / 3, -2.5e-300, 1e308, -1.7976931348623157e308, 5e-324, 2.0, 2 ^ 53 }
    for i, v in ipairs(values) do
      db:query("INSERT INTO " .. t .. " (id, d) VALUES (?, ?)", i, v)
    end
    local res = db:query("SELECT d FROM " .. t .. " ORDER BY id")
    local i = 0
    for v in res:rows("v") do
      i = i + 1
      assert.equal("float", math.type(v))
      assert.equal(values[i], v, ("float %d: %.17g"):format(i, values[i]))
    end
    assert.equal(#values, i)
  end)

  it("refuses non-finite floats with its own message", function()
    -- the client's message, not the server's 1054/1064 for inf or nan sent as text
    helpers.raises_string("cannot bind a non-finite number (inf) to SQL", db.query, db, "SELECT ?", math.huge)
    helpers.raises_string("cannot bind a non-finite number (-inf) to SQL", db.query, db, "SELECT ?", -math.huge)
    helpers.raises_string("cannot bind a non-finite number", db.query, db, "SELECT ?", 0 / 0)
    helpers.raises_string("cannot bind a non-finite number", db.quote, db, 0 / 0)
    assert.equal(1, scalar(db, "SELECT 1"))
  end)

  it("leaves ? inside quotes, backticks and comments alone", function()
    local res = db:query("SELECT '?' AS q, \"?\" AS dq, 1 AS `?`, ? AS v, 'a\\\\?' AS e, 'b''?' AS d"
      .. " /* ? */ -- ?\n, ? AS w", "first", "second")
    local row = res:row(1)
    assert.equal("?", row.q)
    assert.equal("?", row.dq)
    assert.equal(1, row["?"])
    assert.equal("?", res.columns[3].name)
    assert.equal("first", row.v)
    assert.equal("a\\?", row.e)
    assert.equal("b'?", row.d)
    assert.equal("second", row.w)
  end)

  it("leaves ? inside a # comment alone", function()
    local row = db:query("SELECT ? AS a # ?\n, ? AS b", 1, 2):row(1)
    assert.equal(1, row.a)
    assert.equal(2, row.b)
  end)

  it("scans a string ending in an escaped backslash", function()
    local row = db:query("SELECT '\\\\' AS a, ? AS b, 'x''y' AS c, ? AS d", 1, 2):row(1)
    assert.same({ a = "\\", b = 1, c = "x'y", d = 2 }, row)
  end)

  it("scans `` inside backticks", function()
    local res = db:query("SELECT `a``?` FROM (SELECT ? AS `a``?`) AS x WHERE ? = 1", 5, 1)
    assert.equal("a`?", res.columns[1].name)
    assert.equal(5, res:row(1, "a")[1])
  end)

  it("does not take -- without a following space for a comment", function()
    assert.equal(7, scalar(db, "SELECT 5--?", 2))
    assert.equal(5, scalar(db, "SELECT 2-?", -3))
  end)

  it("sends integers as numbers, usable in LIMIT", function()
    local res = db:query("SELECT seq FROM seq_1_to_10 ORDER BY seq LIMIT ? OFFSET ?", 3, 2)
    assert.equal(3, #res)
    assert.same({ 3, 4, 5 }, { res:row(1, "a")[1], res:row(2, "a")[1], res:row(3, "a")[1] })
  end)

  it("raises its own message on a placeholder count mismatch", function()
    -- not the server's 1064 for a leftover ?
    helpers.raises_string("too few arguments for the placeholders in the query (1 given)",
      db.query, db, "SELECT ?, ?", 1)
    helpers.raises_string("too many arguments for the placeholders in the query (1 placeholders, 2 given)",
      db.query, db, "SELECT ?", 1, 2)
    helpers.raises_string("too many arguments for the placeholders in the query (0 placeholders, 1 given)",
      db.query, db, "SELECT 1", 1)
    assert.equal(3, scalar(db, "SELECT 3"))
  end)

  it("does not treat a trailing nil argument as missing", function()
    local row = db:query("SELECT ? AS a, ? AS b", 1, nil):row(1)
    assert.equal(1, row.a)
    assert.equal(mylua.null, row.b)
  end)

  it("escapes in the connection's multi-byte charset (gbk)", function()
    local g = helpers.connect { charset = "gbk" }
    -- 0xBF 0x5C is one GBK character whose second byte is a backslash
    local s = "\xBF\x5C'"
    local row = g:query("SELECT HEX(?) AS h, ? AS v", s, s):row(1)
    assert.equal("BF5C27", row.h)
    assert.equal(s, row.v)
    assert.equal("BF5C27", scalar(g, "SELECT HEX(" .. g:quote(s) .. ")"))
    g:close()
  end)
end)

describe("quote and quote_name", function()
  local db

  setup(function()
    db = helpers.connect()
  end)

  teardown(function()
    if db then db:close() end
  end)

  it("quotes values as placeholders do", function()
    assert.equal("'it''s'", db:quote("it's"))
    assert.equal("_utf8mb4 X'615C62'", db:quote("a\\b"))
    assert.equal("NULL", db:quote(nil))
    assert.equal("NULL", db:quote(mylua.null))
    assert.equal("TRUE", db:quote(true))
    assert.equal("FALSE", db:quote(false))
    assert.equal("42", db:quote(42))
    assert.equal("-7", db:quote(-7))
    for _, s in ipairs { "it's", "a\\b", "x\0y", "\"q\"", "\n\r\26", all_bytes():sub(1, 127) } do
      local res = db:query("SELECT " .. db:quote(s) .. " AS v")
      assert.is_nil(byte_diff(s, res:row(1).v), ("quote(%q)"):format(s))
    end
    assert.equal(0.1, scalar(db, "SELECT CAST(" .. db:quote(0.1) .. " AS DOUBLE)"))
  end)

  it("quotes identifiers with backticks doubled", function()
    assert.equal("`plain`", db:quote_name("plain"))
    assert.equal("`a``b`", db:quote_name("a`b"))
    assert.equal("````", db:quote_name("`"))
    local name = helpers.unique_table() .. " odd`name"
    db:query("CREATE TEMPORARY TABLE " .. db:quote_name(name) .. " (" .. db:quote_name("col`x") .. " INT)")
    db:query("INSERT INTO " .. db:quote_name(name) .. " VALUES (5)")
    local res = db:query("SELECT * FROM " .. db:quote_name(name))
    assert.equal("col`x", res.columns[1].name)
    assert.equal(5, res:row(1)["col`x"])
  end)

  it("quotes the same with NO_BACKSLASH_ESCAPES", function()
    local c = helpers.connect()
    local res = c:query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
    assert.is_true(res.status & NO_BACKSLASH_ESCAPES ~= 0)
    assert.equal("'it''s'", c:quote("it's"))
    assert.equal("_utf8mb4 X'615C62'", c:quote("a\\b"))
    local s = "back\\slash 'quoted' \\' \\\\ end\\"
    assert.equal(s, scalar(c, "SELECT ?", s))
    assert.equal(s, scalar(c, "SELECT " .. c:quote(s)))
    local data = all_bytes()
    assert.equal(hex(data), scalar(c, "SELECT HEX(CAST(? AS BINARY))", data))
    -- a backslash before a quote in the query's own text: the server could
    -- read it either way, so placeholders after it are refused
    helpers.raises_string("cannot place the arguments safely", c.query, c, "SELECT '\\' AS a, ? AS b", 5)
    assert.same({ a = "\\", c = "x'?" }, c:query("SELECT '\\' AS a, 'x''?' AS c"):row(1))
    -- and back to the default mode
    c:query("SET SESSION sql_mode = ''")
    assert.equal("'it''s'", c:quote("it's"))
    assert.equal(s, scalar(c, "SELECT ?", s))
    c:close()
  end)
end)

describe("connection commands", function()
  local db

  setup(function()
    db = helpers.connect()
  end)

  teardown(function()
    if db then db:close() end
  end)

  it("select_db changes the current database", function()
    local home = database_name()
    assert.is_true(db:select_db("information_schema"))
    assert.equal("information_schema", scalar(db, "SELECT DATABASE()"))
    assert.is_true(db:select_db(home))
    assert.equal(home, scalar(db, "SELECT DATABASE()"))
    local err = raised(db.select_db, db, "no_such_database_here")
    assert.is_true(mylua.is_error(err))
    assert.equal("42000", err.sqlstate)
    assert.equal(home, scalar(db, "SELECT DATABASE()"))
  end)

  it("ping returns true", function()
    assert.is_true(db:ping())
    assert.equal(1, scalar(db, "SELECT 1"))
  end)

  it("reset clears session state", function()
    db:query("SET @x = 42")
    assert.equal(42, scalar(db, "SELECT @x"))
    assert.is_true(db:reset())
    assert.equal(mylua.null, scalar(db, "SELECT @x"))
    assert.equal(db.thread_id, scalar(db, "SELECT CONNECTION_ID()"))
  end)

  it("reset rolls back an open transaction", function()
    local c = helpers.connect()
    local t = helpers.unique_table()
    c:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY)")
    c:begin()
    c:query("INSERT INTO " .. t .. " VALUES (1)")
    assert.is_true(c.status & IN_TRANS ~= 0)
    assert.is_true(c:reset())
    assert.is_true(c.status & IN_TRANS == 0)
    assert.equal(0, count(c, t))
    assert.equal(0, count(db, t))
    c:query("DROP TABLE " .. t)
    c:close()
  end)

  it("reset restores the default sql_mode", function()
    local c = helpers.connect()
    c:query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
    assert.is_true(c.status & NO_BACKSLASH_ESCAPES ~= 0)
    assert.is_true(c:reset())
    assert.is_true(c.status & NO_BACKSLASH_ESCAPES == 0)
    assert.equal(1, scalar(c, [[SELECT LENGTH('\\')]]))
    local s = "a\\b 'c' \\"
    assert.equal(s, scalar(c, "SELECT ?", s))
    c:close()
  end)

  it("kill ends another connection", function()
    local victim = helpers.connect()
    local id = victim.thread_id
    assert.equal(id, scalar(victim, "SELECT CONNECTION_ID()"))
    assert.is_true(db:kill(id))
    assert.is_true(eventually(db, 5, function() return not thread_alive(db, id) end))
    local err = raised(victim.query, victim, "SELECT 1")
    assert.is_true(mylua.is_error(err))
    assert.is_true(err.code == 2013 or err.code == 2006, "got " .. tostring(err))
    err = raised(victim.query, victim, "SELECT 1")
    assert.is_true(err.code == 2013 or err.code == 2006, "got " .. tostring(err))
    victim:close()
  end)

  it("exposes the server version, thread id and host info", function()
    local version = scalar(db, "SELECT VERSION()")
    assert.equal(version, db.server_version)
    local major, minor, patch = version:match("^(%d+)%.(%d+)%.(%d+)")
    assert.equal(tonumber(major) * 10000 + tonumber(minor) * 100 + tonumber(patch), db.server_version_number)
    assert.equal("integer", math.type(db.thread_id))
    assert.equal(scalar(db, "SELECT CONNECTION_ID()"), db.thread_id)
    local p = helpers.params()
    if p.socket or p.host == nil or p.host == "localhost" and p.protocol ~= "tcp" then
      assert.matches("via UNIX socket", db.host_info, 1, true)
    else
      assert.equal(p.host .. " via TCP/IP", db.host_info)
    end
    assert.is_false(db.closed)
  end)

  it("uses utf8mb4 by default", function()
    assert.equal("utf8mb4", db.charset)
    local row = db:query("SELECT @@character_set_client, @@character_set_connection, @@character_set_results")
      :row(1, "a")
    assert.same({ "utf8mb4", "utf8mb4", "utf8mb4" }, row)
  end)

  it("connects with a requested collation", function()
    local c = helpers.connect { collation = "utf8mb4_unicode_ci" }
    assert.equal("utf8mb4_unicode_ci", scalar(c, "SELECT @@collation_connection"))
    assert.equal("utf8mb4", scalar(c, "SELECT @@character_set_client"))
    -- unicode_ci expands the German sharp s, general_ci does not
    assert.equal(1, scalar(c, "SELECT 'ß' = 'ss'"))
    assert.equal(0, scalar(db, "SELECT 'ß' = 'ss'"))
    c:close()
  end)

  it("connects with charset latin1", function()
    local c = helpers.connect { charset = "latin1" }
    assert.equal("latin1", c.charset)
    assert.equal("latin1", scalar(c, "SELECT @@character_set_client"))
    assert.equal("latin1", scalar(c, "SELECT @@character_set_results"))
    -- the byte 0xE9 is é in latin1, sent and received as one byte
    assert.equal("C3A9", scalar(c, "SELECT HEX(CONVERT(? USING utf8mb4))", "\xE9"))
    assert.equal("\xE9", scalar(c, "SELECT CONVERT(X'C3A9' USING utf8mb4)"))
    c:close()
  end)
end)

describe("transactions", function()
  local db, other, t

  setup(function()
    db = helpers.connect()
    other = helpers.connect()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE = InnoDB")
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
    if other then other:close() end
  end)

  before_each(function()
    db:query("SET autocommit = 1")
    db:query("DELETE FROM " .. t)
  end)

  it("begin and commit make changes visible to another connection", function()
    assert.is_true(db:begin())
    db:query("INSERT INTO " .. t .. " VALUES (1, 'a')")
    assert.equal(1, count(db, t))
    assert.equal(0, count(other, t))
    assert.is_true(db:commit())
    assert.equal(1, count(other, t))
  end)

  it("begin and rollback discard changes", function()
    db:query("INSERT INTO " .. t .. " VALUES (1, 'kept')")
    assert.is_true(db:begin())
    db:query("INSERT INTO " .. t .. " VALUES (2, 'b')")
    db:query("UPDATE " .. t .. " SET v = 'changed' WHERE id = 1")
    assert.is_true(db:rollback())
    assert.equal(1, count(db, t))
    assert.equal("kept", scalar(db, "SELECT v FROM " .. t .. " WHERE id = 1"))
    assert.equal(1, count(other, t))
  end)

  it("transaction(fn) commits and returns fn's results", function()
    local got_db, got_arg
    local a, b, c = db:transaction(function(conn, arg)
      got_db, got_arg = conn, arg
      conn:query("INSERT INTO " .. t .. " VALUES (1, 'x'), (2, 'y')")
      return "done", 42, arg
    end, "extra")
    assert.equal(db, got_db)
    assert.equal("extra", got_arg)
    assert.same({ "done", 42, "extra" }, { a, b, c })
    assert.equal(2, count(other, t))
    assert.is_true(db.status & IN_TRANS == 0)
  end)

  it("transaction(fn) keeps a nil in the middle of fn's results", function()
    local n = select("#", db:transaction(function() return 1, nil, 3 end))
    assert.equal(3, n)
  end)

  it("transaction(fn) rolls back and re-raises the same error when fn raises", function()
    local boom = setmetatable({}, { __tostring = function() return "boom" end })
    local ok, err = pcall(db.transaction, db, function(conn)
      conn:query("INSERT INTO " .. t .. " VALUES (1, 'x')")
      error(boom)
    end)
    assert.is_false(ok)
    assert.is_true(rawequal(boom, err))
    assert.equal(0, count(db, t))
    assert.equal(0, count(other, t))
    assert.is_true(db.status & IN_TRANS == 0)
  end)

  it("transaction(fn) re-raises a server error object after rolling back", function()
    db:query("INSERT INTO " .. t .. " VALUES (5, 'old')")
    local inner
    local ok, err = pcall(db.transaction, db, function(conn)
      conn:query("INSERT INTO " .. t .. " VALUES (1, 'x')")
      local ok2, e = pcall(conn.query, conn, "INSERT INTO " .. t .. " VALUES (5, 'dup')")
      assert(not ok2)
      inner = e
      error(e)
    end)
    assert.is_false(ok)
    assert.is_true(rawequal(inner, err))
    assert.is_true(mylua.is_error(err))
    assert.equal(1062, err.code)
    assert.equal(1, count(db, t))
    assert.equal(1, count(other, t))
  end)

  it("autocommit(false) keeps changes until commit or rollback", function()
    assert.is_true(db:autocommit(false))
    assert.equal(0, scalar(db, "SELECT @@autocommit"))
    db:query("INSERT INTO " .. t .. " VALUES (1, 'a')")
    assert.equal(0, count(other, t))
    assert.is_true(db:rollback())
    assert.equal(0, count(db, t))
    db:query("INSERT INTO " .. t .. " VALUES (2, 'b')")
    assert.is_true(db:commit())
    assert.equal(1, count(other, t))
    assert.is_true(db:autocommit(true))
    assert.equal(1, scalar(db, "SELECT @@autocommit"))
    db:query("INSERT INTO " .. t .. " VALUES (3, 'c')")
    assert.equal(2, count(other, t))
  end)
end)

describe("closed connections", function()
  local observer

  setup(function()
    observer = helpers.connect()
  end)

  teardown(function()
    if observer then observer:close() end
  end)

  local function assert_closed_error(f, ...)
    local err = raised(f, ...)
    assert.matches("attempt to use a closed connection", tostring(err), 1, true)
  end

  it("raises on every method after close", function()
    local db = helpers.connect()
    local id = db.thread_id
    assert.is_not.matches("(closed)", tostring(db), 1, true)
    assert.is_true(db:close())
    assert.is_true(db.closed)
    assert.matches("(closed)", tostring(db), 1, true)
    assert_closed_error(db.query, db, "SELECT 1")
    assert_closed_error(db.query, db, "SELECT ?", 1)
    assert_closed_error(db.quote, db, "x")
    assert_closed_error(db.quote_name, db, "x")
    assert_closed_error(db.cursor, db, { stream = true })
    assert_closed_error(db.begin, db)
    assert_closed_error(db.commit, db)
    assert_closed_error(db.rollback, db)
    assert_closed_error(db.transaction, db, function() end)
    assert_closed_error(db.autocommit, db, true)
    assert_closed_error(db.ping, db)
    assert_closed_error(db.select_db, db, "information_schema")
    assert_closed_error(db.kill, db, id)
    assert_closed_error(db.reset, db)
    assert.is_true(eventually(observer, 5, function() return not thread_alive(observer, id) end))
  end)

  it("can be closed twice", function()
    local db = helpers.connect()
    assert.is_true(db:close())
    assert.is_true(db:close())
    assert.is_true(db.closed)
  end)

  it("closes a <close> variable on scope exit", function()
    local saved, id
    do
      local db <close> = helpers.connect()
      saved, id = db, db.thread_id
      assert.is_true(thread_alive(observer, id))
    end
    assert.is_true(saved.closed)
    assert.matches("(closed)", tostring(saved), 1, true)
    assert_closed_error(saved.query, saved, "SELECT 1")
    assert.is_true(eventually(observer, 5, function() return not thread_alive(observer, id) end))
  end)

  it("closes a <close> variable when the scope is left by an error", function()
    local saved
    local ok = pcall(function()
      local db <close> = helpers.connect()
      saved = db
      db:query("SELECT * FROM nope")
    end)
    assert.is_false(ok)
    assert.is_true(saved.closed)
  end)
end)

describe("mylua.safe", function()
  local safe = require "mylua.safe"

  it("returns nil and the error object for a wrong password", function()
    local db, err = safe.connect(helpers.params { password = "definitely-not-the-password" })
    assert.is_nil(db)
    assert.is_true(mylua.is_error(err))
    assert.equal(1045, err.code)
    assert.equal("28000", err.sqlstate)
    assert.matches("^ERROR 1045 %(28000%): Access denied for user ", tostring(err))
  end)

  it("returns nil and the error object for a failing query", function()
    local db, cerr = safe.connect(helpers.params())
    assert.is_nil(cerr)
    local res, err = db:query("SELECT * FROM nope")
    assert.is_nil(res)
    assert.is_true(mylua.is_error(err))
    assert.equal(1146, err.code)
    assert.equal("42S02", err.sqlstate)
    assert.equal(("ERROR 1146 (42S02): Table '%s.nope' doesn't exist"):format(database_name()), tostring(err))
    res, err = db:query("SELEC 1")
    assert.is_nil(res)
    assert.equal(1064, err.code)
    db:close()
  end)

  it("returns the same values as mylua on success", function()
    local db = assert(safe.connect(helpers.params()))
    local res = db:query("SELECT ? AS a, 'b' AS b", 1)
    assert.same({ a = 1, b = "b" }, res:row(1))
    assert.is_true(db:ping())
    assert.is_true(db:begin())
    assert.is_true(db:commit())
    assert.same({ "x", 2 }, { db:transaction(function() return "x", 2 end) })
    assert.equal("'it''s'", db:quote("it's"))
    assert.equal(scalar(db, "SELECT CONNECTION_ID()"), db.thread_id)
    assert.is_true(db:close())
  end)
end)
