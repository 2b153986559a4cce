-- mylua.print and the host's interactive prompt.  mylua.print is compared
-- byte for byte with the `mariadb` client on the same queries: its batch
-- lines (`mariadb --batch`) on a pipe, its boxed table (`mariadb --table`)
-- at a terminal, its vertical layout (`mariadb --vertical`).  The prompt
-- runs on a pseudo-terminal driven by spec/support/pty_session.py, every
-- wait bounded.

local helpers = require "helpers"
local mylua_module = require "mylua"

local bin = helpers.bin()
local q = helpers.shell_quote
local params = helpers.params()
local PARAMS = helpers.options_source(params)

-- NULLs, empty strings, integers, floats and decimals (right-aligned),
-- UTF-8 text with two-byte, wide and four-byte characters, tabs, newlines,
-- backslashes and NUL bytes in values, dates, and a second row that widens
-- the columns.
local MIXED = [[
SELECT 1 AS n, NULL AS z, '' AS e, 'héllo' AS u, '日本語' AS w, 'ｆｕｌｌ' AS fw,
  '😀x' AS emoji, 'a\tb\nc\\d' AS esc, CONCAT('a', CHAR(0), 'b') AS nul, 'a\rb' AS cr,
  -3 AS neg, 18446744073709551615 AS big, 12.50 AS dec_col, CAST(2.5 AS DOUBLE) AS d,
  0.1e0 + 0.2e0 AS sum_col, 1/3e0 AS third, 1e-15 AS tiny, 1.5e-7 AS small,
  123456789012345678e0 AS exp_col, 1e14 AS e14, -1e100 AS huge,
  CAST(3.14159265 AS FLOAT) AS fl, ROUND(2.5e0, 2) AS rounded,
  CAST('2024-01-02' AS DATE) AS dt, b'101' AS bits, x'00ff41' AS bin
UNION ALL
SELECT 22222, 'zz', 'a longer text', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, -1.5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL]]
local EMPTY = "SELECT 1 AS a, 'x' AS b FROM DUAL WHERE 1 = 0"
local NAMES = "SELECT 'x' AS `naïve name`, 2 AS `日本`, NULL AS `n`"

-- Past 1024 bytes the client stops padding a column.
local LONG = "SELECT REPEAT('x', 1030) AS a, 1 AS b UNION ALL SELECT 'é', 22 UNION ALL SELECT REPEAT('é', 1100), 3"

local QUERIES = { mixed = MIXED, empty = EMPTY, names = NAMES, long = LONG }

local function mariadb(format, sql)
  local args = {
    "mariadb", "--no-defaults", "--default-character-set=utf8mb4", "--" .. format,
    "--host=" .. params.host, "--port=" .. params.port, "--user=" .. params.user,
    "--password=" .. params.password, "--database=" .. params.database, "-e", sql,
  }
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = q(a) end
  local out, err, code = helpers.run(table.concat(quoted, " "))
  assert(code == 0, "mariadb failed: " .. err)
  return out
end

-- What mylua.print writes for `sql` with opts, read back from a file.
local function printed(db, rows_of, opts)
  local f = assert(io.tmpfile())
  opts = opts or {}
  opts.out = f
  local n = mylua_module.print(rows_of(db), opts)
  f:seek("set")
  local s = f:read("a")
  f:close()
  return s, n
end

local SANITIZER_MARKS = { "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:" }

