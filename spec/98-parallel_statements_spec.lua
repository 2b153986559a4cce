-- Prepared statements under mylua.parallel: db:prepare, st:execute,
-- db:execute (with and without its statement cache) and st:execute_many
-- (a plain array of rows) run on the task's worker thread and yield, so a
-- statement that waits on the server holds no other task.
--
-- How each test proves it: task 1 makes the call so that it waits on the
-- server for something task 2 holds; task 2 looks (with queries, which
-- yield) until it sees task 1's session waiting, then lets go.  A call that
-- blocked the thread would keep task 2 from ever running: task 1 would
-- wait until its lock timeout and fail.

local mylua = require "mylua"
local helpers = require "helpers"
local peer = require "support.peer"


local LOCK_TIMEOUT = 10 -- seconds task 1 would wait if task 2 never ran

-- Kills the server sessions whose ids are in `ids` (left blocked by a test).
local function kill_sessions(ids)
  local admin = helpers.connect()
  for _, id in pairs(ids) do pcall(admin.query, admin, "KILL " .. math.tointeger(id)) end
  admin:close()
end

local function with_table(create, fn)
  local t = helpers.unique_table()
  local admin = helpers.connect()
  admin:query(create:format(t))
  local ok, err = pcall(fn, t)
  admin:query("DROP TABLE IF EXISTS " .. t)
  admin:close()
  if not ok then error(err, 0) end
end

-- Whether the session `id` waits: for a user lock, or in an INSERT (which
-- the tests make wait for a row lock).
local function waiting(db, id)
  return db:query([[SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
    WHERE ID = ? AND (STATE = 'User lock' OR (COMMAND <> 'Sleep' AND INFO LIKE 'INSERT INTO%'))]], id):row(1).n > 0
end

-- Runs `call(db)` in one task while the other holds what it waits for:
-- hold(db) takes it, release(db) lets it go once the caller's session is
-- seen waiting.  The caller's connection has the options `caller_options`
-- over the test's.  Returns the caller's result (raising its error) and
-- the seconds the whole run took.
local function call_while_held(hold, call, release, caller_options)
  local targets = { helpers.params(caller_options or {}), helpers.params() }
  local shared = {}
  local t0 = mylua.monotonic()
  local results = mylua.parallel(targets, function(db, target)
    if target == targets[2] then
      hold(db)
      shared.held = true
      local deadline = mylua.monotonic() + LOCK_TIMEOUT
      while not (shared.caller and waiting(db, shared.caller)) do
        if mylua.monotonic() > deadline then error("the caller was never seen waiting", 0) end
        db:query("SELECT SLEEP(0.02)")
      end
      release(db)
      return "released"
    end
    while not shared.held do db:query("SELECT SLEEP(0.02)") end
    shared.caller = db.thread_id
    return call(db)
  end, { concurrency = 2 })
  local elapsed = mylua.monotonic() - t0
  assert(results[2].ok, tostring(results[2].error))
  assert(results[1].ok, tostring(results[1].error))
  return results[1].value, elapsed
end

local function hold_user_lock(name)
  return function(db) assert(db:query("SELECT GET_LOCK(?, 30) AS g", name):row(1).g == 1) end
end

local function release_user_lock(name)
  return function(db) db:query("SELECT RELEASE_LOCK(?)", name) end
end

-- A statement that waits for the user lock `name` and returns 1 once it has it.
local GET_LOCK = "SELECT GET_LOCK(?, ?) AS g, RELEASE_LOCK(?) AS r"

