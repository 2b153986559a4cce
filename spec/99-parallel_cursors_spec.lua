-- Cursors, prepared statements' cursors and the connection's simple
-- commands under mylua.parallel: each call hands its network part to the
-- task's worker thread and yields, so the other tasks run meanwhile; the
-- objects it uses are busy until it ends; a task stopped while its call is
-- in the worker ends cleanly.

local mylua = require "mylua"
local helpers = require "helpers"

-- Kills the server sessions whose ids are in `ids` (left blocked by a test).
local function kill_sessions(ids)
  local admin = helpers.connect()
  for _, id in pairs(ids) do pcall(admin.query, admin, "KILL " .. math.tointeger(id)) end
  admin:close()
end

local lock_no = 0
local function lock_name()
  lock_no = lock_no + 1
  return ("mylua_spec99_%d_%d"):format(lock_no, math.random(1, 1e9))
end

-- Polls (with db:query, which yields) until session `id` waits for a user
-- lock; raises after 10 s.
local function await_lock_wait(db, id_of)
  local deadline = mylua.monotonic() + 10
  while true do
    local id = id_of()
    if id and db:query([[SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
        WHERE ID = ? AND STATE = 'User lock']], id):row(1).n > 0 then
      return
    end
    assert(mylua.monotonic() < deadline, "the other task's statement never waited for the lock")
    db:query("SELECT SLEEP(0.02)")
  end
end

-- Runs call(db, name, state) in one task of a mylua.parallel run of two,
-- while the other task holds the user lock `name`; the call's statement
-- waits for it (GET_LOCK(name, 5)).  The holder polls, yielding, until it
-- sees that wait in the process list, notes the time and releases the lock.
-- A call that blocked the process instead of yielding would keep the
-- holder from running at all until GET_LOCK gave up after 5 s (returning
-- 0).  Returns call's value, the state and the seconds the run took.
local function while_locked(call)
  local name = lock_name()
  local state, value = { started = 0 }, nil
  local t0 = mylua.monotonic()
  local results = mylua.parallel({ helpers.params(), helpers.params() }, function(db)
    state.started = state.started + 1
    if state.started == 1 then
      assert(db:query("SELECT GET_LOCK(?, 30) AS g", name):row(1).g == 1)
      state.locked = true
      await_lock_wait(db, function() return state.waiter end)
      state.released_at = mylua.monotonic()
      db:query("SELECT RELEASE_LOCK(?)", name)
      return "holder"
    end
    while not state.locked do db:query("SELECT SLEEP(0.02)") end
    state.waiter = db.thread_id
    value = call(db, name, state)
    return "waiter"
  end, { concurrency = 2, timeout = 20 })
  for _, r in ipairs(results) do assert(r.ok, tostring(r.error)) end
  return value, state, mylua.monotonic() - t0
end

