-- How the host program ends: every connection a script leaves open is
-- closed with COM_QUIT however the script ends (returning, raising,
-- os.exit), the exit code says how it ended, and an uncaught error is one
-- line on stderr placed at the script's line, with the control characters
-- of server text escaped.

local helpers = require "helpers"
local peer = require "support.peer"

local bin = helpers.bin()

local script, mylua = helpers.temp_script, helpers.run_host

local PARAMS = helpers.options_source(helpers.params())

describe("the host program ending", function()
  local observer

  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
    observer = helpers.connect()
  end)

  teardown(function()
    if observer then observer:close() end
  end)

  after_each(function()
    helpers.remove_temp_files()
    peer.stop_all()
  end)

  local function aborted_clients()
    local row = observer:query("SHOW GLOBAL STATUS LIKE 'Aborted_clients'"):row(1, "a")
    return math.tointeger(tonumber(row[2]))
  end

  local function thread_alive(id)
    return observer:query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", id)
      :row(1, "a")[1] > 0
  end

  -- True once every thread in `ids` is gone (polls for up to 3 s).
  local function all_gone(ids)
    for _ = 1, 30 do
      local alive = false
      for _, id in ipairs(ids) do alive = alive or thread_alive(id) end
      if not alive then return true end
      observer:query("DO SLEEP(0.1)")
    end
    return false
  end

  -- Runs a script that opens three connections (a global, a local, one
  -- inside an open transaction), prints their thread ids, then runs
  -- `tail`.  Returns the thread ids, the exit code, stdout after the ids
  -- and stderr.
  local function run_with_connections(tail)
    local path = script(([[
      local mylua = require "mylua"
      kept = mylua.connect(%s)
      local forgotten = mylua.connect(%s)
      local busy = mylua.connect(%s)
      busy:begin()
      busy:query("SELECT 1")
      io.write(kept.thread_id, " ", forgotten.thread_id, " ", busy.thread_id, "\n")
      io.stdout:flush()
      %s
    ]]):format(PARAMS, PARAMS, PARAMS, tail))
    local out, err, code = mylua({ path })
    local a, b, c, rest = out:match("^(%d+) (%d+) (%d+)\n(.*)$")
    assert(a, "no thread ids printed; stdout: " .. out .. "; stderr: " .. err)
    local ids = { math.tointeger(tonumber(a)), math.tointeger(tonumber(b)), math.tointeger(tonumber(c)) }
    return ids, code, rest, err, path
  end

  describe("closes every connection with COM_QUIT", function()
    local cases = {
      { "when the script calls os.exit(3)", "os.exit(3)", 3 },
      { "when the script calls os.exit(true)", "os.exit(true)", 0 },
      { "when the script calls os.exit(false)", "os.exit(false)", 1 },
      { "when os.exit is called inside a coroutine", "coroutine.wrap(function() os.exit(5) end)()", 5 },
      { "when os.exit is called inside db:transaction", "kept:transaction(function() os.exit(6) end)", 6 },
      { "when the script returns", "", 0 },
      { "when the script raises a Lua error", "error('stop')", 1 },
      { "when the script raises an error object", "kept:query('SELECT * FROM no_such_table_here')", 1 },
    }
    for _, case in ipairs(cases) do
      local name, tail, expected = case[1], case[2], case[3]
      it(name .. " (exit code " .. expected .. ", no aborted client)", function()
        local before = aborted_clients()
        local ids, code, _, err = run_with_connections(tail)
        assert.equal(expected, code, err)
        assert.is_true(all_gone(ids), "a connection of the script is still open")
        -- closed with COM_QUIT, not dropped: the server counts no aborted client
        assert.equal(before, aborted_clients())
      end)
    end

    it("flushes what the script wrote before os.exit", function()
      local ids, code, rest = run_with_connections("io.write('unflushed') os.exit(2)")
      assert.equal(2, code)
      assert.equal("unflushed", rest)
      assert.is_true(all_gone(ids))
    end)

    it("runs pending <close> variables on os.exit", function()
      local path = script([[
        local c <close> = setmetatable({}, { __close = function() io.write("closed\n") end })
        os.exit(7)
      ]])
      local out, err, code = mylua({ path })
      assert.equal(7, code, err)
      assert.equal("closed\n", out)
    end)

    it("rejects a bad os.exit argument as an error, exit code 1", function()
      local out, err, code = mylua({ "-e", "os.exit('soon')" })
      assert.equal(1, code)
      assert.equal("", out)
      assert.truthy(err:find("bad argument #1 to 'exit'", 1, true), err)
    end)
  end)

  describe("an uncaught error", function()
    it("is one line placed at the script line that called the failing method", function()
      local path = script(([[
        local db = require("mylua").connect(%s)

        db:query("SELECT * FROM no_such_table_here")
      ]]):format(PARAMS))
      local out, err, code = mylua({ path })
      assert.equal(1, code)
      assert.equal("", out)
      local database = helpers.params().database
      assert.equal(("mylua: %s:3: ERROR 1146 (42S02): Table '%s.no_such_table_here' doesn't exist\n")
        :format(path, database), err)
    end)

    it("is placed in the script, not in mylua, when it comes from inside transaction()", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        db:transaction(function(conn)
          conn:query("SELEC 1")
        end)
      ]]):format(PARAMS))
      local _, err, code = mylua({ path })
      assert.equal(1, code)
      assert.truthy(err:match("^mylua: " .. path:gsub("%p", "%%%0") .. ":3: ERROR 1064 %(42000%): [^\n]*\n$"), err)
    end)

    it("keeps a Lua error's own position", function()
      local path = script("local x = 1\nerror('boom')\n")
      local _, err, code = mylua({ path })
      assert.equal(1, code)
      assert.equal(("mylua: %s:2: boom\n"):format(path), err)
    end)

    it("places an error object from -e code at the command line", function()
      local _, err, code = mylua({ "-e", "error(require('mylua').new_error(2000, 'made here'))" })
      assert.equal(1, code)
      assert.equal("mylua: (command line):1: ERROR 2000 (HY000): made here\n", err)
    end)

    it("has the position first, then the traceback, with --traceback", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        local function run() db:query("SELECT * FROM no_such_table_here") end
        run()
      ]]):format(PARAMS))
      local _, err, code = mylua({ "--traceback", path })
      assert.equal(1, code)
      local first = err:match("^[^\n]*")
      assert.truthy(first:match("^mylua: " .. path:gsub("%p", "%%%0") .. ":2: ERROR 1146 %(42S02%): "), err)
      assert.truthy(err:find("stack traceback:", 1, true), err)
    end)

    it("shows the control characters of a server's message escaped", function()
      local p = peer.start("control_chars_error")
      local path = script(([[
        local db = require("mylua").connect{ host = "127.0.0.1", port = %d, user = "u", password = "p",
          read_timeout = 5 }
        db:query("SELECT 1")
      ]]):format(p.port))
      local out, err, code = mylua({ path })
      assert.equal(1, code)
      assert.equal("", out)
      -- ESC, BEL and C1 CSI as decimal escapes; the CR becomes a space as a newline does
      assert.equal(("mylua: %s:3: ERROR 1644 (45000): a\\27[31mred\\7 b\\194\\155c\n"):format(path), err)
      assert.is_nil(err:find("[\0-\8\11-\31\127]"), "a control character reached stderr")
    end)

    it("keeps the line breaks of a traceback but still escapes the rest", function()
      local p = peer.start("control_chars_error")
      local path = script(([[
        local db = require("mylua").connect{ host = "127.0.0.1", port = %d, user = "u", password = "p",
          read_timeout = 5 }
        db:query("SELECT 1")
      ]]):format(p.port))
      local _, err, code = mylua({ "--traceback", path })
      assert.equal(1, code)
      assert.truthy(err:find("a\\27[31mred\\7\\13b\\194\\155c\n", 1, true), err)
      assert.truthy(err:find("stack traceback:\n", 1, true), err)
      assert.is_nil(err:find("[\0-\8\11-\31\127]"), "a control character reached stderr")
    end)

    it("escapes server text a script raises as a string", function()
      local path = script(([[
        local db = require("mylua").connect(%s)
        local text = db:query("SELECT CONCAT('x', CHAR(27), '[2J', CHAR(8), 'y')"):row(1, "a")[1]
        error(text, 0)
      ]]):format(PARAMS))
      local _, err, code = mylua({ path })
      assert.equal(1, code)
      assert.equal("mylua: x\\27[2J\\8y\n", err)
    end)

    it("lets no escape byte through when the real server signals one", function()
      -- MariaDB itself writes control characters of an error message as
      -- \001B; whatever it sends, no raw ESC may reach the terminal.
      local before = aborted_clients()
      local path = script(([[
        local db = require("mylua").connect(%s)
        db:query("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a\27[31mred'")
      ]]):format(PARAMS))
      local _, err, code = mylua({ path })
      assert.equal(1, code)
      assert.truthy(err:match("^mylua: [^\n]*:2: ERROR 1644 %(45000%): a[^\n]*%[31mred\n$"), err)
      assert.is_nil(err:find("\27", 1, true), "ESC reached stderr")
      assert.equal(before, aborted_clients())
    end)
  end)
end)
