-- db:execute_script and db:execute_file: a script of statements run one at a
-- time, split as the mariadb client splits them, against the real server.

local helpers = require "helpers"
local mylua = require "mylua"
local safe = require "mylua.safe"

local function here()
  local info = debug.getinfo(2, "Sl")
  return ("%s:%d:"):format(info.short_src, info.currentline)
end

local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

describe("db:execute_script", function()
  local db

  setup(function()
    db = helpers.connect()
    db:query("DROP TABLE IF EXISTS script_log")
    db:query("CREATE TABLE script_log (n INT AUTO_INCREMENT PRIMARY KEY, v VARBINARY(200))")
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS script_log")
      db:query("DROP PROCEDURE IF EXISTS script_two_results")
      db:close()
    end
  end)

  before_each(function()
    db:query("TRUNCATE script_log")
  end)

  local function logged()
    local out = {}
    for v in db:query("SELECT v FROM script_log ORDER BY n"):rows("v") do out[#out + 1] = v end
    return out
  end

  it("runs every statement in order and returns how many ran", function()
    local n = db:execute_script([[
INSERT INTO script_log (v) VALUES ('one; still one');
-- a comment; with a semicolon
INSERT INTO script_log (v) VALUES ("two"); INSERT INTO script_log (v) VALUES ('three')
]])
    assert.equal(3, n)
    assert.same({ "one; still one", "two", "three" }, logged())
  end)

  it("follows DELIMITER, reads all results of a CALL and drops SELECT results", function()
    local n = db:execute_script([[
DELIMITER $$
CREATE OR REPLACE PROCEDURE script_two_results()
BEGIN
  SELECT 1; SELECT 2;
  INSERT INTO script_log (v) VALUES ('from the procedure');
END$$
DELIMITER ;
CALL script_two_results();
SELECT * FROM script_log;
INSERT INTO script_log (v) VALUES ('after');
]])
    assert.equal(4, n)
    assert.same({ "from the procedure", "after" }, logged())
    assert.equal(2, db:query("SELECT 2"):row(1, "a")[1]) -- the connection is free
  end)

  it("reports progress after each statement: number, line, bytes done, size, text", function()
    local text = "INSERT INTO script_log (v) VALUES ('a');\n\n  INSERT INTO script_log (v) VALUES ('b');\nDO 1"
    local seen = {}
    local n = db:execute_script(text, { progress = function(info) seen[#seen + 1] = info end })
    assert.equal(3, n)
    assert.equal(3, #seen)
    assert.same({ 1, 2, 3 }, { seen[1].statement, seen[2].statement, seen[3].statement })
    assert.same({ 1, 3, 4 }, { seen[1].line, seen[2].line, seen[3].line })
    assert.equal("INSERT INTO script_log (v) VALUES ('b')", seen[2].sql)
    assert.equal(#"INSERT INTO script_log (v) VALUES ('a');", seen[1].offset)
    assert.equal(#text, seen[3].offset)
    for _, info in ipairs(seen) do assert.equal(#text, info.size) end
    -- the callback ran after the statement: its row is there when asked
    local rows_at = {}
    db:query("TRUNCATE script_log")
    db:execute_script("INSERT INTO script_log (v) VALUES ('x');INSERT INTO script_log (v) VALUES ('y')",
      { progress = function(info) rows_at[info.statement] = #logged() end })
    assert.same({ 1, 2 }, rows_at)
  end)

  it("stops at the first failing statement and names its number and line", function()
    local line = here()
    local ok, err = pcall(db.execute_script, db, [[
INSERT INTO script_log (v) VALUES ('before');

INSERT INTO no_such_table_for_scripts VALUES (1);
INSERT INTO script_log (v) VALUES ('never');
]], { name = "nightly.sql" })
    assert.is_false(ok)
    assert.is_true(mylua.is_error(err))
    assert.equal(1146, err.code)
    assert.equal("42S02", err.sqlstate)
    assert.equal(2, err.statement)
    assert.equal(3, err.line)
    assert.equal("nightly.sql", err.file)
    assert.truthy(tostring(err):match("^ERROR 1146 %(42S02%) in statement 2, line 3 of nightly%.sql: Table "),
      tostring(err))
    assert.equal(line:gsub(":(%d+):$", function(l) return ":" .. (l + 1) .. ":" end), err.where)
    assert.same({ "before" }, logged())
  end)

  it("without a name, the error says statement and line only", function()
    local ok, err = pcall(db.execute_script, db, "DO 1;\nDO 2;\nSELEC 3;\nDO 4")
    assert.is_false(ok)
    assert.equal(1064, err.code)
    assert.same({ 3, 3 }, { err.statement, err.line })
    assert.is_nil(err.file)
    assert.truthy(tostring(err):match("^ERROR 1064 %(42000%) in statement 3, line 3: "), tostring(err))
  end)

  it("refuses a client command that cannot run, after running what came before it", function()
    local ok, err = pcall(db.execute_script, db,
      "INSERT INTO script_log (v) VALUES ('first');\n\\. other.sql\nINSERT INTO script_log (v) VALUES ('never');")
    assert.is_false(ok)
    assert.equal("string", type(err))
    assert.truthy(err:find("execute_script: line 2: ", 1, true), err)
    assert.truthy(err:find("\\.", 1, true), err)
    assert.same({ "first" }, logged())
  end)

  it("sends an unterminated last statement as it is, for the server to refuse", function()
    local ok, err = pcall(db.execute_script, db, "INSERT INTO script_log (v) VALUES ('ok');\nINSERT INTO script_log (v) VALUES ('open")
    assert.is_false(ok)
    assert.equal(1064, err.code)
    assert.same({ 2, 2 }, { err.statement, err.line })
    assert.same({ "ok" }, logged())
  end)

  it("reads the statements after SET sql_mode by the server's new backslash rule", function()
    local mode = db:query("SELECT @@SESSION.sql_mode"):row(1, "a")[1]
    local ok, err = pcall(db.execute_script, db, [[
SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES');
INSERT INTO script_log (v) VALUES ('ends with \');
INSERT INTO script_log (v) VALUES ('next');
]])
    db:query("SET SESSION sql_mode = ?", mode)
    assert.is_true(ok, tostring(err))
    assert.same({ "ends with \\", "next" }, logged())
  end)

  it("reads two-byte characters by the connection's charset (a gbk trail byte 0x5C is no backslash)", function()
    local gbk = helpers.connect{ charset = "gbk" }
    local value = "\x95\x5C" -- one GBK character whose second byte is '\'
    local n = gbk:execute_script("INSERT INTO script_log (v) VALUES (_gbk'" .. value .. "');\n"
      .. "INSERT INTO script_log (v) VALUES ('second')")
    gbk:close()
    assert.equal(2, n)
    assert.same({ value, "second" }, logged())
  end)

  it("runs an empty script or one of comments only as nothing", function()
    assert.equal(0, db:execute_script(""))
    assert.equal(0, db:execute_script("-- nothing\n/* here */ ;;\n# at all\n"))
  end)

  it("checks its arguments", function()
    assert.has_error(function() db:execute_script(42) end,
      "bad argument #1 to 'execute_script' (string expected, got number)")
    assert.has_error(function() db:execute_script("DO 1", { progres = print }) end,
      'bad argument #2 to \'execute_script\' (unknown option "progres")')
    assert.has_error(function() db:execute_script("DO 1", { progress = 1 }) end,
      "bad argument #2 to 'execute_script' (option progress: function expected, got number)")
    assert.has_error(function() db:execute_script("DO 1", "x") end,
      "bad argument #2 to 'execute_script' (table expected, got string)")
  end)

  it("raises a clear error on a closed connection", function()
    local c = helpers.connect()
    c:close()
    local ok, err = pcall(c.execute_script, c, "DO 1")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("closed"), tostring(err))
  end)

  it("returns nil and the error object through mylua.safe", function()
    local s = safe.connect(helpers.params())
    local n, err = s:execute_script("DO 1;\nDO no_such_function_x()")
    s:close()
    assert.is_nil(n)
    assert.is_true(mylua.is_error(err))
    assert.same({ 2, 2 }, { err.statement, err.line })
  end)
end)

describe("db:execute_file", function()
  local db, dir

  setup(function()
    db = helpers.connect()
    db:query("DROP TABLE IF EXISTS script_file_log")
    db:query("CREATE TABLE script_file_log (n INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100))")
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
  end)

  teardown(function()
    if db then
      db:query("DROP TABLE IF EXISTS script_file_log")
      db:query("DROP TRIGGER IF EXISTS script_file_trigger")
      db:close()
    end
    os.execute("rm -rf " .. dir)
  end)

  it("runs a CRLF file with DELIMITER and a missing final delimiter", function()
    local path = dir .. "/crlf.sql"
    write_file(path, table.concat({
      "INSERT INTO script_file_log (v) VALUES ('a;b');",
      "DELIMITER //",
      "CREATE OR REPLACE TRIGGER script_file_trigger BEFORE INSERT ON script_file_log",
      "FOR EACH ROW BEGIN SET NEW.v = CONCAT(NEW.v, '!'); END//",
      "DELIMITER ;",
      "INSERT INTO script_file_log (v) VALUES ('c')",
    }, "\r\n"))
    assert.equal(3, db:execute_file(path)) -- DELIMITER lines are no statements
    local got = {}
    for v in db:query("SELECT v FROM script_file_log ORDER BY n"):rows("v") do got[#got + 1] = v end
    assert.same({ "a;b", "c!" }, got)
  end)

  it("names the file in the error", function()
    local path = dir .. "/bad.sql"
    write_file(path, "DO 1;\n\nDO 2;\nCREATE TABLE script_file_log (x INT);\n")
    local ok, err = pcall(db.execute_file, db, path)
    assert.is_false(ok)
    assert.equal(1050, err.code)
    assert.same({ 3, 4, path }, { err.statement, err.line, err.file })
    assert.truthy(tostring(err):find("in statement 3, line 4 of " .. path .. ": ", 1, true), tostring(err))
    -- a name given wins over the path
    ok, err = pcall(db.execute_file, db, path, { name = "bad" })
    assert.equal("bad", err.file)
  end)

  it("says which file cannot be opened", function()
    local ok, err = pcall(db.execute_file, db, dir .. "/missing.sql")
    assert.is_false(ok)
    assert.truthy(err:find("execute_file: cannot open " .. dir .. "/missing.sql", 1, true), err)
  end)
end)
