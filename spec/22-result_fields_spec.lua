-- The fields of a buffered result (README, "Results"): after a SELECT
-- `affected_rows` is the row count, `status` carries the server's real flag
-- bits for each result set, and a result stays whole and readable after its
-- connection is closed.

local helpers = require "helpers"

local IN_TRANS, AUTOCOMMIT, MORE_RESULTS = 0x0001, 0x0002, 0x0008

local function has(flags, bit) return flags & bit == bit end

describe("a buffered result", function()
  local db

  before_each(function()
    db = helpers.connect()
  end)

  after_each(function()
    if db then db:close() end
    db = nil
  end)

  it("gives the row count of a SELECT as affected_rows", function()
    local res = db:query("SELECT seq FROM seq_1_to_7")
    assert.equal(7, #res)
    assert.equal(7, res.affected_rows)
    assert.equal("integer", math.type(res.affected_rows))
    -- no other field that could be mistaken for it holds 7
    assert.equal(0, res.insert_id)
    assert.equal(0, res.warnings)
    assert.are_not.equal(7, res.status)
  end)

  it("gives 0 as affected_rows of a SELECT without rows", function()
    local res = db:query("SELECT seq FROM seq_1_to_7 WHERE seq > 100")
    assert.equal(0, #res)
    assert.equal(0, res.affected_rows)
  end)

  it("gives each result set of a multi-statement query its own row count", function()
    local res = db:query("SELECT seq FROM seq_1_to_3; SELECT seq FROM seq_1_to_5; DO 1")
    assert.equal(3, res.affected_rows)
    local second = res:next_result()
    assert.equal(5, #second)
    assert.equal(5, second.affected_rows)
    local third = second:next_result()
    assert.equal(0, #third)
    assert.equal(0, third.affected_rows)
    assert.is_nil(third:next_result())
  end)

  it("sets the more-results bit (8) on every result set but the last", function()
    local res = db:query("SELECT 1; SELECT 2; SELECT 3")
    local statuses = {}
    while res do
      statuses[#statuses + 1] = res.status
      res = res:next_result()
    end
    assert.equal(3, #statuses)
    assert.is_true(has(statuses[1], MORE_RESULTS), ("status 0x%x"):format(statuses[1]))
    assert.is_true(has(statuses[2], MORE_RESULTS), ("status 0x%x"):format(statuses[2]))
    assert.is_false(has(statuses[3], MORE_RESULTS), ("status 0x%x"):format(statuses[3]))
    for i = 1, 3 do assert.is_true(has(statuses[i], AUTOCOMMIT), ("status 0x%x"):format(statuses[i])) end
    assert.is_false(has(db.status, MORE_RESULTS), ("db.status 0x%x"):format(db.status))
  end)

  it("reports autocommit (2) and an open transaction (1) in status", function()
    local res = db:query("SELECT 1")
    assert.is_true(has(res.status, AUTOCOMMIT), ("status 0x%x"):format(res.status))
    assert.is_false(has(res.status, IN_TRANS), ("status 0x%x"):format(res.status))
    db:begin()
    res = db:query("SELECT 1")
    assert.is_true(has(res.status, IN_TRANS), ("status 0x%x"):format(res.status))
    assert.is_true(has(db.status, IN_TRANS), ("db.status 0x%x"):format(db.status))
    db:commit()
    assert.is_false(has(db.status, IN_TRANS), ("db.status 0x%x"):format(db.status))
    db:autocommit(false)
    res = db:query("SELECT 1")
    assert.is_false(has(res.status, AUTOCOMMIT), ("status 0x%x"):format(res.status))
    assert.is_false(has(db.status, AUTOCOMMIT), ("db.status 0x%x"):format(db.status))
  end)

  it("stays whole after its connection is closed: rows, fields, columns, next results", function()
    local res = db:query(
      "SELECT seq AS n, CONCAT('r', seq) AS s FROM seq_1_to_4; SELECT 'last' AS tail")
    db:close()
    assert.is_true(db.closed)
    assert.equal(4, #res)
    assert.equal(4, res.row_count)
    assert.equal(4, res.affected_rows)
    assert.is_true(has(res.status, MORE_RESULTS))
    assert.equal("s", res.columns[2].name)
    assert.same({ n = 3, s = "r3" }, res:row(3))
    local n = 0
    for a, b in res:rows("v") do
      n = n + 1
      assert.equal(n, a)
      assert.equal("r" .. n, b)
    end
    assert.equal(4, n)
    local last = res:next_result()
    assert.same({ "last" }, last:row(1, "a"))
    assert.is_nil(last:next_result())
    -- the connection itself is closed for good
    helpers.raises_string("attempt to use a closed connection", db.query, db, "SELECT 1")
  end)
end)
