-- Who may read a pending response: the command that started it, until it
-- is read to its end.  Others get 2014 in words that fit every reader; a
-- reader that goes away leaves the response to be discarded by the next
-- command.  Also: a refilled row table holds only the current row, and a
-- failing statement of a multi-statement query is named by its number.

local mylua = require "mylua"
local helpers = require "helpers"

local raises = helpers.raises

describe("the pending response", function()
  local db

  before_each(function() db = helpers.connect{ read_timeout = 10 } end)
  after_each(function() if db then db:close() end end)

  it("belongs to the cursor that started it: a buffered query and a second cursor get 2014", function()
    local cur = db:cursor()
    cur:execute("SELECT seq FROM seq_1_to_5")
    assert.equal(1, cur:fetch({}, "a")[1])
    local err = raises(2014, db.query, db, "SELECT 1")
    -- neutral words: the message names no particular kind of reader
    assert.truthy(err.message:find("still being read", 1, true), err.message)
    local other = db:cursor()
    raises(2014, other.execute, other, "SELECT 2")
    raises(2014, db.ping, db)
    -- the owner is unaffected and reads on
    local n = 1
    while cur:fetch() do n = n + 1 end
    assert.equal(5, n)
    assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
    other:execute("SELECT 2")
    assert.equal(2, other:fetch({}, "a")[1])
  end)

  it("is given back once read: another cursor then fetches nothing from the first one's response", function()
    local a, b = db:cursor(), db:cursor()
    a:execute("SELECT 1")
    assert.equal(1, a:fetch({}, "a")[1])
    assert.is_nil(a:fetch())
    b:execute("SELECT seq FROM seq_1_to_3")
    assert.is_nil(a:fetch(), "a finished cursor read another cursor's rows")
    local n = 0
    for _ in b:rows() do n = n + 1 end
    assert.equal(3, n)
  end)

  it("of a cursor closed early is discarded at once and the connection is ready", function()
    local cur = db:cursor()
    cur:execute("SELECT seq FROM seq_1_to_100000; SELECT 7")
    assert.is_table(cur:fetch())
    assert.is_true(cur:close())
    assert.is_true(cur.closed)
    assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
  end)

  it("of a collected cursor is discarded before the next command", function()
    local function leave_a_stream()
      local cur = db:cursor()
      cur:execute("SELECT seq FROM seq_1_to_1000")
      cur:fetch()
    end
    leave_a_stream()
    collectgarbage()
    collectgarbage()
    local res = db:query("SELECT 42")
    assert.equal(42, res:row(1, "a")[1])
  end)

  it("of a cursor whose connection was closed makes the cursor closed", function()
    local cur = db:cursor()
    cur:execute("SELECT seq FROM seq_1_to_10")
    db:close()
    assert.is_true(cur.closed)
    assert.truthy(tostring(cur):find("(closed)", 1, true))
    helpers.raises_string("attempt to use a closed", cur.fetch, cur)
    db = nil
  end)
end)

