-- Building a statement from `?` and values: numbers come out as the C
-- library's "%d" and "%.17g" print them (the binding formats the common
-- ones itself), strings as the quoting rules say, and a long multi-row
-- INSERT lands every value unchanged.

local helpers = require "helpers"
local mylua = require "mylua"

-- What the binding must print for a float: "%.17g", with "e0" when that has
-- no exponent (a DOUBLE literal, not a DECIMAL one).
local function float_literal(v)
  local s = ("%.17g"):format(v)
  if not s:find("[eE]") then s = s .. "e0" end
  return s
end

local function floats()
  local v = {
    1.0, -1.0, 2.0, 0.5, 1.5, -1.5, 0.25, 0.75, 0.1, 1 / 3, 2 / 3, 12345.25, -12345.75, 1e15,
    1e15 + 0.5, 1e16, 1e17, 2 ^ 52 + 0.5, 2 ^ 53 - 1, 2 ^ 53, 2 ^ 53 + 2, 2 ^ 63, -2 ^ 63, 1e-4, 1e-5,
    9.5, 99.5, 999.5, 1 + 2 ^ -10, 1 + 2 ^ -16, 1 + 2 ^ -17, 1 + 2 ^ -30, 1 + 2 ^ -52, 123456789.125,
    12345678901234.5, 1234567890123.25, 123456789012.125, 0x1p-1074, 1.7976931348623157e308, -0.0, 0.0,
    3.0000000000000004, 4503599627370495.5, 281474976710655.75,
  }
  for k = 1, 2000 do v[#v + 1] = k / 4 end
  for k = 1, 500 do v[#v + 1] = -k / 1024 - k end
  for k = 1, 500 do v[#v + 1] = k * 1.1 end
  local seed = 12345
  for _ = 1, 500 do -- fractions of many bits, and of few, at every magnitude
    seed = (seed * 1103515245 + 12345) % 2147483648
    local m = seed / 2147483648 * 2 ^ (seed % 60 - 10)
    v[#v + 1] = m
    v[#v + 1] = math.floor(m * 64) / 64
  end
  return v
end

describe("building statements from values", function()
  local db
  setup(function() db = helpers.connect() end)
  teardown(function() if db then db:close() end end)

  it("prints integers as %d does, the extremes too", function()
    local values = { 0, 1, -1, 9, 10, -10, 99, 100, 4294967295, -2147483648, math.maxinteger,
      math.mininteger, math.mininteger + 1, 1000000000000000000, -999999999999999999 }
    for k = 0, 62 do values[#values + 1] = 1 << k; values[#values + 1] = -(1 << k) - 1 end
    for _, v in ipairs(values) do
      assert.equal(("%d"):format(v), db:quote(v))
    end
  end)

  it("prints floats as %.17g does", function()
    for _, v in ipairs(floats()) do
      assert.equal(float_literal(v), db:quote(v), ("%a"):format(v))
    end
  end)

  it("quotes plain and special strings as before", function()
    assert.equal("'abc'", db:quote("abc"))
    assert.equal("'it''s'", db:quote("it's"))
    assert.equal("''''''", db:quote("''"))
    assert.equal("'a b-c#d?e`f\"g'", db:quote("a b-c#d?e`f\"g"))
    assert.equal("_utf8mb4 X'612F2A62'", db:quote("a/*b"))
    assert.equal("_utf8mb4 X'612A2F62'", db:quote("a*/b"))
    assert.equal("'a/b*c'", db:quote("a/b*c"))
    assert.equal("_utf8mb4 X'615C62'", db:quote("a\\b"))
    assert.equal("_utf8mb4 X'610062'", db:quote("a\0b"))
    assert.equal("'caf\xC3\xA9'", db:quote("caf\xC3\xA9"))
    assert.equal("_binary'\xFF'", db:quote("\xFF"))
  end)

  it("finds each ? among punctuation, words and quotes", function()
    local row = db:query("SELECT ?+1 AS a,(?)AS b,CONCAT(?,'?',\"?\",?)AS c,?-? AS `d?`,? AS e#?\n",
      1, 2, "x", "y", 10, 3, "z"):row(1)
    assert.same({ a = 2, b = 2, c = "x??y", ["d?"] = 7, e = "z" }, row)
    local sjis = helpers.connect { charset = "sjis" }
    -- a word with a two-byte character whose second byte is a backtick
    local r = sjis:query("SELECT ? AS x\x81\x60,?", "a", "b"):row(1, "a")
    sjis:close()
    assert.same({ "a", "b" }, r)
  end)

  it("lands a multi-row INSERT of 7,000 values unchanged", function()
    local t = helpers.unique_table()
    db:query("CREATE TEMPORARY TABLE " .. t ..
      " (id INT PRIMARY KEY, a INT, b BIGINT, c VARCHAR(20), d DOUBLE, g INT NULL, h VARCHAR(80))")
    local vals, j, rows = {}, 0, {}
    for k = 1, 1000 do
      local h = k % 10 == 0 and ("it's a \\ test " .. k) or ("row " .. k .. " " .. ("x"):rep(k % 50))
      local row = { k, (k * 37) % 100003 - 50000, k * 1000003 - 4000000000000, "name-" .. (k % 1000),
        k / 4 + (k % 7 == 0 and 0.1 or 0), (k % 3 ~= 0) and k or mylua.null, h }
      rows[k] = row
      for i = 1, 7 do vals[j + i] = row[i] end
      j = j + 7
    end
    local sql = "INSERT INTO " .. t .. " (id, a, b, c, d, g, h) VALUES " .. ("(?,?,?,?,?,?,?)"):rep(1000, ",")
    db:query(sql, table.unpack(vals, 1, j))
    local k = 0
    for got in db:query("SELECT id, a, b, c, d, g, h FROM " .. t .. " ORDER BY id"):rows("a") do
      k = k + 1
      for i = 1, 7 do
        assert.equal(rows[k][i], got[i], ("row %d, column %d"):format(k, i))
      end
      assert.equal("float", math.type(got[5]))
    end
    assert.equal(1000, k)
  end)
end)
