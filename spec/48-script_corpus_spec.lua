-- db:execute_file runs a .sql script as the `mariadb` client runs it
-- (`mariadb < file`), proved against the real server three ways:
--
--   * the corpus: every .sql file the installed mariadb-server and
--     mariadb-test packages ship (found with dpkg -L), run in the same
--     order through the client on one fresh sandbox server and through
--     execute_file on another started the same way; after each file both
--     servers must hold the same schemas, objects (information_schema and
--     SHOW CREATE) and table contents. A file the client fails on is
--     listed with the client's error, and execute_file must fail on it at
--     the same line with the same error (or another one where that line is
--     the client's own command, `use db`, which execute_file sends as SQL);
--   * a mariadb-dump --routines --triggers --events of a database holding
--     tables with data, views, procedures, functions, triggers and an
--     event restores through execute_file (and through the client, as a
--     cross-check) to the same objects and data;
--   * hand-made scripts for the splitter's corners (delimiters in strings
--     and comments, CRLF, no final delimiter, a file ending inside a string
--     or comment, executable comments, \g and \c, ...), each run by the
--     client and by execute_file into two fresh databases: the same
--     outcome, the same line on failure, the same rows and objects left;
--     the few cases where execute_file differs on purpose say why, and
--     what it does instead.
--
-- Each of the corpus and the hand-made scripts runs twice: through
-- `mariadb --comments` against execute_file (comments kept, its default),
-- and through a plain `mariadb` (which deletes comments from each statement
-- before it sends it) against execute_file{ comments = false }, where the
-- bodies the server stores have lost their comments alike.
-- The spec starts four servers of its own (scripts/sandbox-server), a pair
-- for each way, and always stops and removes them.

local helpers = require "helpers"
local mylua = require "mylua"
require "mylua.script"
local sandbox_pair = require "support.sandbox_pair"
local snapshot = require "support.schema_snapshot"

local q = helpers.shell_quote
local SHARE = "/usr/share/mysql/"