describe("prepared statements under mylua.parallel", function()
  it("st:execute yields while the server makes it wait", function()
    local value, elapsed = call_while_held(hold_user_lock("mylua_98_exec"), function(db)
      local st = db:prepare(GET_LOCK)
      local r = st:execute("mylua_98_exec", LOCK_TIMEOUT, "mylua_98_exec"):row(1)
      -- the statement is usable again, and its result names are kept
      local again = st:execute("mylua_98_exec", 0, "mylua_98_exec"):row(1)
      st:close()
      return { r.g, r.r, again.g }
    end, release_user_lock("mylua_98_exec"))
    assert.same({ 1, 1, 1 }, value)
    assert.is_true(elapsed < LOCK_TIMEOUT / 2, "took " .. elapsed .. " s: the execute blocked")
  end)

  it("st:execute with more values than fit the C stack's block keeps them across the yield", function()
    -- 40 values: the binding's stack block holds 16
    local qs, args = {}, { "mylua_98_many" }
    for i = 1, 40 do
      qs[i] = "?"
      args[#args + 1] = ("v%02d"):format(i)
    end
    local sql = "SELECT GET_LOCK(?, " .. LOCK_TIMEOUT .. ") AS g, CONCAT_WS(',', " .. table.concat(qs, ", ")
      .. ") AS s"
    local value, elapsed = call_while_held(hold_user_lock("mylua_98_many"), function(db)
      local r = db:prepare(sql):execute(table.unpack(args)):row(1)
      db:query("SELECT RELEASE_LOCK('mylua_98_many')")
      return { r.g, r.s }
    end, release_user_lock("mylua_98_many"))
    assert.equal(1, value[1])
    assert.equal(table.concat(args, ",", 2), value[2])
    assert.is_true(elapsed < LOCK_TIMEOUT / 2, "took " .. elapsed .. " s")
  end)

  for _, cache in ipairs{ 0, 4 } do
    it("db:execute yields with statement_cache = " .. cache, function()
      local value, elapsed = call_while_held(hold_user_lock("mylua_98_dbexec"), function(db)
        local r = db:execute(GET_LOCK, "mylua_98_dbexec", LOCK_TIMEOUT, "mylua_98_dbexec"):row(1)
        -- the second time from the cache when there is one
        local again = db:execute(GET_LOCK, "mylua_98_dbexec", 0, "mylua_98_dbexec"):row(1)
        local prepared = db:query("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'"):row(1, "a")[2]
        return { r.g, r.r, again.g, tonumber(prepared) }
      end, release_user_lock("mylua_98_dbexec"), { statement_cache = cache })
      assert.same({ 1, 1, 1, cache == 0 and 2 or 1 }, value)
      assert.is_true(elapsed < LOCK_TIMEOUT / 2, "took " .. elapsed .. " s")
    end)
  end

  it("db:prepare yields while the server does not answer, and its connection is busy meanwhile", function()
    local deaf = peer.start("deaf")
    local targets = { { host = "127.0.0.1", port = deaf.port, user = "u", password = "p",
                        connect_timeout = 5, read_timeout = 3 }, helpers.params() }
    local shared = {}
    local results = mylua.parallel(targets, function(db, target)
      if target == targets[1] then
        shared.db = db
        local ok, err = pcall(db.prepare, db, "SELECT 1")
        return { ok = ok, err = err, at = mylua.monotonic() }
      end
      while not shared.db do db:query("SELECT SLEEP(0.02)") end
      db:query("SELECT SLEEP(0.1)")
      local busy = select(2, pcall(shared.db.query, shared.db, "SELECT 1"))
      for _ = 1, 4 do db:query("SELECT SLEEP(0.05)") end
      return { at = mylua.monotonic(), busy = busy }
    end, { concurrency = 2 })
    deaf:stop()
    assert.is_true(results[1].ok, tostring(results[1].error))
    assert.is_true(results[2].ok, tostring(results[2].error))
    local prepared, other = results[1].value, results[2].value
    assert.is_false(prepared.ok)
    assert.is_true(mylua.is_error(prepared.err), tostring(prepared.err))
    assert.equal(2013, prepared.err.code)
    -- the other task ran its queries while the prepare waited
    assert.is_true(other.at < prepared.at - 1, ("the other task ended %.2f s before the prepare")
      :format(prepared.at - other.at))
    assert.is_truthy(tostring(other.busy):find("attempt to use a connection while it prepares a statement", 1, true),
      tostring(other.busy))
  end)

  it("st:execute_many yields in each chunk of a large array, and counts every row", function()
    with_table("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(60)) ENGINE=InnoDB", function(t)
      local n = 20000
      -- long strings are no interned ones: each row's is its own object
      local function text(i) return ("v%d"):format(i) .. ("x"):rep(40) end
      local rows = {}
      for i = 1, n do rows[i] = { i, text(i) } end
      local value, elapsed = call_while_held(function(db)
        -- an uncommitted row far into the array: inserting its key waits
        db:query("BEGIN")
        db:query("INSERT INTO " .. t .. " VALUES (15000, 'holder')")
      end, function(db)
        return db:prepare("INSERT INTO " .. t .. " VALUES (?, ?)"):execute_many(rows)
      end, function(db)
        -- the rows change while a chunk of them is on the worker: the
        -- strings it points to must stay alive (the same text, new objects)
        for i = 1, n do rows[i] = { i, text(i) } end
        collectgarbage()
        collectgarbage()
        db:query("ROLLBACK")
      end)
      assert.equal(n, value)
      assert.is_true(elapsed < LOCK_TIMEOUT / 2, "took " .. elapsed .. " s")
      local db = helpers.connect()
      local r = db:query("SELECT COUNT(*) AS c, SUM(id) AS s, MIN(v = CONCAT('v', id, REPEAT('x', 40))) AS same FROM " .. t):row(1)
      db:close()
      assert.equal(n, r.c)
      assert.equal(n * (n + 1) // 2, math.tointeger(tonumber(r.s)))
      assert.equal(1, r.same)
    end)
  end)
end)

describe("st:execute_many in chunks", function()
  -- Runs fn(db) in a task of mylua.parallel that is not alone (so its
  -- calls go to the worker), and returns its result or raises its error.
  local function in_task(fn)
    local targets = { helpers.params(), helpers.params() }
    local results = mylua.parallel(targets, function(db, target)
      if target == targets[2] then
        db:query("SELECT SLEEP(0.3)")
        return
      end
      return fn(db)
    end, { concurrency = 2 })
    assert(results[2].ok, tostring(results[2].error))
    if not results[1].ok then error(results[1].error, 0) end
    return results[1].value
  end

  it("names the failing row of a later chunk, with what ran before it", function()
    with_table("CREATE TABLE %s (id INT PRIMARY KEY)", function(t)
      local err = in_task(function(db)
        local rows = {}
        for i = 1, 10000 do rows[i] = { i } end
        rows[9000] = { 8999 } -- a duplicate
        local st = db:prepare("INSERT INTO " .. t .. " VALUES (?)")
        local ok, e = pcall(st.execute_many, st, rows, { bulk = false })
        assert(not ok, "no error")
        return e
      end)
      assert.is_true(mylua.is_error(err), tostring(err))
      assert.equal(1062, err.code)
      assert.equal(9000, err.row)
      -- pipelined: the executes of the failing one's window ran too
      local db = helpers.connect()
      assert.equal(err.affected_rows, db:query("SELECT COUNT(*) AS c FROM " .. t):row(1).c)
      db:close()
      assert.is_true(err.affected_rows >= 8999 and err.affected_rows < 10000, err.affected_rows)
    end)
  end)

  it("raises a row's conversion error as the inline call words it, naming the row", function()
    with_table("CREATE TABLE %s (id INT PRIMARY KEY, v VARCHAR(20))", function(t)
      local out = in_task(function(db)
        local rows = {}
        for i = 1, 9000 do rows[i] = { i, "x" } end
        rows[8500] = { 8500, {} }
        local st = db:prepare("INSERT INTO " .. t .. " VALUES (?, ?)")
        local _, e1 = pcall(st.execute_many, st, rows)
        local _, e2 = pcall(st.execute_many, st, { { 20001, "a" }, { 20002 } })
        local _, e3 = pcall(st.execute_many, st, { { 20003, "a" }, "x" })
        return { e1, e2, e3, st:execute_many{ { 20000, "ok" } }, db:query("SELECT 1 AS one"):row(1).one }
      end)
      assert.is_truthy(tostring(out[1]):find("execute_many: row 8500, value 2: cannot bind a table value", 1, true),
        tostring(out[1]))
      assert.is_true(mylua.is_error(out[2]), tostring(out[2]))
      assert.equal(2031, out[2].code)
      assert.equal(2, out[2].row)
      assert.is_truthy(tostring(out[3]):find("execute_many: row 2 is a string, not an array of values", 1, true),
        tostring(out[3]))
      assert.equal(1, out[4])
      assert.equal(1, out[5])
    end)
  end)

  it("takes an empty array, a statement without values, and typed values", function()
    with_table("CREATE TABLE %s (id INT PRIMARY KEY AUTO_INCREMENT, d DECIMAL(10,2))", function(t)
      local total = in_task(function(db)
        local st = db:prepare("INSERT INTO " .. t .. " (id, d) VALUES (?, ?)")
        assert(st:execute_many{} == 0)
        local rows = {}
        for i = 1, 5000 do rows[i] = { i, mylua.decimal(i .. ".25") } end
        local n = st:execute_many(rows)
        local none = db:prepare("INSERT INTO " .. t .. " (d) VALUES (1)")
        return n + none:execute_many{ {}, {}, {} }
      end)
      assert.equal(5003, total)
      local db = helpers.connect()
      local r = db:query("SELECT COUNT(*) AS c, SUM(d) AS s FROM " .. t .. " WHERE id <= 5000"):row(1)
      db:close()
      assert.equal(5000, r.c)
      assert.equal(12503750, tonumber(r.s))
    end)
  end)
end)

describe("a statement busy in a task", function()
  it("raises for another task's use of its connection or itself, and defers a close", function()
    local shared = {}
    local results = mylua.parallel({ helpers.params(), helpers.params() }, function(connect)
      if not shared.first then
        shared.first = true
        shared.db = connect()
        shared.id = shared.db.thread_id
        shared.st = shared.db:prepare("SELECT SLEEP(?) AS s, ? AS v")
        return shared.st:execute(2, 7):row(1).v
      end
      local mine = connect()
      local deadline = mylua.monotonic() + LOCK_TIMEOUT
      -- the execute, not the prepare before it (whose INFO is the same text)
      while not (shared.st and mine:query([[SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
          WHERE ID = ? AND COMMAND = 'Execute' AND STATE = 'User sleep']], shared.id):row(1).n > 0) do
        assert(mylua.monotonic() < deadline, "the first task's execute was never seen")
        mine:query("SELECT SLEEP(0.02)")
      end
      local out = {}
      out[1] = select(2, pcall(shared.db.query, shared.db, "SELECT 1"))
      out[2] = select(2, pcall(shared.st.execute, shared.st, 0, 1))
      out[3] = select(2, pcall(shared.db.execute, shared.db, "SELECT 1"))
      out[4] = select(2, pcall(shared.db.prepare, shared.db, "SELECT 1"))
      shared.st:close() -- deferred until the execute is over
      out[5] = shared.st.closed
      return out
    end, { connect = false })
    assert.is_true(results[1].ok, tostring(results[1].error))
    assert.equal(7, results[1].value)
    assert.is_true(results[2].ok, tostring(results[2].error))
    local out = results[2].value
    assert.is_truthy(tostring(out[1]):find("attempt to use a connection while it executes a statement", 1, true), tostring(out[1]))
    assert.is_truthy(tostring(out[2]):find("attempt to use a statement while it executes", 1, true), tostring(out[2]))
    assert.is_truthy(tostring(out[3]):find("while it executes a statement", 1, true), tostring(out[3]))
    assert.is_truthy(tostring(out[4]):find("while it executes a statement", 1, true), tostring(out[4]))
    assert.is_true(out[5])
    assert.is_true(shared.st.closed)
  end)

  it("says execute_many's connection and statement run it", function()
    with_table("CREATE TABLE %s (id INT PRIMARY KEY) ENGINE=InnoDB", function(t)
      -- outside the tasks: a session holds an uncommitted row that
      -- execute_many waits for
      local row_holder = helpers.connect()
      row_holder:query("BEGIN")
      row_holder:query("INSERT INTO " .. t .. " VALUES (2)")
      local shared = {}
      local results = mylua.parallel({ helpers.params(), helpers.params() }, function(connect)
        if not shared.first then
          shared.first = true
          shared.db = connect()
          shared.id = shared.db.thread_id
          shared.st = shared.db:prepare("INSERT INTO " .. t .. " VALUES (?)")
          return shared.st:execute_many{ { 1 }, { 2 }, { 3 } } -- waits for the row
        end
        local mine = connect()
        local deadline = mylua.monotonic() + LOCK_TIMEOUT
        while not (shared.id and waiting(mine, shared.id)) do
          assert(mylua.monotonic() < deadline, "the other task never waited")
          mine:query("SELECT SLEEP(0.02)")
        end
        local out = {}
        out[1] = select(2, pcall(shared.db.query, shared.db, "SELECT 1"))
        out[2] = select(2, pcall(shared.st.execute, shared.st, 1))
        row_holder:query("ROLLBACK")
        return out
      end, { connect = false })
      row_holder:close()
      assert.is_true(results[1].ok, tostring(results[1].error))
      assert.equal(3, results[1].value)
      assert.is_true(results[2].ok, tostring(results[2].error))
      local out = results[2].value
      assert.is_truthy(tostring(out[1]):find("attempt to use a connection while it runs execute_many", 1, true),
        tostring(out[1]))
      assert.is_truthy(tostring(out[2]):find("attempt to use a statement while it runs execute_many", 1, true),
        tostring(out[2]))
    end)
  end)
end)

describe("a task stopped while its statement runs on the worker", function()
  it("ends as timed out, by its deadline, for execute, db:execute and execute_many", function()
    local ids = {}
    local kinds = { "execute", "db:execute", "execute_many" }
    local targets = { helpers.params(), helpers.params(), helpers.params() }
    local t0 = mylua.monotonic()
    local results, summary = mylua.parallel(targets, function(db, target)
      local i
      for k, tt in ipairs(targets) do if tt == target then i = k end end
      ids[i] = db.thread_id
      if kinds[i] == "execute" then
        db:prepare("SELECT SLEEP(?)"):execute(30)
      elseif kinds[i] == "db:execute" then
        db:execute("SELECT SLEEP(?)", 30)
      else
        db:prepare("SELECT SLEEP(?)"):execute_many{ { 0 }, { 30 } }
      end
      return "not stopped"
    end, { concurrency = 3, timeout = 1 })
    local elapsed = mylua.monotonic() - t0
    kill_sessions(ids)
    assert.is_true(elapsed < 4, "took " .. elapsed .. " s")
    assert.equal(3, summary.timed_out)
    for i, r in ipairs(results) do
      assert.is_false(r.ok, kinds[i])
      assert.is_true(r.timed_out, kinds[i])
      assert.equal(2013, r.error.code, kinds[i] .. ": " .. tostring(r.error))
    end
  end)

  it("in the host program: --timeout and SIGINT end the run at once, nothing leaks", function()
    local t = helpers.options_source(helpers.params())
    -- each task stopped in another call: st:execute, db:execute, execute_many
    local script = helpers.temp_script(([[
      local mylua = require "mylua"
      local t = %s
      local started = 0
      mylua.parallel({ t, t, t }, function(db)
        started = started + 1
        local st = db:prepare("SELECT SLEEP(?) /* spec98 stop */")
        if started == 1 then st:execute(30)
        elseif started == 2 then db:execute("SELECT SLEEP(?) /* spec98 stop */", 30)
        else st:execute_many{ { 30 } } end
      end)
      print("not stopped")
    ]]):format(t))
    for _, case in ipairs{
      { { "--timeout", "1", script }, "", 4 },
      { { script }, "timeout --foreground -s INT --preserve-status 1 ", 130 },
    } do
      local quoted = {}
      for i, a in ipairs(case[1]) do quoted[i] = helpers.shell_quote(a) end
      local t0 = mylua.monotonic()
      local out, err, code = helpers.run(case[2] .. helpers.shell_quote(helpers.bin()) .. " "
        .. table.concat(quoted, " "))
      local elapsed = mylua.monotonic() - t0
      assert.equal(case[3], code, err)
      assert.equal("", out)
      assert.is_true(elapsed < 5, "took " .. elapsed .. " s")
    end
    local db = helpers.connect()
    local left
    for _ = 1, 30 do
      left = db:query([[SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
        WHERE INFO LIKE 'SELECT SLEEP(%' AND INFO LIKE '%spec98 stop%']]):row(1).n
      if left == 0 then break end
      mylua.sleep(0.1)
    end
    db:close()
    assert.equal(0, left)
    helpers.remove_temp_files()
  end)
end)

describe("statements left unclosed in tasks", function()
  it("are freed once their connection is idle, while the tasks run on", function()
    local results = mylua.parallel({ helpers.params(), helpers.params(), helpers.params() }, function(db)
      local sum = 0
      for i = 1, 30 do
        collectgarbage() -- finds other tasks' statements while their connections are busy
        sum = sum + db:prepare("SELECT ? AS v"):execute(i):row(1).v -- garbage at once
        db:query("SELECT SLEEP(0.01)")
      end
      sum = sum + db:execute("SELECT ? AS v", 1000):row(1).v
      return sum
    end, { concurrency = 3 })
    for i, r in ipairs(results) do
      assert.is_true(r.ok, "task " .. i .. ": " .. tostring(r.error))
      assert.equal(30 * 31 // 2 + 1000, r.value)
    end
    collectgarbage()
    collectgarbage()
  end)
end)

describe("statements outside mylua.parallel", function()
  it("run inline in a plain coroutine and in a task alone", function()
    local co = coroutine.wrap(function()
      local db = helpers.connect()
      local st = db:prepare("SELECT ? + 1 AS v")
      local v = st:execute(41):row(1).v + db:execute("SELECT ? AS v", 1):row(1).v
      db:close()
      return v
    end)
    assert.equal(43, co())
    with_table("CREATE TABLE %s (id INT PRIMARY KEY)", function(t)
      local results = mylua.parallel({ helpers.params() }, function(db)
        local st = db:prepare("INSERT INTO " .. t .. " VALUES (?)")
        return db:prepare("SELECT ? AS v"):execute(5):row(1).v + st:execute_many{ { 1 }, { 2 } }
      end)
      assert.is_true(results[1].ok, tostring(results[1].error))
      assert.equal(5 + 2, results[1].value)
    end)
  end)
end)
