-- Every MariaDB column type read back through the text protocol, with edge
-- values, checking both the Lua type and the value (README, "Values").
-- Values are written as SQL literals (so these specs test decoding), apart from
-- one geometry value sent back through a placeholder.

local helpers = require "helpers"
local mylua = require "mylua"

local null = mylua.null

local all_bytes, hex = helpers.all_bytes, helpers.hex

local describe_value = helpers.describe_value

-- Asserts `got` is `expected` in value and in Lua type: an integer stays an
-- integer, a float a float, a string a (byte-exact) string, NULL mylua.null.
local function check_value(expected, got, where)
  assert.is_true(helpers.same_value(expected, got),
    ("%s: expected %s, got %s"):format(where, describe_value(expected), describe_value(got)))
end

describe("column types", function()
  local db

  setup(function()
    db = helpers.connect_big()
    -- strict, but zero dates allowed (no NO_ZERO_DATE / NO_ZERO_IN_DATE)
    db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
    db:query("SET SESSION time_zone = '+00:00'")
  end)

  teardown(function()
    if db then db:close() end
  end)

  -- Creates a table with one column `v` of `coltype`, inserts `cases` (pairs
  -- {SQL literal, expected Lua value}) in order, reads them back and checks
  -- each value. Returns the result so a test can look at its columns.
  local function roundtrip(coltype, cases)
    local t = helpers.unique_table()
    db:query(("CREATE TEMPORARY TABLE %s (id INT PRIMARY KEY, v %s)"):format(t, coltype))
    for i, case in ipairs(cases) do
      db:query(("INSERT INTO %s (id, v) VALUES (%d, %s)"):format(t, i, case[1]))
    end
    local res = db:query("SELECT v FROM " .. t .. " ORDER BY id")
    assert.equal(#cases, #res)
    local i = 0
    for v in res:rows("v") do
      i = i + 1
      check_value(cases[i][2], v, ("%s from %s"):format(coltype, cases[i][1]))
    end
    assert.equal(#cases, i)
    db:query("DROP TEMPORARY TABLE " .. t)
    return res
  end

  local function column_type(res, expected_type, expected_id)
    assert.equal(expected_type, res.columns[1].type)
    assert.equal(expected_id, res.columns[1].type_id)
  end

  describe("integers", function()
    it("TINYINT", function()
      local res = roundtrip("TINYINT", { { "-128", -128 }, { "127", 127 }, { "0", 0 }, { "NULL", null } })
      column_type(res, "TINY", 1)
      assert.is_false(res.columns[1].unsigned)
    end)

    it("TINYINT UNSIGNED", function()
      local res = roundtrip("TINYINT UNSIGNED", { { "0", 0 }, { "255", 255 } })
      assert.is_true(res.columns[1].unsigned)
    end)

    it("SMALLINT and SMALLINT UNSIGNED", function()
      column_type(roundtrip("SMALLINT", { { "-32768", -32768 }, { "32767", 32767 }, { "NULL", null } }), "SHORT", 2)
      roundtrip("SMALLINT UNSIGNED", { { "65535", 65535 } })
    end)

    it("MEDIUMINT and MEDIUMINT UNSIGNED", function()
      column_type(roundtrip("MEDIUMINT", { { "-8388608", -8388608 }, { "8388607", 8388607 } }), "INT24", 9)
      roundtrip("MEDIUMINT UNSIGNED", { { "16777215", 16777215 } })
    end)

    it("INT and INT UNSIGNED", function()
      column_type(roundtrip("INT", {
        { "-2147483648", -2147483648 }, { "2147483647", 2147483647 }, { "NULL", null },
      }), "LONG", 3)
      roundtrip("INT UNSIGNED", { { "4294967295", 4294967295 }, { "0", 0 } })
    end)

    it("BIGINT at both ends", function()
      local res = roundtrip("BIGINT", {
        { "-9223372036854775808", math.mininteger },
        { "9223372036854775807", math.maxinteger },
        { "-1", -1 },
        { "NULL", null },
      })
      column_type(res, "LONGLONG", 8)
    end)

    it("BIGINT UNSIGNED: above math.maxinteger as a decimal string, below as an integer", function()
      local res = roundtrip("BIGINT UNSIGNED", {
        { "18446744073709551615", "18446744073709551615" },
        { "9223372036854775808", "9223372036854775808" },
        { "9223372036854775807", math.maxinteger },
        { "0", 0 },
        { "NULL", null },
      })
      column_type(res, "LONGLONG", 8)
      assert.is_true(res.columns[1].unsigned)
    end)

    it("YEAR as an integer", function()
      local res = roundtrip("YEAR", { { "1901", 1901 }, { "2155", 2155 }, { "0", 0 }, { "70", 1970 }, { "NULL", null } })
      column_type(res, "YEAR", 13)
    end)
  end)

  describe("floating point", function()
    it("FLOAT as a float, as the server formats it", function()
      local res = roundtrip("FLOAT", {
        { "1.5", 1.5 }, { "-2.25", -2.25 }, { "0.1", 0.1 }, { "123456", 123456.0 }, { "3.4e38", 3.4e38 },
        { "0", 0.0 }, { "NULL", null },
      })
      column_type(res, "FLOAT", 4)
    end)

    it("DOUBLE exactly, including the extremes", function()
      local res = roundtrip("DOUBLE", {
        { "1.5", 1.5 },
        { "1e308", 1e308 },
        { "-1.7976931348623157e308", -1.7976931348623157e308 },
        { "2.2250738585072014e-308", 2.2250738585072014e-308 },
        { "5e-324", 5e-324 },
        { "0.1", 0.1 },
        { "1e0 / 3", 1 / 3 },
        { "2", 2.0 },
        { "9007199254740993e0", 2.0 ^ 53 },
        { "NULL", null },
      })
      column_type(res, "DOUBLE", 5)
    end)

    -- The text protocol cannot carry a negative zero: the server prints
    -- -0e0 as "0". What the driver controls is that it sends the sign and
    -- reads back a float zero, not an integer.
    it("negative zero is sent with its sign and read back as a float zero", function()
      assert.equal("-0e0", db:quote(-0.0))
      local t = helpers.unique_table()
      db:query(("CREATE TEMPORARY TABLE %s (v DOUBLE)"):format(t))
      db:query(("INSERT INTO %s VALUES (?)"):format(t), -0.0)
      local v = db:query("SELECT v, v = 0 AS is_zero FROM " .. t):row(1)
      assert.equal("float", math.type(v.v))
      assert.equal(0.0, v.v)
      assert.equal(1, v.is_zero)
      db:query("DROP TEMPORARY TABLE " .. t)
    end)
  end)

  describe("DECIMAL", function()
    it("DECIMAL(65,30) as exact strings", function()
      local res = roundtrip("DECIMAL(65,30)", {
        { "'12345678901234567890123456789012345.123456789012345678901234567890'",
          "12345678901234567890123456789012345.123456789012345678901234567890" },
        { "'-99999999999999999999999999999999999.999999999999999999999999999999'",
          "-99999999999999999999999999999999999.999999999999999999999999999999" },
        { "'0.000000000000000000000000000001'", "0.000000000000000000000000000001" },
        { "'-0.000000000000000000000000000001'", "-0.000000000000000000000000000001" },
        { "-1.5", "-1.500000000000000000000000000000" },
        { "0", "0.000000000000000000000000000000" },
        { "NULL", null },
      })
      column_type(res, "NEWDECIMAL", 246)
      assert.equal(30, res.columns[1].decimals)
    end)

    it("DECIMAL without a fraction is still a string", function()
      roundtrip("DECIMAL(5,0)", { { "-12345", "-12345" }, { "0", "0" } })
      roundtrip("DECIMAL(10,2) UNSIGNED", { { "99999999.99", "99999999.99" }, { "0.5", "0.50" } })
    end)
  end)

  describe("dates and times", function()
    it("DATE", function()
      local res = roundtrip("DATE", {
        { "'1000-01-01'", "1000-01-01" }, { "'9999-12-31'", "9999-12-31" }, { "'2024-02-29'", "2024-02-29" },
        { "'0000-00-00'", "0000-00-00" }, { "NULL", null },
      })
      column_type(res, "DATE", 10)
    end)

    it("TIME, negative and above 24 hours", function()
      local res = roundtrip("TIME", {
        { "'-838:59:59'", "-838:59:59" }, { "'838:59:59'", "838:59:59" }, { "'100:00:00'", "100:00:00" },
        { "'-00:00:01'", "-00:00:01" }, { "'00:00:00'", "00:00:00" }, { "NULL", null },
      })
      column_type(res, "TIME", 11)
    end)

    it("TIME(6) with microseconds", function()
      local res = roundtrip("TIME(6)", {
        { "'-12:00:00.000001'", "-12:00:00.000001" }, { "'00:00:00.5'", "00:00:00.500000" },
        { "'838:59:59.999999'", "838:59:59.999999" }, { "'-838:59:59'", "-838:59:59.000000" },
      })
      assert.equal(6, res.columns[1].decimals)
    end)

    it("DATETIME and DATETIME(6)", function()
      column_type(roundtrip("DATETIME", {
        { "'9999-12-31 23:59:59'", "9999-12-31 23:59:59" }, { "'1000-01-01 00:00:00'", "1000-01-01 00:00:00" },
        { "'0000-00-00 00:00:00'", "0000-00-00 00:00:00" }, { "NULL", null },
      }), "DATETIME", 12)
      local res = roundtrip("DATETIME(6)", {
        { "'2024-02-29 23:59:59.999999'", "2024-02-29 23:59:59.999999" },
        { "'1000-01-01 00:00:00.000001'", "1000-01-01 00:00:00.000001" },
        { "'0000-00-00 00:00:00'", "0000-00-00 00:00:00.000000" },
      })
      assert.equal(6, res.columns[1].decimals)
    end)

    it("TIMESTAMP and TIMESTAMP(6)", function()
      column_type(roundtrip("TIMESTAMP NULL", {
        { "'1970-01-01 00:00:01'", "1970-01-01 00:00:01" }, { "'2038-01-19 03:14:07'", "2038-01-19 03:14:07" },
        { "'0000-00-00 00:00:00'", "0000-00-00 00:00:00" }, { "NULL", null },
      }), "TIMESTAMP", 7)
      roundtrip("TIMESTAMP(6) NULL", {
        { "'2024-02-29 12:00:00.123456'", "2024-02-29 12:00:00.123456" },
        { "'0000-00-00 00:00:00'", "0000-00-00 00:00:00.000000" },
      })
    end)
  end)

  describe("BIT", function()
    it("BIT(1)", function()
      column_type(roundtrip("BIT(1)", { { "b'0'", 0 }, { "b'1'", 1 }, { "NULL", null } }), "BIT", 16)
    end)

    it("BIT(8) and BIT(12)", function()
      roundtrip("BIT(8)", { { "b'10000001'", 129 }, { "b'11111111'", 255 }, { "b'0'", 0 } })
      roundtrip("BIT(12)", { { "b'101010111100'", 0xABC }, { "b'1'", 1 } })
    end)

    it("BIT(64): above math.maxinteger as a decimal string", function()
      roundtrip("BIT(64)", {
        { "b'" .. ("1"):rep(64) .. "'", "18446744073709551615" },
        { "b'1" .. ("0"):rep(63) .. "'", "9223372036854775808" },
        { "b'0" .. ("1"):rep(63) .. "'", math.maxinteger },
        { "b'1'", 1 },
        { "NULL", null },
      })
    end)
  end)

  describe("character strings", function()
    local text = "h\u{E9}llo \u{1F600} \u{20000}"

    it("CHAR drops the trailing spaces, VARCHAR keeps them", function()
      column_type(roundtrip("CHAR(10)", {
        { "'ab  '", "ab" }, { "''", "" }, { "'" .. text .. "'", text }, { "NULL", null },
      }), "STRING", 254)
      column_type(roundtrip("VARCHAR(20)", {
        { "'ab  '", "ab  " }, { "''", "" }, { "'" .. text .. "'", text }, { "NULL", null },
      }), "VAR_STRING", 253)
    end)

    it("TINYTEXT, TEXT, MEDIUMTEXT and LONGTEXT", function()
      column_type(roundtrip("TINYTEXT", { { "REPEAT('\u{E9}', 127)", ("\u{E9}"):rep(127) }, { "''", "" } }), "BLOB", 252)
      roundtrip("TEXT", { { "REPEAT('abc', 20000)", ("abc"):rep(20000) }, { "'" .. text .. "'", text } })
      roundtrip("MEDIUMTEXT", { { "REPEAT('xy\u{1F600}', 30000)", ("xy\u{1F600}"):rep(30000) }, { "NULL", null } })
      roundtrip("LONGTEXT", { { "REPEAT('z', 1048577)", ("z"):rep(1048577) }, { "''", "" } })
    end)

    it("4-byte UTF-8 in utf8mb4 columns", function()
      local t = helpers.unique_table()
      db:query("CREATE TEMPORARY TABLE " .. t .. " (id INT, v VARCHAR(1) CHARACTER SET utf8mb4)")
      db:query("INSERT INTO " .. t .. " VALUES (1, '\u{1F600}'), (2, '\u{20000}'), (3, '\u{9F8D}')")
      local res = db:query("SELECT v, HEX(v) AS h, CHAR_LENGTH(v) AS n, LENGTH(v) AS b FROM " .. t .. " ORDER BY id")
      assert.same({ "\u{1F600}", "F09F9880", 1, 4 }, res:row(1, "a"))
      assert.same({ "\u{20000}", "F0A08080", 1, 4 }, res:row(2, "a"))
      assert.same({ "\u{9F8D}", "E9BE8D", 1, 3 }, res:row(3, "a"))
    end)

    it("ENUM and SET", function()
      column_type(roundtrip("ENUM('a','b','c')", { { "'b'", "b" }, { "'c'", "c" }, { "NULL", null } }), "STRING", 254)
      column_type(roundtrip("SET('x','y','z')", {
        { "'z,x'", "x,z" }, { "''", "" }, { "'x,y,z'", "x,y,z" }, { "NULL", null },
      }), "STRING", 254)
    end)

    it("JSON (a LONGTEXT alias in MariaDB), verbatim", function()
      column_type(roundtrip("JSON", {
        { "'{\"a\": [1, 2]}'", "{\"a\": [1, 2]}" },
        { "'[]'", "[]" },
        { "'{\"k\": \"\u{1F600}\"}'", "{\"k\": \"\u{1F600}\"}" },
        { "NULL", null },
      }), "BLOB", 252)
    end)

    it("JSON rejects invalid documents", function()
      local t = helpers.unique_table()
      db:query("CREATE TEMPORARY TABLE " .. t .. " (v JSON)")
      local ok, err = pcall(db.query, db, "INSERT INTO " .. t .. " VALUES ('{bad')")
      assert.is_false(ok)
      assert.is_true(mylua.is_error(err))
      assert.equal(4025, err.code)
      assert.equal("23000", err.sqlstate)
    end)
  end)

  describe("binary strings", function()
    local bytes = all_bytes()

    it("BINARY pads with zero bytes", function()
      column_type(roundtrip("BINARY(4)", { { "'ab'", "ab\0\0" }, { "''", "\0\0\0\0" }, { "NULL", null } }), "STRING", 254)
      local most = all_bytes(254)
      roundtrip("BINARY(255)", { { "UNHEX('" .. hex(most) .. "')", most }, { "X'FF'", "\xFF" .. ("\0"):rep(254) } })
    end)

    it("VARBINARY, TINYBLOB, BLOB, MEDIUMBLOB and LONGBLOB keep every byte", function()
      local lit = "UNHEX('" .. hex(bytes) .. "')"
      local rev = "UNHEX('" .. hex(bytes:reverse()) .. "')"
      column_type(roundtrip("VARBINARY(300)", { { lit, bytes }, { rev, bytes:reverse() }, { "''", "" } }), "VAR_STRING", 253)
      local tiny = all_bytes(254)
      column_type(roundtrip("TINYBLOB", { { "UNHEX('" .. hex(tiny) .. "')", tiny } }), "BLOB", 252)
      roundtrip("BLOB", { { lit, bytes }, { "NULL", null } })
      roundtrip("MEDIUMBLOB", { { "REPEAT(" .. lit .. ", 1000)", bytes:rep(1000) } })
      roundtrip("LONGBLOB", { { "REPEAT(" .. rev .. ", 5000)", bytes:reverse():rep(5000) }, { "''", "" } })
    end)

    it("a BLOB column holding valid UTF-8 is still returned byte for byte", function()
      roundtrip("BLOB", { { "'\u{1F600}'", "\u{1F600}" }, { "X'00FF00'", "\0\xFF\0" } })
    end)
  end)

  describe("MariaDB types", function()
    it("UUID in canonical form", function()
      column_type(roundtrip("UUID", {
        { "'123E4567-E89B-12D3-A456-426614174000'", "123e4567-e89b-12d3-a456-426614174000" },
        { "'00000000-0000-0000-0000-000000000000'", "00000000-0000-0000-0000-000000000000" },
        { "NULL", null },
      }), "STRING", 254)
    end)

    it("INET6 in canonical form", function()
      column_type(roundtrip("INET6", {
        { "'2001:0db8:0000::0001'", "2001:db8::1" },
        { "'::1'", "::1" },
        { "'::ffff:192.0.2.1'", "::ffff:192.0.2.1" },
        { "'FE80::1'", "fe80::1" },
        { "NULL", null },
      }), "STRING", 254)
    end)

    it("GEOMETRY and POINT as the server's binary form (SRID + WKB)", function()
      local t = helpers.unique_table()
      db:query("CREATE TEMPORARY TABLE " .. t .. " (id INT, g GEOMETRY, p POINT)")
      db:query("INSERT INTO " .. t .. " VALUES (1, ST_GeomFromText('POINT(1 2)'), Point(1, 2)),"
        .. " (2, ST_GeomFromText('LINESTRING(0 0, 1 1)'), NULL)")
      local res = db:query("SELECT g, p FROM " .. t .. " ORDER BY id")
      assert.equal("GEOMETRY", res.columns[1].type)
      assert.equal(255, res.columns[1].type_id)
      -- 4-byte SRID 0, then WKB: byte order 1 (little endian), type 1 (point), x, y
      local point = string.pack("<I4BI4dd", 0, 1, 1, 1.0, 2.0)
      local row = res:row(1)
      assert.equal(25, #row.g)
      assert.equal(hex(point), hex(row.g))
      assert.equal(hex(point), hex(row.p))
      local line = string.pack("<I4BI4I4dddd", 0, 1, 2, 2, 0.0, 0.0, 1.0, 1.0)
      row = res:row(2)
      assert.equal(hex(line), hex(row.g))
      assert.equal(null, row.p)
      assert.equal("POINT(1 2)", db:query("SELECT ST_AsText(g) FROM " .. t .. " WHERE id = 1"):row(1, "a")[1])
      -- the bytes read back are the server's own: they go back in unchanged
      local back = db:query("SELECT ST_AsText(ST_GeomFromWKB(CAST(? AS BINARY))) AS a,"
        .. " ST_SRID(ST_GeomFromWKB(CAST(? AS BINARY))) AS s",
        res:row(1).g:sub(5), res:row(1).g:sub(5)):row(1)
      assert.equal("POINT(1 2)", back.a)
      assert.equal(0, back.s)
    end)
  end)

  describe("NULL and empty values", function()
    it("tells the empty string from NULL", function()
      local res = roundtrip("VARCHAR(10)", { { "''", "" }, { "NULL", null }, { "'x'", "x" } })
      assert.equal(3, #res)
      -- what the rows hold, not what the constant is: the empty string
      -- stays a string, NULL is the sentinel and neither nil nor false
      local empty, missing = res:row(1).v, res:row(2).v
      assert.equal("string", type(empty))
      assert.equal("", empty)
      assert.equal("userdata", type(missing))
      assert.is_true(missing == null)
      assert.is_true(missing ~= empty)
      assert.equal(null, res:row(2, "a")[1])
      assert.equal(1, #res:row(2, "a"))
      assert.same({ v = null }, res:row(2))
    end)

    it("keeps the shape of rows with NULL columns", function()
      local t = helpers.unique_table()
      db:query("CREATE TEMPORARY TABLE " .. t .. " (id INT, a INT, b VARCHAR(5), c DATE)")
      db:query("INSERT INTO " .. t .. " VALUES (1, NULL, NULL, NULL), (2, 5, '', '2024-01-01')")
      local res = db:query("SELECT id, a, b, c FROM " .. t .. " ORDER BY id")
      local first = res:row(1, "a")
      assert.equal(4, #first)
      assert.same({ 1, null, null, null }, first)
      local keyed = res:row(1)
      assert.equal(null, keyed.a)
      assert.equal(null, keyed.b)
      assert.equal(null, keyed.c)
      local n = 0
      for _ in pairs(keyed) do n = n + 1 end
      assert.equal(4, n)
      assert.same({ 2, 5, "", "2024-01-01" }, res:row(2, "a"))
      local seen = 0
      for id, a, b, c in res:rows("v") do
        seen = seen + 1
        assert.equal(seen, id)
        if id == 1 then assert.same({ null, null, null }, { a, b, c }) end
      end
      assert.equal(2, seen)
    end)

    it("reads a half-NULL column", function()
      local t = helpers.unique_table()
      db:query("CREATE TEMPORARY TABLE " .. t .. " (id INT PRIMARY KEY, maybe BIGINT, tail VARCHAR(3))")
      for i = 1, 10 do
        db:query(("INSERT INTO %s VALUES (%d, %s, 'x%d')"):format(t, i, i % 2 == 0 and tostring(i * 100) or "NULL", i))
      end
      local res = db:query("SELECT id, maybe, tail FROM " .. t .. " ORDER BY id")
      local nulls, seen = 0, 0
      for row in res:rows("a") do
        seen = seen + 1
        assert.equal(3, #row)
        assert.equal(seen, row[1])
        local id = row[1]
        if id % 2 == 0 then
          check_value(id * 100, row[2], "row " .. id)
        else
          check_value(null, row[2], "row " .. id)
          nulls = nulls + 1
        end
        assert.equal("x" .. id, row[3])
      end
      assert.equal(10, seen)
      assert.equal(5, nulls)
    end)
  end)
end)