describe("cur:fetch(t)", function()
  local db

  before_each(function() db = helpers.connect() end)
  after_each(function() if db then db:close() end end)

  it("leaves no field of a wider earlier row in an array", function()
    local cur = db:cursor()
    local t = {}
    cur:execute("SELECT 1, 2, 3")
    assert.same({ 1, 2, 3 }, cur:fetch(t, "a"))
    cur:execute("SELECT 9")
    local row = cur:fetch(t, "a")
    assert.equal(t, row)
    assert.same({ 9 }, t)
    assert.is_nil(t[2])
    assert.is_nil(t[3])
  end)

  it("leaves no field of an earlier result's columns in a keyed row", function()
    local cur = db:cursor()
    local t = {}
    cur:execute("SELECT 1 AS a, 2 AS b")
    assert.same({ a = 1, b = 2 }, cur:fetch(t))
    cur:execute("SELECT 3 AS c")
    assert.same({ c = 3 }, cur:fetch(t))
  end)

  it("refills the same fields row after row within a result (NULL stays a field)", function()
    local cur = db:cursor()
    local t = {}
    cur:execute("SELECT seq, IF(seq = 2, NULL, seq * 10) AS v FROM seq_1_to_3")
    local seen = {}
    while cur:fetch(t) do seen[#seen + 1] = { t.seq, t.v } end
    assert.equal(3, #seen)
    assert.same({ 1, 10 }, seen[1])
    assert.equal(mylua.null, seen[2][2])
    assert.same({ 3, 30 }, seen[3])
  end)

  it("switching between array and keyed shapes keeps only the current shape", function()
    local cur = db:cursor()
    local t = {}
    cur:execute("SELECT seq AS n FROM seq_1_to_2")
    cur:fetch(t, "a")
    assert.same({ 1 }, t)
    cur:fetch(t, "k")
    assert.same({ n = 2 }, t)
  end)
end)

describe("cur:rows(t)", function()
  local db

  before_each(function() db = helpers.connect() end)
  after_each(function() if db then db:close() end end)

  it("refills the table it is given for every row and yields that same table", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT seq AS n, REPEAT('y', seq) AS s, IF(seq = 2, NULL, seq) AS v FROM seq_1_to_3")
    local t, seen = {}, {}
    for row in cur:rows(t) do
      assert.equal(t, row)
      seen[#seen + 1] = { row.n, row.s, row.v }
    end
    assert.same({ { 1, "y", 1 }, { 2, "yy", mylua.null }, { 3, "yyy", 3 } }, seen)
    assert.same({ n = 3, s = "yyy", v = 3 }, t)
    cur:close()
  end)

  it("refills an array with mode \"a\", leaving nothing of a wider earlier row", function()
    local cur = db:cursor()
    local t = {}
    cur:execute("SELECT 1, 2, 3")
    assert.same({ 1, 2, 3 }, cur:fetch(t, "a"))
    cur:execute("SELECT seq FROM seq_1_to_2")
    local seen = {}
    for row in cur:rows(t, "a") do
      assert.equal(t, row)
      assert.is_nil(row[2])
      seen[#seen + 1] = row[1]
    end
    assert.same({ 1, 2 }, seen)
    cur:close()
  end)

  it("empties a table another cursor refilled before it refills it", function()
    local other = db:cursor()
    local t = {}
    other:execute("SELECT 1 AS a, 2 AS b")
    other:fetch(t)
    assert.is_nil(other:fetch()) -- read to its end: the connection is free
    local cur = db:cursor()
    cur:execute("SELECT seq AS c FROM seq_1_to_2")
    local seen = {}
    for row in cur:rows(t) do
      local fields = {}
      for k, v in pairs(row) do fields[k] = v end
      seen[#seen + 1] = fields
    end
    assert.same({ { c = 1 }, { c = 2 } }, seen)
    other:close()
    cur:close()
  end)

  it("refills from a server cursor's binary rows as from text rows", function()
    local st = db:prepare("SELECT seq AS n, CONCAT('r', seq) AS s FROM seq_1_to_5")
    local cur = st:cursor{ fetch_size = 2 }
    cur:execute()
    local t, seen = {}, {}
    for row in cur:rows(t) do
      assert.equal(t, row)
      seen[#seen + 1] = row.n .. row.s
    end
    assert.same({ "1r1", "2r2", "3r3", "4r4", "5r5" }, seen)
    cur:close()
    st:close()
  end)
end)

describe("a failing statement of a multi-statement query", function()
  local db

  before_each(function() db = helpers.connect() end)
  after_each(function() if db then db:close() end end)

  it("is named by its number in a buffered query", function()
    local err = raises(1054, db.query, db, "SELECT 1; SELECT 2; SELECT no_such_column; SELECT 4")
    assert.equal(3, err.statement)
    assert.truthy(tostring(err):find("3", 1, true), tostring(err))
    assert.equal(1, db:query("SELECT 1"):row(1, "a")[1])
  end)

  it("is named by its number in a streaming cursor", function()
    local cur = db:cursor()
    cur:execute("SELECT 1; SELECT no_such_column")
    assert.is_table(cur:fetch())
    assert.is_nil(cur:fetch())
    local err = raises(1054, cur.next_result, cur)
    assert.equal(2, err.statement)
  end)

  it("has no number when it is the only or the first statement", function()
    local err = raises(1054, db.query, db, "SELECT no_such_column")
    assert.is_nil(err.statement)
  end)
end)