-- Runs the host with `args` on a pseudo-terminal through `steps`
-- ({ "send", text } | { "expect", lua_pattern_free_regex } | { "wait" }),
-- HOME set to `home`.  Returns the transcript (CR LF as LF) and the exit
-- status ("running" when no step waited for it).
local function pty(args, steps, home)
  local lines = {}
  for i, s in ipairs(steps) do
    lines[i] = s[2] and (s[1] .. " " .. helpers.hex(s[2])) or s[1]
  end
  local cmd = { "env", "HOME=" .. home, "TERM=dumb", "python3", "spec/support/pty_session.py",
    "--timeout", "30", "--", bin }
  for _, a in ipairs(args) do cmd[#cmd + 1] = a end
  local quoted = {}
  for i, a in ipairs(cmd) do quoted[i] = q(a) end
  local out, err, code = helpers.run(table.concat(quoted, " "), table.concat(lines, "\n") .. "\n")
  for _, mark in ipairs(SANITIZER_MARKS) do
    if out:find(mark, 1, true) then io.stderr:write("==== sanitizer report at the prompt:\n", out, "\n") end
  end
  assert(code == 0, "pty session failed (" .. tostring(code) .. "): " .. err)
  local transcript, status = out:match("^(.*)\n<<exit (%w+)>>\n$")
  assert(transcript, "no exit line: " .. out)
  return (transcript:gsub("\r\n", "\n")), status
end

local function send(text) return { "send", text } end
local function expect(regex) return { "expect", regex } end
local WAIT = { "wait" }
-- Keeps reading for `seconds` before the next step.
local function pause(seconds) return { "pause", tostring(seconds) } end
local PROMPT = expect("mylua> ")

local function temp_home()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 " .. q(dir)))
  return dir
end

local function remove_dir(dir)
  os.execute("rm -rf " .. q(dir))
end

-- -e code that points mylua.connect() (no arguments) at the test server,
-- so the prompt's `db` connects there on first use.
local CONNECT_TO_TEST = ([[local m = require "mylua"; local c = m.connect;
  m.connect = function(o) return c(o or %s) end]]):format(PARAMS)

describe("mylua.print", function()
  local db

  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
    db = helpers.connect()
  end)

  teardown(function()
    if db then db:close() end
  end)

  after_each(function()
    helpers.remove_temp_files()
  end)

  for name, sql in pairs(QUERIES) do
    it("writes the " .. name .. " query as mariadb --table does", function()
      local mine = printed(db, function(c) return c:query(sql) end, { format = "table" })
      assert.are.equal(mariadb("table", sql), mine)
    end)

    it("writes the " .. name .. " query as mariadb --batch does", function()
      local mine = printed(db, function(c) return c:query(sql) end, { format = "batch" })
      assert.are.equal(mariadb("batch", sql), mine)
    end)

    it("writes the " .. name .. " query as mariadb --vertical does", function()
      local mine = printed(db, function(c) return c:query(sql) end, { format = "vertical" })
      assert.are.equal(mariadb("vertical", sql), mine)
    end)
  end

  it("prints a streaming cursor and a statement's result and cursor as their results", function()
    local want_table, want_batch = mariadb("table", MIXED), mariadb("batch", MIXED)
    local sources = {
      stream = function(c)
        local cur = c:cursor{ stream = true }
        cur:execute(MIXED)
        return cur
      end,
      execute = function(c) return c:execute(MIXED) end,
      server_cursor = function(c)
        local cur = c:prepare(MIXED):cursor{ fetch_size = 1 }
        cur:execute()
        return cur
      end,
    }
    for name, source in pairs(sources) do
      local mine, n = printed(db, source, { format = "table" })
      assert.are.equal(want_table, mine, name)
      assert.are.equal(2, n, name)
      assert.are.equal(want_batch, (printed(db, source, { format = "batch" })), name)
    end
  end)

  it("prints nothing for a statement without rows and returns 0", function()
    local out, n = printed(db, function(c) return c:query("DO 1") end, { format = "table" })
    assert.are.equal("", out)
    assert.are.equal(0, n)
  end)

  it("refuses what is not a result and an unknown format", function()
    local function raises(text, ...)
      local ok, err = pcall(mylua_module.print, ...)
      assert(not ok, "no error")
      assert(tostring(err):find(text, 1, true), ("%q does not say %q"):format(tostring(err), text))
    end
    raises("bad argument #1 to 'print' (result or cursor expected, got table)", {})
    local res = db:query("SELECT 1")
    raises('bad argument #2 to \'print\' (format must be "table", "batch" or "vertical", got html)',
      res, { format = "html" })
    raises("bad argument #2 to 'print' (unknown option 'fromat')", res, { fromat = "table" })
  end)

  it("writes batch lines on a pipe", function()
    local path = helpers.temp_script(([[
      local mylua = require "mylua"
      local db <close> = mylua.connect(%s)
      mylua.print(db:query(%q))
    ]]):format(PARAMS, MIXED))
    local out, err, code = helpers.run_host({ path })
    assert.are.equal("", err)
    assert.are.equal(0, code)
    assert.are.equal(mariadb("batch", MIXED), out)
  end)

  it("writes the boxed table at a terminal", function()
    local home = temp_home()
    local code = ([[local mylua = require "mylua"; local db = mylua.connect(%s);
      mylua.print(db:query(%q)); io.write("<done>\n")]]):format(PARAMS, MIXED)
    local transcript, status = pty({ "-e", code }, { expect("<done>"), WAIT }, home)
    remove_dir(home)
    assert.are.equal("0", status)
    assert.are.equal(mariadb("table", MIXED) .. "<done>\n", transcript)
  end)

  it("tells a terminal from a pipe (core.isatty)", function()
    local core = require "mylua.core"
    assert.is_false(core.isatty(io.tmpfile()))
    local r, w = io.popen("true"), nil
    assert.is_false(core.isatty(r))
    r:close()
    assert.has_error(function() core.isatty(-1) end)
    assert.has_error(function() core.isatty("x") end)
    w = io.tmpfile()
    w:close()
    assert.has_error(function() core.isatty(w) end)
  end)
end)

