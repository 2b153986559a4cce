-- When the rollback of a failed transaction (or savepoint) cannot be sent,
-- the work must not survive to be committed later: the connection is
-- closed, so the server rolls the transaction back, and fn's error is what
-- the caller sees.

local helpers = require "helpers"

local function ids(db, t)
  return db:query("SELECT COALESCE(GROUP_CONCAT(id ORDER BY id), '') AS g FROM " .. t):row(1).g
end

describe("a transaction whose rollback cannot be sent", function()
  local db, other, t
  -- The unread cursor is kept reachable here: were it only a local of fn, a
  -- collection between fn's error and the rollback could free it, and with
  -- it the stream that is meant to block the rollback.
  local held

  before_each(function()
    db = helpers.connect()
    other = helpers.connect()
    t = helpers.unique_table()
    other:query("CREATE TABLE " .. t .. " (id INT) ENGINE=InnoDB")
  end)

  after_each(function()
    held = nil
    if db then db:close() end
    other:query("DROP TABLE IF EXISTS " .. t)
    other:close()
  end)

  it("closes the connection, so the failed work is rolled back, and raises fn's error", function()
    local ok, err = pcall(db.transaction, db, function(d)
      d:query("INSERT INTO " .. t .. " VALUES (1)")
      held = d:cursor()
      held:execute("SELECT seq FROM seq_1_to_100") -- left unread: it holds the connection
      held:fetch()
      error("boom", 0)
    end)
    assert.is_false(ok)
    assert.equal("boom", err)
    assert.is_true(db.closed)
    assert.equal("", ids(other, t))
  end)

  it("inside a savepoint closes the connection rather than let the outer level commit it", function()
    local inner_ok, inner_err
    local ok = pcall(db.transaction, db, function(d)
      d:query("INSERT INTO " .. t .. " VALUES (1)")
      inner_ok, inner_err = pcall(d.transaction, d, function(d2)
        d2:query("INSERT INTO " .. t .. " VALUES (2)")
        held = d2:cursor()
        held:execute("SELECT seq FROM seq_1_to_100")
        held:fetch()
        error("inner failed", 0)
      end)
    end)
    assert.is_false(inner_ok)
    assert.equal("inner failed", inner_err)
    assert.is_false(ok, "the outer level committed after its connection was closed")
    assert.is_true(db.closed)
    assert.equal("", ids(other, t))
  end)

  it("is rolled back as usual when nothing holds the connection", function()
    local ok, err = pcall(db.transaction, db, function(d)
      d:query("INSERT INTO " .. t .. " VALUES (1)")
      error("plain failure", 0)
    end)
    assert.is_false(ok)
    assert.equal("plain failure", err)
    assert.is_false(db.closed)
    assert.equal(0, db.status & 1)
    assert.equal("", ids(other, t))
  end)
end)
