-- db:load{...}: bulk loading through LOAD DATA LOCAL INFILE, rows encoded in
-- C.  Values must come back byte for byte; failures stop the transfer after
-- the last whole row and are raised, leaving the connection usable.

local helpers = require "helpers"
local mylua = require "mylua"

local null = mylua.null

describe("db:load", function()
  local db, tbl

  setup(function()
    db = helpers.connect{ local_infile = true }
  end)

  before_each(function()
    tbl = helpers.unique_table()
  end)

  after_each(function()
    db:query("DROP TABLE IF EXISTS " .. tbl)
  end)

  teardown(function()
    db:close()
  end)

  local function rows_of(sql)
    local out = {}
    for row in db:query(sql):rows("a") do out[#out + 1] = row end
    return out
  end

  local function still_usable(conn)
    assert.are.equal(7, conn:query("SELECT 7 AS v"):row(1).v)
  end

  it("round-trips every type byte for byte", function()
    db:query("CREATE TABLE " .. tbl .. [[ (
      id INT PRIMARY KEY, b LONGBLOB NULL, t TEXT NULL, i BIGINT NULL, f DOUBLE NULL,
      ok BOOLEAN NULL, v VARCHAR(20) NULL) CHARSET utf8mb4]])
    local all = helpers.all_bytes()
    local rows = {
      { 1, all, "tab\there\nnewline\\backslash\0nul\r\n", math.maxinteger, 0.1 + 0.2, true, null },
      { 2, "", "4-byte: 😀𝄞, 2-byte: é", math.mininteger, 1 / 3, false, "" },
      { 3, "\0\0\\N\t", "\\N", -1, 1.7976931348623157e308, true, "N" },
      { 4, null, "NULL", 0, -2.5e-300, false, "\\" },
      { 5, all:reverse(), nil, 9007199254740993, 123456789.12345679, nil, "0" },
      { 6, "x", "", -9007199254740993, -0.0, true, "1.0" },
    }
    local st = db:load{ table = tbl, rows = rows }
    assert.are.equal(#rows, st.affected_rows)
    assert.are.equal(0, st.warnings)
    assert.is_string(st.info)
    local got = rows_of("SELECT id, b, t, i, f, ok, v FROM " .. tbl .. " ORDER BY id")
    assert.are.equal(#rows, #got)
    for r, want in ipairs(rows) do
      for c = 1, 7 do
        local w = want[c]
        if w == nil then w = null end
        if type(w) == "boolean" then w = w and 1 or 0 end
        local g = got[r][c]
        if type(w) == "string" then
          assert.are.equal(helpers.hex(w), helpers.hex(g), ("row %d column %d"):format(r, c))
        else
          assert.are.equal(w, g, ("row %d column %d"):format(r, c))
          assert.are.equal(math.type(w), math.type(g), ("row %d column %d"):format(r, c))
        end
      end
    end
  end)

  it("takes rows from an iterator, and nil or mylua.null anywhere as NULL", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, a INT NULL, b VARCHAR(10) NULL)")
    local i = 0
    local st = db:load{ table = tbl, columns = { "id", "a", "b" }, rows = function()
      i = i + 1
      if i > 3 then return nil end
      if i == 1 then return { 1, nil, "x" } end
      if i == 2 then return { 2, 5, null } end
      return { 3 }
    end }
    assert.are.equal(3, st.affected_rows)
    assert.are.same({ { 1, null, "x" }, { 2, 5, null }, { 3, null, null } },
      rows_of("SELECT id, a, b FROM " .. tbl .. " ORDER BY id"))
  end)

  it("takes rows from a producer coroutine, and a reused row table", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, v VARCHAR(10))")
    local st = db:load{ table = tbl, rows = coroutine.wrap(function()
      local row = {}
      for i = 1, 5 do
        row[1], row[2] = i, "v" .. i
        coroutine.yield(row)
      end
    end) }
    assert.are.equal(5, st.affected_rows)
    assert.are.same({ 5, "v5" }, rows_of("SELECT id, v FROM " .. tbl .. " ORDER BY id DESC")[1])
  end)

  it("loads the columns named, in their order, into a table of another database", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, a INT DEFAULT 7, `we``\"ird` INT)")
    local st = db:load{ database = helpers.params().database, table = tbl,
                        columns = { "we`\"ird", "id" }, rows = { { 10, 1 }, { 20, 2 } } }
    assert.are.equal(2, st.affected_rows)
    assert.are.same({ { 1, 7, 10 }, { 2, 7, 20 } },
      rows_of("SELECT id, a, `we``\"ird` FROM " .. tbl .. " ORDER BY id"))
  end)

  it("replaces or ignores duplicates as asked", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, v VARCHAR(10))")
    db:load{ table = tbl, rows = { { 1, "old" }, { 2, "old" } } }
    local st = db:load{ table = tbl, rows = { { 1, "new" }, { 3, "new" } }, replace = true }
    assert.are.equal(3, st.affected_rows) -- one replaced (deleted and inserted), one inserted
    st = db:load{ table = tbl, rows = { { 2, "ignored" }, { 4, "new" } }, ignore = true }
    assert.are.equal(1, st.affected_rows)
    assert.is_true(st.warnings >= 1)
    assert.are.same({ { 1, "new" }, { 2, "old" }, { 3, "new" }, { 4, "new" } },
      rows_of("SELECT id, v FROM " .. tbl .. " ORDER BY id"))
  end)

  it("passes values through user variables to the set clause", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, v VARCHAR(20), n INT)")
    local st = db:load{ table = tbl, columns = { "id", "@raw" }, rows = { { 1, "abc" }, { 2, "x\ty" } },
                        set = "v = UPPER(@raw), n = LENGTH(@raw)" }
    assert.are.equal(2, st.affected_rows)
    assert.are.same({ { 1, "ABC", 3 }, { 2, "X\tY", 3 } },
      rows_of("SELECT id, v, n FROM " .. tbl .. " ORDER BY id"))
  end)

  it("lists the warnings when asked: a truncation", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, v VARCHAR(3))")
    local st = db:load{ table = tbl, rows = { { 1, "abcdef" }, { 2, "ok" } }, show_warnings = true }
    assert.are.equal(2, st.affected_rows)
    assert.are.equal(1, st.warnings)
    assert.are.equal(1, #st.warnings_list)
    local w = st.warnings_list[1]
    assert.are.equal("Warning", w.level)
    assert.are.equal(1265, w.code)
    assert.matches("truncated for column 'v'", w.message, 1, true)
    local quiet = db:load{ table = tbl, rows = { { 3, "abcdef" } } }
    assert.are.equal(1, quiet.warnings)
    assert.is_nil(quiet.warnings_list)
    local clean = db:load{ table = tbl, rows = { { 4, "abc" } }, show_warnings = true }
    assert.are.same({}, clean.warnings_list)
  end)

  it("means the same with NO_BACKSLASH_ESCAPES in the sql_mode", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, v VARCHAR(20) NULL)")
    local conn <close> = helpers.connect{ local_infile = true }
    conn:query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
    local rows = { { 1, "a\\b\\" }, { 2, "\\N" }, { 3, "t\tn\n" }, { 4, null } }
    assert.are.equal(4, conn:load{ table = tbl, rows = rows }.affected_rows)
    assert.are.same({ { 1, "a\\b\\" }, { 2, "\\N" }, { 3, "t\tn\n" }, { 4, null } },
      rows_of("SELECT id, v FROM " .. tbl .. " ORDER BY id"))
  end)

  it("sends strings in the connection's charset, which the statement names", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, v VARCHAR(20)) CHARSET utf8mb4")
    local latin1 <close> = helpers.connect{ local_infile = true, charset = "latin1" }
    latin1:load{ table = tbl, rows = { { 1, "caf\xE9" } } }
    assert.are.same({ { 1, "café" } }, rows_of("SELECT id, v FROM " .. tbl))
  end)

  it("loads whatever local_infile says, even with a handler function", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY)")
    local asked = 0
    local conn <close> = helpers.connect{ local_infile = function()
      asked = asked + 1
      return ""
    end }
    assert.are.equal(2, conn:load{ table = tbl, rows = { { 1 }, { 2 } } }.affected_rows)
    assert.are.equal(0, asked)
  end)

  it("loads 300,000 rows from an iterator in bounded memory", function()
    db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, a BIGINT, d DOUBLE, s VARCHAR(40))")
    local N = 300000
    local before = helpers.collected_rss_kb()
    local peak = before
    local i = 0
    local row = {}
    local st = db:load{ table = tbl, rows = function()
      i = i + 1
      if i > N then return nil end
      if i % 50000 == 0 then peak = math.max(peak, helpers.rss_kb()) end
      row[1], row[2], row[3], row[4] = i, i * 1000003, i / 7, "row\t" .. i
      return row
    end }
    assert.are.equal(N, st.affected_rows)
    local check = db:query("SELECT COUNT(*), SUM(a), MAX(s) FROM " .. tbl):row(1, "a")
    assert.are.equal(N, check[1])
    assert.are.equal(1000003 * N * (N + 1) // 2, math.tointeger(tonumber(check[2])))
    assert.are.equal("row\t99999", check[3])
    -- Under AddressSanitizer freed memory sits in a quarantine of up to
    -- 256 MiB by design, so RSS says nothing there; the rows are still checked.
    if os.getenv("MYLUA_SANITIZE") ~= "1" then
      assert.is_true(peak - before < 32 * 1024, ("peak RSS grew by %d KiB"):format(peak - before))
    end
  end)

  describe("fails cleanly", function()
    it("without local_infile on the connection", function()
      local plain <close> = helpers.connect()
      helpers.raises_string("connect with local_infile = true", plain.load, plain,
        { table = "t", rows = {} })
      still_usable(plain)
    end)

    it("on a table that does not exist: the server's error", function()
      helpers.raises(1146, db.load, db, { table = "no_such_table_here", rows = { { 1 } } })
      helpers.raises(1146, db.load, db, { table = "no_such_table_here", columns = { "a" },
                                          rows = { { 1 } } })
      still_usable(db)
    end)

    it("when the iterator raises mid-stream: the same error, after whole rows only", function()
      db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, s VARCHAR(200))")
      local raised = { why = "source broke" }
      local pad = ("p"):rep(150)
      local i = 0
      local ok, err = pcall(db.load, db, { table = tbl, rows = function()
        i = i + 1
        if i > 20000 then error(raised) end
        return { i, pad .. i }
      end })
      assert.is_false(ok)
      assert.are.equal(raised, err)
      still_usable(db)
      -- every row before the failing one went, whole
      local got = db:query("SELECT COUNT(*), MAX(id) FROM " .. tbl):row(1, "a")
      assert.are.same({ 20000, 20000 }, got)
      local bad = db:query("SELECT COUNT(*) FROM " .. tbl .. " WHERE s <> CONCAT(?, id)", pad):row(1, "a")
      assert.are.equal(0, bad[1])
    end)

    it("on values it cannot load: NaN, infinities, tables, functions", function()
      db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY, d DOUBLE)")
      helpers.raises_string("row 2, column 2: NaN cannot be loaded", db.load, db,
        { table = tbl, rows = { { 1, 1.5 }, { 2, 0 / 0 } } })
      helpers.raises_string("an infinite number cannot be loaded", db.load, db,
        { table = tbl, rows = { { 3, math.huge } } })
      helpers.raises_string("row 1, column 2: cannot load a table value", db.load, db,
        { table = tbl, rows = { { 4, {} } } })
      helpers.raises_string("row 1 has 3 values for 2 columns", db.load, db,
        { table = tbl, rows = { { 5, 1, 2 } } })
      helpers.raises_string("row 2 must be an array of values", db.load, db,
        { table = tbl, rows = { { 6, 1 }, "seven" } })
      still_usable(db)
      -- the whole rows before each failure went: the first of the NaN load, the 6 before "seven"
      assert.are.same({ { 1, 1.5 }, { 6, 1.0 } }, rows_of("SELECT id, d FROM " .. tbl .. " ORDER BY id"))
    end)

    it("on bad options", function()
      helpers.raises_string("unknown option 'tabel'", db.load, db, { tabel = "t", rows = {} })
      helpers.raises_string("option 'table' is required", db.load, db, { rows = {} })
      helpers.raises_string("option 'rows' must be", db.load, db, { table = "t" })
      helpers.raises_string("exclude each other", db.load, db,
        { table = "t", rows = {}, replace = true, ignore = true })
      helpers.raises_string("option 'columns' must name", db.load, db,
        { table = "t", rows = {}, columns = {} })
    end)

    it("when the iterator uses the connection or yields", function()
      db:query("CREATE TABLE " .. tbl .. " (id INT PRIMARY KEY)")
      helpers.raises_string("attempt to use a connection while it loads rows", db.load, db,
        { table = tbl, rows = function() db:query("SELECT 1") end })
      helpers.raises_string("cannot yield", db.load, db,
        { table = tbl, rows = function() coroutine.yield() end })
      still_usable(db)
    end)
  end)
end)
