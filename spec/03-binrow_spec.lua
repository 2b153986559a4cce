-- The binary protocol's rows (prepared statements' results), tested on
-- bytes: the walker over every type and every kind of damage, NULL
-- bitmaps, temporal parameters.  The cases live in
-- spec/support/test_binrow.c, built as test-binrow next to the host
-- program; each line it prints becomes one test here.
--
-- Then the text the binary values must turn into, against the server: the
-- text protocol's FLOAT, DOUBLE and temporal columns, over many values,
-- are what test-binrow --compare formats from the same values.  The
-- client reads FLOAT and DOUBLE columns as numbers, so the server's text
-- is taken as CAST(x AS CHAR), the same characters the text protocol
-- sends; a FLOAT's exact value is CAST(CAST(x AS DOUBLE) AS CHAR), the
-- shortest text that reads back as the same double.

local helpers = require "helpers"
local mylua = require "mylua"

describe("binary rows", function()
  for _, case in ipairs(helpers.c_cases("test-binrow", 35)) do it(case.name, case.check) end
end)

describe("the server's text of FLOAT, DOUBLE and temporal values", function()
  local db, tbl

  local function program()
    local bin = os.getenv("MYLUA_BIN")
    local dir = bin and bin ~= "" and (bin:match("^(.*/)[^/]*$") or "") or "build/"
    return dir .. "test-binrow"
  end

  -- Feeds the lines to test-binrow --compare; every one must match.
  local function compare(lines, at_least)
    assert.is_true(#lines >= at_least, ("only %d values to compare"):format(#lines))
    local out, err, code = helpers.run(helpers.shell_quote(program()) .. " --compare",
      table.concat(lines, "\n") .. "\n")
    local n, bad = out:match("compared (%d+), mismatched (%d+)")
    assert.are.equal(#lines, tonumber(n), out .. err)
    assert.are.equal(0, tonumber(bad), out .. err)
    assert.are.equal(0, code, out .. err)
  end

  local function text_and_exact(x)
    return ("CAST(%s AS CHAR), CAST(CAST(%s AS DOUBLE) AS CHAR)"):format(x, x)
  end

  local function collect(sql, kind, decimals, lines)
    for text, exact in db:query(sql):rows("v") do
      if text ~= mylua.null then lines[#lines + 1] = ("%s\t%d\t%s\t%s"):format(kind, decimals, text, exact) end
    end
  end

  setup(function()
    db = helpers.connect()
    db:query("SET SESSION sql_mode = ''") -- out-of-range values are clipped, not refused
    tbl = helpers.unique_table()
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS " .. tbl)
      db:close()
    end
  end)

  it("FLOAT and DOUBLE columns, with and without a scale, read as the server prints them", function()
    db:query(("CREATE TABLE %s (a FLOAT, b DOUBLE, c FLOAT(30,20), d DOUBLE(40,25), e FLOAT(12,3), "
      .. "f DOUBLE(20,0), g FLOAT(20,0), h FLOAT(10,1), i DOUBLE(30,10), j FLOAT(70,30))"):format(tbl))
    local fill = "INSERT INTO " .. tbl .. " SELECT x, x, x, x, x, x, x, x, x, x FROM (SELECT %s AS x FROM seq_1_to_%d) s"
    -- random magnitudes over the FLOAT range, signs, round decimal values,
    -- halves (ties), integers past FLOAT's 24 bits, and fixed points
    db:query(fill:format("(RAND() - 0.5) * POW(10, FLOOR(RAND() * 76) - 38)", 4000))
    db:query(fill:format("ROUND(RAND() * 1e6) * POW(10, FLOOR(RAND() * 40) - 20)", 2000))
    db:query(fill:format("ROUND((RAND() - 0.5) * 1e4) / 1000", 1000))
    db:query(fill:format("seq + 0.5", 500))
    db:query(fill:format("seq * 17 + 1234560", 500))
    db:query("INSERT INTO " .. tbl .. " (a, b) VALUES (1e15, 1e15), (1.5e15, 1.5e15), (1e-15, 1e-15), "
      .. "(1e-16, 1e-16), (3.4e38, 1.7976931348623157e308), (1.4e-45, 5e-324), (0, 0), (0.1, 0.1)")
    local lines = {}
    for col, kind, decimals in ("a f 31 b d 31 c f 20 d d 25 e f 3 f d 0 g f 0 h f 1 i d 10 j f 30"):gmatch("(%a) (%a) (%d+)") do
      collect(("SELECT %s FROM %s"):format(text_and_exact(col), tbl), kind, tonumber(decimals), lines)
    end
    compare(lines, 60000)
  end)

  it("expressions of FLOAT and DOUBLE type read as the server prints them", function()
    local lines = {}
    local function each(expr, range, kind)
      collect(("SELECT %s FROM %s"):format(text_and_exact(expr), range), kind, 31, lines)
    end
    each("CAST(seq / 7 AS FLOAT)", "seq_1_to_2000", "f")
    each("CAST(seq * seq * seq * 1e-9 AS FLOAT)", "seq_1_to_2000", "f")
    each("seq / 7e0", "seq_1_to_2000", "d")
    each("POW(2, seq)", "seq_1_to_1023", "d")
    each("POW(2, -CAST(seq AS SIGNED))", "seq_1_to_1074", "d")
    compare(lines, 8000)
  end)

  it("DATE, DATETIME, TIMESTAMP and TIME read as the server prints them", function()
    db:query(("CREATE OR REPLACE TABLE %s (d DATE, t0 TIME, t1 TIME(1), t3 TIME(3), t6 TIME(6), "
      .. "dt0 DATETIME, dt2 DATETIME(2), dt6 DATETIME(6), ts4 TIMESTAMP(4) NULL)"):format(tbl))
    db:query("INSERT INTO " .. tbl .. " SELECT x, t, t, t, t, x, x, x, NULL FROM (SELECT "
      .. "TIMESTAMP('1000-01-01') + INTERVAL FLOOR(RAND() * 9000 * 366 * 86400) SECOND "
      .. "+ INTERVAL FLOOR(RAND() * 1000000) MICROSECOND AS x, "
      .. "SEC_TO_TIME((RAND() - 0.5) * 2 * 3020399) + INTERVAL FLOOR(RAND() * 1000000) MICROSECOND AS t "
      .. "FROM seq_1_to_3000) s")
    db:query("INSERT INTO " .. tbl .. " VALUES ('0000-00-00', '-838:59:59', '838:59:59.9', '-00:00:01.5', "
      .. "'00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '9999-12-31 23:59:59.999999', "
      .. "'2038-01-19 03:14:07.9999')")
    local lines = {}
    local types = { d = 10, t = 11, dt = 12, ts = 7 }
    for col in ("d t0 t1 t3 t6 dt0 dt2 dt6 ts4"):gmatch("%S+") do
      local res = db:query(("SELECT %s FROM %s"):format(col, tbl))
      local c = res.columns[1]
      assert.are.equal(types[col:match("^%a+")], c.type_id)
      for v in res:rows("v") do
        if v ~= mylua.null then lines[#lines + 1] = ("t\t%d\t%d\t%s"):format(c.type_id, c.decimals, v) end
      end
    end
    compare(lines, 20000)
  end)
end)
