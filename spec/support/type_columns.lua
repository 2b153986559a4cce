-- The type-coverage table of specs 73 and 100 (every MariaDB column type
-- with edge values), for specs that read it back more than one way: COLUMNS, each
-- { name, SQL type, literal of row 1, literal of row 2, ... }, and NROWS,
-- the rows to insert (a column past its last literal is NULL; the last row
-- is NULL everywhere but id).  `create(db, name)` makes and fills the table.

local helpers = require "helpers"

local all_bytes, hex = helpers.all_bytes, helpers.hex

local text = "h\u{E9}llo \u{1F600} \u{20000} \u{9F8D}"
local bytes = all_bytes()
local function unhex(s) return "UNHEX('" .. hex(s) .. "')" end

local COLUMNS = {
  { "ti", "TINYINT", "-128", "127", "0", "-1" },
  { "tiu", "TINYINT UNSIGNED", "0", "255", "1" },
  { "si", "SMALLINT", "-32768", "32767", "0", "-1" },
  { "siu", "SMALLINT UNSIGNED", "65535", "0" },
  { "mi", "MEDIUMINT", "-8388608", "8388607", "0", "-1" },
  { "miu", "MEDIUMINT UNSIGNED", "16777215", "0" },
  { "i", "INT", "-2147483648", "2147483647", "0", "-1" },
  { "iu", "INT UNSIGNED", "4294967295", "0", "2147483648" },
  { "bi", "BIGINT", "-9223372036854775808", "9223372036854775807", "0", "-1", "4294967296" },
  { "biu", "BIGINT UNSIGNED", "18446744073709551615", "9223372036854775808", "9223372036854775807", "0" },
  { "f", "FLOAT", "3.14", "1e38", "-1.17549e-38", "0.1", "16777217", "-0e0", "123456", "-3.4e38", "1.5" },
  { "f73", "FLOAT(7,3)", "3.14", "1234.5678", "-9999.999", "0.1", "0", "-0.0005" },
  { "f1", "FLOAT(10,1)", "0.05", "-123456.7", "1" },
  { "dbl", "DOUBLE", "0.1e0 + 0.2e0", "1e308", "5e-324", "-0e0", "-1.7976931348623157e308",
    "2.2250738585072014e-308", "1e0 / 3", "2", "9007199254740993e0" },
  { "d65", "DECIMAL(65,30)", "'12345678901234567890123456789012345.123456789012345678901234567890'",
    "'-99999999999999999999999999999999999.999999999999999999999999999999'",
    "'0.000000000000000000000000000001'", "0", "-1.5" },
  { "d102", "DECIMAL(10,2)", "'-12345678.99'", "'1.10'", "0", "0.5", "'99999999.99'" },
  { "d50", "DECIMAL(5,0) UNSIGNED", "99999", "0" },
  { "dt", "DATE", "'1000-01-01'", "'9999-12-31'", "'2024-02-29'", "'0000-00-00'", "'2024-00-00'",
    "'1970-01-01'" },
  { "tm", "TIME", "'-838:59:59'", "'838:59:59'", "'100:00:00'", "'-00:00:01'", "'00:00:00'", "'23:59:59'",
    "'24:00:00'", "'-12:34:56'" },
  { "tm3", "TIME(3)", "'-00:00:00.001'", "'838:59:59.999'", "'12:00:00.5'", "'00:00:00'", "'-838:59:59'" },
  { "tm6", "TIME(6)", "'-12:00:00.000001'", "'00:00:00.5'", "'838:59:59.999999'", "'-838:59:59'",
    "'00:00:00'", "'-00:00:00.000001'", "'34:00:00.000010'" },
}

-- DATETIME and TIMESTAMP with every count of fractional digits, each with
-- a zero date, a date at midnight (the binary protocol sends 4 bytes), a
-- time without a fraction (7 bytes) and one with (11 bytes).
local DATETIMES = { "'0000-00-00 00:00:00'", "'1000-01-01 00:00:00.000001'", "'9999-12-31 23:59:59.999999'",
  "'2024-02-29 12:34:56.123456'", "'2024-01-01 00:00:00'", "'2024-01-01 10:00:00'", "'2024-00-00 00:00:00'",
  "'2021-07-01 00:00:00.100000'" }
local TIMESTAMPS = { "'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999999'", "'0000-00-00 00:00:00'",
  "'2024-02-29 12:34:56.123456'", "'2024-01-01 00:00:00'", "'2001-09-09 01:46:40.5'" }
