-- The binary protocol against the text protocol, column by column: every
-- MariaDB type read with db:query (text rows) and through a prepared
-- statement (binary rows: buffered, with a server cursor of 3 rows, and
-- streamed) must give the identical Lua value: the same Lua type (integer,
-- float, string, mylua.null), the same value, the same bytes. Then every
-- kind of Lua value bound as a parameter, read back with SELECT ? and
-- written into typed columns, against the same value sent as client-side
-- placeholder text by db:query.
--
-- A value the text protocol cannot carry is compared as Lua compares it:
-- a DOUBLE -0e0 reads as 0 in text; -0.0 == 0.0 in Lua.

local helpers = require "helpers"
local mylua = require "mylua"

local null = mylua.null

local text = "h\u{E9}llo \u{1F600} \u{20000} \u{9F8D}"
local bytes = helpers.all_bytes()

local describe_value, same = helpers.describe_value, helpers.same_value

-- One assertion: the binary value `got` is the text value `want`.
local function check(want, got, where)
  assert.is_true(same(want, got),
    ("%s: text gives %s, binary gives %s"):format(where, describe_value(want), describe_value(got)))
end

-- The type-coverage table (shared with spec 100): each column with the
-- SQL literals of its rows; a row past a column's last literal has NULL
-- there, and the last row is NULL everywhere but id, so every column has
-- NULLs and the NULL bitmap changes from row to row.
local type_columns = require "support.type_columns"
local COLUMNS, NROWS = type_columns.COLUMNS, type_columns.NROWS

