-- Who owns the connection while a streaming cursor's response is unread
-- (README, "Streaming cursors"): between two result sets of a
-- multi-statement query the response is still unfinished, so every other
-- command raises 2014 until the cursor moved past the last one; the status
-- flags say so; and a cursor whose connection was closed raises a clear
-- error instead of touching freed memory.

local helpers = require "helpers"

local raises, raises_string = helpers.raises, helpers.raises_string

local AUTOCOMMIT, MORE_RESULTS = 0x0002, 0x0008

local function has(flags, bit) return flags & bit == bit end

-- Every other way to use the connection is refused with 2014.
local function assert_refused(db)
  local err = raises(2014, db.query, db, "SELECT 1")
  assert.truthy(err.message:find("out of sync", 1, true), err.message)
  raises(2014, db.ping, db)
  raises(2014, db.select_db, db, helpers.params().database)
  local other = db:cursor{ stream = true }
  raises(2014, other.execute, other, "SELECT 1")
  other:close()
end

describe("a streaming cursor between two result sets", function()
  local db

  before_each(function()
    db = helpers.connect()
  end)

  after_each(function()
    if db then db:close() end
    db = nil
  end)

  it("holds the connection (2014) until next_result reads on, then frees it", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a; SELECT 2 AS b")
    assert.same({ a = 1 }, cur:fetch())
    assert.is_nil(cur:fetch())
    -- the first result set is read to its end, the response is not
    assert.is_true(has(cur.status, MORE_RESULTS), ("status 0x%x"):format(cur.status))
    assert.is_true(has(cur.status, AUTOCOMMIT), ("status 0x%x"):format(cur.status))
    assert_refused(db)

    -- the refusals did not disturb the stream
    assert.is_true(cur:next_result())
    assert.equal("b", cur.columns[1].name)
    assert_refused(db)
    assert.same({ b = 2 }, cur:fetch())
    assert.is_nil(cur:fetch())
    assert.is_false(has(cur.status, MORE_RESULTS), ("status 0x%x"):format(cur.status))
    assert.is_true(has(cur.status, AUTOCOMMIT), ("status 0x%x"):format(cur.status))
    assert.is_false(cur:next_result())

    assert.equal(3, db:query("SELECT 3 AS c"):row(1).c)
    assert.is_true(db:ping())
    cur:close()
  end)

  it("holds it after a first statement without rows as well", function()
    local cur = db:cursor{ stream = true }
    cur:execute("DO 1; SELECT 2 AS b")
    assert.same({}, cur.columns)
    assert.is_true(has(cur.status, MORE_RESULTS), ("status 0x%x"):format(cur.status))
    assert_refused(db)
    assert.is_true(cur:next_result())
    assert.same({ b = 2 }, cur:fetch())
    assert.is_nil(cur:fetch())
    assert.is_false(cur:next_result())
    assert.equal(3, db:query("SELECT 3 AS c"):row(1).c)
    cur:close()
  end)

  it("frees the connection when closed there, dropping the later result sets", function()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a; SELECT seq FROM seq_1_to_1000; SELECT 3 AS c")
    assert.same({ a = 1 }, cur:fetch())
    assert.is_nil(cur:fetch())
    raises(2014, db.query, db, "SELECT 1")
    assert.is_true(cur:close())
    local res = db:query("SELECT 4 AS d")
    assert.same({ d = 4 }, res:row(1))
    assert.is_nil(res:next_result())
  end)
end)

describe("a cursor whose connection was closed", function()
  it("raises 'attempt to use a closed ...' once finished, on every use", function()
    local db = helpers.connect()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a")
    assert.same({ a = 1 }, cur:fetch())
    assert.is_nil(cur:fetch())
    assert.is_true(db:close())
    raises_string("attempt to use a closed", cur.fetch, cur)
    raises_string("attempt to use a closed", cur.fetch, cur, {}, "a")
    raises_string("attempt to use a closed", cur.execute, cur, "SELECT 1")
    raises_string("attempt to use a closed", cur.next_result, cur)
    raises_string("attempt to use a closed", cur.rows, cur)
    raises_string("attempt to use a closed", function() return cur.columns end)
    raises_string("attempt to use a closed", function() return cur.affected_rows end)
    assert.is_true(cur:close())
    assert.is_true(cur.closed)
    raises_string("attempt to use a closed cursor", cur.execute, cur, "SELECT 1")
  end)

  it("raises it as well when the connection was closed mid-stream", function()
    local db = helpers.connect()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT seq FROM seq_1_to_1000")
    assert.equal(1, cur:fetch().seq)
    assert.is_true(db:close())
    raises_string("attempt to use a closed", cur.fetch, cur)
    raises_string("attempt to use a closed", cur.execute, cur, "SELECT 1")
    raises_string("attempt to use a closed", cur.next_result, cur)
    assert.is_true(cur:close())
    assert.is_true(cur.closed)
  end)

  it("raises it after the connection was closed and collected", function()
    local db = helpers.connect()
    local cur = db:cursor{ stream = true }
    cur:execute("SELECT 1 AS a")
    assert.same({ a = 1 }, cur:fetch())
    assert.is_nil(cur:fetch())
    db:close()
    db = nil
    collectgarbage()
    collectgarbage()
    raises_string("attempt to use a closed", cur.execute, cur, "SELECT 1")
    raises_string("attempt to use a closed", cur.fetch, cur)
    assert.is_true(cur:close())
  end)
end)
