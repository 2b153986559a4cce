-- res:fetch_all(mode): every row of a buffered result in one array, each row
-- the very value res:rows(mode) gives (text and binary protocol, every
-- column type, results big enough to be kept in several chunks), and what
-- is left of the result afterwards: its rows are gone (reading them raises),
-- everything else stays.

local helpers = require "helpers"
local mylua = require "mylua"
local types = require "support.type_columns"

local null = mylua.null

local describe_value, same = helpers.describe_value, helpers.same_value

-- Asserts two rows (tables) hold the same keys with identical values.
local function check_row(want, got, where)
  for k, v in pairs(want) do
    assert.is_true(same(v, got[k]), ("%s, %s: rows() gives %s, fetch_all gives %s"):format(
      where, tostring(k), describe_value(v), describe_value(got[k])))
  end
  for k in pairs(got) do
    assert.is_true(want[k] ~= nil, ("%s: fetch_all has the extra key %s"):format(where, tostring(k)))
  end
end

-- Asserts fetch_all(mode) of one result is rows(mode) of another of the
-- same query, row for row.
local function check_same(run, mode, where)
  local want = {}
  for row in run():rows(mode) do want[#want + 1] = row end
  local got = run():fetch_all(mode)
  assert.equal(#want, #got, where .. ": row count")
  for i = 1, #want do check_row(want[i], got[i], ("%s, row %d"):format(where, i)) end
  return got
end

describe("res:fetch_all", function()
  local db

  setup(function()
    db = helpers.connect_big()
    db:query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
    db:query("SET SESSION time_zone = '+00:00'")
  end)

  teardown(function()
    if db then db:close() end
  end)

  describe("over the type-coverage table", function()
    local t = helpers.unique_table()

    setup(function() types.create(db, t) end)
    teardown(function() db:query("DROP TABLE IF EXISTS " .. t) end)

    local sql = "SELECT * FROM " .. t .. " ORDER BY id"
    for _, mode in ipairs({ "k", "a" }) do
      it(("gives what rows(%q) gives, text protocol"):format(mode), function()
        local got = check_same(function() return db:query(sql) end, mode, "text " .. mode)
        assert.equal(types.NROWS, #got)
      end)

      it(("gives what rows(%q) gives, binary protocol"):format(mode), function()
        local st <close> = db:prepare(sql)
        local got = check_same(function() return st:execute() end, mode, "binary " .. mode)
        assert.equal(types.NROWS, #got)
      end)
    end

    it("keyed by default, with every column and mylua.null for NULL", function()
      local rows = db:query(sql):fetch_all()
      assert.equal(1, rows[1].id)
      assert.equal(-128, rows[1].ti)
      local last = rows[#rows]
      for _, c in ipairs(types.COLUMNS) do assert.equal(null, last[c[1]], c[1]) end
    end)
  end)

  describe("a result kept in several chunks", function()
    local t = helpers.unique_table()
    local ROWS = 6000

    setup(function()
      db:query(("CREATE TABLE %s (id INT PRIMARY KEY, n BIGINT, x DOUBLE, s VARCHAR(600), b LONGBLOB)"):format(t))
      -- about 3.5 MiB of rows, one of them a blob of 2.5 MiB in the middle
      db:query(([[INSERT INTO %s SELECT seq, CAST(seq AS SIGNED) * 1000003 - 5000000000, seq / 7,
                    REPEAT(CHAR(65 + seq %% 26), seq %% 600), IF(seq %% 997 = 0, NULL, 'b')
                  FROM seq_1_to_%d]]):format(t, ROWS))
      db:query(("UPDATE %s SET b = REPEAT('z', 2500000) WHERE id = 3001"):format(t))
    end)
    teardown(function() db:query("DROP TABLE IF EXISTS " .. t) end)

    local sql = "SELECT * FROM " .. t .. " ORDER BY id"

    it("gives every row, as rows() does, both protocols and shapes", function()
      for _, mode in ipairs({ "k", "a" }) do
        check_same(function() return db:query(sql) end, mode, "text " .. mode)
        local st <close> = db:prepare(sql)
        check_same(function() return st:execute() end, mode, "binary " .. mode)
      end
    end)

    it("res:row(i) finds each row in its chunk", function()
      local res = db:query(sql)
      assert.equal(ROWS, #res)
      for _, i in ipairs({ ROWS, 1, 2999, 3000, 3001, 3002, 1500, 4500, ROWS - 1 }) do
        local row = res:row(i)
        assert.equal(i, row.id)
        assert.equal(i % 600, #row.s)
        if i == 3001 then assert.equal(2500000, #row.b)
        elseif i % 997 == 0 then assert.equal(null, row.b)
        else assert.equal("b", row.b) end
      end
      local n = 0
      for row in res:rows("a") do
        n = n + 1
        assert.equal(n, row[1])
      end
      assert.equal(ROWS, n)
    end)
  end)

  it("keeps a result of many full chunks, every row where it was put, both protocols", function()
    -- about 13 MiB of small rows: the first chunk, then several full ones
    -- (on huge pages where the kernel offers them), which fetch_all frees
    -- as it goes; then rows of about 300 KB, which leave a chunk's last
    -- 250 KB unused, given back when the next chunk starts
    for _, shape in ipairs({ { n = 12000, len = 1000, spread = 200 }, { n = 20, len = 300000, spread = 7 } }) do
      local N = shape.n
      local function length(i) return shape.len + i % shape.spread end
      local sql = ("SELECT seq AS id, REPEAT(CHAR(65 + seq %% 26), %d + seq %% %d) AS s FROM seq_1_to_%d")
        :format(shape.len, shape.spread, N)
      local function wrong(i, row)
        return row[1] ~= i or #row[2] ~= length(i) or row[2] ~= string.char(65 + i % 26):rep(length(i))
      end
      local st <close> = db:prepare(sql)
      for _, run in ipairs({ function() return db:query(sql) end, function() return st:execute() end }) do
        local res = run()
        assert.equal(N, #res)
        for _, i in ipairs({ N, 1, N // 6, N // 6 + 1, N // 3, N // 2, N // 2 + 1, N - 1 }) do
          assert.is_false(wrong(i, res:row(i, "a")), "row " .. i)
        end
        local rows = res:fetch_all("a")
        assert.equal(N, #rows)
        local bad = 0
        for i, row in ipairs(rows) do
          if wrong(i, row) then bad = bad + 1 end
        end
        assert.equal(0, bad)
      end
    end
  end)

  it("reads FLOAT and DOUBLE text as the binary protocol's values, over many magnitudes", function()
    local t = helpers.unique_table()
    db:query(("CREATE TABLE %s (id INT PRIMARY KEY, d DOUBLE, f FLOAT, x DOUBLE(20,6), y DOUBLE)"):format(t))
    -- random digits at exponents from 1e-40 to 1e40, both signs, some integral
    db:query(([[INSERT INTO %s SELECT seq,
                  (RAND(seq) - 0.5) * POW(10, CAST(seq %% 81 AS SIGNED) - 40),
                  (RAND(seq + 1) - 0.5) * POW(10, CAST(seq %% 61 AS SIGNED) - 30),
                  (RAND(seq + 2) - 0.5) * POW(10, seq %% 13),
                  IF(seq %% 3 = 0, ROUND(RAND(seq + 3) * 1e6), SQRT(seq) * 1000.5e0 / 3)
                FROM seq_1_to_20000]]):format(t))
    local sql = "SELECT d, f, x, y FROM " .. t .. " ORDER BY id"
    local text = db:query(sql):fetch_all("a")
    local st <close> = db:prepare(sql)
    local bin = st:execute():fetch_all("a")
    db:query("DROP TABLE " .. t)
    assert.equal(20000, #text)
    for i = 1, #text do
      for j = 1, 4 do
        local a, b = text[i][j], bin[i][j]
        assert.is_true(same(b, a) and math.type(a) == "float",
          ("row %d column %d: binary %s, text %s"):format(i, j, describe_value(b), describe_value(a)))
      end
    end
  end)

  describe("the result afterwards", function()
    it("has no rows to read: rows, row and fetch_all raise", function()
      local res = db:query("SELECT 1 AS a UNION ALL SELECT 2")
      local it_before = res:rows()
      assert.same({ { a = 1 }, { a = 2 } }, res:fetch_all())
      for _, f in ipairs({
        function() return res:rows() end,
        function() return res:row(1) end,
        function() return res:fetch_all() end,
        function() return it_before() end,
      }) do
        local ok, err = pcall(f)
        assert.is_false(ok)
        assert.matches("after fetch_all took them", tostring(err), 1, true)
      end
    end)

    it("keeps its length, columns, status and next result", function()
      local res = db:query("SELECT 1 AS a UNION ALL SELECT 2; SELECT 'x' AS b")
      assert.same({ { 1 }, { 2 } }, res:fetch_all("a"))
      assert.equal(2, #res)
      assert.equal(2, res.row_count)
      assert.equal("a", res.columns[1].name)
      local second = res:next_result()
      assert.same({ { b = "x" } }, second:fetch_all())
    end)

    it("of a statement without a result set, or without rows, is an empty array", function()
      assert.same({}, db:query("DO 1"):fetch_all())
      local res = db:query("SELECT 1 AS a FROM DUAL WHERE 0")
      assert.same({}, res:fetch_all("a"))
      assert.equal(0, #res)
    end)
  end)

  it("refuses the values mode and a closed result", function()
    local res = db:query("SELECT 1")
    local ok, err = pcall(res.fetch_all, res, "v")
    assert.is_false(ok)
    assert.matches("row mode must be", tostring(err), 1, true)
    res:close()
    ok, err = pcall(res.fetch_all, res)
    assert.is_false(ok)
    assert.matches("attempt to use a closed result", tostring(err), 1, true)
  end)

  it("leaves the collector as it found it: running, or stopped by the script", function()
    local res = db:query("SELECT 1 AS a")
    assert.is_true(collectgarbage("isrunning"))
    res:fetch_all()
    assert.is_true(collectgarbage("isrunning"))
    collectgarbage("stop")
    local ok = pcall(function() return db:query("SELECT 2 AS a"):fetch_all() end)
    local running = collectgarbage("isrunning")
    collectgarbage("restart")
    assert.is_true(ok)
    assert.is_false(running)
  end)

  it("a result released after fetch_all frees nothing twice", function()
    for _ = 1, 3 do
      local res <close> = db:query("SELECT seq FROM seq_1_to_5000")
      assert.equal(5000, #res:fetch_all("a"))
    end
    collectgarbage()
    collectgarbage()
  end)
end)