-- The wide table: more columns than 8 and 64 (the binary row's NULL
-- bitmap starts at bit 2, so columns 6 and 7, 62 and 63 sit at its byte
-- boundaries), of rotating types, with NULLs in patterns that cross them.
local WIDE_COLUMNS = 75
local WIDE_TYPES = { "INT", "VARCHAR(12)", "DOUBLE", "DATETIME(3)", "BIGINT UNSIGNED", "TINYINT", "DECIMAL(8,3)" }
local function wide_literal(col, row)
  local k = (col * 31 + row * 17) % 1000
  local t = WIDE_TYPES[1 + (col - 1) % #WIDE_TYPES]
  if t == "INT" then return tostring(k - 500) end
  if t == "VARCHAR(12)" then return ("'v%d-%d'"):format(col, row) end
  if t == "DOUBLE" then return ("%d.25e-1"):format(k) end
  if t == "DATETIME(3)" then return ("'2024-01-%02d 10:%02d:00.%03d'"):format(1 + k % 28, k % 60, k) end
  -- k * 10^16 + col: from 0 to 9.99e18, across math.maxinteger
  if t == "BIGINT UNSIGNED" then return ("%d%016d"):format(k, col) end
  if t == "TINYINT" then return tostring(k % 256 - 128) end
  return ("%d.%03d"):format(k - 500, k)
end
-- Per row, which columns are NULL.
local WIDE_NULLS = {
  function() return false end,
  function() return true end,
  function(c) return c % 2 == 0 end,
  function(c) return c % 3 ~= 0 end,
  function(c) return c % 7 == 1 end,
  function(c) return c == 1 end,
  function(c) return c == 6 or c == 7 end,
  function(c) return c == 8 or c == 9 end,
  function(c) return c == 62 or c == 63 end,
  function(c) return c == 64 or c == 65 end,
  function(c) return c == WIDE_COLUMNS end,
  function(c) return c >= 60 end,
  function(c) return c < 60 end,
  function(c) return (c * 7 + 3) % 5 < 2 end,
}

describe("the binary protocol against the text protocol", function()
  local db

  setup(function()
    db = helpers.connect_big()
    -- strict, but zero dates and zero parts in dates allowed
    db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
    db:query("SET SESSION time_zone = '+00:00'")
  end)

  teardown(function()
    if db then db:close() end
  end)

  -- The session's counters of statement commands, by name (Com_stmt_execute
  -- as "execute", ...): what shows that the binary protocol was used.
  local function stmt_counters()
    local c = {}
    for name, value in db:query("SHOW SESSION STATUS LIKE 'Com_stmt_%'"):rows("v") do
      c[name:match("^Com_stmt_(.*)$")] = tonumber(value)
    end
    return c
  end

  -- Reads `sql` (SELECT * ... ORDER BY id of a table whose column names
  -- are in `names`) five ways and returns them by name: text, prepared
  -- (buffered), cursor (server cursor, fetch_size 3), stream (statement
  -- cursor without a server cursor), each an array of rows, each row an
  -- array of values in column order; and the two results.
  local function read_all_ways(sql, names)
    local out = {}
    local before = stmt_counters()
    local text_res = db:query(sql)
    out.text = {}
    for i = 1, #text_res do out.text[i] = text_res:row(i, "a") end

    local st = db:prepare(sql)
    local bin_res = st:execute()
    out.prepared = {}
    for i = 1, #bin_res do out.prepared[i] = bin_res:row(i, "a") end
    st:close()

    local function keyed_to_array(row)
      local a = {}
      for j, name in ipairs(names) do a[j] = row[name] end
      return a
    end
    for _, way in ipairs({ { "cursor", { fetch_size = 3 } }, { "stream" } }) do
      local s = db:prepare(sql)
      local cur = s:cursor(way[2])
      cur:execute()
      local rows = {}
      for row in cur:rows() do rows[#rows + 1] = keyed_to_array(row) end
      cur:close()
      s:close()
      out[way[1]] = rows
    end
    -- Each SHOW STATUS is a query of its own, so the counters moved by
    -- exactly the statements above: three prepares and executes, and the
    -- server cursor's fetches of 3 rows (one more to learn the end).
    local after = stmt_counters()
    out.prepares = after.prepare - before.prepare
    out.executes = after.execute - before.execute
    out.fetches = after.fetch - before.fetch
    return out, text_res, bin_res
  end

  local WAYS = { "prepared", "cursor", "stream" }

  -- Checks, for every way, that the row count is the text's and that
  -- column `j` (named `name`) of every row is the text's value.
  local function check_column(ways, j, name)
    for _, way in ipairs(WAYS) do
      assert.equal(#ways.text, #ways[way], way .. ": row count")
      for r, text_row in ipairs(ways.text) do
        check(text_row[j], ways[way][r][j], ("%s, row %d, column %s"):format(way, r, name))
      end
    end
  end

  describe("every MariaDB type", function()
    local t = helpers.unique_table()
    local names = { "id" }
    for i, c in ipairs(COLUMNS) do names[i + 1] = c[1] end
    local ways, text_res, bin_res

    setup(function()
      type_columns.create(db, t)
      ways, text_res, bin_res = read_all_ways("SELECT * FROM " .. t .. " ORDER BY id", names)
    end)

    teardown(function()
      db:query("DROP TABLE IF EXISTS " .. t)
    end)

    it("read the rows through the binary protocol: 3 prepares, 3 executes, fetches of 3 rows", function()
      assert.equal(3, ways.prepares)
      assert.equal(3, ways.executes)
      assert.is_true(ways.fetches >= math.ceil(NROWS / 3), ("%d COM_STMT_FETCH for %d rows"):format(ways.fetches, NROWS))
    end)

    it("holds the rows it was given: NULLs where a column has no literal", function()
      assert.equal(NROWS, #ways.text)
      for j, c in ipairs(COLUMNS) do
        for r = 1, #ways.text do
          assert.equal(c[r + 2] == nil, ways.text[r][j + 1] == null, ("row %d column %s"):format(r, c[1]))
        end
      end
    end)

    it("has the same column metadata", function()
      assert.equal(#text_res.columns, #bin_res.columns)
      for j, tc in ipairs(text_res.columns) do
        local bc = bin_res.columns[j]
        for _, field in ipairs({ "name", "type", "type_id", "unsigned", "decimals" }) do
          assert.equal(tc[field], bc[field], ("column %s: %s"):format(tc.name, field))
        end
      end
    end)

    it("id", function() check_column(ways, 1, "id") end)
    for j, c in ipairs(COLUMNS) do
      it(("%s %s"):format(c[1], c[2]), function()
        check_column(ways, j + 1, c[1])
      end)
    end

    -- What the text protocol shows of a few values the binary protocol
    -- carries in another form, so the comparisons above compare something.
    it("compares the server's text forms (spot checks on the text side)", function()
      local function text_value(r, name)
        for j, n in ipairs(names) do if n == name then return ways.text[r][j] end end
      end
      assert.equal(3.14, text_value(1, "f"))
      assert.equal(16777200.0, text_value(5, "f"))
      assert.equal("-838:59:59", text_value(1, "tm"))
      assert.equal("0000-00-00 00:00:00.000000", text_value(1, "dtm6"))
      assert.equal("2024-01-01 00:00:00.0", text_value(5, "dtm1"))
      assert.equal("18446744073709551615", text_value(1, "biu"))
      assert.equal(math.maxinteger, text_value(3, "biu"))
      assert.equal(0.30000000000000004, text_value(1, "dbl"))
    end)
  end)

  describe("NULL bitmaps of more than 8 and 64 columns", function()
    local t = helpers.unique_table()
    local names = { "id" }
    for c = 1, WIDE_COLUMNS do names[c + 1] = "c" .. c end
    local ways

    setup(function()
      local defs = { "id INT PRIMARY KEY" }
      for c = 1, WIDE_COLUMNS do
        defs[c + 1] = ("c%d %s NULL"):format(c, WIDE_TYPES[1 + (c - 1) % #WIDE_TYPES])
      end
      db:query(("CREATE TABLE %s (%s)"):format(t, table.concat(defs, ", ")))
      for r, is_null in ipairs(WIDE_NULLS) do
        local vals = { tostring(r) }
        for c = 1, WIDE_COLUMNS do vals[c + 1] = is_null(c) and "NULL" or wide_literal(c, r) end
        db:query(("INSERT INTO %s VALUES (%s)"):format(t, table.concat(vals, ", ")))
      end
      ways = read_all_ways("SELECT * FROM " .. t .. " ORDER BY id", names)
    end)

    teardown(function()
      db:query("DROP TABLE IF EXISTS " .. t)
    end)

    it("read the rows through the binary protocol", function()
      assert.equal(3, ways.prepares)
      assert.equal(3, ways.executes)
      assert.is_true(ways.fetches >= math.ceil(#WIDE_NULLS / 3))
    end)

    it("has the NULLs it was given (text side)", function()
      for r, is_null in ipairs(WIDE_NULLS) do
        for c = 1, WIDE_COLUMNS do
          assert.equal(is_null(c), ways.text[r][c + 1] == null, ("row %d column c%d"):format(r, c))
        end
      end
    end)

    for c = 0, WIDE_COLUMNS do
      local name = names[c + 1]
      it(("%s %s"):format(name, c == 0 and "INT" or WIDE_TYPES[1 + (c - 1) % #WIDE_TYPES]), function()
        check_column(ways, c + 1, name)
      end)
    end
  end)

  describe("parameters", function()
    -- Every kind of Lua value, bound: read back with SELECT ?, it must be
    -- what db:query gives for the same value put into the text.
    local SELECT_VALUES = {
      { "0", 0 }, { "1", 1 }, { "-1", -1 },
      { "math.mininteger", math.mininteger }, { "math.maxinteger", math.maxinteger },
      { "2^53 + 1", (1 << 53) + 1 }, { "-2^31", -(1 << 31) },
      { "0.1", 0.1 }, { "1.5", 1.5 }, { "2.0", 2.0 }, { "1e308", 1e308 }, { "5e-324", 5e-324 },
      { "-1.7976931348623157e308", -1.7976931348623157e308 }, { "1/3", 1 / 3 },
      { "the empty string", "" }, { "a short string", "abc" }, { "a string with NUL bytes", "a\0b\0" },
      { "UTF-8 text", text }, { "a quote and a backslash", "it's a \\ test" },
      { "a string of 300 bytes", ("s"):rep(300) },
      { "true", true }, { "false", false }, { "nil", nil }, { "mylua.null", null },
    }

    -- Typed values read back with SELECT ?: what the server gives for the
    -- value of its type against what it gives for the plain text (the
    -- same string in both protocols).
    local SELECT_TYPED = {
      { "decimal", "1.10" }, { "decimal", "-0.000000000000000000000000000001" },
      { "decimal", "12345678901234567890123456789012345.123456789012345678901234567890" },
      { "date", "2024-02-29" }, { "date", "1000-01-01" },
      { "datetime", "2024-01-02 03:04:05" }, { "datetime", "2024-01-02 03:04:05.123456" },
      { "datetime", "9999-12-31 23:59:59.999999" },
      { "time", "-838:59:59" }, { "time", "12:34:56.789000" }, { "time", "00:00:00" },
      { "blob", bytes }, { "blob", "" },
    }
    for _, case in ipairs(SELECT_TYPED) do
      local kind, plain = case[1], case[2]
      it(("SELECT ? of mylua.%s(%s)"):format(kind, describe_value(plain)), function()
        local want = db:query("SELECT ? AS v", plain):row(1, "a")[1]
        local st = db:prepare("SELECT ? AS v")
        local got = st:execute(mylua[kind](plain)):row(1, "a")[1]
        st:close()
        check(want, got, ("SELECT ? of mylua.%s(%s)"):format(kind, describe_value(plain)))
      end)
    end

    for _, case in ipairs(SELECT_VALUES) do
      it(("SELECT ? of %s"):format(case[1]), function()
        local want = db:query("SELECT ? AS v", case[2]):row(1, "a")[1]
        local st = db:prepare("SELECT ? AS v")
        assert.equal(1, st.param_count)
        local got = st:execute(case[2]):row(1, "a")[1]
        st:close()
        check(want, got, "SELECT ? of " .. case[1])
        local once = db:execute("SELECT ? AS v", case[2]):row(1, "a")[1]
        check(want, once, "db:execute SELECT ? of " .. case[1])
      end)
    end

    it("SELECT ? of many values at once, NULLs among them", function()
      local vals = {}
      for i, case in ipairs(SELECT_VALUES) do vals[i] = case[2] end
      local n = #SELECT_VALUES
      local sql = "SELECT " .. ("?,"):rep(n - 1) .. "?"
      local want = db:query(sql, table.unpack(vals, 1, n)):row(1, "a")
      local st = db:prepare(sql)
      assert.equal(n, st.param_count)
      local got = st:execute(table.unpack(vals, 1, n)):row(1, "a")
      st:close()
      for i, case in ipairs(SELECT_VALUES) do check(want[i], got[i], "value " .. i .. ", " .. case[1]) end
    end)

    -- Into typed columns: a row written by db:query with the value in the
    -- text, a row by the statement with the value bound, both read back
    -- with db:query. `typed` (when given) is what the statement binds
    -- instead of the plain value that db:query puts into the text: the
    -- value made by mylua[typed](plain).
    local TYPED = {
      { "BIGINT", math.mininteger }, { "BIGINT", math.maxinteger }, { "BIGINT", -1 },
      { "BIGINT UNSIGNED", math.maxinteger }, { "BIGINT UNSIGNED", 0 },
      { "INT", -2147483648 }, { "TINYINT UNSIGNED", 255 }, { "SMALLINT", -32768 },
      { "TINYINT(1)", true }, { "TINYINT(1)", false }, { "BOOLEAN", true },
      { "INT", 7.0 }, { "BIGINT", 2.0 ^ 62 },
      { "DOUBLE", 0.1 }, { "DOUBLE", 1e308 }, { "DOUBLE", 5e-324 }, { "DOUBLE", -0.0 },
      { "DOUBLE", 42 }, { "DOUBLE", math.maxinteger },
      { "FLOAT", 3.14 }, { "FLOAT", 16777217.0 }, { "FLOAT(7,3)", 1234.5678 },
      { "DECIMAL(10,2)", 1.5 }, { "DECIMAL(10,2)", 3 },
      { "DECIMAL(10,2)", "1.10", "decimal" },
      { "DECIMAL(10,2)", "-12345678.99", "decimal" },
      { "DECIMAL(65,30)", "12345678901234567890123456789012345.123456789012345678901234567890",
        "decimal" },
      { "DECIMAL(65,30)", "-0.000000000000000000000000000001",
        "decimal" },
      { "DATE", "2024-02-29", "date" },
      { "DATE", "0000-00-00", "date" },
      { "DATETIME", "2024-01-02 03:04:05", "datetime" },
      { "DATETIME(6)", "2024-01-02 03:04:05.123456", "datetime" },
      { "DATETIME(6)", "9999-12-31 23:59:59.999999", "datetime" },
      { "DATETIME(3)", "2024-01-02 00:00:00", "datetime" },
      { "TIMESTAMP(6) NULL", "2038-01-19 03:14:07.5", "datetime" },
      { "TIME", "-838:59:59", "time" },
      { "TIME", "838:59:59", "time" },
      { "TIME(6)", "12:34:56.789", "time" },
      { "TIME(6)", "-00:00:00.000001", "time" },
      { "VARCHAR(20)", "" }, { "VARCHAR(20)", "a\0b" }, { "VARCHAR(40)", text }, { "CHAR(5)", "ab  " },
      { "TEXT", "it's a \\ test" },
      { "VARBINARY(300)", bytes }, { "BLOB", bytes }, { "BLOB", "\0" },
      { "BLOB", bytes:reverse(), "blob" },
      { "LONGBLOB", bytes:rep(1100), "blob" }, -- long data
      { "LONGTEXT", ("x"):rep(300000) },                                          -- long data
      { "ENUM('a','b')", "b" }, { "SET('x','y')", "y,x" }, { "JSON", '{"a": 1}' },
      { "YEAR", 2024 }, { "BIT(64)", math.maxinteger }, { "BIT(8)", 129 },
      { "INET6", "::1" }, { "UUID", "123e4567-e89b-12d3-a456-426614174000" },
      { "INT", nil }, { "VARCHAR(5)", null }, { "DATETIME(6)", null }, { "BLOB", nil },
    }

    for n, case in ipairs(TYPED) do
      local coltype, plain, kind = case[1], case[2], case[3]
      local label = ("%s from %s%s"):format(coltype, describe_value(plain), kind and (" as mylua." .. kind) or "")
      it(("INSERT ... VALUES (?) into %s"):format(label), function()
        local t = helpers.unique_table()
        db:query(("CREATE TEMPORARY TABLE %s (id INT PRIMARY KEY, v %s)"):format(t, coltype))
        local sql = "INSERT INTO " .. t .. " (id, v) VALUES (?, ?)"
        db:query(sql, 1, plain)
        local st = db:prepare(sql)
        assert.equal(2, st.param_count)
        local bound = plain
        if kind then bound = mylua[kind](plain) end
        local res = st:execute(2, bound)
        assert.equal(1, res.affected_rows)
        st:close()
        db:execute(sql, 3, bound)
        local rows = db:query("SELECT v FROM " .. t .. " ORDER BY id")
        assert.equal(3, #rows)
        local want = rows:row(1, "a")[1]
        check(want, rows:row(2, "a")[1], ("case %d, %s, by st:execute"):format(n, label))
        check(want, rows:row(3, "a")[1], ("case %d, %s, by db:execute"):format(n, label))
        db:query("DROP TEMPORARY TABLE " .. t)
      end)
    end

    it("execute_many writes what row-by-row INSERTs write", function()
      local t = helpers.unique_table()
      db:query(("CREATE TEMPORARY TABLE %s (id INT PRIMARY KEY, i BIGINT, d DOUBLE, s VARBINARY(300),"
        .. " b TINYINT(1), e DECIMAL(10,2), w DATETIME(6))"):format(t))
      local rows = {
        { math.mininteger, 0.1, bytes, true, "1.10", "2024-01-02 03:04:05.123456" },
        { math.maxinteger, -0.0, "", false, "-0.01", "0000-00-00 00:00:00" },
        { null, null, null, null, null, null },
        { 0, 1e308, "a\0b", true, "99999999.99", "1000-01-01 00:00:00.000001" },
      }
      local sql = "INSERT INTO " .. t .. " VALUES (?, ?, ?, ?, ?, ?, ?)"
      for k, r in ipairs(rows) do db:query(sql, k, table.unpack(r, 1, 6)) end
      local st = db:prepare(sql)
      local many = {}
      for k, r in ipairs(rows) do many[k] = { 100 + k, table.unpack(r, 1, 6) } end
      assert.equal(#rows, st:execute_many(many))
      st:close()
      local got = db:query("SELECT * FROM " .. t .. " ORDER BY id")
      assert.equal(2 * #rows, #got)
      for k = 1, #rows do
        local want, back = got:row(k, "a"), got:row(#rows + k, "a")
        for j = 2, 7 do check(want[j], back[j], ("row %d, column %s"):format(k, got.columns[j].name)) end
      end
    end)
  end)
end)