describe("the prompt's reading of a line", function()
  local repl = require "mylua.repl"

  it("takes a line starting with a SQL word, in any case, or a backslash for SQL", function()
    for _, line in ipairs{ "SELECT 1", "select * from t", "  Show tables", "desc t", "DESCRIBE t",
      "begin", "COMMIT;", "with x as (select 1) select * from x", "set @a = 1", "use db",
      "insert into t values (1)", "\\q", "\\G", "  \\h", "explain select 1", "call p()" } do
      assert(repl.is_sql(line), line)
    end
  end)

  it("leaves Lua alone: calls, assignments and fields of names that are SQL words", function()
    for _, line in ipairs{ "select('#', 1, 2)", "set = 1", "desc = 'x'", "show(x)", "table.concat{}",
      "x = 1", "print(1)", "do local a = 1 end", "selected", "1 + 1", "return 3", "select" .. "(1)",
      "update.x = 2", "values[1]" } do
      assert(not repl.is_sql(line), line)
    end
  end)
end)

describe("the interactive prompt", function()
  local home

  setup(function()
    assert(bin and bin ~= "", "MYLUA_BIN is not set")
  end)

  before_each(function()
    home = temp_home()
  end)

  after_each(function()
    remove_dir(home)
    helpers.remove_temp_files()
  end)

  it("prints an expression's values, continues an incomplete chunk, and exits 0 on Ctrl-D", function()
    local transcript, status = pty({}, {
      PROMPT, send("1 + 1\r"), expect("\n2\r\n"),
      PROMPT, send("'a', nil, 3\r"), expect("\na\tnil\t3\r\n"),
      PROMPT, send("t = {\r"), expect("    -> "), send("10, 20 }\r"),
      PROMPT, send("#t\r"), expect("\n2\r\n"),
      PROMPT, send("\4"), WAIT,
    }, home)
    assert.are.equal("0", status)
    assert.truthy(transcript:find("mylua> t = {\n    -> 10, 20 }\nmylua> ", 1, true), transcript)
  end)

  it("runs a SQL line on db, connected on first use, and prints it as the mariadb client does", function()
    local transcript, status = pty({ "-e", CONNECT_TO_TEST, "-i" }, {
      PROMPT, send("SELECT 1 AS a, NULL AS b UNION ALL SELECT 22, 'x';\r"), expect("rows in set.*?\r\n\r\n"),
      PROMPT, send("select 1 from dual where 0\r"), expect("Empty set.*?\r\n\r\n"),
      PROMPT, send("create temporary table t (a int); insert into t values (1), (2)\r"),
      expect("Records: 2  Duplicates: 0  Warnings: 0\r\n\r\n"),
      PROMPT, send("select a, 'x' as b from t where a = 1\\G\r"), expect("row in set.*?\r\n\r\n"),
      PROMPT, send("db:query('select 5 as five')\r"), expect("row in set.*?\r\n\r\n"),
      PROMPT, send("\\q\r"), WAIT,
    }, home)
    assert.are.equal("0", status)
    local function has(text) assert(transcript:find(text, 1, true), ("%q not in:\n%s"):format(text, transcript)) end
    has("+----+------+\n| a  | b    |\n+----+------+\n|  1 | NULL |\n| 22 | x    |\n+----+------+\n")
    assert(transcript:find("\n2 rows in set %(%d+%.%d%d%d sec%)\n\n"), transcript)
    assert(transcript:find("\nEmpty set %(%d+%.%d%d%d sec%)\n\n"), transcript)
    assert(transcript:find("\nQuery OK, 0 rows affected %(%d+%.%d%d%d sec%)\n\n"), transcript)
    assert(transcript:find("\nQuery OK, 2 rows affected %(%d+%.%d%d%d sec%)\nRecords: 2  Duplicates: 0  Warnings: 0\n\n"),
      transcript)
    has("*************************** 1. row ***************************\na: 1\nb: x\n")
    assert(transcript:find("\nb: x\n1 row in set %(%d+%.%d%d%d sec%)\n\n"), transcript)
    -- a result value of a Lua expression: the table and the count, no time
    has("+------+\n| five |\n+------+\n|    5 |\n+------+\n1 row in set\n\n")
  end)

  it("prints an error as the mariadb client does and goes on", function()
    local transcript, status = pty({ "-e", CONNECT_TO_TEST, "-i" }, {
      PROMPT, send("select * from no_such_table\r"), expect("doesn't exist\r\n"),
      PROMPT, send("error('boom')\r"), expect("boom\r\n"),
      PROMPT, send("x = = 1\r"), expect("near '='\r\n"),
      PROMPT, send("\\x\r"), expect("Unknown command"),
      PROMPT, send("40 + 2\r"), expect("\n42\r\n"),
      PROMPT, send("\4"), WAIT,
    }, home)
    assert.are.equal("0", status)
    assert(transcript:find("\nERROR 1146 %(42S02%): Table '[%w_]+%.no_such_table' doesn't exist\nmylua> "), transcript)
    assert(transcript:find("\nstdin:1: boom\nmylua> "), transcript)
  end)

  it("connects db again after its connection was lost", function()
    local transcript, status = pty({ "-e", CONNECT_TO_TEST, "-i" }, {
      PROMPT, send("first_id = db.thread_id\r"),
      PROMPT, send("kill connection_id()\r"), expect("ERROR 1927 .*?\r\nmylua> "),
      send("select 7 as seven\r"), expect("row in set.*?\r\n\r\n"),
      PROMPT, send("db.thread_id ~= first_id\r"), expect("\ntrue\r\n"),
      PROMPT, send("\4"), WAIT,
    }, home)
    assert.are.equal("0", status)
    assert.truthy(transcript:find("|     7 |", 1, true), transcript)
  end)

  it("clears the line on Ctrl-C at the prompt, and drops an unfinished chunk", function()
    local transcript, status = pty({}, {
      PROMPT, send("unfinished_call("), expect("unfinished_call\\("), send("\3"), expect("\\^C\r\nmylua> "),
      send("t = {\r"), expect("    -> "), send("\3"), expect("\\^C\r\nmylua> "),
      send("'still here'\r"), expect("\nstill here\r\n"),
      PROMPT, send("\4"), WAIT,
    }, home)
    assert.are.equal("0", status)
    assert.falsy(transcript:find("attempt to call", 1, true), transcript)
  end)

  it("interrupts running Lua code on Ctrl-C and goes on", function()
    local transcript, status = pty({}, {
      PROMPT, send("while true do end\r"), expect("while true do end\r\n"), send("\3"),
      expect("interrupted!\r\n"), PROMPT, send("'after'\r"), expect("\nafter\r\n"),
      PROMPT, send("\4"), WAIT,
    }, home)
    assert.are.equal("0", status)
    assert.truthy(transcript:find("interrupted!", 1, true))
  end)

  it("cancels a running statement on Ctrl-C (KILL QUERY) and keeps the connection", function()
    local start = os.time()
    local transcript, status = pty({ "-e", CONNECT_TO_TEST, "-i" }, {
      PROMPT, send("id = db.thread_id\r"),
      PROMPT, send("io.write('go\\n') io.flush() db:query('select sleep(20)')\r"), expect("\ngo\r\n"),
      -- a ^C before db:query is called stops the Lua line instead (no 1317):
      -- give the statement time to reach the server, also on a loaded machine
      pause(1.5), send("\3"), expect("ERROR 1317 .*?\r\nmylua> "),
      send("db.thread_id == id, db:query('select 7 as n'):row(1).n\r"), expect("\ntrue\t7\r\n"),
      PROMPT, send("\4"), WAIT,
    }, home)
    assert.are.equal("0", status)
    assert(transcript:find("ERROR 1317 (70100): Query execution was interrupted", 1, true), transcript)
    assert(os.time() - start < 15, "the statement was not cancelled: " .. transcript)
  end)

  it("sees the globals of the script run before it with -i", function()
    local path = helpers.temp_script("answer = 42\nlocal hidden = 1\n")
    local _, status = pty({ "-i", path }, {
      PROMPT, send("answer, hidden\r"), expect("\n42\tnil\r\n"),
      PROMPT, send("\4"), WAIT,
    }, home)
    assert.are.equal("0", status)
  end)

  it("keeps the history in ~/.mylua_history, mode 0600, without empty lines, bounded", function()
    -- an old history longer than the bound
    local f = assert(io.open(home .. "/.mylua_history", "w"))
    f:write("_HiStOrY_V2_\n")
    for i = 1, 1200 do f:write("old_", i, "\n") end
    f:close()
    local _, status = pty({}, {
      PROMPT, send("first_line = 1\r"), PROMPT, send("   \r"), PROMPT,
      send("second_line = 2\r"), PROMPT, send("\4"), WAIT,
    }, home)
    assert.are.equal("0", status)
    local h = assert(io.open(home .. "/.mylua_history"))
    local text = h:read("a")
    h:close()
    local lines = {}
    for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal("second_line\\040=\\0402", lines[#lines])
    assert.are.equal("first_line\\040=\\0401", lines[#lines - 1])
    assert.are.equal("old_1200", lines[#lines - 2])
    assert(#lines <= 1001, #lines .. " lines")
    for _, line in ipairs(lines) do assert(line:find("%S"), "an empty line in the history") end
    local p = io.popen("stat -c %a " .. q(home .. "/.mylua_history"))
    local mode = p:read("l")
    p:close()
    assert.are.equal("600", mode)
  end)

  it("starts without a script when stdin is a terminal (no usage message)", function()
    local transcript, status = pty({}, { PROMPT, send("\\q\r"), WAIT }, home)
    assert.are.equal("0", status)
    assert.falsy(transcript:find("usage", 1, true), transcript)
  end)
end)