for digits = 0, 6 do
  local suffix = digits == 0 and "" or ("(%d)"):format(digits)
  COLUMNS[#COLUMNS + 1] = { "dtm" .. digits, "DATETIME" .. suffix, table.unpack(DATETIMES) }
  COLUMNS[#COLUMNS + 1] = { "ts" .. digits, "TIMESTAMP" .. suffix .. " NULL", table.unpack(TIMESTAMPS) }
end

local POLYGON = "ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))')"
for _, c in ipairs({
  { "yr", "YEAR", "1901", "2155", "0", "70", "2024" },
  { "b1", "BIT(1)", "b'0'", "b'1'" },
  { "b12", "BIT(12)", "b'101010111100'", "b'1'", "b'0'" },
  { "b64", "BIT(64)", "b'" .. ("1"):rep(64) .. "'", "b'1" .. ("0"):rep(63) .. "'", "b'0" .. ("1"):rep(63) .. "'",
    "b'1'", "b'0'" },
  { "en", "ENUM('a','b','c\u{E9}')", "'b'", "'c\u{E9}'", "'a'" },
  { "st", "SET('x','y','z')", "'z,x'", "''", "'x,y,z'" },
  { "js", "JSON", "'{\"a\": [1, 2]}'", "'[]'", "'{\"k\": \"\u{1F600}\"}'", "'\"\"'", "'null'" },
  { "geo", "GEOMETRY", "ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0)')", POLYGON,
    "ST_GeomFromText('MULTIPOINT(0 0, 1e300 -1e-300)')" },
  { "pt", "POINT", "Point(1.5, -2.25)", "Point(0, 0)" },
  { "poly", "POLYGON", POLYGON },
  { "ch", "CHAR(20)", "'ab  '", "''", "'" .. text .. "'", "' x'" },
  { "vc", "VARCHAR(300)", "'ab  '", "''", "'" .. text .. "'", "'a\\0b'", "REPEAT('\u{E9}', 300)" },
  { "tt", "TINYTEXT", "REPEAT('\u{E9}', 127)", "''", "'" .. text .. "'" },
  { "tx", "TEXT", "REPEAT('abc', 20000)", "'" .. text .. "'", "REPEAT('x', 250)", "REPEAT('x', 251)", "''" },
  { "mt", "MEDIUMTEXT", "REPEAT('xy\u{1F600}', 30000)", "''" },
  { "lt", "LONGTEXT", "REPEAT('z', 65536)", "'" .. text .. "'" },
  { "bl", "BLOB", unhex(bytes), "''", "REPEAT('b', 65535)", "X'00FF00'" },
  { "tbl", "TINYBLOB", unhex(all_bytes(254)), "X'00'" },
  { "mbl", "MEDIUMBLOB", "REPEAT(" .. unhex(bytes) .. ", 1000)", "''" },
  { "lbl", "LONGBLOB", "REPEAT(" .. unhex(bytes:reverse()) .. ", 5000)", "X'FF'" },
  { "bn", "BINARY(4)", "'ab'", "''", "X'00FF0001'" },
  { "bn255", "BINARY(255)", unhex(all_bytes(254)), "X'FF'" },
  { "vb", "VARBINARY(300)", unhex(bytes), unhex(bytes:reverse()), "''", "X'00'" },
  { "ip", "INET6", "'2001:0db8:0000::0001'", "'::1'", "'::ffff:192.0.2.1'", "'FE80::1'", "'::'" },
  { "uu", "UUID", "'123E4567-E89B-12D3-A456-426614174000'", "'00000000-0000-0000-0000-000000000000'",
    "'ffffffff-ffff-ffff-ffff-ffffffffffff'" },
}) do
  COLUMNS[#COLUMNS + 1] = c
end

-- Rows of the type-coverage table: as many as the longest list of
-- literals, and one of NULLs.
local NROWS = 0
for _, c in ipairs(COLUMNS) do NROWS = math.max(NROWS, #c - 2) end
NROWS = NROWS + 1

local function create(db, name)
  local defs = { "id INT PRIMARY KEY" }
  for _, c in ipairs(COLUMNS) do defs[#defs + 1] = c[1] .. " " .. c[2] end
  db:query(("CREATE TABLE %s (%s) CHARSET utf8mb4"):format(name, table.concat(defs, ", ")))
  for r = 1, NROWS do
    local vals = { tostring(r) }
    for _, c in ipairs(COLUMNS) do vals[#vals + 1] = c[r + 2] or "NULL" end
    db:query(("INSERT INTO %s VALUES (%s)"):format(name, table.concat(vals, ", ")))
  end
end

return { COLUMNS = COLUMNS, NROWS = NROWS, create = create }