-- The .sql files of the installed server and test-suite packages, sorted.
local function corpus_files()
  local p = assert(io.popen("dpkg-query -W -f='${Package} ${db:Status-Abbrev}\\n'"
    .. " 'mariadb-server*' 'mariadb-test*' 2>/dev/null"))
  local packages = {}
  for line in p:lines() do
    local name, status = line:match("^(%S+) (%S+)")
    if name and status:sub(1, 2) == "ii" then packages[#packages + 1] = name end
  end
  p:close()
  local files, seen = {}, {}
  for _, pkg in ipairs(packages) do
    local l = assert(io.popen("dpkg -L " .. q(pkg) .. " 2>/dev/null"))
    for path in l:lines() do
      if path:match("%.sql$") and not seen[path] then
        local f = io.open(path, "rb")
        if f then
          f:close()
          seen[path] = true
          files[#files + 1] = path
        end
      end
    end
    l:close()
  end
  table.sort(files)
  return files, packages
end

-- The default database a file is written for: the server's own scripts run
-- in `mysql` (as mariadb-install-db runs them), the test suite's in `test`.
local function default_database(path)
  return path:find("/mysql-test/", 1, true) and "test" or "mysql"
end

local function short_name(path)
  return path:sub(1, #SHARE) == SHARE and path:sub(#SHARE + 1) or path
end

-- `mariadb --comments < file` with the given default database (a plain
-- `mariadb < file` when comments is false):
-- { ok = true } or { ok = false, code =, line =, message = } from the
-- client's error line.  By default the client deletes the comments (but
-- executable ones) from the text of each statement it sends, which changes
-- what the server stores as a routine's, trigger's or view's body;
-- execute_file sends each statement whole, as --comments does, unless
-- given comments = false.
local function run_client(server, database, path, comments)
  local cmd = ("mariadb --defaults-file=%s --default-character-set=utf8mb4 %s --database=%s <%s")
    :format(q(server.cnf), comments == false and "" or "--comments", q(database), q(path))
  local _, err, status = helpers.run(cmd)
  if status == 0 then return { ok = true } end
  local code, sqlstate, line, message = err:match("ERROR (%d+) %((%w+)%) at line (%d+): ([^\n]*)")
  if not code then
    line, message = err:match("ERROR at line (%d+): ([^\n]*)")
  end
  return {
    ok = false, code = tonumber(code), sqlstate = sqlstate, line = tonumber(line),
    message = message or err, status = status,
  }
end

local function connect(server, database)
  local p = {}
  for k, v in pairs(server.params) do p[k] = v end
  p.database = database
  p.charset = "utf8mb4"
  return mylua.connect(p)
end

-- db:execute_file on a new session (as the client's): the same shape as
-- run_client's answer, plus the statement number on failure.
local function run_execute_file(server, database, path, opts)
  local db <close> = connect(server, database)
  assert(db.execute_file, "db:execute_file is missing")
  local ok, n = pcall(db.execute_file, db, path, opts)
  if ok then return { ok = true, statements = n } end
  local err = n
  if type(err) ~= "table" and not mylua.is_error(err) then
    return { ok = false, message = tostring(err) }
  end
  return {
    ok = false, code = err.code, sqlstate = err.sqlstate, line = err.line,
    statement = err.statement, message = err.message or tostring(err),
  }
end

local function describe_outcome(o)
  if o.ok then return "ran" end
  return ("failed: %s%s%s"):format(o.code and ("ERROR " .. o.code .. " ") or "",
    o.line and ("at line " .. o.line .. ": ") or "", o.message)
end

-- The client's named command (`use db`, `source file`, ...) that starts
-- line `n` of the file, if one does: the client runs it itself, where
-- execute_file sends the line to the server as SQL (USE db; is SQL, and
-- what dumps write), so a file failing there fails at the same line with
-- another error.
local NAMED_COMMANDS = { use = true, source = true, connect = true, charset = true, system = true }
local function named_command_at(path, n)
  local i = 0
  for line in io.lines(path) do
    i = i + 1
    if i == n then
      local word = line:match("^%s*(%a+)")
      return word and NAMED_COMMANDS[word:lower()] and ("the client runs `" .. word .. "` itself") or nil
    end
  end
end

local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

describe("scripts run by execute_file as by the mariadb client", function()
  local servers, snap_db = nil, {}

  setup(function()
    servers = sandbox_pair.start(4)
    for i, s in ipairs(servers) do snap_db[i] = connect(s, "mysql") end
  end)

  teardown(function()
    sandbox_pair.stop(servers) -- first: nothing may keep the servers running
    for _, db in pairs(snap_db) do pcall(db.close, db) end
  end)

  -- The corpus through one way: the client on servers[a], execute_file on
  -- servers[b]; comments false for the default client and comments = false.
  local function corpus_pass(title, a, b, comments)
    describe(title, function()
      local files, packages = corpus_files()
      local results = {}
      local opts = comments == false and { comments = false } or nil
      local label = comments == false and "without comments" or "with comments"

      setup(function()
        for _, i in ipairs({ a, b }) do
          -- the test suite's scripts expect the databases mysql-test-run makes
          snap_db[i]:query("CREATE DATABASE IF NOT EXISTS test")
          snap_db[i]:query("CREATE DATABASE IF NOT EXISTS mtr")
        end
      end)

      teardown(function()
        if #results == 0 then return end -- none ran (a --filter)
        local ran, failed, other = {}, {}, {}
        for _, r in ipairs(results) do
          local line = "  " .. r.name .. " (default database " .. r.database .. ")"
          if r.client.ok and r.same then
            ran[#ran + 1] = line .. ": " .. r.ours.statements .. " statements"
          elseif not r.client.ok and (r.same or r.explained) then
            failed[#failed + 1] = line .. "\n      client:       " .. describe_outcome(r.client)
              .. "\n      execute_file: " .. describe_outcome(r.ours)
              .. (r.explained and ("\n      (other error: " .. r.explained .. ")") or "")
          else
            other[#other + 1] = line .. "\n      client:       " .. describe_outcome(r.client)
              .. "\n      execute_file: " .. describe_outcome(r.ours)
          end
        end
        io.stderr:write(("\n[48-script_corpus] %s: %d .sql files from %s\n")
          :format(label, #files, table.concat(packages, ", ")),
          ("ran identically through the client and execute_file (%d):\n"):format(#ran), table.concat(ran, "\n"), "\n",
          ("failed under the client, excluded; execute_file fails alike (%d):\n"):format(#failed),
          table.concat(failed, "\n"), "\n")
        if #other > 0 then
          io.stderr:write(("DIFFERENT (%d):\n"):format(#other), table.concat(other, "\n"), "\n")
        end
      end)

      it("are found with dpkg -L", function()
        assert(#files > 0, "no .sql file found in the installed packages: " .. table.concat(packages, ", "))
      end)

      for _, path in ipairs(files) do
        local name, database = short_name(path), default_database(path)
        it(name .. " leaves the same schema through execute_file as through the client", function()
          assert(servers, "the servers did not start")
          local client = run_client(servers[a], database, path, comments)
          local ours = run_execute_file(servers[b], database, path, opts)
          local diffs = snapshot.diff(snapshot.take(snap_db[a]), snapshot.take(snap_db[b]))
          local same_outcome = client.ok == ours.ok
            and (client.ok or (client.code == ours.code and client.line == ours.line))
          results[#results + 1] = {
            name = name, database = database, client = client, ours = ours,
            same = same_outcome and #diffs == 0,
          }
          if client.ok then
            assert(ours.ok, "the client ran it, execute_file " .. describe_outcome(ours))
          else
            assert(not ours.ok, "the client " .. describe_outcome(client) .. "; execute_file ran it all")
            results[#results].explained = client.line == ours.line and client.code ~= ours.code
              and named_command_at(path, client.line)
            assert(client.line == ours.line and (client.code == ours.code or results[#results].explained),
              ("not the same failure:\n  client:       %s\n  execute_file: %s")
                :format(describe_outcome(client), describe_outcome(ours)))
          end
          assert(#diffs == 0, "the servers differ after it:\n" .. table.concat(diffs, "\n"))
        end)
      end
    end)
  end

  corpus_pass("the .sql files the MariaDB packages ship", 1, 2)
  corpus_pass("the .sql files the MariaDB packages ship, without comments", 3, 4, false)

  describe("a mariadb-dump --routines --triggers --events", function()
    -- Statements run one by one through db:query, so that the source does
    -- not depend on the splitter under test.
    local SOURCE = {
      [[CREATE TABLE notes (
        id INT AUTO_INCREMENT PRIMARY KEY,
        body TEXT NOT NULL COMMENT 'free text; may hold $$ and //',
        flag TINYINT NOT NULL DEFAULT 0,
        raw VARBINARY(32) NULL,
        KEY by_flag (flag, id)
      ) ENGINE=InnoDB COMMENT 'notes; with a semicolon']],
      [[CREATE TABLE audit (
        id INT AUTO_INCREMENT PRIMARY KEY,
        what VARCHAR(200) NOT NULL
      ) ENGINE=InnoDB]],
      [[INSERT INTO notes (body, raw) VALUES
        ('plain', NULL),
        ('a; b; c', X'00015C27223B0D0A'),
        ('DELIMITER $$', X'2424'),
        ('ends with $$', ''),
        ('quote '' and "double" and \\ backslash', X'FF'),
        ('line one\nline two\r\n;', NULL),
        ('/* not a comment; */ -- nor this; # nor this', NULL),
        ('ünïcödé ✓ 日本語;', NULL),
        (';;', NULL),
        ('//', NULL)]],
      [[CREATE FUNCTION shout(s TEXT) RETURNS TEXT DETERMINISTIC
        COMMENT 'returns; louder'
        RETURN CONCAT(UPPER(s), '!;')]],
      [[CREATE FUNCTION count_flagged() RETURNS INT READS SQL DATA
      BEGIN
        -- counts; the flagged notes $$
        DECLARE n INT DEFAULT 0;
        SELECT COUNT(*) INTO n FROM notes WHERE flag = 1; /* ; */
        RETURN n; # done;
      END]],
      [[CREATE PROCEDURE add_note(IN b TEXT, OUT new_id INT)
        SQL SECURITY INVOKER COMMENT 'adds a note; $$ // ;;'
      BEGIN
        /* a block comment; END; $$ */
        DECLARE msg VARCHAR(100) DEFAULT 'DELIMITER //';
        IF b LIKE '%;%' THEN
          SET msg = CONCAT(msg, '; has a semicolon');
        END IF;
        INSERT INTO notes (body) VALUES (b);
        SET new_id = LAST_INSERT_ID();
        INSERT INTO audit (what) VALUES (CONCAT('add_note: ', msg, ' $$'));
      END]],
      [[CREATE TRIGGER notes_bi BEFORE INSERT ON notes FOR EACH ROW
      BEGIN
        IF NEW.body LIKE '%;%' OR NEW.body LIKE '%$$%' THEN
          SET NEW.flag = 1;
        END IF;
      END]],
      [[CREATE TRIGGER notes_au AFTER UPDATE ON notes FOR EACH ROW
        INSERT INTO audit (what) VALUES (CONCAT('updated ', OLD.id, '; ', NEW.body))]],
      [[CREATE VIEW flagged AS
        SELECT id, body, 'a;b' AS marker, shout(body) AS loud FROM notes WHERE flag = 1]],
      [[CREATE VIEW flagged_count AS SELECT COUNT(*) AS n, '$$' AS d FROM flagged]],
      [[CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2031-01-01 00:00:00'
        ON COMPLETION PRESERVE DISABLE COMMENT 'purges; old rows'
      DO BEGIN
        DELETE FROM audit WHERE id < 0;
        INSERT INTO audit (what) VALUES ('purged; $$');
      END]],
      [[CREATE EVENT once ON SCHEDULE AT '2031-06-01 12:00:00' DISABLE
      DO INSERT INTO audit (what) VALUES ('once;')]],
      "CALL add_note('from a call; with $$', @id)",
      "UPDATE notes SET body = CONCAT(body, ' (edited; once)') WHERE id = 2",
    }

    local dump_path = os.tmpname()
    local source, by_lua, by_client = "dump_source", "dump_by_execute_file", "dump_by_client"

    teardown(function()
      os.remove(dump_path)
    end)

    it("restores through execute_file to the same objects and data", function()
      assert(servers, "the servers did not start")
      local server = servers[1]
      local db <close> = connect(server, "mysql")
      for _, name in ipairs({ source, by_lua, by_client }) do
        db:query("DROP DATABASE IF EXISTS " .. name)
        db:query("CREATE DATABASE " .. name)
      end
      db:select_db(source)
      for _, sql in ipairs(SOURCE) do db:query(sql) end

      local _, err, status = helpers.run(("mariadb-dump --defaults-file=%s --default-character-set=utf8mb4"
        .. " --routines --triggers --events %s >%s"):format(q(server.cnf), source, q(dump_path)))
      assert.equal(0, status, err)
      local dump = sandbox_pair.slurp(dump_path)
      -- the dump exercises what it is meant to: DELIMITER around bodies
      assert.truthy(dump:find("\nDELIMITER ;;\n", 1, true), "no DELIMITER in the dump")
      assert.truthy(dump:find("CREATE DEFINER", 1, true))

      local ours = run_execute_file(server, by_lua, dump_path)
      assert(ours.ok, "execute_file " .. describe_outcome(ours))
      local client = run_client(server, by_client, dump_path)
      assert(client.ok, "the client " .. describe_outcome(client))

      local want = snapshot.take(db, { schema = source })
      -- everything the source holds is there to compare
      for _, kind in ipairs({ "create table", "create view", "create procedure", "create function",
          "create trigger", "create event", "checksum" }) do
        local found = false
        for key in pairs(want) do
          if key:sub(1, #kind + 1) == kind .. " " then found = true end
        end
        assert(found, "nothing of kind " .. kind .. " in the source")
      end
      local diffs = snapshot.diff(want, snapshot.take(db, { schema = by_lua }), nil, { "source", "execute_file" })
      assert(#diffs == 0, "execute_file's restore differs from the source:\n" .. table.concat(diffs, "\n"))
      diffs = snapshot.diff(want, snapshot.take(db, { schema = by_client }), nil, { "source", "client" })
      assert(#diffs == 0, "the client's restore differs from the source:\n" .. table.concat(diffs, "\n"))

      -- and the rows themselves, byte for byte
      local function all(name, tbl)
        local out = {}
        for r in db:query(("SELECT * FROM %s.%s ORDER BY id"):format(name, tbl)):rows("a") do
          for i = 1, #r do r[i] = tostring(r[i]) end
          out[#out + 1] = table.concat(r, "\t")
        end
        return out
      end
      for _, tbl in ipairs({ "notes", "audit" }) do
        assert.same(all(source, tbl), all(by_lua, tbl))
      end
      -- the restored routines run
      local r = db:query("SELECT " .. by_lua .. ".shout('x'), " .. by_lua .. ".count_flagged()"):row(1, "a")
      assert.equal("X!;", r[1])
      local flagged = db:query("SELECT COUNT(*) FROM " .. source .. ".notes WHERE flag = 1"):row(1, "a")[1]
      assert.is_true(tonumber(flagged) > 0)
      assert.equal(tostring(flagged), tostring(r[2]))
    end)
  end)

  describe("hand-made scripts", function()
    local LOG = "log (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)"

    local PROCEDURES = table.concat({
      "DELIMITER $$",
      "CREATE PROCEDURE p1()",
      "BEGIN",
      "  INSERT INTO log (v) VALUES ('p1; called');",
      "  INSERT INTO log (v) VALUES ('$ and $');",
      "END$$",
      "DELIMITER //",
      "CREATE FUNCTION f1() RETURNS TEXT DETERMINISTIC",
      "BEGIN",
      "  RETURN 'f1; $$ //';",
      "END //",
      "DELIMITER ;",
      "CALL p1();",
      "INSERT INTO log (v) VALUES (f1());",
      "",
    }, "\n")

    -- name, script, and what the client is known to do with it: rows is
    -- the log table's v column after it; fails_at the line of its error.
    -- execute_file does the same, but where `differs` says why not and
    -- execute_file = { rows =, fails_at = } says what it does instead.
    local CASES = {
      { "semicolons in strings and names", [[
INSERT INTO log (v) VALUES ('a;b'), ("c;d"), ('it''s; fine'), ('back\\'';x');
CREATE TABLE `odd;name` (`c;1` INT);
INSERT INTO `odd;name` VALUES (1);
INSERT INTO log (v) SELECT CONCAT('odd: ', `c;1`) FROM `odd;name`;
]], rows = { "a;b", "c;d", "it's; fine", "back\\';x", "odd: 1" } },
      { "the delimiter inside strings", [[
DELIMITER $$
INSERT INTO log (v) VALUES ('x$$y')$$
INSERT INTO log (v) VALUES ("DELIMITER ;")$$
DELIMITER ;
INSERT INTO log (v) VALUES ('after; reset');
]], rows = { "x$$y", "DELIMITER ;", "after; reset" } },
      { "DELIMITER inside comments", [[
/* DELIMITER $$ */
INSERT INTO log (v) VALUES ('one');
-- DELIMITER //
INSERT INTO log (v) VALUES ('two');
# DELIMITER ;;
INSERT INTO log (v) VALUES ('three');
/*
DELIMITER $$
*/
INSERT INTO log (v) VALUES ('four');
]], rows = { "one", "two", "three", "four" } },
      { "DELIMITER at the start of a line inside a string", [[
INSERT INTO log (v) VALUES ('first line
DELIMITER $$
third line');
INSERT INTO log (v) VALUES ('next');
]], rows = { "first line\nDELIMITER $$\nthird line", "next" } },
      { "$$ and // delimiters around bodies", PROCEDURES,
        rows = { "p1; called", "$ and $", "f1; $$ //" } },
      { "CRLF line ends", PROCEDURES:gsub("\n", "\r\n") .. "INSERT INTO log (v) VALUES ('crlf\r\nkept');\r\n",
        -- the client drops the CR of every CR LF, inside strings too
        rows = { "p1; called", "$ and $", "f1; $$ //", "crlf\nkept" } },
      { "CRLF line ends and an error", "INSERT INTO log (v) VALUES ('a');\r\n\r\nINSERT INTO nope VALUES (1);\r\n",
        rows = { "a" }, fails_at = 3 },
      { "no final delimiter", "INSERT INTO log (v) VALUES ('one');\nINSERT INTO log (v) VALUES ('last')",
        rows = { "one", "last" } },
      { "no final delimiter before a comment",
        "INSERT INTO log (v) VALUES ('one');\nINSERT INTO log (v) VALUES ('last')\n-- a comment at the end\n",
        rows = { "one", "last" } },
      { "a file ending inside a string",
        "INSERT INTO log (v) VALUES ('ok');\nINSERT INTO log (v) VALUES ('never closed;\n",
        rows = { "ok" }, fails_at = 2 },
      { "a file ending inside a comment",
        "INSERT INTO log (v) VALUES ('ok');\n/* never closed; INSERT INTO log (v) VALUES ('no');\n",
        rows = { "ok" }, fails_at = 2,
        execute_file = { rows = { "ok" }, fails = false },
        differs = "the client (--comments) sends the open comment, which the server refuses; "
          .. "execute_file sends nothing without code, as the client without --comments" },
      { "a file ending inside a statement's comment",
        "INSERT INTO log (v) VALUES ('ok');\nINSERT INTO log (v) VALUES ('open') /* never closed;\n",
        rows = { "ok" }, fails_at = 2 },
      { "executable comments holding the delimiter", [[
/*!40101 SET @a = 'x;y' */;
INSERT INTO log (v) VALUES (@a);
/*M!100100 INSERT INTO log (v) VALUES ('mariadb; only') */;
/*!99999 INSERT INTO log (v) VALUES ('not yet') */;
DELIMITER ;;
/*!50003 INSERT INTO log (v) VALUES ('in; exec') */;;
DELIMITER ;
]], rows = { "x;y", "mariadb; only", "in; exec" } },
      { "a bare delimiter inside an executable comment", [[
INSERT INTO log (v) VALUES ('before');
/*!50003 INSERT INTO log (v) VALUES ('one'); INSERT INTO log (v) VALUES ('two') */;
INSERT INTO log (v) VALUES ('never');
]], rows = { "before" }, fails_at = 2 },
      { "\\g and \\c", [[
INSERT INTO log (v) VALUES ('g')\g
INSERT INTO log (v) VALUES ('dropped') \c
INSERT INTO log (v) VALUES ('after c');
INSERT INTO log (v) VALUES ('a \c and \g in a string');
]], rows = { "g", "after c", "a c and g in a string" } },
      { "# and -- comments", [[
# a hash comment; with a semicolon
-- a dash comment; with a semicolon
INSERT INTO log (v) VALUES ('a'); # trailing; hash
INSERT INTO log (v) VALUES ('b'); -- trailing; dash
INSERT INTO log (v) VALUES (5 --1);
INSERT INTO log (v) VALUES ('c') -- ends the line; not the statement
;
INSERT INTO log (v) VALUES ('d') # also; here
;
]], rows = { "a", "b", "6", "c", "d" } },
      { "a DELIMITER line with trailing text", [[
DELIMITER $$ and some words
INSERT INTO log (v) VALUES ('after $$')$$
delimiter ; again
INSERT INTO log (v) VALUES ('back to ;');
]], rows = { "after $$", "back to ;" } },
      { "\\d and a lowercase delimiter", [[
delimiter //
INSERT INTO log (v) VALUES ('slashes')//
\d ;
INSERT INTO log (v) VALUES ('semicolon');
]], rows = { "slashes", "semicolon" } },
      { "statements sharing a line, blank lines, an error", [[
INSERT INTO log (v) VALUES ('a'); INSERT INTO log (v) VALUES ('b');


INSERT INTO log (v)

VALUES ('c');
INSERT INTO log (v) VALUES ('d'); INSERT INTO nope VALUES (1);
INSERT INTO log (v) VALUES ('never');
]], rows = { "a", "b", "c", "d" }, fails_at = 7 },
      { "empty statements", "INSERT INTO log (v) VALUES ('a');;\n;\n  ;  \nINSERT INTO log (v) VALUES ('b');\n",
        rows = { "a", "b" } },
      { "DELIMITER without a value",
        "INSERT INTO log (v) VALUES ('a');\nDELIMITER\nINSERT INTO log (v) VALUES ('b');\n",
        rows = { "a", "b" },
        execute_file = { rows = { "a" }, fails = true },
        differs = "the client prints an error and goes on with the old delimiter; "
          .. "execute_file stops there, before running anything after it" },
      { "source, the client's named command",
        function(dir)
          write_file(dir .. "/sourced.sql", "INSERT INTO log (v) VALUES ('sourced');\n")
          return "INSERT INTO log (v) VALUES ('a');\nsource " .. dir .. "/sourced.sql\n"
            .. "INSERT INTO log (v) VALUES ('b');\n"
        end,
        rows = { "a", "sourced", "b" },
        execute_file = { rows = { "a" }, fails = true, line = 2 },
        differs = "the client runs the file; execute_file sends the line to the server, which refuses it" },
    }

    local dir
    local differences = {}
    setup(function()
      local p = assert(io.popen("mktemp -d"))
      dir = p:read("l")
      p:close()
    end)
    teardown(function()
      if dir then os.execute("rm -rf " .. q(dir)) end
      if #differences > 0 then
        io.stderr:write(("\n[48-script_corpus] hand-made scripts where execute_file differs"
          .. " from the client on purpose (%d):\n"):format(#differences), table.concat(differences, "\n"), "\n")
      end
    end)

    local function log_rows(db, database)
      local out = {}
      for r in db:query("SELECT v FROM " .. database .. ".log ORDER BY id"):rows("a") do
        out[#out + 1] = tostring(r[1])
      end
      return out
    end

    for i, case in ipairs(CASES) do
      local name, text = case[1], case[2]
      it(name .. ": the same outcome, rows and objects", function()
        assert(servers, "the servers did not start")
        local server = servers[1]
        local path = ("%s/case%02d.sql"):format(dir, i)
        write_file(path, type(text) == "function" and text(dir) or text)
        local db <close> = connect(server, "mysql")
        local cli, ours = ("edge%02d_client"):format(i), ("edge%02d_execute_file"):format(i)
        for _, d in ipairs({ cli, ours }) do
          db:query("DROP DATABASE IF EXISTS " .. d)
          db:query("CREATE DATABASE " .. d)
          db:query("CREATE TABLE " .. d .. "." .. LOG)
        end
        local client = run_client(server, cli, path)
        local got = run_execute_file(server, ours, path)
        -- the client does what the case says
        assert.same(case.rows, log_rows(db, cli))
        if case.fails_at then
          assert(not client.ok and client.line == case.fails_at,
            "the client: " .. describe_outcome(client))
        else
          assert(client.ok, "the client: " .. describe_outcome(client))
        end
        if case.differs then
          -- execute_file does what the case says instead
          local want = case.execute_file
          assert.same(want.rows, log_rows(db, ours))
          assert.equal(not want.fails, got.ok, "execute_file " .. describe_outcome(got))
          if want.line then assert.equal(want.line, got.line) end
          differences[#differences + 1] = ("  %s:\n      client:       %s\n      execute_file: %s\n      (%s)")
            :format(name, describe_outcome(client), describe_outcome(got), case.differs)
          return
        end
        -- and execute_file the same
        assert.same(log_rows(db, cli), log_rows(db, ours))
        assert.equal(client.ok, got.ok, "execute_file " .. describe_outcome(got))
        if not client.ok then
          assert.same({ client.code, client.line }, { got.code, got.line },
            "execute_file " .. describe_outcome(got) .. "; client " .. describe_outcome(client))
        end
        local diffs = snapshot.diff(snapshot.take(db, { schema = cli }), snapshot.take(db, { schema = ours }))
        assert(#diffs == 0, "the databases differ:\n" .. table.concat(diffs, "\n"))
      end)
    end
  end)

  describe("hand-made scripts without comments", function()
    -- Each runs through a plain `mariadb` (which deletes comments) and
    -- execute_file{ comments = false } into two fresh databases: the same
    -- outcome, line on failure, rows, and objects as SHOW CREATE shows
    -- them; gone says what the client is known to have deleted from a
    -- stored body (so the case proves the stripping happens), kept what it
    -- is known to have kept.
    local LOG = "log (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)"
    local CASES = {
      { "comments in a procedure body", [[
DELIMITER $$
CREATE PROCEDURE p1() -- at a line's end
BEGIN
  -- a comment line; with a semicolon
    # a hash line, indented
  INSERT INTO log (v) VALUES ('# not a comment'); -- after a statement
  INSERT INTO log (v) VALUES (5 --1);
  INSERT INTO log (v) VALUES ("-- nor this"), ('/* nor this */');
  /* a C comment
     over two lines */ INSERT INTO log (v) VALUES (CONCAT('a'/* tight */,'b'));
  /*!50001 INSERT INTO log (v) VALUES ('executable') */;
  /*M!100100 INSERT INTO log (v) VALUES ('mariadb only') */;
END$$
DELIMITER ;
CALL p1();
]], rows = { "# not a comment", "6", "-- nor this", "/* nor this */", "ab", "executable", "mariadb only" },
        object = "SHOW CREATE PROCEDURE p1", column = 3,
        gone = { "at a line", "a comment line", "a hash line", "after a statement", "over two lines", "tight" },
        -- (the server itself drops the markers of executable comments in a body)
        kept = { "'# not a comment'", "5 --1", "'executable'", "'mariadb only'" } },
      { "comments in a function, a view, a trigger and an event", [[
CREATE TABLE t (a INT) -- trailing
;
CREATE FUNCTION f() RETURNS TEXT DETERMINISTIC
  RETURN 'x' -- done
;
CREATE VIEW v1 AS SELECT /* c */ 1 AS one -- x
  , 2 AS two # y
;
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW -- why
  SET NEW.a = NEW.a + 1 /* plus one */;
CREATE EVENT e ON SCHEDULE AT '2031-01-01 00:00:00' DISABLE DO -- never
  INSERT INTO log (v) VALUES ('#1') /* in the body */;
INSERT INTO t VALUES (1);
INSERT INTO log (v) SELECT CONCAT(f(), a) FROM t;
]], rows = { "x2" }, object = "SHOW CREATE TRIGGER tr", column = 3,
        gone = { "why", "plus one" }, kept = { "NEW.a + 1" } },
      { "a line starting with -- but no blank, first in a statement", [[
INSERT INTO log (v) VALUES ('a');
--- a note the client deletes; the server would refuse it
--x as well
INSERT INTO log (v) VALUES ('b');
--- and before an error
INSERT INTO nope VALUES (1);
]], rows = { "a", "b" }, fails_at = 6 },
      { "CRLF line ends and a C comment over lines",
        "INSERT INTO log (v) VALUES ('a') /* one\r\ntwo */;\r\nINSERT INTO log (v) VALUES ('b\r\n-- in a string');\r\n",
        rows = { "a", "b\n-- in a string" } },
    }

    local dir
    setup(function()
      local p = assert(io.popen("mktemp -d"))
      dir = p:read("l")
      p:close()
    end)
    teardown(function()
      if dir then os.execute("rm -rf " .. q(dir)) end
    end)

    for i, case in ipairs(CASES) do
      local name, text = case[1], case[2]
      it(name .. ": the same outcome, rows and objects", function()
        assert(servers, "the servers did not start")
        local server = servers[3]
        local path = ("%s/strip%02d.sql"):format(dir, i)
        write_file(path, text)
        local db <close> = connect(server, "mysql")
        local cli, ours = ("strip%02d_client"):format(i), ("strip%02d_execute_file"):format(i)
        for _, d in ipairs({ cli, ours }) do
          db:query("DROP DATABASE IF EXISTS " .. d)
          db:query("CREATE DATABASE " .. d)
          db:query("CREATE TABLE " .. d .. "." .. LOG)
        end
        local client = run_client(server, cli, path, false)
        local got = run_execute_file(server, ours, path, { comments = false })
        local function rows(database)
          local out = {}
          for r in db:query("SELECT v FROM " .. database .. ".log ORDER BY id"):rows("a") do
            out[#out + 1] = tostring(r[1])
          end
          return out
        end
        assert.same(case.rows, rows(cli))
        if case.fails_at then
          assert(not client.ok and client.line == case.fails_at, "the client: " .. describe_outcome(client))
        else
          assert(client.ok, "the client: " .. describe_outcome(client))
        end
        assert.same(rows(cli), rows(ours))
        assert.equal(client.ok, got.ok, "execute_file " .. describe_outcome(got))
        if not client.ok then
          assert.same({ client.code, client.line }, { got.code, got.line },
            "execute_file " .. describe_outcome(got) .. "; client " .. describe_outcome(client))
        end
        if case.object then
          db:select_db(cli)
          local body = db:query(case.object):row(1, "a")[case.column]
          for _, word in ipairs(case.gone) do
            assert.falsy(body:find(word, 1, true), "the client kept " .. word .. " in:\n" .. body)
          end
          for _, word in ipairs(case.kept) do
            assert.truthy(body:find(word, 1, true), "the client deleted " .. word .. " from:\n" .. body)
          end
        end
        local diffs = snapshot.diff(snapshot.take(db, { schema = cli }), snapshot.take(db, { schema = ours }))
        assert(#diffs == 0, "the databases differ:\n" .. table.concat(diffs, "\n"))
      end)
    end
  end)
end)
