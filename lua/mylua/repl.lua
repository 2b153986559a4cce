-- The host program's interactive prompt, the part that reads better in Lua:
-- what a line means (Lua or SQL), running it, and printing what it gave as
-- the `mariadb` client and the `lua` interpreter do.  src/host/repl.c reads
-- the lines (line editing, history, Ctrl-C) and calls session:line(text).
local mylua = require "mylua"

local repl = {}

-- The words that make a line SQL when it starts with one, in any case,
-- followed by a blank, a `;` or the end of the line.  DO is left out: it
-- starts a Lua block.
local SQL_WORDS = {}
for word in ([[
  SELECT INSERT UPDATE DELETE REPLACE SHOW CREATE ALTER DROP RENAME TRUNCATE
  USE SET DESCRIBE DESC EXPLAIN ANALYZE WITH VALUES CALL GRANT REVOKE
  BEGIN START COMMIT ROLLBACK SAVEPOINT RELEASE XA LOCK UNLOCK
  PREPARE EXECUTE DEALLOCATE LOAD HANDLER KILL FLUSH RESET PURGE
  OPTIMIZE REPAIR CHECK CHECKSUM INSTALL UNINSTALL BINLOG
]]):gmatch("%a+") do
  SQL_WORDS[word] = true
end

-- Whether `line` is SQL for the prompt: a SQL word as its first word, not
-- followed by `=` (a Lua assignment to a variable of that name), or `\`.
function repl.is_sql(line)
  if line:match("^%s*\\") then return true end
  local word, rest = line:match("^%s*(%a+)(.*)$")
  if not word or not SQL_WORDS[word:upper()] then return false end
  if rest == "" or rest:match("^;") then return true end
  return rest:match("^%s") ~= nil and not rest:match("^%s*=[^=]")
end

-- Text safe for a terminal: control characters other than tab and newline
-- as Lua escapes, so no escape sequence in a message reaches the terminal.
local function printable(s)
  return (s:gsub("[%z\1-\8\11-\31\127]", function(c) return "\\" .. c:byte() end))
end

local function error_text(err)
  if mylua.is_error(err) or type(err) == "string" or type(err) == "number" then
    return tostring(err)
  end
  local mt = getmetatable(err)
  if type(mt) == "table" and mt.__tostring then return tostring(err) end
  return ("(error object is a %s value)"):format(type(err))
end

local function report(err)
  io.stdout:flush()
  io.stderr:write(printable(error_text(err)), "\n")
  io.stderr:flush()
end

-- The client's nice_time: "0.001 sec", "1 min 2.500 sec", ...
local function nice_time(sec)
  local parts = {}
  for _, unit in ipairs{ { 86400, "day" }, { 3600, "hour" }, { 60, "min" } } do
    if sec >= unit[1] then
      local n = sec // unit[1]
      sec = sec - n * unit[1]
      local name = unit[2]
      if n > 1 and name ~= "min" then name = name .. "s" end
      parts[#parts + 1] = ("%d %s "):format(n, name)
    end
  end
  return table.concat(parts) .. ("%.3f sec"):format(sec)
end

local function plural(n, word)
  return ("%s %s"):format(n, n == 1 and word or word .. "s")
end

local function is_rows(v)
  if type(v) ~= "userdata" then return false end
  local mt = getmetatable(v)
  local name = type(mt) == "table" and mt.__name
  return name == "mylua.result" or name == "mylua.cursor"
end

-- One result as the client shows it at a terminal: the rows, then
-- "N rows in set", "Empty set" or "Query OK, N rows affected", with the
-- warnings, the time taken, the server's info line and an empty line.
local function show_result(res, elapsed, vertical)
  local columns = res.columns
  local line
  if columns and #columns > 0 then
    local n = mylua.print(res, { format = vertical and "vertical" or "table" })
    line = n == 0 and "Empty set" or plural(n, "row") .. " in set"
  else
    local affected = res.affected_rows
    line = "Query OK, " .. plural(affected, "row") .. " affected"
  end
  local warnings = res.warnings
  if warnings and warnings > 0 then line = line .. ", " .. plural(warnings, "warning") end
  if elapsed then line = line .. " (" .. nice_time(elapsed) .. ")" end
  io.stdout:write(line, "\n")
  local info = res.info
  if info and info ~= "" then io.stdout:write(printable(info), "\n") end
  io.stdout:write("\n")
end

local HELP = [[
Lua and SQL at one prompt.

A line is Lua, unless it starts with a SQL word (SELECT, INSERT, UPDATE,
DELETE, SHOW, CREATE, ALTER, DROP, USE, SET, DESCRIBE, DESC, EXPLAIN, WITH,
CALL, BEGIN, COMMIT, ROLLBACK, ... in any case) followed by a blank, or
with `\`: then it is SQL, sent on the connection `db`.  A Lua expression's
values are printed; a chunk that is not complete continues on the next
line.  `db` connects on first use with mylua.connect()'s defaults (the
command line's settings); assign your own connection to `db` to use it.

  \G   at the end of a SQL line: print the rows vertically
  \g   at the end of a SQL line: send it (as the end of the line does)
  \h   this help (also \?)
  \q   quit (also Ctrl-D)

Ctrl-C clears the line; while a statement runs, it interrupts it.
]]

local BACKSLASH = {
  q = "quit", h = "help", ["?"] = "help",
}

function repl.new(host)
  local session = { pending = nil }
  local now = host.now
  -- xpcall that keeps a Ctrl-C's error as the line's (the host's, when it
  -- has one: see src/host/repl.c)
  local xpcall = host.xpcall or xpcall

  -- The global `db`: connected on first use, unless the script set one.
  local G = _G
  local ours -- the connection the prompt made, while it is `db`
  if getmetatable(G) == nil then
    setmetatable(G, {
      __index = function(t, k)
        if k == "db" then
          local db = mylua.connect()
          rawset(t, "db", db)
          ours = db
          return db
        end
      end,
    })
  end

  -- After a lost connection, the next use of `db` connects again, when
  -- `db` is still the prompt's own connection.
  local function forget_lost_db()
    local db = rawget(G, "db")
    if db ~= nil and db == ours and (db.closed or db.broken) then
      pcall(db.close, db)
      rawset(G, "db", nil)
      ours = nil
    end
  end

  local function run_sql(sql, vertical)
    sql = sql:gsub("^%s+", ""):gsub("[%s;]+$", "")
    if sql == "" then
      report("ERROR: No query specified")
      return
    end
    local db = G.db
    local started = now()
    local res = db:query(sql)
    local elapsed = now() - started
    while res do
      show_result(res, elapsed, vertical)
      res = res:next_result()
    end
  end

  -- A SQL line, or a backslash command.
  local function sql_line(line)
    local body = line:match("^%s*(.-)%s*$")
    local command = body:match("^\\(.)%s*$")
    if command and BACKSLASH[command] then
      if BACKSLASH[command] == "quit" then return "quit" end
      io.stdout:write(HELP)
      return
    end
    local sql, suffix = body:match("^(.-)\\([gG])$")
    if sql then return run_sql(sql, suffix == "G") end
    if body:match("^\\") then
      report(("ERROR: Unknown command '%s'; \\h lists the commands"):format(body:match("^\\.?")))
      return
    end
    return run_sql(body, false)
  end

  local function show_values(n, ...)
    if n == 0 then return end
    local values = table.pack(...)
    local any_rows = false
    for i = 1, n do
      if is_rows(values[i]) then any_rows = true end
    end
    if not any_rows then
      print(...)
      return
    end
    for i = 1, n do
      local v = values[i]
      if is_rows(v) then show_result(v, nil, false) else print(v) end
    end
  end

  -- Compiles the chunk as lua.c does: first as `return <chunk>`, then as
  -- it is; "more" when the chunk is not complete yet.
  local function compile(chunk)
    local f = load("return " .. chunk, "=stdin", "t")
    if f then return f end
    local err
    f, err = load(chunk, "=stdin", "t")
    if f then return f end
    if err:sub(-5) == "<eof>" then return nil, "more" end
    return nil, err
  end

  local function handler(err)
    if type(err) == "string" and host.traceback then return debug.traceback(err, 2) end
    return err
  end

  -- Runs one line (or the chunk it completes): returns "more" when the
  -- chunk goes on, "quit" to leave the prompt, nil otherwise.  Errors are
  -- printed, never raised.
  function session:line(text)
    local chunk = text
    if self.pending then
      chunk = self.pending .. "\n" .. text
    elseif repl.is_sql(text) then
      local ok, res = xpcall(sql_line, handler, text)
      if not ok then
        report(res)
        forget_lost_db()
        return nil
      end
      return res
    end
    local f, err = compile(chunk)
    if err == "more" then
      self.pending = chunk
      return "more"
    end
    self.pending = nil
    if not f then
      report(err)
      return nil
    end
    local results = table.pack(xpcall(f, handler))
    if not results[1] then
      report(results[2])
      return nil
    end
    local ok, perr = xpcall(show_values, handler, results.n - 1, table.unpack(results, 2, results.n))
    if not ok then report(perr) end
    return nil
  end

  -- Ctrl-C at the prompt: a chunk in progress is dropped.
  function session:cancel()
    self.pending = nil
  end

  return session
end

return repl
