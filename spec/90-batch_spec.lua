-- mylua.batch against the real server: walking a table by its primary key
-- (single and composite), purge (limit, pause, dry run), archive to a table
-- on this connection, on another server, and to a file; jobs killed with
-- SIGKILL at random points and restarted until done (nothing lost, nothing
-- duplicated); a real deadlock retried, a lost connection's chunk re-run;
-- throttling (Threads_running, replica lag over every channel of a real
-- replica, Galera flow control); the clean stop between chunks on SIGINT
-- (the host's deferred stops).

local helpers = require "helpers"
local mylua = require "mylua"
local batch = require "mylua.batch"

local q = helpers.shell_quote
local PARAMS = helpers.options_source(helpers.params())

-- Starts the host program in the background on a script; stderr to a file.
local function start(source, ...)
  local argv = helpers.append({ helpers.bin() }, ...)
  argv[#argv + 1] = helpers.temp_script(source)
  return helpers.start(argv)
end

local function sleep(s) os.execute(("sleep %.3f"):format(s)) end

-- Waits (up to 10 s) until pred() is true, looking every `every` seconds
-- (0.05).
local function wait_until(what, pred, every)
  every = every or 0.05
  for _ = 1, math.ceil(10 / every) do
    if pred() then return end
    sleep(every)
  end
  error("gave up waiting: " .. what)
end

describe("mylua.batch", function()
  local db, tables, remote, remote_tables

  setup(function()
    db = helpers.connect()
    tables, remote_tables = {}, {}
  end)

  teardown(function()
    for _, t in ipairs(tables) do pcall(db.query, db, "DROP TABLE IF EXISTS " .. t) end
    if remote then
      for _, t in ipairs(remote_tables) do pcall(remote.query, remote, "DROP TABLE IF EXISTS " .. t) end
      remote:close()
    end
    db:close()
  end)

  after_each(function() helpers.remove_temp_files() end)

  local function new_table(ddl)
    local name = helpers.unique_table()
    db:query(ddl:format(name))
    tables[#tables + 1] = name
    return name
  end

  -- A table t(id PK, v, s) holding ids 1..n; s has characters the file
  -- format escapes, and every seventh is NULL.
  local function filled(n)
    local name = new_table("CREATE TABLE %s (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(40) NULL) ENGINE=InnoDB")
    local vals = {}
    for i = 1, n do
      local s = i % 7 == 0 and "NULL" or db:quote(("r%d\ttab\nline\\back"):format(i))
      vals[#vals + 1] = ("(%d, %d, %s)"):format(i, i * 10, s)
    end
    db:query(("INSERT INTO %s VALUES %s"):format(name, table.concat(vals, ", ")))
    return name
  end

  -- id -> "v|s" of every row of a table.
  local function contents(conn, name)
    local t = {}
    for r in conn:query("SELECT id, v, s FROM " .. name):rows("a") do
      t[r[1]] = ("%s|%s"):format(r[2], tostring(r[3]))
    end
    return t
  end

  local function count(conn, name, where)
    return conn:query(("SELECT COUNT(*) FROM %s WHERE %s"):format(name, where or "1=1")):row(1, "a")[1]
  end

  local function get_remote()
    if not remote then remote = mylua.connect(helpers.tls_params()) end
    return remote
  end

  -- The archive file's rows, parsed back (the LOAD DATA default format).
  local UNESCAPE = { ["\\"] = "\\", t = "\t", n = "\n", r = "\r", ["0"] = "\0" }
  local function file_rows(path)
    local f = assert(io.open(path, "rb"))
    local text = f:read("a")
    f:close()
    assert.are.equal("\n", text:sub(-1), "the file ends with a whole line")
    local rows, header = {}, nil
    for line in text:gmatch("([^\n]*)\n") do
      local fields = {}
      for fld in (line .. "\t"):gmatch("([^\t]*)\t") do
        if fld == "\\N" then fields[#fields + 1] = "NULL"
        else fields[#fields + 1] = (fld:gsub("\\(.)", UNESCAPE)) end
      end
      if not header then header = fields else rows[#rows + 1] = fields end
    end
    return rows, header
  end

  describe("the stop facility", function()
    it("exists under any interpreter and reports no stop without a signal", function()
      assert.is_nil(mylua.stop_requested())
      local was = mylua.defer_stop(true)
      assert.is_boolean(was)
      assert.is_true(mylua.defer_stop(was))
      assert.is_nil(mylua.stop_requested())
      assert.has_error(function() mylua.defer_stop("yes") end)
    end)

    it("while deferred, the first SIGINT is only recorded; a second one ends the run at once", function()
      local h = start([[
        local mylua = require "mylua"
        mylua.defer_stop(true)
        print("ready") io.stdout:flush()
        while not mylua.stop_requested() do mylua.sleep(0.05) end
        print(mylua.stop_requested()) io.stdout:flush()
        while true do mylua.sleep(0.05) end
      ]])
      assert.are.equal("ready", h.read_line())
      h.signal("INT")
      assert.are.equal("interrupted by SIGINT", h.read_line())
      h.signal("INT")
      local _, code, err = h.finish()
      assert.are.equal(130, code)
      assert.truthy(err:find("interrupted again by SIGINT", 1, true), err)
    end)

    it("--timeout is not deferred, and a stop recorded takes effect when deferring ends", function()
      local h = start([[
        local mylua = require "mylua"
        mylua.defer_stop(true)
        while true do mylua.sleep(0.05) end
      ]], "--timeout", "0.5")
      local _, code, err = h.finish()
      assert.are.equal(4, code, err)
      h = start([[
        local mylua = require "mylua"
        mylua.defer_stop(true)
        print("ready") io.stdout:flush()
        while not mylua.stop_requested() do mylua.sleep(0.05) end
        print("step done") io.stdout:flush()
        mylua.defer_stop(false)
        print("never")
      ]])
      assert.are.equal("ready", h.read_line())
      h.signal("TERM")
      local out
      out, code, err = h.finish()
      assert.are.equal("step done\n", out)
      assert.are.equal(143, code)
      assert.truthy(err:find("interrupted by SIGTERM", 1, true), err)
    end)
  end)

  describe("each_chunk", function()
    it("sees every row once over a single key, in chunks of the size asked", function()
      local t = filled(57)
      local seen, sizes, ids = {}, {}, {}
      local s = batch.each_chunk(db, { table = t, chunk_size = 10 }, function(rows, info)
        sizes[#sizes + 1] = #rows
        assert.are.equal(#sizes, info.number)
        for _, r in ipairs(rows) do
          assert.is_nil(seen[r.id], "row seen twice")
          seen[r.id] = true
          ids[#ids + 1] = r.id
          assert.are.equal(r.id * 10, r.v)
        end
        assert.are.same({ rows[#rows].id }, info.last)
      end)
      assert.are.same({ 10, 10, 10, 10, 10, 7 }, sizes)
      assert.are.equal(57, #ids)
      for i = 1, 57 do assert.are.equal(i, ids[i]) end
      assert.are.equal(57, s.rows)
      assert.are.equal(6, s.chunks)
      assert.is_false(s.stopped)
    end)

    it("walks a composite key, with a condition and parameters, and stops when fn returns false", function()
      local t = new_table("CREATE TABLE %s (a INT, b VARCHAR(10), c INT, PRIMARY KEY (a, b))")
      local vals = {}
      for a = 1, 6 do
        for b = 1, 7 do vals[#vals + 1] = ("(%d, 'k%02d', %d)"):format(a, b, a * b) end
      end
      db:query(("INSERT INTO %s VALUES %s"):format(t, table.concat(vals, ", ")))
      local seen, n, sizes, last = {}, 0, {}, nil
      local s = batch.each_chunk(db, { table = t, chunk_size = 4, where = "c <> ?", params = { 6 } },
        function(rows)
          sizes[#sizes + 1] = #rows
          for _, r in ipairs(rows) do
            local k = r.a .. "/" .. r.b
            assert.is_nil(seen[k], "row seen twice: " .. k)
            seen[k] = true
            n = n + 1
            if last then assert.is_true(r.a > last[1] or (r.a == last[1] and r.b > last[2])) end
            last = { r.a, r.b }
            assert.are_not.equal(6, r.c)
          end
        end)
      local expected = count(db, t, "c <> 6")
      assert.are.equal(expected, n)
      assert.are.equal(expected, s.rows)
      for i = 1, #sizes - 1 do assert.are.equal(4, sizes[i]) end
      -- stop early
      local chunks = 0
      s = batch.each_chunk(db, { table = t, chunk_size = 5, mode = "a", columns = { "c" } }, function(rows)
        chunks = chunks + 1
        assert.are.equal(1, #rows[1])
        return chunks < 2
      end)
      assert.are.equal(2, s.chunks)
      assert.are.equal("stopped by the callback", s.stopped)
    end)

    it("refuses a table without a primary key clearly, and unknown options", function()
      local t = new_table("CREATE TABLE %s (x INT NOT NULL, y INT, UNIQUE KEY (x))")
      db:query("INSERT INTO " .. t .. " VALUES (1, 1), (2, 2), (3, 3)")
      local ok, err = pcall(batch.each_chunk, db, { table = t }, function() end)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("has no primary key", 1, true), err)
      -- with a key given it works
      local n = 0
      batch.each_chunk(db, { table = t, key = "x", chunk_size = 2 }, function(rows) n = n + #rows end)
      assert.are.equal(3, n)
      ok, err = pcall(batch.each_chunk, db, { table = "no_such_table_here" }, function() end)
      assert.truthy(tostring(err):find("does not exist", 1, true), err)
      ok, err = pcall(batch.purge, db, { table = t, where = "1=1", chunk = 5 })
      assert.truthy(tostring(err):find("unknown option 'chunk'", 1, true), err)
      ok, err = pcall(batch.purge, db, { table = t })
      assert.truthy(tostring(err):find("'where'", 1, true), err)
      ok, err = pcall(batch.purge, db, { table = t, where = "1=1", chunk_size = 0 })
      assert.truthy(tostring(err):find("'chunk_size'", 1, true), err)
      ok, err = pcall(batch.archive, db, { table = t, where = "1=1" })
      assert.truthy(tostring(err):find("dest_table", 1, true), err)
      assert.are.equal(3, count(db, t))
    end)
  end)

  describe("purge", function()
    it("deletes the matching rows chunk by chunk up to the limit, then the rest", function()
      local t = filled(100)
      local s = batch.purge(db, { table = t, where = "id % ? = 0", params = { 2 }, chunk_size = 5, limit = 23,
        progress = false })
      assert.are.equal(23, s.rows)
      assert.are.equal(5, s.chunks)
      assert.are.equal(0, count(db, t, "id % 2 = 0 AND id <= 46"))
      assert.are.equal(27, count(db, t, "id % 2 = 0"))
      assert.are.equal(50, count(db, t, "id % 2 = 1"))
      s = batch.purge(db, { table = t, where = "id % 2 = 0", chunk_size = 10 })
      assert.are.equal(27, s.rows)
      assert.are.equal(3, s.chunks)
      assert.are.equal(50, count(db, t))
      assert.are.equal(0, count(db, t, "id % 2 = 0"))
      assert.is_number(s.rate)
    end)

    it("pauses between chunks", function()
      local t = filled(30)
      local t0 = mylua.monotonic()
      local s = batch.purge(db, { table = t, where = "1=1", chunk_size = 10, pause = 0.2 })
      assert.is_true(mylua.monotonic() - t0 >= 0.4)
      assert.is_true(s.seconds >= 0.4)
      assert.are.equal(30, s.rows)
      assert.is_true(math.abs(s.rate - s.rows / s.seconds) < 1e-9, "rate " .. s.rate)
      assert.are.equal(0, count(db, t))
    end)

    it("counts what would go in a dry run and deletes nothing", function()
      local t = filled(50)
      local s = batch.purge(db, { table = t, where = "v > ?", params = { 200 }, chunk_size = 7, dry_run = true })
      assert.are.equal(30, s.rows)
      assert.are.equal(5, s.chunks)
      assert.is_true(s.dry_run)
      s = batch.purge(db, { table = t, where = "v > 200", dry_run = true, limit = 12 })
      assert.are.equal(12, s.rows)
      assert.are.equal(50, count(db, t))
    end)
  end)

  describe("archive", function()
    it("moves the rows to a table on the same connection", function()
      local t = filled(40)
      local before = contents(db, t)
      local dest = new_table("CREATE TABLE %s LIKE " .. t)
      local s = batch.archive(db, { table = t, where = "id > ?", params = { 15 }, dest_table = dest, chunk_size = 6 })
      assert.are.equal(25, s.rows)
      assert.are.equal(5, s.chunks)
      assert.are.equal(15, count(db, t))
      local moved = contents(db, dest)
      for id = 16, 40 do assert.are.equal(before[id], moved[id]) end
      assert.are.equal(25, count(db, dest))
    end)

    it("moves the rows to a table on another server, whose primary key must be the source's", function()
      local t = filled(33)
      local before = contents(db, t)
      local r = get_remote()
      local dest = helpers.unique_table()
      remote_tables[#remote_tables + 1] = dest
      r:query(("CREATE TABLE %s (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(40) NULL)"):format(dest))
      -- a row there already (a copy from a run killed before its DELETE) is overwritten, not doubled
      r:query(("INSERT INTO %s VALUES (3, -1, 'stale')"):format(dest))
      local s = batch.archive(db, { table = t, where = "1=1", dest_table = dest, dest_connection = r, chunk_size = 8 })
      assert.are.equal(33, s.rows)
      assert.are.equal(0, count(db, t))
      assert.are.same(before, contents(r, dest))
      local bad = helpers.unique_table()
      remote_tables[#remote_tables + 1] = bad
      r:query(("CREATE TABLE %s (id INT, v INT, s VARCHAR(40))"):format(bad))
      local t2 = filled(3)
      local ok, err = pcall(batch.archive, db, { table = t2, where = "1=1", dest_table = bad, dest_connection = r })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("must have the source's primary key", 1, true), err)
      assert.are.equal(3, count(db, t2))
    end)

    it("moves the rows to a file, escaped as LOAD DATA reads it, and the file loads back", function()
      local t = filled(20)
      local before = contents(db, t)
      local path = os.tmpname()
      os.remove(path)
      local s = batch.archive(db, { table = t, where = "id <= 14", dest_file = path, chunk_size = 4 })
      assert.are.equal(14, s.rows)
      local rows, header = file_rows(path)
      assert.are.same({ "id", "v", "s" }, header)
      assert.are.equal(14, #rows)
      for i, r in ipairs(rows) do
        assert.are.equal(i, tonumber(r[1]))
        assert.are.equal(before[i], r[2] .. "|" .. r[3])
      end
      -- a second run appends (no second header); LOAD DATA gives the same rows back
      s = batch.archive(db, { table = t, where = "1=1", dest_file = path, chunk_size = 4 })
      assert.are.equal(6, s.rows)
      local back = new_table("CREATE TABLE %s LIKE " .. t)
      local loader = helpers.connect{ local_infile = true }
      loader:query(("LOAD DATA LOCAL INFILE %s INTO TABLE %s IGNORE 1 LINES"):format(loader:quote(path), back))
      loader:close()
      assert.are.same(before, contents(db, back))
      os.remove(path)
    end)

    it("after a kill, cuts a partial line and deletes rows found in the file without writing them again", function()
      local t = filled(12)
      local before = contents(db, t)
      local path = os.tmpname()
      os.remove(path)
      batch.archive(db, { table = t, where = "id <= 4", dest_file = path, chunk_size = 4 })
      -- as if a run wrote rows 5..7 (synced) and died before its DELETE, in
      -- the middle of the next line
      local f = assert(io.open(path, "ab"))
      for r in db:query("SELECT id, v, s FROM " .. t .. " WHERE id BETWEEN 5 AND 7 ORDER BY id"):rows("a") do
        local fields = {}
        for i = 1, 3 do
          fields[i] = r[i] == mylua.null and "\\N" or tostring(r[i]):gsub("[\\\t\n]",
            { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n" })
        end
        f:write(table.concat(fields, "\t"), "\n")
      end
      f:write("8\t80\tr8")
      f:close()
      local s = batch.archive(db, { table = t, where = "1=1", dest_file = path, chunk_size = 4 })
      assert.are.equal(8, s.rows)
      assert.are.equal(3, s.already_archived)
      local rows = file_rows(path)
      assert.are.equal(12, #rows)
      for i, r in ipairs(rows) do
        assert.are.equal(i, tonumber(r[1]))
        assert.are.equal(before[i], r[2] .. "|" .. r[3])
      end
      assert.are.equal(0, count(db, t))
      os.remove(path)
    end)
  end)

  describe("killed with SIGKILL at random points and restarted", function()
    local N, KILLS = 300, 10

    -- A table as filled() makes it whose DELETE is slow (a trigger sleeps
    -- for each row), so that most kills land between a chunk's copy and
    -- its DELETE's commit, where losing or doubling rows would show.
    local function slow_filled()
      local t = filled(N)
      db:query(("CREATE TRIGGER %s_slow BEFORE DELETE ON %s FOR EACH ROW SET @slept = SLEEP(0.006)"):format(t, t))
      return t
    end

    -- Runs `job` (Lua source of the batch call) under the host program,
    -- killing it KILLS times at a random moment, then lets it finish.
    local function kill_and_restart(job)
      local source = ([[
        local mylua = require "mylua"
        local batch = require "mylua.batch"
        local db = mylua.connect(%s)
        local s = %s
        print("done", s.rows)
      ]]):format(PARAMS, job)
      local killed = 0
      for _ = 1, KILLS do
        local h = start(source, "--quiet")
        sleep(0.05 + math.random() * 0.3)
        h.signal("KILL")
        local out, code = h.finish()
        if code == 137 then killed = killed + 1 else assert.truthy(out:find("done"), out) end
      end
      local h = start(source, "--quiet")
      local out, code, err = h.finish()
      assert.are.equal(0, code, err)
      assert.truthy(out:find("^done"), out)
      assert.is_true(killed >= KILLS // 2, "killed " .. killed .. " times only: the job is too quick")
    end

    local JOB_OPTS = "chunk_size = 6, pause = 0.01"

    it("purge: every matching row gone, every other row kept", function()
      local t = slow_filled()
      local before = contents(db, t)
      kill_and_restart(("batch.purge(db, { table = %q, where = 'id %% 3 <> 0', %s })"):format(t, JOB_OPTS))
      local after = contents(db, t)
      for id, v in pairs(before) do
        if id % 3 == 0 then assert.are.equal(v, after[id]) else assert.is_nil(after[id]) end
      end
      assert.are.equal(N // 3, count(db, t))
    end)

    local function check_union(before, source_rows, archived)
      local seen = {}
      for id, v in pairs(source_rows) do seen[id] = v end
      for _, r in ipairs(archived) do
        assert.is_nil(seen[r.id], "row " .. r.id .. " in both, or archived twice")
        seen[r.id] = r.v
      end
      assert.are.same(before, seen)
    end

    it("archive to a table on the same connection: source and archive hold every row once", function()
      local t = slow_filled()
      local before = contents(db, t)
      local dest = new_table("CREATE TABLE %s LIKE " .. t)
      kill_and_restart(("batch.archive(db, { table = %q, where = 'id > 20', dest_table = %q, %s })"):format(
        t, dest, JOB_OPTS))
      local archived = {}
      for id, v in pairs(contents(db, dest)) do archived[#archived + 1] = { id = id, v = v } end
      check_union(before, contents(db, t), archived)
      assert.are.equal(20, count(db, t))
    end)

    it("archive to a file: source and file hold every row once", function()
      local t = slow_filled()
      local before = contents(db, t)
      local path = os.tmpname()
      os.remove(path)
      kill_and_restart(("batch.archive(db, { table = %q, where = '1=1', dest_file = %q, %s })"):format(
        t, path, JOB_OPTS))
      local archived = {}
      for _, r in ipairs(file_rows(path)) do
        archived[#archived + 1] = { id = math.tointeger(tonumber(r[1])), v = r[2] .. "|" .. r[3] }
      end
      check_union(before, contents(db, t), archived)
      assert.are.equal(0, count(db, t))
      os.remove(path)
    end)

    it("archive to a table on another server: source and archive hold every row once", function()
      local t = slow_filled()
      local before = contents(db, t)
      local r = get_remote()
      local dest = helpers.unique_table()
      remote_tables[#remote_tables + 1] = dest
      r:query(("CREATE TABLE %s (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(40) NULL)"):format(dest))
      local job = ("batch.archive(db, { table = %q, where = '1=1', dest_table = %q, "
        .. "dest_connection = mylua.connect(%s), %s })"):format(
        t, dest, helpers.options_source(helpers.tls_params()), JOB_OPTS)
      kill_and_restart(job)
      local archived = {}
      for id, v in pairs(contents(r, dest)) do archived[#archived + 1] = { id = id, v = v } end
      check_union(before, contents(db, t), archived)
      assert.are.equal(0, count(db, t))
    end)
  end)

  describe("retries", function()
    -- A purge of table t in another process, whose lock waits give up after
    -- lock_wait seconds; it prints its connection id first, then the rows
    -- and retries of its summary.  Returns the handle and that id.
    local function start_purge(t, lock_wait)
      local h = start(([[
        local mylua = require "mylua"
        local db = mylua.connect(%s)
        db:query("SET SESSION innodb_lock_wait_timeout = %d")
        print(db.thread_id) io.stdout:flush()
        local s = require("mylua.batch").purge(db, { table = %q, where = "1=1", chunk_size = 10, retry_wait = 0.05 })
        print(s.rows, s.retries)
      ]]):format(PARAMS, lock_wait, t))
      return h, assert(math.tointeger(tonumber(h.read_line())), "no connection id")
    end

    it("re-runs a chunk chosen as a deadlock victim (1213) and completes it", function()
      local t = filled(10)
      local heavy = filled(200)
      local other = helpers.connect()
      -- the other transaction changes many rows, so InnoDB rolls the purge
      -- back (the lighter one) when the two deadlock
      other:query("START TRANSACTION")
      other:query("UPDATE " .. heavy .. " SET v = v + 1")
      other:query("SELECT id FROM " .. t .. " WHERE id = 10 FOR UPDATE")
      -- the purge holds rows 1..9 and waits for row 10 (its own transaction:
      -- a statement of a job killed by an earlier test may still wait too)
      local h, purge_id = start_purge(t, 30)
      -- INNODB_TRX is a cache InnoDB refreshes only after 0.1 s without a
      -- read: looking more often would see the first copy forever
      wait_until("the purge waits for a lock", function()
        return db:query("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"
          .. " AND trx_mysql_thread_id = ?", purge_id):row(1, "a")[1] == 1
      end, 0.25)
      -- now the other one wants row 1: a cycle
      other:query("SELECT id FROM " .. t .. " WHERE id = 1 FOR UPDATE")
      other:query("ROLLBACK")
      local out, code, err = h.finish()
      other:close()
      assert.are.equal(0, code, err)
      assert.are.equal("10\t1\n", out)
      assert.truthy(err:find("ERROR 1213", 1, true), err)
      assert.truthy(err:find("retry 1 of 5", 1, true), err)
      assert.are.equal(0, count(db, t))
    end)

    it("re-runs a chunk that timed out waiting for a lock (1205) once the lock is free", function()
      local t = filled(10)
      local other = helpers.connect()
      -- on a failure too: the lock it holds would keep teardown's DROP waiting
      finally(function() if not other.closed then other:close() end end)
      other:query("START TRANSACTION")
      other:query("SELECT id FROM " .. t .. " WHERE id = 10 FOR UPDATE")
      local h, purge_id = start_purge(t, 2)
      -- the transaction waiting for row 10, and when it started: a retry
      -- is a new transaction, started at least the lock wait timeout later
      local function waiting_since()
        local r = db:query("SELECT trx_started FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"
          .. " AND trx_mysql_thread_id = ?", purge_id):row(1, "a")
        return r and tostring(r[1])
      end
      local first
      wait_until("the purge waits for the lock", function()
        first = waiting_since()
        return first ~= nil
      end, 0.25)
      wait_until("the purge waits again after the timeout", function()
        local now = waiting_since()
        return now ~= nil and now ~= first
      end, 0.25)
      other:query("ROLLBACK")
      local out, code, err = h.finish()
      assert.are.equal(0, code, err)
      assert.are.equal("10\t1\n", out)
      assert.truthy(err:find("ERROR 1205", 1, true), err)
      assert.truthy(err:find("retry 1 of 5", 1, true), err)
      assert.are.equal(0, count(db, t))
    end)
  end)

  describe("throttling", function()
    it("waits while Threads_running is above the maximum", function()
      local t = filled(20)
      local h = start(([[
        local db = require("mylua").connect(%s)
        print("ready") io.stdout:flush()
        db:query("SELECT SLEEP(1.2)")
      ]]):format(PARAMS))
      assert.are.equal("ready", h.read_line())
      wait_until("the SLEEP runs", function()
        return db:query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(1.2)%'")
          :row(1, "a")[1] == 1
      end)
      local s = batch.purge(db, { table = t, where = "1=1", chunk_size = 10, max_threads_running = 1,
        throttle_wait = 0.1 })
      local _, code = h.finish()
      assert.are.equal(0, code)
      assert.are.equal(20, s.rows)
      assert.is_true(s.throttle_waits >= 3, "waits: " .. s.throttle_waits)
      assert.is_true(s.throttled >= 0.3)
      -- with nothing else running, no wait
      t = filled(5)
      s = batch.purge(db, { table = t, where = "1=1", max_threads_running = 1 })
      assert.are.equal(0, s.throttle_waits)
    end)

    it("refuses a replica connection that is not a replica (the sandbox server)", function()
      local t = filled(5)
      local ok, err = pcall(batch.purge, db, { table = t, where = "1=1", replica = helpers.connect(), max_lag = 5 })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("is not a replica", 1, true), err)
      assert.are.equal(5, count(db, t))
    end)

    -- A stub replica connection: answers SHOW ALL SLAVES STATUS with the
    -- channels of answers[i] (a list of {name, lag}) on its i-th question,
    -- or refuses it (as MySQL does) when all_refused.
    local function stub_replica(answers, all_refused)
      local stub = { asked = 0, sql = {} }
      function stub.query(_, sql)
        stub.sql[#stub.sql + 1] = sql
        if sql == "SHOW ALL SLAVES STATUS" and all_refused then
          error(mylua.new_error(1064, "You have an error in your SQL syntax", "42000"), 0)
        end
        assert.are.equal(all_refused and "SHOW SLAVE STATUS" or "SHOW ALL SLAVES STATUS", sql)
        stub.asked = stub.asked + 1
        local channels = answers[math.min(stub.asked, #answers)]
        return { rows = function()
          local i = 0
          return function()
            i = i + 1
            local c = channels[i]
            if not c then return nil end
            return { Connection_name = c[1], Seconds_Behind_Master = c[2], Slave_IO_Running = "Yes" }
          end
        end }
      end
      return stub
    end

    it("waits while the replica lags or replication is stopped (a stub replica connection, SHOW SLAVE STATUS)",
      function()
        -- no replica is set up here: a stub refuses SHOW ALL SLAVES STATUS,
        -- and answers SHOW SLAVE STATUS as one would
        local stub = stub_replica({ { { "", mylua.null } }, { { "", 30 } }, { { "", 12 } }, { { "", 2 } } }, true)
        local t = filled(10)
        local s = batch.purge(db, { table = t, where = "1=1", chunk_size = 5, replica = stub, max_lag = 5,
          throttle_wait = 0.05 })
        assert.are.equal(10, s.rows)
        assert.are.equal(3, s.throttle_waits) -- NULL, 30, 12
        assert.is_true(stub.asked >= 5)
        -- refused once, then never asked again
        assert.are.equal("SHOW ALL SLAVES STATUS", stub.sql[1])
        for i = 2, #stub.sql do assert.are.equal("SHOW SLAVE STATUS", stub.sql[i]) end
      end)

    it("waits while any channel of SHOW ALL SLAVES STATUS lags or is stopped (a stub replica connection)", function()
      local stub = stub_replica({
        { { "", 0 }, { "east", mylua.null } },
        { { "", 0 }, { "east", 40 } },
        { { "", 9 }, { "east", 0 } },
        { { "", 1 }, { "east", 2 } },
      })
      local t = filled(10)
      local s = batch.purge(db, { table = t, where = "1=1", chunk_size = 5, replica = stub, max_lag = 5,
        throttle_wait = 0.05 })
      assert.are.equal(10, s.rows)
      assert.are.equal(3, s.throttle_waits) -- east NULL, east 40, default 9
      for _, sql in ipairs(stub.sql) do assert.are.equal("SHOW ALL SLAVES STATUS", sql) end
    end)

    it("names the stopped channel in the log", function()
      local t = filled(5)
      local h = start(([[
        local answers = { { { "", 0 }, { "east", require("mylua").null } }, { { "", 0 }, { "east", 0 } } }
        local asked = 0
        local stub = { query = function()
          asked = asked + 1
          local channels = answers[math.min(asked, 2)]
          return { rows = function()
            local i = 0
            return function()
              i = i + 1
              local c = channels[i]
              return c and { Connection_name = c[1], Seconds_Behind_Master = c[2] }
            end
          end }
        end }
        local db = require("mylua").connect(%s)
        local s = require("mylua.batch").purge(db, { table = %q, where = "1=1", replica = stub, max_lag = 1,
          throttle_wait = 0.05 })
        print(s.rows, s.throttle_waits)
      ]]):format(PARAMS, t))
      local out, code, err = h.finish()
      assert.are.equal(0, code, err)
      assert.are.equal("5\t1\n", out)
      assert.truthy(err:find("waiting: replication channel 'east' is stopped (Seconds_Behind_Master is NULL)", 1,
        true), err)
    end)

    -- A proxy of db whose SHOW GLOBAL STATUS LIKE 'wsrep_flow_control_paused%'
    -- answers as a Galera node would, the _ns counter growing by
    -- fractions[i] of the wall time before its i-th read (the last one
    -- repeating); everything else goes to db.
    local function flow_control_proxy(fractions, with_ns)
      local p = { reads = 0 }
      local ns, last = 0, mylua.monotonic()
      local function answer()
        p.reads = p.reads + 1
        local now = mylua.monotonic()
        local f = fractions[math.min(p.reads, #fractions)]
        ns = ns + math.floor((now - last) * f * 1e9)
        last = now
        local rows = { { "wsrep_flow_control_paused", ("%.6f"):format(f) } }
        if with_ns then rows[2] = { "wsrep_flow_control_paused_ns", tostring(ns) } end
        return { rows = function()
          local i = 0
          return function() i = i + 1 return rows[i] end
        end }
      end
      return setmetatable(p, { __index = function(_, k)
        if k == "query" then
          return function(_, sql, ...)
            if sql:find("wsrep", 1, true) then
              p.sql = sql
              return answer()
            end
            return db:query(sql, ...)
          end
        end
        local v = db[k]
        if type(v) == "function" then return function(_, ...) return v(db, ...) end end
        return v
      end })
    end

    it("waits while Galera flow control paused replication more than max_flow_control of the time (a stub node)",
      function()
        local t = filled(20)
        -- the first read is the start of the measure; then 90 %, 50 %, 5 %, 0 %
        local node = flow_control_proxy({ 0, 0.9, 0.5, 0.05, 0 }, true)
        local s = batch.purge(node, { table = t, where = "1=1", chunk_size = 5, max_flow_control = 0.1,
          throttle_wait = 0.1, log = false })
        assert.are.equal(20, s.rows)
        assert.are.equal(0, count(db, t))
        assert.are.equal(2, s.throttle_waits) -- 90 % and 50 %
        assert.is_true(s.throttled >= 0.2 - 0.01, "throttled " .. s.throttled)
        assert.is_true(node.reads >= 6, "reads " .. node.reads) -- before each chunk and after each wait
        assert.truthy(node.sql:find("SHOW GLOBAL STATUS LIKE", 1, true), node.sql)
        -- without the _ns counter, wsrep_flow_control_paused as the server gives it
        t = filled(10)
        node = flow_control_proxy({ 0.5, 0.3, 0.05 }, false)
        s = batch.purge(node, { table = t, where = "1=1", chunk_size = 5, max_flow_control = 0.1,
          throttle_wait = 0.05, log = false })
        assert.are.equal(10, s.rows)
        assert.are.equal(2, s.throttle_waits)
      end)

    it("refuses max_flow_control on a server that is no Galera node (the sandbox), and bad values", function()
      local t = filled(5)
      local ok, err = pcall(batch.purge, db, { table = t, where = "1=1", max_flow_control = 0.1, log = false })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("is not a Galera node", 1, true), err)
      assert.are.equal(5, count(db, t))
      for _, bad in ipairs({ -0.1, 1, 1.5, "0.1" }) do
        ok, err = pcall(batch.purge, db, { table = t, where = "1=1", max_flow_control = bad })
        assert.is_false(ok)
        assert.truthy(tostring(err):find("option 'max_flow_control' must be a fraction", 1, true), tostring(err))
      end
    end)
  end)

  describe("a lost connection", function()
    it("ends the job with the error when the connection cannot reconnect, or re-runs the chunk when it can",
      function()
        local t = filled(30)
        local other = helpers.connect()
        local c = helpers.connect()
        local id = c.thread_id
        local chunks = 0
        local ok, res = pcall(batch.each_chunk, c, { table = t, chunk_size = 10, retry_wait = 0.01, log = false },
          function()
            chunks = chunks + 1
            if chunks == 2 then
              other:query("KILL CONNECTION " .. id)
              c:query("SELECT 1")
            end
          end)
        other:close()
        if c.reconnect then
          assert.is_true(ok, tostring(res))
          assert.are.equal(30, res.rows)
          assert.are.equal(1, res.reconnects)
          assert.are.equal(4, chunks) -- the second one twice
        else
          assert.is_false(ok)
          assert.is_true(mylua.is_error(res) and res.retryable, tostring(res))
          assert.are.equal(2, chunks)
        end
        pcall(c.close, c)
      end)
  end)

  describe("the progress bar", function()
    -- The purge of a 30-row table in chunks of 10, its stderr on a
    -- pseudo-terminal (spec/support/pty_session.py): the transcript.
    local function purge_on_terminal(extra)
      local t = filled(30)
      local script = helpers.temp_script(([[
        local db = require("mylua").connect(%s)
        require("mylua.batch").purge(db, { table = %q, where = "1=1", chunk_size = 10, pause = 0.15%s })
      ]]):format(PARAMS, t, extra))
      local cmd = { "python3", "spec/support/pty_session.py", "--timeout", "30", "--", helpers.bin(), script }
      for i, a in ipairs(cmd) do cmd[i] = q(a) end
      local out, err, code = helpers.run(table.concat(cmd, " "), "wait\n")
      assert.are.equal(0, code, err)
      local transcript, status = out:match("^(.*)\n<<exit (%w+)>>\n$")
      assert.truthy(transcript, out)
      assert.are.equal("0", status, transcript)
      assert.are.equal(0, count(db, t))
      return transcript, t
    end

    it("is drawn through mylua.progress on a terminal and ends with the count, rate and time", function()
      local transcript = purge_on_terminal("")
      assert.truthy(transcript:find("\r\27[K", 1, true), transcript)
      -- the last drawing is the final line: "purge <table>  30  N/s  in 0:00"
      local final = transcript:match(".*\27%[K([^\r\n]*)\r?\n")
      assert.truthy(final, transcript)
      assert.truthy(final:find("^purge ") and final:find("  30  [%d.]+/s  in %d+:%d%d$"), final)
      assert.truthy(transcript:find("purge [^\n]*: 30 rows in 3 chunks"), transcript)
    end)

    it("is not drawn with progress = false, nor when stderr is no terminal", function()
      local transcript = purge_on_terminal(", progress = false")
      assert.falsy(transcript:find("\27[K", 1, true), transcript)
      assert.truthy(transcript:find("purge [^\n]*: 30 rows in 3 chunks"), transcript)
      local t = filled(30)
      local out, err, code = helpers.run_host({ "-e", ([[
        local db = require("mylua").connect(%s)
        require("mylua.batch").purge(db, { table = %q, where = "1=1", chunk_size = 10 })
      ]]):format(PARAMS, t) })
      assert.are.equal(0, code, err)
      assert.are.equal("", out)
      assert.falsy(err:find("\27", 1, true), err)
      assert.truthy(err:find("purge [^\n]*: 30 rows in 3 chunks"), err)
    end)
  end)

  describe("a clean stop", function()
    it("SIGINT during a purge stops between chunks: the chunk in progress committed, exit 130, summary logged", function()
      local t = filled(60)
      local h = start(([[
        local db = require("mylua").connect(%s)
        print("ready") io.stdout:flush()
        require("mylua.batch").purge(db, { table = %q, where = "SLEEP(0.02) = 0", chunk_size = 5 })
        print("not reached")
      ]]):format(PARAMS, t))
      assert.are.equal("ready", h.read_line())
      wait_until("a chunk is done", function() return count(db, t) < 60 end)
      h.signal("INT")
      local out, code, err = h.finish()
      assert.are.equal(130, code)
      assert.are.equal("", out)
      local left = count(db, t)
      assert.is_true(left > 0 and left < 60)
      assert.are.equal(0, left % 5, "a chunk cut in the middle")
      local rows, chunks = err:match("purge [^:]*: (%d+) rows in (%d+) chunks")
      assert.truthy(rows, err)
      assert.are.equal(60 - left, tonumber(rows))
      assert.truthy(err:find("stopped: interrupted by SIGINT", 1, true), err)
      assert.falsy(err:find("ERROR", 1, true), err)
    end)
  end)

  describe("with a real replica that has two replication channels", function()
    local sandbox_pair = require "support.sandbox_pair"
    local servers, primary, replica

    local function sync()
      local m = primary:query("SHOW MASTER STATUS"):row(1)
      local got = replica:query("SELECT MASTER_POS_WAIT(?, ?, 30, '')", m.File, m.Position):row(1, "a")[1]
      assert(got ~= mylua.null and got >= 0, "the replica did not catch up: " .. tostring(got))
    end

    setup(function()
      servers = sandbox_pair.start(2, {
        { "--server-id=1", "--log-bin=primary-bin", "--binlog-format=ROW" },
        { "--server-id=2", "--relay-log=replica-relay", "--skip-slave-start" },
      })
      primary, replica = mylua.connect(servers[1].params), mylua.connect(servers[2].params)
      local m = primary:query("SHOW MASTER STATUS"):row(1)
      local p = servers[1].params
      replica:query(("CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %d, MASTER_USER = %s, "
        .. "MASTER_PASSWORD = %s, MASTER_LOG_FILE = %s, MASTER_LOG_POS = %d, MASTER_CONNECT_RETRY = 1")
        :format(servers[1].port, replica:quote(p.user), replica:quote(p.password), replica:quote(m.File), m.Position))
      replica:query("START SLAVE")
      -- a second channel, configured and never started: its lag is NULL
      replica:query("CHANGE MASTER 'spare' TO MASTER_HOST = '127.0.0.1', MASTER_PORT = 1, MASTER_USER = 'nobody'")
      wait_until("replication runs", function()
        local st = replica:query("SHOW SLAVE STATUS"):row(1)
        assert(st.Last_IO_Errno == 0 and st.Last_SQL_Errno == 0, st.Last_IO_Error .. st.Last_SQL_Error)
        return st.Slave_IO_Running == "Yes" and st.Slave_SQL_Running == "Yes"
      end)
    end)

    teardown(function()
      sandbox_pair.stop(servers)
      if replica then pcall(replica.close, replica) end
      if primary then pcall(primary.close, primary) end
    end)

    it("waits while a channel other than the default one is stopped, then purges once it is gone", function()
      local t = helpers.unique_table()
      primary:query(("CREATE TABLE %s (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB"):format(t))
      primary:query(("INSERT INTO %s SELECT seq, seq FROM seq_1_to_40"):format(t))
      sync()
      -- the default channel alone says all is well
      local default = replica:query("SHOW SLAVE STATUS")
      assert.are.equal(1, #default)
      assert.are.equal(0, default:row(1).Seconds_Behind_Master)
      local all = replica:query("SHOW ALL SLAVES STATUS")
      assert.are.equal(2, #all)
      local h = start(([[
        local mylua = require "mylua"
        local db = mylua.connect(%s)
        local replica = mylua.connect(%s)
        print("ready") io.stdout:flush()
        local s = require("mylua.batch").purge(db, { table = %q, where = "v %% 2 = 0", chunk_size = 5,
          replica = replica, max_lag = 5, throttle_wait = 0.1 })
        print(s.rows, s.throttle_waits > 5)
      ]]):format(helpers.options_source(servers[1].params), helpers.options_source(servers[2].params), t))
      assert.are.equal("ready", h.read_line())
      sleep(1.2)
      local left = primary:query("SELECT COUNT(*) FROM " .. t):row(1, "a")[1]
      replica:query("RESET SLAVE 'spare' ALL")
      local out, code, err = h.finish()
      assert.are.equal(0, code, err)
      assert.are.equal(40, left) -- nothing deleted while the channel was stopped
      assert.are.equal("20\ttrue\n", out)
      assert.truthy(err:find("waiting: replication channel 'spare' is stopped", 1, true), err)
      sync()
      assert.are.equal(20, replica:query("SELECT COUNT(*) FROM " .. t):row(1, "a")[1])
    end)
  end)
end)
