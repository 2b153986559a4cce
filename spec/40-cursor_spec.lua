-- Streaming cursors against the sandbox server: rows read one at a time,
-- a refillable row table, column metadata, end-of-result fields, multiple
-- result sets, "commands out of sync" while a stream is open, and constant
-- memory over a million rows.

local mylua = require "mylua"
local helpers = require "helpers"

local MiB_kb = 1024

local raises, raises_string, rss_kb = helpers.raises, helpers.raises_string, helpers.collected_rss_kb

describe("a streaming cursor", function()
  local db

  before_each(function()
    db = helpers.connect_big()
  end)

  after_each(function()
    if db then db:close() end
    db = nil
  end)

  it("sets columns after execute and fetches rows keyed by name, then nil", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT seq AS n, CONCAT('r', seq) AS label FROM seq_1_to_3")
    assert.equal(2, #cur.columns)
    assert.equal("n", cur.columns[1].name)
    assert.equal("label", cur.columns[2].name)
    assert.equal("LONGLONG", cur.columns[1].type)
    assert.is_true(cur.columns[1].unsigned)
    assert.equal("VAR_STRING", cur.columns[2].type)
    for i = 1, 3 do
      local row = cur:fetch()
      assert.same({ n = i, label = "r" .. i }, row)
    end
    assert.is_nil(cur:fetch())
    assert.is_nil(cur:fetch())
    cur:close()
  end)

  it("refills the table it is given and returns that same table", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT seq AS n, REPEAT('y', seq) AS s FROM seq_1_to_4")
    local t = {}
    local seen = 0
    while true do
      local got = cur:fetch(t)
      if got == nil then break end
      seen = seen + 1
      assert.equal(t, got)
      assert.equal(seen, t.n)
      assert.equal(string.rep("y", seen), t.s)
    end
    assert.equal(4, seen)
    cur:close()
  end)

  it("passes placeholders and keeps NULL as mylua.null", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT ? AS a, ? AS b, NULL AS c, ? AS d", 7, "it's", "x")
    local row = cur:fetch()
    assert.equal(7, row.a)
    assert.equal("it's", row.b)
    assert.equal(mylua.null, row.c)
    assert.equal("x", row.d)
    assert.is_nil(cur:fetch())
    cur:close()
  end)

  it("iterates with rows() keyed by name, as arrays, and as unpacked values", function()
    local sql = "SELECT seq AS n, seq * 10 AS m FROM seq_1_to_3"
    local cur = db:cursor{ stream = true }

    cur:execute(sql)
    local keyed = {}
    for row in cur:rows() do keyed[#keyed + 1] = row end
    assert.same({ { n = 1, m = 10 }, { n = 2, m = 20 }, { n = 3, m = 30 } }, keyed)

    cur:execute(sql)
    local arrays = {}
    for row in cur:rows("a") do arrays[#arrays + 1] = row end
    assert.same({ { 1, 10 }, { 2, 20 }, { 3, 30 } }, arrays)

    cur:execute(sql)
    local pairs_seen = {}
    for n, m in cur:rows("v") do pairs_seen[#pairs_seen + 1] = n .. ":" .. m end
    assert.same({ "1:10", "2:20", "3:30" }, pairs_seen)
    cur:close()
  end)

  it("sets end-of-result fields once the result is read to its end", function()
    local cur = db:cursor{ stream = true }
    -- the cast truncates '12x' and raises one warning, reported at the end
    cur:execute("SELECT CAST('12x' AS SIGNED) AS v")
    assert.equal(12, cur:fetch().v)
    assert.is_nil(cur:fetch())
    assert.equal(1, cur.warnings)
    -- the server's flags: autocommit (2) on, no transaction (1), no more results (8)
    assert.equal("integer", math.type(cur.status))
    assert.equal(0x0002, cur.status & 0x000B, ("status 0x%x"):format(cur.status))
    cur:close()
    local w = db:query("SHOW WARNINGS")
    assert.equal(1292, w:row(1).Code)
  end)

  it("reports affected rows of a statement without a result set", function()
    db:query("CREATE TEMPORARY TABLE cursor_t (a INT)")
    db:query("INSERT INTO cursor_t VALUES (1), (2), (3)")
    local cur = db:cursor{ stream = true }
    cur:execute("UPDATE cursor_t SET a = a + 1 WHERE a > ?", 1)
    assert.equal(2, cur.affected_rows)
    assert.same({}, cur.columns)
    cur:close()
    assert.equal(8, db:query("SELECT SUM(a) AS s FROM cursor_t"):row(1).s + 0)
  end)

  it("moves through the result sets of a multi-statement query with next_result", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a; SELECT 2 AS b, 3 AS c; SELECT seq AS s FROM seq_1_to_2")
    assert.equal("a", cur.columns[1].name)
    assert.same({ a = 1 }, cur:fetch())
    assert.is_nil(cur:fetch())

    assert.is_true(cur:next_result())
    assert.equal("b", cur.columns[1].name)
    assert.equal("c", cur.columns[2].name)
    assert.same({ b = 2, c = 3 }, cur:fetch())
    assert.is_nil(cur:fetch())

    assert.is_true(cur:next_result())
    assert.same({ s = 1 }, cur:fetch())
    assert.same({ s = 2 }, cur:fetch())
    assert.is_nil(cur:fetch())

    assert.is_false(cur:next_result())
    cur:close()
    assert.equal(1, db:query("SELECT 1 AS x"):row(1).x)
  end)

  it("skips the unread rows of a result set when moving to the next one", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT seq FROM seq_1_to_1000; SELECT 'second' AS s")
    assert.equal(1, cur:fetch().seq)
    assert.is_true(cur:next_result())
    assert.same({ s = "second" }, cur:fetch())
    assert.is_nil(cur:fetch())
    assert.is_false(cur:next_result())
    cur:close()
  end)

  it("raises the error of a failing later statement from next_result", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a; SELECT * FROM no_such_table_here")
    assert.same({ a = 1 }, cur:fetch())
    assert.is_nil(cur:fetch())
    local err = raises(1146, cur.next_result, cur)
    assert.equal("42S02", err.sqlstate)
    cur:close()
    assert.equal(1, db:query("SELECT 1 AS x"):row(1).x)
  end)

  it("makes other commands raise 2014 while it is unfinished, and keeps streaming", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT seq FROM seq_1_to_5")
    assert.equal(1, cur:fetch().seq)
    local err = raises(2014, db.query, db, "SELECT 1")
    assert.truthy(err.message:find("out of sync", 1, true), err.message)
    raises(2014, db.ping, db)
    -- the refused commands did not disturb the stream
    for i = 2, 5 do assert.equal(i, cur:fetch().seq) end
    assert.is_nil(cur:fetch())
    -- read to its end, the stream no longer holds the connection
    assert.equal(1, db:query("SELECT 1 AS x"):row(1).x)
    cur:close()
  end)

  it("frees the connection on close, discarding the unread rows", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT seq FROM seq_1_to_100000")
    assert.equal(1, cur:fetch().seq)
    raises(2014, db.query, db, "SELECT 1")
    cur:close()
    assert.equal(42, db:query("SELECT 42 AS x"):row(1).x)
    assert.is_true(db:ping())
  end)

  it("frees the connection when a <close> variable leaves its scope", function()
    do
      local cur <close> = db:cursor{ stream = true }
      cur:execute("SELECT seq FROM seq_1_to_100000")
      assert.equal(1, cur:fetch().seq)
    end
    assert.equal(42, db:query("SELECT 42 AS x"):row(1).x)
  end)

  it("frees the connection when an error leaves a <close> scope", function()
    local ok = pcall(function()
      local cur <close> = db:cursor{ stream = true }
      cur:execute("SELECT seq FROM seq_1_to_100000")
      cur:fetch()
      error("script failure")
    end)
    assert.is_false(ok)
    assert.equal(42, db:query("SELECT 42 AS x"):row(1).x)
  end)

  it("can be executed again after it was closed by reading to the end", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a")
    assert.same({ a = 1 }, cur:fetch())
    assert.is_nil(cur:fetch())
    cur:execute("SELECT 2 AS a")
    assert.same({ a = 2 }, cur:fetch())
    cur:close()
  end)

  it("streams a million rows in constant memory", function()
    local cur <close> = db:cursor{ stream = true }
    cur:execute("SELECT seq, REPEAT('x', 50) AS pad FROM seq_1_to_1000000")
    local row = {}
    local count, sum = 0, 0
    local sample
    local pad = string.rep("x", 50)
    while cur:fetch(row) do
      count = count + 1
      sum = sum + row.seq
      if row.pad ~= pad then
        error("row " .. count .. " has pad " .. tostring(row.pad))
      end
      -- A full collection now and then keeps the garbage the loop itself
      -- makes (one string per row) from hiding what the driver holds: with
      -- a large Lua heap the incremental collector lets garbage grow to the
      -- heap's own size before it frees any.
      if count % 50000 == 0 then
        if count == 50000 then sample = rss_kb() else collectgarbage() end
      end
    end
    local final = rss_kb()
    assert.equal(1000000, count)
    assert.equal(1000000 * 1000001 // 2, sum)
    assert.is_number(sample)
    -- Under AddressSanitizer freed memory sits in a quarantine of up to
    -- 256 MiB by design, so RSS says nothing there; the rows are still
    -- checked, and LeakSanitizer reports what was never freed.
    if os.getenv("MYLUA_SANITIZE") ~= "1" then
      local grown = final - sample
      assert.is_true(grown < 20 * MiB_kb,
        ("RSS grew by %d kB between row 50000 and row 1000000"):format(grown))
    end
  end)

  it("honours the mode of fetch(nil, mode)", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a, 2 AS b UNION ALL SELECT 3, 4 UNION ALL SELECT 5, 6")
    assert.same({ 1, 2 }, cur:fetch(nil, "a"))
    assert.same({ 3, 4 }, { cur:fetch(nil, "v") })
    assert.same({ a = 5, b = 6 }, cur:fetch(nil))
    assert.is_nil(cur:fetch(nil, "a"))
    cur:close()
  end)

  it("raises on reading a field once closed", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a")
    assert.equal("a", cur.columns[1].name)
    cur:close()
    assert.is_true(cur.closed)
    raises_string("attempt to use a closed cursor", function() return cur.columns end)
    raises_string("attempt to use a closed cursor", function() return cur.affected_rows end)
  end)
end)
