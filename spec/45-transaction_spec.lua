-- Transactions against the real server, on an InnoDB table: transaction()
-- nested as savepoints, begin() refusing to start a second transaction,
-- begin(opts) and transaction(opts, fn) with READ ONLY / READ WRITE / WITH
-- CONSISTENT SNAPSHOT and isolation levels, errors re-raised unchanged, and
-- the same through mylua.safe as nil, err.

local helpers = require "helpers"
local mylua = require "mylua"
local safe = require "mylua.safe"

local IN_TRANS = 0x0001

local function scalar(db, sql, ...)
  local row = db:query(sql, ...):row(1, "a")
  assert.is_not_nil(row, "query returned no row: " .. sql)
  return row[1]
end

-- The ids in table t as seen by db, in order, as one string: "1,2,5".
local function ids(db, t)
  local out = {}
  for id in db:query("SELECT id FROM " .. t .. " ORDER BY id"):rows("v") do out[#out + 1] = id end
  return table.concat(out, ",")
end

local function in_trans(db)
  return db.status & IN_TRANS ~= 0
end

-- Calls f(...) and returns what it raised; fails if it did not raise.
local function raised(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error to be raised")
  return err
end

-- The isolation level of db's open InnoDB transaction, as the server keeps
-- it (information_schema.INNODB_TRX, which the server refreshes at most
-- every 0.1 s).  @@tx_isolation cannot tell: it is the session's level,
-- not the one SET TRANSACTION gave the next transaction.
local function trx_isolation(db, t)
  db:query("SELECT COUNT(*) FROM " .. t) -- the transaction exists in InnoDB from its first read
  db:query("DO SLEEP(0.15)")
  return scalar(db, "SELECT trx_isolation_level FROM information_schema.INNODB_TRX"
    .. " WHERE trx_mysql_thread_id = CONNECTION_ID()")
end

describe("transactions", function()
  local db, other, t

  setup(function()
    db = helpers.connect()
    other = helpers.connect()
    t = helpers.unique_table()
    db:query("CREATE TABLE " .. t .. " (id INT PRIMARY KEY) ENGINE = InnoDB")
  end)

  teardown(function()
    if db then
      pcall(db.query, db, "ROLLBACK")
      db:query("DROP TABLE IF EXISTS " .. t)
      db:close()
    end
    if other then other:close() end
  end)

  before_each(function()
    if in_trans(db) then db:query("ROLLBACK") end
    db:query("SET autocommit = 1")
    db:query("DELETE FROM " .. t)
  end)

  local function insert(conn, id)
    conn:query("INSERT INTO " .. t .. " VALUES (?)", id)
  end

  describe("nested in transaction()", function()
    it("keeps the outer work when an inner transaction fails, rolling back only the inner", function()
      local inner_err
      db:transaction(function(conn)
        insert(conn, 1)
        local ok, err = pcall(conn.transaction, conn, function(c)
          insert(c, 2)
          insert(c, 3)
          error("inner failed", 0)
        end)
        assert.is_false(ok)
        inner_err = err
        -- the outer transaction is still open, its own row still there
        assert.is_true(in_trans(conn))
        assert.equal("1", ids(conn, t))
        insert(conn, 4)
      end)
      assert.equal("inner failed", inner_err)
      assert.equal("1,4", ids(other, t))
      assert.is_false(in_trans(db))
    end)

    it("commits nothing before the outermost transaction ends", function()
      db:transaction(function(conn)
        insert(conn, 1)
        conn:transaction(function(c)
          insert(c, 2)
        end)
        -- the inner transaction is done, but nothing is committed yet
        assert.equal("", ids(other, t))
        assert.is_true(in_trans(conn))
      end)
      assert.equal("1,2", ids(other, t))
    end)

    it("rolls everything back, inner work included, when the outer transaction fails", function()
      local err = raised(db.transaction, db, function(conn)
        insert(conn, 1)
        conn:transaction(function(c) insert(c, 2) end)
        conn:transaction(function(c) insert(c, 3) end)
        error("outer failed", 0)
      end)
      assert.equal("outer failed", err)
      assert.equal("", ids(db, t))
      assert.equal("", ids(other, t))
      assert.is_false(in_trans(db))
    end)

    it("gives each depth its own savepoint", function()
      -- A failure at depth 2 after depth 3 succeeded rolls back both, and
      -- only those: with one savepoint name for every depth, depth 3's
      -- RELEASE would have removed depth 2's savepoint.
      db:transaction(function(conn)
        insert(conn, 1)
        local ok = pcall(conn.transaction, conn, function(c2)
          insert(c2, 2)
          c2:transaction(function(c3) insert(c3, 3) end)
          assert.equal("1,2,3", ids(c2, t))
          error("depth 2 failed")
        end)
        assert.is_false(ok)
        assert.equal("1", ids(conn, t))
        conn:transaction(function(c2)
          insert(c2, 4)
          pcall(c2.transaction, c2, function(c3)
            insert(c3, 5)
            error("depth 3 failed")
          end)
        end)
      end)
      assert.equal("1,4", ids(other, t))
    end)

    it("returns the inner function's results", function()
      local a, b, c = db:transaction(function(conn)
        return conn:transaction(function(_, x) return x, nil, "z" end, "x")
      end)
      assert.same({ "x", nil, "z" }, { a, b, c })
    end)

    it("re-raises a string error unchanged, from any depth", function()
      local message = "plain failure: " .. tostring({})
      local err = raised(db.transaction, db, function() error(message, 0) end)
      assert.equal(message, err)
      err = raised(db.transaction, db, function(conn)
        conn:transaction(function() error(message, 0) end)
      end)
      assert.equal(message, err)
      -- with the position error() added where fn raised it, and nothing more
      local line
      err = raised(db.transaction, db, function(conn)
        conn:transaction(function() line = debug.getinfo(1, "l").currentline; error("positioned") end)
      end)
      assert.equal(("%s:%d: positioned"):format(debug.getinfo(1, "S").short_src, line), err)
    end)

    it("re-raises the same error object from an inner transaction", function()
      insert(db, 7)
      local inner
      local err = raised(db.transaction, db, function(conn)
        conn:transaction(function(c)
          local ok, e = pcall(insert, c, 7)
          assert.is_false(ok)
          inner = e
          error(e)
        end)
      end)
      assert.is_true(mylua.is_error(err))
      assert.equal(1062, err.code)
      assert.is_true(rawequal(inner, err))
      assert.equal("7", ids(other, t))
    end)

    it("nests inside a transaction begun with begin() and leaves the commit to it", function()
      db:begin()
      insert(db, 1)
      db:transaction(function(conn) insert(conn, 2) end)
      assert.is_true(in_trans(db))
      assert.equal("", ids(other, t))
      pcall(db.transaction, db, function(conn)
        insert(conn, 3)
        error("no")
      end)
      assert.equal("1,2", ids(db, t))
      db:rollback()
      assert.equal("", ids(db, t))
    end)

    it("nests inside a transaction begun by plain SQL", function()
      db:query("START TRANSACTION")
      insert(db, 1)
      db:transaction(function(conn) insert(conn, 2) end)
      assert.is_true(in_trans(db))
      assert.equal("", ids(other, t))
      db:query("COMMIT")
      assert.equal("1,2", ids(other, t))
    end)

    it("refuses options for a nested transaction, leaving the outer one open", function()
      db:transaction(function(conn)
        insert(conn, 1)
        local err = raised(conn.transaction, conn, "READ ONLY", function() end)
        assert.equal("string", type(err))
        assert.truthy(err:find("one is open already", 1, true), err)
        assert.is_true(in_trans(conn))
      end)
      assert.equal("1", ids(other, t))
    end)
  end)

  describe("begin()", function()
    it("raises inside an open transaction and leaves it intact", function()
      assert.is_true(db:begin())
      insert(db, 1)
      local err = raised(db.begin, db)
      assert.equal("string", type(err))
      assert.truthy(err:find("a transaction is already open", 1, true), err)
      assert.is_true(in_trans(db))
      -- a second START TRANSACTION would have committed row 1
      assert.equal("", ids(other, t))
      db:rollback()
      assert.equal("", ids(db, t))
    end)

    it("raises inside transaction() and leaves it intact", function()
      db:transaction(function(conn)
        insert(conn, 1)
        assert.is_string(raised(conn.begin, conn, "READ WRITE"))
        assert.equal("", ids(other, t))
        insert(conn, 2)
      end)
      assert.equal("1,2", ids(other, t))
    end)

    it("raises inside a transaction begun by plain SQL", function()
      db:query("START TRANSACTION")
      insert(db, 1)
      assert.is_string(raised(db.begin, db))
      assert.equal("", ids(other, t))
      db:query("ROLLBACK")
      assert.equal("", ids(db, t))
    end)

    it("READ ONLY refuses a write with 1792", function()
      assert.is_true(db:begin("READ ONLY"))
      local err = helpers.raises(1792, insert, db, 1)
      assert.equal("25006", err.sqlstate)
      db:rollback()
      -- a list, in any case
      db:begin({ "read  only" })
      helpers.raises(1792, insert, db, 2)
      db:rollback()
      assert.equal("", ids(db, t))
    end)

    it("READ WRITE allows a write", function()
      db:begin({ "READ WRITE" })
      insert(db, 1)
      db:commit()
      assert.equal("1", ids(other, t))
    end)

    it("WITH CONSISTENT SNAPSHOT reads as of the start of the transaction", function()
      -- A plain START TRANSACTION takes its snapshot at the first read, so it
      -- sees a row committed before that read; with the option it does not.
      db:begin()
      insert(other, 1)
      assert.equal("1", ids(db, t))
      db:commit()
      db:begin("WITH CONSISTENT SNAPSHOT")
      insert(other, 2)
      assert.equal("1", ids(db, t))
      db:commit()
      assert.equal("1,2", ids(db, t))
    end)

    it("combines characteristics", function()
      db:begin({ "READ ONLY", "WITH CONSISTENT SNAPSHOT" })
      insert(other, 1)
      assert.equal("", ids(db, t))
      helpers.raises(1792, insert, db, 2)
      db:rollback()
    end)

    it("applies an isolation level to that transaction only", function()
      for _, level in ipairs{ "READ COMMITTED", "READ UNCOMMITTED", "SERIALIZABLE", "REPEATABLE READ" } do
        db:begin({ isolation = level })
        assert.equal(level, trx_isolation(db, t))
        db:commit()
      end
      -- the session's own level is untouched
      assert.equal("REPEATABLE-READ", scalar(db, "SELECT @@tx_isolation"))
      db:begin()
      assert.equal("REPEATABLE READ", trx_isolation(db, t))
      db:commit()
    end)

    it("READ COMMITTED really sees rows committed meanwhile, REPEATABLE READ does not", function()
      db:begin({ isolation = "REPEATABLE READ" })
      assert.equal("", ids(db, t))
      insert(other, 1)
      assert.equal("", ids(db, t))
      db:commit()
      db:begin({ isolation = "read committed" })
      assert.equal("1", ids(db, t))
      insert(other, 2)
      assert.equal("1,2", ids(db, t))
      db:commit()
    end)

    it("rejects what it does not know without sending anything", function()
      local bad = {
        "READ ONLY; DROP TABLE " .. t,
        "SERIALIZABLE",
        { isolation = "REPEATABLE READ; DROP TABLE " .. t },
        { isolation = "CHAOS" },
        { isolation = 1 },
        { "READ ONLY", "READ WRITE" },
        { read_only = true },
        { [3] = "READ ONLY" },
        { "READ ONLY", 2 },
        42,
        true,
      }
      for _, opts in ipairs(bad) do
        local err = raised(db.begin, db, opts)
        assert.equal("string", type(err))
        assert.truthy(err:find("bad argument #1 to 'begin'", 1, true), err)
        assert.is_false(in_trans(db), "a transaction was started for " .. tostring(opts))
      end
      -- the table is still there, and a later begin() gets default characteristics
      db:begin()
      insert(db, 1)
      assert.equal("REPEATABLE READ", trx_isolation(db, t))
      db:commit()
      assert.equal("1", ids(other, t))
    end)

    it("names the option it rejects", function()
      local err = raised(db.begin, db, { isolation = "CHAOS" })
      assert.truthy(err:find('"CHAOS"', 1, true), err)
      err = raised(db.begin, db, { read_only = true })
      assert.truthy(err:find('"read_only"', 1, true), err)
    end)
  end)

  describe("transaction(opts, fn)", function()
    it("honours READ ONLY and rolls back when the write fails", function()
      local err = raised(db.transaction, db, "READ ONLY", function(conn) insert(conn, 1) end)
      assert.is_true(mylua.is_error(err))
      assert.equal(1792, err.code)
      assert.is_false(in_trans(db))
    end)

    it("honours an isolation level and passes fn's arguments", function()
      local level, arg = db:transaction({ isolation = "SERIALIZABLE" }, function(conn, x)
        return trx_isolation(conn, t), x
      end, "arg")
      assert.equal("SERIALIZABLE", level)
      assert.equal("arg", arg)
    end)

    it("rejects bad options and a missing function before starting anything", function()
      local err = raised(db.transaction, db, { isolation = "NONE" }, function() error("ran") end)
      assert.truthy(err:find("bad argument #1 to 'transaction'", 1, true), err)
      err = raised(db.transaction, db, "READ ONLY")
      assert.truthy(err:find("bad argument #2 to 'transaction' (function expected", 1, true), err)
      err = raised(db.transaction, db)
      assert.truthy(err:find("bad argument #1 to 'transaction'", 1, true), err)
      assert.is_false(in_trans(db))
    end)
  end)

  describe("through mylua.safe", function()
    local sdb

    setup(function()
      sdb = assert(safe.connect(helpers.params()))
    end)

    teardown(function()
      if sdb then sdb:close() end
    end)

    before_each(function()
      if sdb.status & IN_TRANS ~= 0 then sdb:query("ROLLBACK") end
    end)

    it("rolls back an inner transaction that returns nil, err and keeps the outer work", function()
      local inner_res, inner_err
      local res, err = sdb:transaction(function(conn)
        assert(conn:query("INSERT INTO " .. t .. " VALUES (1)"))
        inner_res, inner_err = conn:transaction(function(c)
          assert(c:query("INSERT INTO " .. t .. " VALUES (2)"))
          return c:query("INSERT INTO " .. t .. " VALUES (1)") -- duplicate: nil, err
        end)
        return "outer done"
      end)
      assert.is_nil(err)
      assert.equal("outer done", res)
      assert.is_nil(inner_res)
      assert.is_true(mylua.is_error(inner_err))
      assert.equal(1062, inner_err.code)
      assert.equal("1", ids(other, t))
    end)

    it("rolls back everything when the outer function fails", function()
      local res, err = sdb:transaction(function(conn)
        conn:query("INSERT INTO " .. t .. " VALUES (1)")
        conn:transaction(function(c) return c:query("INSERT INTO " .. t .. " VALUES (2)") end)
        return nil, "outer gave up"
      end)
      assert.is_nil(res)
      assert.equal("outer gave up", err)
      assert.equal("", ids(other, t))
      assert.is_true(sdb.status & IN_TRANS == 0)
    end)

    it("returns a raised string error unchanged", function()
      local message = "raised in fn " .. tostring({})
      local res, err = sdb:transaction(function() error(message, 0) end)
      assert.is_nil(res)
      assert.equal(message, err)
    end)

    it("returns nil, err from begin() inside a transaction and leaves it intact", function()
      assert.is_true(sdb:begin())
      assert(sdb:query("INSERT INTO " .. t .. " VALUES (1)"))
      local ok, err = sdb:begin()
      assert.is_nil(ok)
      assert.truthy(tostring(err):find("a transaction is already open", 1, true), tostring(err))
      assert.equal("", ids(other, t))
      assert.is_true(sdb:commit())
      assert.equal("1", ids(other, t))
    end)

    it("honours READ ONLY, returning the server's 1792 as nil, err", function()
      assert.is_true(sdb:begin("READ ONLY"))
      local res, err = sdb:query("INSERT INTO " .. t .. " VALUES (1)")
      assert.is_nil(res)
      assert.equal(1792, err.code)
      assert.is_true(sdb:rollback())
      res, err = sdb:transaction("READ ONLY", function(conn)
        return conn:query("INSERT INTO " .. t .. " VALUES (1)")
      end)
      assert.is_nil(res)
      assert.equal(1792, err.code)
      assert.equal("", ids(other, t))
    end)

    it("honours an isolation level", function()
      local raw = helpers.connect() -- reads INNODB_TRX for sdb's thread
      local level = sdb:transaction({ isolation = "READ UNCOMMITTED" }, function(conn)
        assert(conn:query("SELECT COUNT(*) FROM " .. t))
        assert(conn:query("DO SLEEP(0.15)"))
        return scalar(raw, "SELECT trx_isolation_level FROM information_schema.INNODB_TRX"
          .. " WHERE trx_mysql_thread_id = ?", conn.thread_id)
      end)
      raw:close()
      assert.equal("READ UNCOMMITTED", level)
    end)

    it("returns nil, err for options it does not know", function()
      local ok, err = sdb:begin({ isolation = "CHAOS" })
      assert.is_nil(ok)
      assert.truthy(err:find("bad argument #1 to 'begin'", 1, true), err)
      local res, err2 = sdb:transaction("WRITE ONLY", function() return 1 end)
      assert.is_nil(res)
      assert.truthy(err2:find("bad argument #1 to 'transaction'", 1, true), err2)
      assert.is_true(sdb.status & IN_TRANS == 0)
    end)
  end)
end)
