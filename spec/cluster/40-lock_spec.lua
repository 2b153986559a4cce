-- --lock and the migration lock on a Galera cluster, where GET_LOCK is
-- only the node's: two runs talking to two different nodes at the same
-- time, one of them runs (and with GET_LOCK both would); a node killed
-- during a migration, the migration finished by a run on another node once
-- the dead run's lock row went stale, nothing applied twice.

local helpers = require "helpers"
local cluster = require "support.cluster"

local bin = helpers.bin()
local q = helpers.shell_quote

local function node_args(i, ...)
  local p = cluster.params(i)
  return helpers.append({ "--host=" .. p.host, "--port=" .. p.port, "--user=" .. p.user,
    "--password=" .. p.password, "--database=" .. p.database }, ...)
end

-- The host program in the background: read_line(), finish() -> the rest of
-- stdout, the exit code, stderr.
local function start(args)
  return helpers.start(helpers.append({ bin, "--timeout", "120" }, table.unpack(args)))
end

local function sleep(s) os.execute("sleep " .. s) end

-- A script that says it runs, then waits for the flag file to exist.
local function waiting_script(flag)
  return ([[print("running") io.stdout:flush()
    while not io.open(%q) do require("mylua").sleep(0.05) end]]):format(flag)
end

describe("the cluster lock on Galera", function()
  local observer

  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
    observer = cluster.connect(3)
    observer:query("SET SESSION wsrep_sync_wait = 1") -- reads see what the cluster committed
  end)

  teardown(function()
    pcall(observer.query, observer, "DELETE FROM mylua_locks WHERE name LIKE 'spec40-%' "
      .. "OR name LIKE 'mylua_migrate.%'")
    observer:close()
  end)

  -- Two runs with the same --lock, on nodes 1 and 2, started together:
  -- their outputs and exit codes, in node order.
  local function race(name, method)
    local flag = os.tmpname()
    os.remove(flag)
    local runs = {}
    for i = 1, 2 do
      runs[i] = start(node_args(i, "--lock", name, method and ("--lock-method=" .. method) or "--lock-stale=30",
        "-e", waiting_script(flag)))
    end
    -- each either runs (says so) or exits 3 at once; a line or the end
    local first = {}
    for i = 1, 2 do first[i] = runs[i].read_line() end
    assert(io.open(flag, "w")):close()
    local out = {}
    for i = 1, 2 do
      local rest, code, err = runs[i].finish()
      out[i] = { line = first[i], rest = rest, code = code, err = err }
    end
    os.remove(flag)
    return out
  end

  it("lets exactly one of two --lock runs on two nodes run, every time", function()
    for round = 1, 5 do
      local name = ("spec40-%d-%d"):format(math.random(1, 1 << 30), round)
      local r = race(name)
      local ran, held = 0, 0
      for i = 1, 2 do
        if r[i].line == "running" then
          ran = ran + 1
          assert.are.same({ "", 0, "" }, { r[i].rest, r[i].code, r[i].err })
        else
          held = held + 1
          assert.is_nil(r[i].line)
          assert.are.equal(3, r[i].code, r[i].err)
          assert.truthy(r[i].err:find(("mylua: lock '%s' is held by another run"):format(name), 1, true),
            r[i].err)
        end
      end
      assert.are.same({ 1, 1 }, { ran, held }, "round " .. round)
      -- released: the row is gone on every node
      assert.are.equal(0, observer:query("SELECT COUNT(*) FROM mylua_locks WHERE name = ?", name):row(1, "a")[1])
    end
  end)

  it("would let both run with GET_LOCK, which is node-local", function()
    local r = race(("spec40-getlock-%d"):format(math.random(1, 1 << 30)), "get_lock")
    for i = 1, 2 do
      assert.are.equal("running", r[i].line, "run on node " .. i .. ": " .. r[i].err)
      assert.are.equal(0, r[i].code)
    end
  end)

  it("names the holder on the other node", function()
    local name = ("spec40-holder-%d"):format(math.random(1, 1 << 30))
    local flag = os.tmpname()
    os.remove(flag)
    local first = start(node_args(1, "--lock", name, "-e", waiting_script(flag)))
    assert.are.equal("running", first.read_line())
    local out, err, code = helpers.run_host(node_args(2, "--lock", name, "-e", "print('ran')"))
    assert(io.open(flag, "w")):close()
    local _, code1 = first.finish()
    os.remove(flag)
    assert.are.same({ "", 3, 0 }, { out, code, code1 })
    assert.truthy(err:find(("pid %d, since"):format(first.pid), 1, true), err)
  end)

  describe("a node killed during a migration", function()
    local dir

    before_each(function()
      dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir " .. q(dir)))
      observer:query("DROP TABLE IF EXISTS spec40_history, spec40_applied")
      observer:query("CREATE TABLE spec40_applied (version INT PRIMARY KEY, node INT) ENGINE=InnoDB")
    end)

    after_each(function()
      cluster.ensure_all_synced()
      os.execute("rm -rf " .. q(dir))
      observer:query("DROP TABLE IF EXISTS spec40_history, spec40_applied")
      observer:query("DELETE FROM mylua_locks WHERE name LIKE 'mylua_migrate.%'")
    end)

    it("is finished by a run on another node once the dead run's lock row is stale, nothing twice", function()
      for v = 1, 3 do
        local f = assert(io.open(("%s/2026010100000%d_m%d.sql"):format(dir, v, v), "wb"))
        f:write(("-- migrate:up\nINSERT INTO spec40_applied VALUES (%d, @@port);\nDO SLEEP(2);\n"
          .. "-- migrate:down\nDELETE FROM spec40_applied WHERE version = %d;\n"):format(v, v))
        f:close()
      end
      local migrate_args = { "migrate", "up", "--dir", dir, "--table", "spec40_history", "--lock-stale", "3",
        "--lock-timeout", "90" }
      local a = start(node_args(1, table.unpack(migrate_args)))
      -- the first migration applied, the second one running: kill node 1
      local deadline = os.time() + 30
      while observer:query("SELECT COUNT(*) FROM spec40_applied"):row(1, "a")[1] < 1 do
        assert(os.time() < deadline, "the first migration never showed")
        sleep(0.1)
      end
      -- a second run, on node 2, waits for the lock meanwhile
      local b = start(node_args(2, table.unpack(migrate_args)))
      sleep(0.5)
      local held = observer:query("SELECT pid FROM mylua_locks WHERE name LIKE 'mylua_migrate.%'"):row(1, "a")
      assert.are.equal(a.pid, held and held[1], "the first run does not hold the lock row")
      cluster.kill(1)
      local _, code_a, err_a = a.finish()
      assert.are_not.equal(0, code_a, "the run on the killed node cannot have finished")
      local out_b, code_b, err_b = b.finish()
      assert.are.equal(0, code_b, err_b)
      assert.truthy(out_b:find("applied 20260101000003_m3", 1, true), out_b)
      -- every migration once, the first on node 1 (each row says on which port)
      local rows = {}
      for r in observer:query("SELECT version, node FROM spec40_applied ORDER BY version"):rows("a") do
        rows[#rows + 1] = r[1]
      end
      assert.are.same({ 1, 2, 3 }, rows, err_a)
      local statuses = {}
      for r in observer:query("SELECT version, status FROM spec40_history ORDER BY version"):rows("a") do
        statuses[#statuses + 1] = r[2]
      end
      assert.are.same({ "success", "success", "success" }, statuses)
      assert.are.equal(cluster.params(1).port,
        observer:query("SELECT node FROM spec40_applied WHERE version = 1"):row(1, "a")[1])
      assert.are.equal(0, observer:query("SELECT COUNT(*) FROM mylua_locks WHERE name LIKE 'mylua_migrate.%'")
        :row(1, "a")[1])
    end)
  end)
end)