describe("under mylua.parallel, a cursor", function()
  it("yields in execute while the statement waits on the server", function()
    local g, _, took = while_locked(function(db, name)
      local cur = db:cursor()
      cur:execute("SET @g = GET_LOCK(?, 5)", name)
      assert.is_nil(cur.columns[1])
      cur:execute("SELECT @g AS g")
      local row = cur:fetch()
      assert.is_nil(cur:fetch())
      cur:close()
      db:query("DO RELEASE_LOCK(?)", name)
      return row.g
    end)
    assert.equal(1, g)
    assert.is_true(took < 4, "took " .. took .. " s")
  end)

  it("yields in fetch and rows while the next row waits on the server, rows and values intact", function()
    local got, state, took = while_locked(function(db, name, state)
      local cur = db:cursor()
      cur:execute([[SELECT seq, REPEAT(CHAR(64 + seq % 26), seq % 300) AS pad,
          IF(seq = 3000, GET_LOCK(?, 5), NULL) AS g FROM seq_1_to_3000]], name)
      state.executed_at = mylua.monotonic()
      local n, last, bad = 0, nil, 0
      for row in cur:rows() do
        n = n + 1
        if row.seq ~= n or #row.pad ~= n % 300 then bad = bad + 1 end
        last = row
      end
      cur:close()
      db:query("DO RELEASE_LOCK(?)", name)
      return { n = n, g = last.g, bad = bad }
    end)
    assert.same({ n = 3000, g = 1, bad = 0 }, got)
    -- the head came before the lock was released: the wait was in the rows
    assert.is_true(state.executed_at < state.released_at)
    assert.is_true(took < 4, "took " .. took .. " s")
  end)

  it("yields in next_result while the next result waits on the server", function()
    local got, state, took = while_locked(function(db, name, state)
      local cur = db:cursor()
      cur:execute("SELECT seq FROM seq_1_to_20000; SELECT GET_LOCK(?, 5) AS g", name)
      state.executed_at = mylua.monotonic()
      local first = cur:fetch().seq
      assert.is_true(cur:next_result()) -- skips 19999 rows, then waits for the head
      local g = cur:fetch().g
      assert.is_nil(cur:fetch())
      assert.is_false(cur:next_result())
      cur:close()
      db:query("DO RELEASE_LOCK(?)", name)
      return { first = first, g = g }
    end)
    assert.same({ first = 1, g = 1 }, got)
    assert.is_true(state.executed_at < state.released_at)
    assert.is_true(took < 4, "took " .. took .. " s")
  end)

  it("of a prepared statement yields in execute, streamed and through a server cursor", function()
    for _, opts in ipairs{ { stream = true }, { fetch_size = 2 } } do
      local got, _, took = while_locked(function(db, name)
        local st = db:prepare("SELECT seq, IF(seq = 5, GET_LOCK(?, 5), NULL) AS g FROM seq_1_to_7")
        local cur = st:cursor(opts)
        cur:execute(name)
        local seqs, g = {}, nil
        local t = {}
        while cur:fetch(t) do
          seqs[#seqs + 1] = t.seq
          if t.seq == 5 then g = t.g end
        end
        -- executed again: the values bound the second time are used
        cur:execute(name)
        local again = 0
        for _ in cur:rows() do again = again + 1 end
        st:close()
        db:query("DO RELEASE_LOCK(?)", name)
        return { seqs = table.concat(seqs, ","), g = g, again = again }
      end)
      assert.same({ seqs = "1,2,3,4,5,6,7", g = 1, again = 7 }, got)
      assert.is_true(took < 4, "took " .. took .. " s")
    end
  end)

  it("reads rows as they are outside parallel: sizes around the batch bounds, refilled tables, an error mid-rows", function()
    local sql = [[SELECT seq, REPEAT('r', IF(seq % 1000 = 0, 300000, seq % 500)) AS pad
      FROM seq_1_to_6000]]
    local failing = [[SELECT seq, IF(seq = 2500, (SELECT 1 UNION SELECT 2), seq) AS v
      FROM seq_1_to_4000]]
    local function read(db)
      local cur = db:cursor()
      cur:execute(sql)
      local n, bytes = 0, 0
      for row in cur:rows("a") do
        n = n + 1
        bytes = bytes + #row[2]
      end
      -- the same rows refilling one table (the worker's batches go into it too)
      cur:execute(sql)
      local t, rn, rbytes, same = {}, 0, 0, true
      for row in cur:rows(t, "a") do
        rn = rn + 1
        rbytes = rbytes + #row[2]
        same = same and row == t and row[1] == rn
      end
      cur:execute(failing)
      local before = 0
      local ok, err = pcall(function()
        for _ in cur:rows() do before = before + 1 end
      end)
      cur:close()
      -- a server cursor's batches, and the status its end brings
      local st = db:prepare("SELECT seq, CAST(CONCAT(seq, 'x') AS SIGNED) AS v FROM seq_1_to_7")
      local sc = st:cursor{ fetch_size = 2 }
      sc:execute()
      local vs = {}
      for row in sc:rows("a") do vs[#vs + 1] = row[2] end
      local warnings = sc.warnings
      sc:execute()
      local kt, kvs = {}, {}
      for row in sc:rows(kt) do kvs[#kvs + 1] = row == kt and row.v or "new table" end
      st:close()
      return { n = n, bytes = bytes, failed = not ok, code = type(err) == "table" and err.code,
               before = before, vs = table.concat(vs, ","), warnings = warnings,
               refilled = { n = rn, bytes = rbytes, same = same }, kvs = table.concat(kvs, ",") }
    end
    local db = helpers.connect()
    local outside = read(db)
    db:close()
    assert.equal(6000, outside.n)
    assert.is_true(outside.failed)
    assert.equal(1242, outside.code)
    assert.equal("1,2,3,4,5,6,7", outside.vs)
    assert.same({ n = 6000, bytes = outside.bytes, same = true }, outside.refilled)
    assert.equal("1,2,3,4,5,6,7", outside.kvs)
    local results = mylua.parallel({ helpers.params(), helpers.params() }, read,
      { concurrency = 2, timeout = 60 })
    for _, r in ipairs(results) do
      assert(r.ok, tostring(r.error))
      assert.same(outside, r.value)
    end
  end)
end)

describe("under mylua.parallel, the connection's commands", function()
  -- Task one calls `call` `times` times; call(db, i, ctx, during) makes the
  -- command under test through during(f, ...), which keeps a flag up
  -- meanwhile.  Task two runs queries until task one is done and counts the
  -- times it ran while the flag was up.  A command that blocks the process
  -- never lets task two run inside it: the count stays 0.
  local function overlaps(times, call, prepare)
    local state = { started = 0, seen = 0 }
    local results = mylua.parallel({ helpers.params(), helpers.params() }, function(db)
      state.started = state.started + 1
      if state.started == 1 then
        local ok = 0
        local fine, err = pcall(function()
          local ctx = prepare and prepare(db) or nil
          local function during(f, ...)
            state.in_call = true
            local r = f(...)
            state.in_call = false
            return r
          end
          for i = 1, times do
            if call(db, i, ctx, during) == true then ok = ok + 1 end
          end
        end)
        state.done = true -- the other task stops either way
        assert(fine, err)
        return ok
      end
      while not state.done do
        db:query("SELECT 1")
        if state.in_call then state.seen = state.seen + 1 end
      end
      return state.seen
    end, { concurrency = 2, timeout = 60 })
    for _, r in ipairs(results) do assert(r.ok, tostring(r.error)) end
    return state.seen, results
  end

  local function ok_count(results, times)
    local found = false
    for _, r in ipairs(results) do found = found or r.value == times end
    assert.is_true(found, "not every call returned true")
  end

  it("ping yields", function()
    local seen, results = overlaps(200, function(db, _, _, during) return during(db.ping, db) end)
    ok_count(results, 200)
    assert.is_true(seen > 0, "task two never ran during a ping")
  end)

  it("select_db yields, and the database is selected", function()
    local p = helpers.params()
    local seen, results = overlaps(200, function(db, i, _, during)
      local ok = during(db.select_db, db, i % 2 == 0 and p.database or "information_schema")
      local now = db:query("SELECT DATABASE() AS d"):row(1).d
      assert.equal(i % 2 == 0 and p.database or "information_schema", now)
      return ok
    end)
    ok_count(results, 200)
    assert.is_true(seen > 0, "task two never ran during a select_db")
  end)

  it("reset yields, and the session is reset", function()
    local seen, results = overlaps(200, function(db, i, _, during)
      db:query("SET @v = ?", i)
      local ok = during(db.reset, db)
      assert.equal(mylua.null, db:query("SELECT @v AS v"):row(1).v)
      return ok
    end)
    ok_count(results, 200)
    assert.is_true(seen > 0, "task two never ran during a reset")
  end)

  it("change_user yields, and the new login is used", function()
    local p = helpers.params()
    local seen, results = overlaps(60, function(db, i, _, during)
      local ok = during(db.change_user, db, { user = p.user, password = p.password,
                                   database = i % 2 == 0 and p.database or "information_schema" })
      assert.equal(i % 2 == 0 and p.database or "information_schema",
        db:query("SELECT DATABASE() AS d"):row(1).d)
      return ok
    end)
    ok_count(results, 60)
    assert.is_true(seen > 0, "task two never ran during a change_user")
  end)

  it("a failed change_user closes the connection, as outside parallel", function()
    local results = mylua.parallel({ helpers.params(), helpers.params() }, function(db)
      local ok, err = pcall(db.change_user, db, { user = "no_such_user_99", password = "x" })
      return { ok = ok, code = type(err) == "table" and err.code, closed = db.closed }
    end, { concurrency = 2 })
    for _, r in ipairs(results) do
      assert(r.ok, tostring(r.error))
      assert.same({ ok = false, code = 1045, closed = true }, r.value)
    end
  end)

  it("kill yields, and the sessions are killed", function()
    local victims = {}
    local seen, results = overlaps(10, function(db, i, ctx, during)
      return during(db.kill, db, ctx[i].thread_id)
    end, function()
      for i = 1, 10 do victims[i] = helpers.connect() end -- connecting yields, flag down
      return victims
    end)
    ok_count(results, 10)
    assert.is_true(seen > 0, "task two never ran during a kill")
    for _, v in ipairs(victims) do
      assert.is_false((pcall(v.query, v, "SELECT 1")))
      v:close()
    end
  end)
end)

describe("under mylua.parallel, a call in the worker", function()
  it("keeps its connection, cursor and statement busy: another task's use raises, close waits", function()
    local name = lock_name()
    local holder = helpers.connect()
    assert.equal(1, holder:query("SELECT GET_LOCK(?, 30) AS g", name):row(1).g)
    local shared, cur
    local state = { started = 0 }
    local results = mylua.parallel({ helpers.params(), helpers.params() }, function(db)
      state.started = state.started + 1
      if state.started == 1 then
        shared = db
        state.id = db.thread_id
        cur = db:cursor()
        cur:execute("SET @g = GET_LOCK(?, 10)", name) -- waits for the holder
        cur:execute("SELECT @g AS g")
        return cur:fetch().g
      end
      await_lock_wait(db, function() return state.id end)
      local msgs = {}
      for _, f in ipairs{
        function() return shared:query("SELECT 1") end,
        function() return shared:ping() end,
        function() return shared:cursor():execute("SELECT 1") end,
        function() return cur:fetch() end,
        function() return cur:execute("SELECT 1") end,
      } do
        local ok, err = pcall(f)
        msgs[#msgs + 1] = ok and "no error" or tostring(err)
      end
      holder:query("SELECT RELEASE_LOCK(?)", name)
      return msgs
    end, { concurrency = 2, timeout = 30 })
    holder:close()
    assert(results[1].ok and results[2].ok, tostring(results[1].error or results[2].error))
    local g, msgs = results[1].value, results[2].value
    if type(g) == "table" then g, msgs = msgs, g end
    assert.equal(1, g)
    assert.is_truthy(msgs[1]:find("attempt to use a connection while it runs a query", 1, true), msgs[1])
    assert.is_truthy(msgs[2]:find("attempt to use a connection while it runs a query", 1, true), msgs[2])
    assert.is_truthy(msgs[3]:find("attempt to use a connection while it runs a query", 1, true), msgs[3])
    assert.is_truthy(msgs[4]:find("attempt to use a cursor while it runs a query", 1, true), msgs[4])
    assert.is_truthy(msgs[5]:find("attempt to use a cursor while it runs a query", 1, true), msgs[5])
  end)

  it("closes a cursor closed by another task meanwhile once the call ends", function()
    local name = lock_name()
    local holder = helpers.connect()
    assert.equal(1, holder:query("SELECT GET_LOCK(?, 30) AS g", name):row(1).g)
    local cur
    local state = { started = 0 }
    local results = mylua.parallel({ helpers.params(), helpers.params() }, function(db)
      state.started = state.started + 1
      if state.started == 1 then
        state.id = db.thread_id
        cur = db:cursor()
        local ok, err = pcall(cur.execute, cur, "SELECT GET_LOCK(?, 10) AS g", name)
        -- the connection is usable at once: the closed cursor's rows were given up
        return { ok = ok, err = tostring(err), closed = cur.closed,
                 after = db:query("SELECT 7 AS v"):row(1).v }
      end
      await_lock_wait(db, function() return state.id end)
      local closed = cur:close()
      holder:query("SELECT RELEASE_LOCK(?)", name)
      return closed
    end, { concurrency = 2, timeout = 30 })
    holder:close()
    assert(results[1].ok and results[2].ok, tostring(results[1].error or results[2].error))
    local v = type(results[1].value) == "table" and results[1].value or results[2].value
    assert.is_false(v.ok)
    assert.is_truthy(v.err:find("attempt to use a closed cursor", 1, true), v.err)
    assert.is_true(v.closed)
    assert.equal(7, v.after)
  end)

  for _, case in ipairs{
    { "execute", function(db, name)
        local cur = db:cursor()
        cur:execute("SELECT GET_LOCK(?, 20) AS g", name)
        return cur:fetch().g
      end },
    { "fetch", function(db, name)
        local cur = db:cursor()
        cur:execute([[SELECT seq, REPEAT('x', 200) AS pad, IF(seq = 3000, GET_LOCK(?, 20), NULL) AS g
          FROM seq_1_to_3000]], name)
        local g
        for row in cur:rows() do g = row.g end
        return g
      end },
    { "a prepared statement's cursor", function(db, name)
        local cur = db:prepare("SELECT GET_LOCK(?, 20) AS g"):cursor()
        cur:execute(name)
        return cur:fetch().g
      end },
  } do
    it("ends by the task's timeout in " .. case[1] .. ": timed out, the other task unharmed", function()
      local name = lock_name()
      local holder = helpers.connect()
      assert.equal(1, holder:query("SELECT GET_LOCK(?, 30) AS g", name):row(1).g)
      local ids = {}
      local t0 = mylua.monotonic()
      local started = 0
      local results = mylua.parallel({ helpers.params(), helpers.params() }, function(db)
        started = started + 1
        ids[#ids + 1] = db.thread_id
        if started == 1 then return case[2](db, name) end
        return db:query("SELECT SLEEP(0.3) AS s, 5 AS v"):row(1).v
      end, { concurrency = 2, timeout = 1.5 })
      local took = mylua.monotonic() - t0
      holder:close()
      kill_sessions(ids)
      local waiter, other = results[1], results[2]
      if waiter.ok then waiter, other = other, waiter end
      assert.is_false(waiter.ok)
      assert.is_true(waiter.timed_out)
      assert.equal(2013, waiter.error.code)
      assert.is_true(other.ok, tostring(other.error))
      assert.equal(5, other.value)
      assert.is_true(took < 5, "took " .. took .. " s")
    end)
  end
end)

describe("a cursor under mylua.parallel in the host program", function()
  after_each(helpers.remove_temp_files)

  it("is stopped by SIGINT while its rows are read in the worker: exit 130, sessions gone", function()
    local t = helpers.options_source(helpers.params())
    local script = helpers.temp_script(([[
      local mylua = require "mylua"
      local t = %s
      mylua.parallel({ t, t, t }, function(db)
        local cur = db:cursor()
        cur:execute("SELECT seq, IF(seq = 2000, SLEEP(30), 0) AS s FROM seq_1_to_2000 /* spec99 stop */")
        for _ in cur:rows() do end
      end)
      print("not stopped")
    ]]):format(t))
    local t0 = mylua.monotonic()
    local out, err, code = helpers.run("timeout --foreground -s INT --preserve-status 1 "
      .. helpers.shell_quote(helpers.bin()) .. " " .. helpers.shell_quote(script))
    local elapsed = mylua.monotonic() - t0
    assert.equal(130, code, err)
    assert.equal("", out)
    assert.is_truthy(err:find("interrupted by SIGINT", 1, true), err)
    assert.is_true(elapsed < 5, "took " .. elapsed .. " s")
    local db = helpers.connect()
    local left
    for _ = 1, 30 do
      left = db:query([[SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
        WHERE INFO LIKE '%spec99 stop%' AND ID <> CONNECTION_ID()]]):row(1).n
      if left == 0 then break end
      mylua.sleep(0.1)
    end
    db:close()
    assert.equal(0, left)
  end)
end)

describe("outside mylua.parallel", function()
  it("cursors and commands run inline, in the main thread and in coroutines", function()
    local function work()
      local db = helpers.connect()
      local cur = db:cursor()
      cur:execute("SELECT seq FROM seq_1_to_500; SELECT 'b' AS b")
      local n = 0
      for _ in cur:rows() do n = n + 1 end
      assert.is_true(cur:next_result())
      local b = cur:fetch().b
      assert.is_nil(cur:fetch())
      cur:close()
      assert.is_true(db:ping())
      assert.is_true(db:select_db("information_schema"))
      assert.is_true(db:reset())
      db:close()
      return n, b
    end
    local n, b = work()
    assert.equal(500, n)
    assert.equal("b", b)
    local co = coroutine.wrap(work)
    n, b = co()
    assert.equal(500, n)
    assert.equal("b", b)
    -- and in a coroutine of fn's own inside parallel
    local results = mylua.parallel({ helpers.params() }, function()
      return (coroutine.wrap(work)())
    end)
    assert.equal(500, results[1].value)
  end)
end)
