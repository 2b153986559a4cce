-- The migration runner (mylua.migrate and `mylua migrate`) against the
-- real server: up, down and redo from the command line and from Lua, .sql
-- and .lua migrations, dry runs that change nothing, checksums, the named
-- lock between two runs, a run killed between two DDL statements and the
-- repair after it, failures recorded with their statement, transactional
-- migrations rolled back, missing and out-of-order files, baseline.
-- Every test has its own database and directory.

local helpers = require "helpers"
require "mylua" -- the connection methods migrate uses
local migrate = require "mylua.migrate"
local sha256 = require("mylua.core").sha256

local bin = helpers.bin()
local q = helpers.shell_quote

local function sh(cmd)
  local ok = os.execute(cmd)
  assert(ok, "failed: " .. cmd)
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local counter = 0

describe("mylua migrate", function()
  local observer
  local ctx -- this test's database, directory and connection

  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
    observer = helpers.connect()
  end)

  teardown(function()
    if observer then observer:close() end
  end)

  before_each(function()
    counter = counter + 1
    local name = ("mylua_mig_%d_%d"):format(counter, math.random(1, 1 << 30))
    observer:query("CREATE DATABASE " .. name)
    local dir = os.tmpname()
    os.remove(dir)
    sh("mkdir " .. q(dir))
    ctx = { database = name, dir = dir }
  end)

  after_each(function()
    if ctx.db then ctx.db:close() end
    observer:query("DROP DATABASE IF EXISTS " .. ctx.database)
    sh("rm -rf " .. q(ctx.dir))
    helpers.remove_temp_files()
  end)

  local function conn()
    if not ctx.db then ctx.db = helpers.connect{ database = ctx.database } end
    return ctx.db
  end

  local function file(fname, text)
    write(ctx.dir .. "/" .. fname, text)
  end

  local function conn_args()
    local p = helpers.params()
    return { "--no-defaults", "--host=" .. p.host, "--port=" .. p.port, "--user=" .. p.user,
             "--password=" .. p.password, "--database=" .. ctx.database }
  end

  -- `mylua [conn] migrate ARGS --dir DIR`: stdout, stderr, exit code.
  local function cli(...)
    local args = helpers.append(conn_args(), "migrate", ...)
    args[#args + 1] = "--dir=" .. ctx.dir
    return helpers.run_host(args)
  end

  -- Starts `mylua [conn] migrate ARGS --dir DIR` in the background.
  local function start(...)
    local args = helpers.append({ bin }, table.unpack(conn_args()))
    args = helpers.append(args, "--timeout=60", "migrate", ...)
    args[#args + 1] = "--dir=" .. ctx.dir
    local h = helpers.start(args)
    return {
      pid = h.pid,
      finish = function()
        local out, code, err = h.finish()
        return out, err, code
      end,
    }
  end

  local function tables()
    local list = {}
    for row in observer:query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? "
        .. "ORDER BY TABLE_NAME", ctx.database):rows("a") do
      list[#list + 1] = row[1]
    end
    return table.concat(list, " ")
  end

  local function history(tbl)
    local rows = {}
    local ok, res = pcall(observer.query, observer, ("SELECT * FROM %s.%s ORDER BY version"):format(
      ctx.database, tbl or "mylua_migrations"))
    if not ok then return nil end
    for row in res:rows() do rows[#rows + 1] = row end
    return rows
  end

  local function count(sql)
    return observer:query(sql):row(1, "a")[1]
  end

  local function wait_until(what, pred)
    for _ = 1, 200 do
      if pred() then return end
      observer:query("DO SLEEP(0.05)")
    end
    error("gave up waiting: " .. what)
  end

  local USERS = [[
-- migrate:up
CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20));
CREATE INDEX users_name ON users (name);

-- migrate:down
DROP TABLE users;
]]
  local ORDERS = [[
-- migrate:up
CREATE TABLE orders (id INT PRIMARY KEY);
-- migrate:down
DROP TABLE orders;
]]

  describe("from the command line", function()
    it("writes a new migration with both sections, named by the UTC time", function()
      local out, err, code = cli("new", "add_users")
      assert.are.equal(0, code, err)
      local path = out:match("^(.-)\n$")
      local version = path:match("/(%d+)_add_users%.sql$")
      assert.is_truthy(version, out)
      assert.are.equal(14, #version)
      assert.is_true(math.abs(os.time(os.date("!*t")) - os.time{ year = tonumber(version:sub(1, 4)),
        month = tonumber(version:sub(5, 6)), day = tonumber(version:sub(7, 8)), hour = tonumber(version:sub(9, 10)),
        min = tonumber(version:sub(11, 12)), sec = tonumber(version:sub(13, 14)) }) < 120)
      local text = slurp(path)
      assert.is_truthy(text:find("^%-%- migrate:up\n"))
      assert.is_truthy(text:find("\n%-%- migrate:down\n"))
      -- a second in the same second gets the next version
      local out2 = cli("new", "add_users")
      assert.are_not.equal(path, out2:match("^(.-)\n$"))
      assert.are.equal(0, select(3, cli("new", "x", "--lua")))
      assert.is_truthy(tables() == "", "new touched the database")
    end)

    it("applies, lists, undoes and redoes migrations, recording who, where, when and how long", function()
      file("001_users.sql", USERS)
      file("002_orders.sql", ORDERS)
      local out, err, code = cli("status")
      assert.are.equal(0, code, err)
      assert.is_truthy(out:find("1%s+pending%s+%-%s+users"), out)
      assert.is_truthy(out:find("2 pending"), out)
      assert.is_nil(history(), "status created the history table")

      out, err, code = cli("up")
      assert.are.equal(0, code, err)
      assert.is_truthy(out:find("applied 1_users", 1, true), out)
      assert.is_truthy(out:find("applied 2_orders", 1, true), out)
      assert.are.equal("mylua_migrations orders users", tables())
      local h = history()
      assert.are.equal(2, #h)
      local user = observer:query("SELECT USER()"):row(1, "a")[1]
      local host = slurp("/proc/sys/kernel/hostname"):match("^(.-)%s*$")
      local os_user = os.getenv("USER") or os.getenv("LOGNAME")
      if not os_user then
        local p = io.popen("id -un")
        os_user = p:read("l")
        p:close()
      end
      for _, row in ipairs(h) do
        assert.are.equal("success", row.status)
        assert.are.equal("sql", row.kind)
        assert.are.equal(0, row.transactional)
        assert.is_true(math.type(row.execution_ms) == "integer" and row.execution_ms >= 0)
        assert.is_truthy(tostring(row.applied_at):match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d"))
        assert.are.equal(user:match("^[^@]*"), row.db_user:match("^[^@]*"))
        assert.are.equal(os_user, row.os_user)
        assert.are.equal(host, row.client_host)
      end
      -- the checksum is the file's SHA-256, as sha256sum computes it
      local p = io.popen("sha256sum " .. q(ctx.dir .. "/001_users.sql"))
      local want = p:read("a"):match("^(%x+)")
      p:close()
      assert.are.equal(want, h[1].checksum)
      assert.are.equal("users", h[1].name)

      out = cli("status")
      assert.is_truthy(out:find("1%s+applied%s+%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d%s+users"), out)
      out, err, code = cli("up")
      assert.are.equal(0, code, err)
      assert.are.equal("nothing to apply\n", out)

      out, err, code = cli("down")
      assert.are.equal(0, code, err)
      assert.is_truthy(out:find("undid 2_orders", 1, true), out)
      assert.are.equal("mylua_migrations users", tables())
      assert.are.equal(1, #history())

      local before = history()[1].applied_at
      observer:query("DO SLEEP(0.01)")
      out, err, code = cli("redo")
      assert.are.equal(0, code, err)
      assert.is_truthy(out:find("undid 1_users.*applied 1_users"), out)
      assert.are.equal("mylua_migrations users", tables())
      assert.are_not.equal(before, history()[1].applied_at)

      out, err, code = cli("down", "--to", "0")
      assert.are.equal(0, code, err)
      assert.are.equal("mylua_migrations", tables())
      assert.are.equal(0, #history())
      assert.are.equal("nothing to undo\n", (cli("down")))
    end)

    it("up --to stops at a version, down --to keeps it", function()
      file("001_users.sql", USERS)
      file("002_orders.sql", ORDERS)
      file("003_more.sql", "-- migrate:up\nCREATE TABLE more (i INT);\n-- migrate:down\nDROP TABLE more;\n")
      assert.are.equal(0, select(3, cli("up", "--to", "2")))
      assert.are.equal("mylua_migrations orders users", tables())
      assert.are.equal(0, select(3, cli("up")))
      assert.are.equal(0, select(3, cli("down", "--to=1")))
      assert.are.equal("mylua_migrations users", tables())
    end)

    it("prints what a dry run would do and changes nothing, not even the history table", function()
      file("001_users.sql", USERS)
      file("002_fill.sql", "-- migrate:up\nINSERT INTO users VALUES (1, 'a');\n\nUPDATE users SET name = 'b';\n"
        .. "-- migrate:down\nDELETE FROM users;\n")
      local out, err, code = cli("up", "--dry-run")
      assert.are.equal(0, code, err)
      assert.is_truthy(out:find("would apply 1_users", 1, true), out)
      assert.is_truthy(out:find("without a transaction: statement 1: CREATE TABLE commits implicitly", 1, true), out)
      assert.is_truthy(out:find("statement 1, line 2\n  CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20));",
        1, true), out)
      assert.is_truthy(out:find("statement 2, line 3\n  CREATE INDEX users_name ON users (name);", 1, true), out)
      assert.is_truthy(out:find("would apply 2_fill %(.-, in one transaction%)"), out)
      assert.is_truthy(out:find("statement 2, line 4\n  UPDATE users SET name = 'b';", 1, true), out)
      assert.are.equal("", tables())

      assert.are.equal(0, select(3, cli("up")))
      out, err, code = cli("down", "--dry-run")
      assert.are.equal(0, code, err)
      assert.is_truthy(out:find("would undo 2_fill", 1, true), out)
      assert.is_truthy(out:find("DELETE FROM users;", 1, true), out)
      out = cli("redo", "--dry-run")
      assert.is_truthy(out:find("would undo 2_fill.*would apply 2_fill"), out)
      assert.are.equal(1, count("SELECT COUNT(*) FROM " .. ctx.database .. ".users"))
      assert.are.equal(2, #history())
    end)

    it("answers --help, refuses unknown commands and options, and leaves `mylua -- migrate` a file", function()
      local out, err, code = helpers.run_host({ "migrate", "--help" })
      assert.are.equal(0, code, err)
      assert.is_truthy(out:find("baseline VERSION", 1, true), out)
      assert.is_truthy(out:find("--lock-timeout", 1, true), out)
      out, err, code = cli("sideways")
      assert.are.equal(2, code)
      assert.is_truthy(err:find("unknown command 'sideways'", 1, true), err)
      out, err, code = cli("up", "--bogus")
      assert.are.equal(2, code)
      assert.is_truthy(err:find("unknown option '--bogus'", 1, true), err)
      out, err, code = cli("new")
      assert.are.equal(2, code)
      out, err, code = cli("up", "--to", "x1")
      assert.are.equal(2, code)
      out = helpers.run_host({ "--help" })
      assert.is_truthy(out:find("migrate COMMAND", 1, true), out)
      write(ctx.dir .. "/migrate", "print('the file named migrate ran', ...)\n")
      out, err, code = helpers.run("cd " .. q(ctx.dir) .. " && " .. q(bin) .. " -- migrate up")
      assert.are.equal(0, code, err)
      assert.are.equal("the file named migrate ran\tup\n", out)
    end)
  end)

  describe("from Lua", function()
    it("runs .sql and .lua migrations and returns what it did", function()
      file("001_users.sql", USERS)
      file("002_seed.lua", [[
return {
  transaction = true,
  up = function(db) db:query("INSERT INTO users VALUES (1, 'ann'), (2, 'bob')") end,
  down = function(db) db:query("DELETE FROM users") end,
}
]])
      local lines = {}
      local m = migrate.new(conn(), { dir = ctx.dir, table = "schema_history", log = function(l) lines[#lines + 1] = l end })
      local st = m:status()
      assert.are.equal(2, #st)
      assert.are.same({ 1, "users", "sql", "pending" }, { st[1].version, st[1].name, st[1].kind, st[1].state })
      assert.are.same({ 2, "seed", "lua", "pending" }, { st[2].version, st[2].name, st[2].kind, st[2].state })

      local r = m:up()
      assert.is_false(r.dry_run)
      assert.are.equal(2, #r.ran)
      assert.are.equal("up", r.ran[1].direction)
      assert.is_false(r.ran[1].transactional)
      assert.are.equal(2, #r.ran[1].statements)
      assert.are.equal("CREATE INDEX users_name ON users (name)", r.ran[1].statements[2].sql)
      assert.are.equal(3, r.ran[1].statements[2].line)
      assert.is_true(r.ran[2].transactional)
      assert.is_number(r.ran[2].seconds)
      assert.are.equal(2, #lines)
      assert.are.equal(2, count("SELECT COUNT(*) FROM " .. ctx.database .. ".users"))
      local h = history("schema_history")
      assert.are.equal(1, h[2].transactional)
      assert.is_nil(history())

      st = m:status()
      assert.are.equal("applied", st[2].state)
      assert.are.equal("success", st[2].history.status)

      r = m:down()
      assert.are.equal(1, #r.ran)
      assert.are.equal(2, r.ran[1].version)
      assert.are.equal(0, count("SELECT COUNT(*) FROM " .. ctx.database .. ".users"))
      r = m:redo()
      assert.are.same({ "down", "up" }, { r.ran[1].direction, r.ran[2].direction })
      assert.are.same({ 1, 1 }, { r.ran[1].version, r.ran[2].version })
      assert.are.equal(0, count("SELECT COUNT(*) FROM " .. ctx.database .. ".users"))
      assert.are.equal(1, #m:up{ to = 2 }.ran)
      assert.are.equal(2, count("SELECT COUNT(*) FROM " .. ctx.database .. ".users"))
      assert.is_true(m:verify().ok)

      local path = migrate.new_file(ctx.dir, "third")
      assert.is_truthy(path:find("^" .. ctx.dir:gsub("%p", "%%%0") .. "/%d+_third%.sql$"))
      r = m:up{ dry_run = true }
      assert.is_true(r.dry_run)
      assert.are.equal(1, #r.ran)
      assert.are.equal(0, #r.ran[1].statements)
      assert.is_nil(r.ran[1].seconds)
      assert.are.equal("pending", m:status()[3].state)
    end)

    it("raises error objects with a kind", function()
      file("001_bad.sql", "CREATE TABLE x (i INT);\n-- migrate:up\n")
      local m = migrate.new(conn(), { dir = ctx.dir })
      local ok, err = pcall(m.status, m)
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find("001_bad.sql:1: SQL before the '-- migrate:up' line", 1, true), tostring(err))
      ok, err = pcall(m.up, m, { to = "soon" })
      assert.is_false(ok)
      os.remove(ctx.dir .. "/001_bad.sql")
      ok, err = pcall(m.up, m, { to = "soon" })
      assert.is_true(migrate.is_error(err))
      assert.are.equal("usage", err.kind)
    end)
  end)

  it("refuses an applied migration whose file changed, and verify reports it", function()
    file("001_users.sql", USERS)
    file("002_orders.sql", ORDERS)
    assert.are.equal(0, select(3, cli("up", "--to", "1")))
    local out, err, code = cli("verify")
    assert.are.equal(0, code, err)
    file("001_users.sql", USERS:gsub("VARCHAR%(20%)", "VARCHAR(30)"))
    out, err, code = cli("up")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("1_users was applied, and .-001_users.sql has changed since"), err)
    assert.are.equal(1, select(2, err:gsub("\n", "")), "one line: " .. err)
    assert.are.equal("mylua_migrations users", tables())
    out, err, code = cli("verify")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("1_users was applied, and its file has changed since", 1, true), err)
    out = cli("status")
    assert.is_truthy(out:find("1%s+changed"), out)
    -- the file back as it was: all is well again
    file("001_users.sql", USERS)
    assert.are.equal(0, select(3, cli("verify")))
    -- or the change accepted explicitly
    file("001_users.sql", USERS .. "\n-- a comment\n")
    out, err, code = cli("repair")
    assert.are.equal(0, code, err)
    assert.are.equal(1, select(3, cli("verify")), "repair without --checksums accepted a change")
    out, err, code = cli("repair", "--checksums")
    assert.are.equal(0, code, err)
    assert.is_truthy(out:find("checksum of 1_users now", 1, true), out)
    assert.are.equal(0, select(3, cli("verify")))
    assert.are.equal(0, select(3, cli("up")))
    assert.are.equal("mylua_migrations orders users", tables())
  end)

  describe("two runs at once", function()
    local SLOW = [[
-- migrate:up
CREATE TABLE hits (n INT);
INSERT INTO hits VALUES (1);
DO SLEEP(2);
-- migrate:down
DROP TABLE hits;
]]

    it("never apply a migration twice: the second waits for the lock and finds nothing to do", function()
      file("001_slow.sql", SLOW)
      file("002_more.sql", "-- migrate:up\nINSERT INTO hits VALUES (2);\n-- migrate:down\nDELETE FROM hits;\n")
      local a, b = start("up"), start("up")
      local out_a, err_a, code_a = a.finish()
      local out_b, err_b, code_b = b.finish()
      assert.are.equal(0, code_a, err_a)
      assert.are.equal(0, code_b, err_b)
      local outs = { out_a, out_b }
      table.sort(outs)
      assert.is_truthy(outs[1]:find("applied 1_slow.*applied 2_more"), outs[1])
      assert.are.equal("nothing to apply\n", outs[2])
      assert.are.equal(2, count("SELECT COUNT(*) FROM " .. ctx.database .. ".hits"))
      assert.are.equal(2, #history())
    end)

    it("with a short --lock-timeout, the second exits 3 and applies nothing", function()
      file("001_slow.sql", SLOW)
      local a = start("up")
      wait_until("the first run to start", function()
        return count("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '" .. ctx.database
          .. "' AND TABLE_NAME = 'hits'") == 1
      end)
      local out, err, code = cli("up", "--lock-timeout", "0.2")
      assert.are.equal(3, code, err)
      assert.is_truthy(err:find("^mylua: migrate: lock 'mylua_migrate%." .. ctx.database
        .. "%.mylua_migrations' is held by another run %(connection %d+%)"), err)
      assert.are.equal("", out)
      local _, err_a, code_a = a.finish()
      assert.are.equal(0, code_a, err_a)
      assert.are.equal(1, count("SELECT COUNT(*) FROM " .. ctx.database .. ".hits"))
    end)
  end)

  it("after a run killed between two DDL statements, up refuses until repair", function()
    file("001_two_tables.sql", [[
-- migrate:up
CREATE TABLE first_half (i INT);
DO SLEEP(3);
CREATE TABLE second_half (i INT);
-- migrate:down
DROP TABLE second_half;
DROP TABLE first_half;
]])
    local run = start("up")
    wait_until("the first table", function() return tables():find("first_half") ~= nil end)
    sh("kill -KILL " .. run.pid)
    local _, _, code = run.finish()
    assert.are.equal(128 + 9, code)
    assert.are.equal("first_half mylua_migrations", tables())
    assert.are.equal("running", history()[1].status)

    -- the next run waits for the dead run's session to let the lock go
    local out, err
    out, err, code = cli("up")
    assert.are.equal(1, code, err)
    assert.is_truthy(err:find("1_two_tables was left unfinished by a run that ended", 1, true), err)
    assert.is_truthy(err:find("mylua migrate repair", 1, true), err)
    assert.are.equal("first_half mylua_migrations", tables())
    out, err, code = cli("verify")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("was started by a run that did not finish", 1, true), err)
    assert.is_truthy(cli("status"):find("1%s+running"))

    -- the operator undoes the half by hand, then repair, then up
    observer:query("DROP TABLE " .. ctx.database .. ".first_half")
    out, err, code = cli("repair")
    assert.are.equal(0, code, err)
    assert.are.equal("removed 1_two_tables (running)\n", out)
    out, err, code = cli("up")
    assert.are.equal(0, code, err)
    assert.are.equal("first_half mylua_migrations second_half", tables())
    assert.are.equal("success", history()[1].status)
  end)

  it("records a failing statement with its number, line and error, and up waits for repair", function()
    file("001_users.sql", USERS)
    file("002_broken.sql", "-- migrate:up\nCREATE TABLE kept (i INT);\n\nINSERT INTO\n  nope VALUES (1);\n"
      .. "CREATE TABLE never (i INT);\n-- migrate:down\nDROP TABLE kept;\n")
    file("003_orders.sql", ORDERS)
    local out, err, code = cli("up")
    assert.are.equal(1, code)
    assert.is_truthy(out:find("applied 1_users", 1, true), out)
    assert.is_truthy(err:find("could not apply 2_broken", 1, true), err)
    assert.is_truthy(err:find("1146", 1, true), err)
    assert.is_truthy(err:find("statement 2", 1, true), err)
    assert.is_truthy(err:find("recorded as failed", 1, true), err)
    local h = history()
    assert.are.equal(2, #h)
    assert.are.equal("failed", h[2].status)
    assert.are.equal(2, h[2].error_statement)
    assert.are.equal(4, h[2].error_line)
    assert.are.equal(1146, h[2].error_code)
    assert.are.equal("INSERT INTO\n  nope VALUES (1)", h[2].error_sql)
    assert.is_truthy(h[2].error_message:find("doesn't exist", 1, true))
    assert.are.equal("kept mylua_migrations users", tables())

    out, err, code = cli("up")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("2_broken failed", 1, true), err)
    assert.is_truthy(err:find("repair", 1, true), err)
    assert.are.equal("kept mylua_migrations users", tables())

    -- fixed: the file and the schema
    file("002_broken.sql", "-- migrate:up\nCREATE TABLE kept (i INT);\n-- migrate:down\nDROP TABLE kept;\n")
    observer:query("DROP TABLE " .. ctx.database .. ".kept")
    assert.are.equal(0, select(3, cli("repair")))
    assert.are.equal(0, select(3, cli("up")))
    assert.are.equal("kept mylua_migrations orders users", tables())
  end)

  it("rolls back a transactional migration that fails, leaving nothing behind", function()
    file("001_users.sql", USERS)
    file("002_fill.sql", "-- migrate:up\nINSERT INTO users VALUES (1, 'a');\nSET @x = 1;\n"
      .. "INSERT INTO users VALUES (1, 'duplicate');\n-- migrate:down\nDELETE FROM users;\n")
    local out, err, code = cli("up")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("could not apply 2_fill", 1, true), err)
    assert.is_truthy(err:find("1062", 1, true), err)
    assert.is_truthy(err:find("rolled back, nothing changed", 1, true), err)
    assert.are.equal(0, count("SELECT COUNT(*) FROM " .. ctx.database .. ".users"))
    local h = history()
    assert.are.equal("rolled_back", h[2].status)
    assert.are.equal(3, h[2].error_statement)
    assert.are.equal(1, h[2].transactional)
    assert.is_truthy(cli("status"):find("2%s+rolled back"))
    assert.are.equal(1, select(3, cli("verify")))
    -- nothing to repair by hand: the fixed file is simply applied
    file("002_fill.sql", "-- migrate:up\nINSERT INTO users VALUES (1, 'a');\n-- migrate:down\nDELETE FROM users;\n")
    out, err, code = cli("up")
    assert.are.equal(0, code, err)
    assert.are.equal(1, count("SELECT COUNT(*) FROM " .. ctx.database .. ".users"))
    assert.are.equal("success", history()[2].status)
  end)

  it("reports missing and out-of-order migrations; up applies an out-of-order one only when asked", function()
    file("001_users.sql", USERS)
    file("003_orders.sql", ORDERS)
    assert.are.equal(0, select(3, cli("up")))
    os.remove(ctx.dir .. "/003_orders.sql")
    file("002_more.sql", "-- migrate:up\nCREATE TABLE more (i INT);\n-- migrate:down\nDROP TABLE more;\n")
    local out, err, code = cli("status")
    assert.are.equal(0, code, err)
    assert.is_truthy(out:find("2%s+out of order%s+%-%s+more"), out)
    assert.is_truthy(out:find("3%s+missing%s+%d.-orders"), out)
    out, err, code = cli("verify")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("2_more is pending and older than the newest applied migration", 1, true), err)
    assert.is_truthy(err:find("3_orders was applied, and its file is gone", 1, true), err)
    out, err, code = cli("up")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("--out-of-order", 1, true), err)
    assert.is_nil(tables():find("more"))
    out, err, code = cli("up", "--out-of-order")
    assert.are.equal(0, code, err)
    assert.is_truthy(out:find("applied 2_more", 1, true), out)
    assert.is_truthy(err:find("warning: 3_orders was applied, and its file is gone", 1, true), err)
    assert.is_truthy(tables():find("more"))
    out, err, code = cli("down")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("cannot undo 3_orders: its file is gone", 1, true), err)
  end)

  it("redo of the newest migration leaves an out-of-order one alone", function()
    file("001_users.sql", USERS)
    file("003_orders.sql", ORDERS)
    file("004_more.sql", "-- migrate:up\nCREATE TABLE more (i INT);\n-- migrate:down\nDROP TABLE more;\n")
    local m = migrate.new(conn(), { dir = ctx.dir })
    assert.are.equal(3, #m:up().ran)
    file("002_late.sql", "-- migrate:up\nCREATE TABLE late (i INT);\n")
    local r = m:redo()
    assert.are.same({ 4, 4 }, { r.ran[1].version, r.ran[2].version })
    assert.are.equal("out_of_order", m:status()[2].state)
    local ok, err = pcall(m.up, m)
    assert.is_false(ok)
    assert.are.equal("refused", err.kind)
    assert.are.equal(1, #m:up{ out_of_order = true }.ran)
    assert.are.equal("late more mylua_migrations orders users", tables())
  end)

  it("baseline marks the migrations up to a version applied without running them", function()
    file("001_users.sql", USERS)
    file("002_orders.sql", ORDERS)
    file("003_more.sql", "-- migrate:up\nCREATE TABLE more (i INT);\n-- migrate:down\nDROP TABLE more;\n")
    local out, err, code = cli("baseline", "2")
    assert.are.equal(0, code, err)
    assert.are.equal("baseline 1_users\nbaseline 2_orders\n", out)
    assert.are.equal("mylua_migrations", tables())
    out = cli("status")
    assert.is_truthy(out:find("1%s+baseline"), out)
    assert.is_truthy(out:find("3%s+pending"), out)
    out, err, code = cli("up")
    assert.are.equal(0, code, err)
    assert.are.equal("applied 3_more", out:match("^(applied 3_more)"))
    assert.are.equal("more mylua_migrations", tables())
    out, err, code = cli("baseline", "5")
    assert.are.equal(1, code)
    assert.is_truthy(err:find("baseline needs an empty history", 1, true), err)
  end)

  it("baseline at a version no file has records a marker that later files count from", function()
    file("005_old.sql", ORDERS)
    file("020_new.sql", USERS)
    assert.are.equal(0, select(3, cli("baseline", "10")))
    file("007_late.sql", "-- migrate:up\nCREATE TABLE late (i INT);\n")
    local out = cli("status")
    assert.is_truthy(out:find("10%s+baseline%s+%S+ %S+%s+<< baseline >>"), out)
    assert.is_truthy(out:find("7%s+out of order"), out)
    assert.is_truthy(out:find("20%s+pending"), out)
    assert.is_nil(out:find("missing"), out)
  end)

  it("the checksum is SHA-256 (core.sha256, OpenSSL's)", function()
    assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", sha256(""))
    assert.are.equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
  end)
end)
