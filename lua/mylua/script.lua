-- db:execute_script(text [, opts]) and db:execute_file(path [, opts]): a
-- script of SQL statements run one at a time, split as the mariadb client
-- splits its input (DELIMITER, \g, \c, comments, executable comments: see
-- src/core/sqlsplit.h).  Each statement goes through db:query, so its
-- results are read and dropped; the first that fails stops the script, its
-- error raised with the statement's number and line added.  Comments go to
-- the server with each statement (as `mariadb --comments` sends them),
-- unless opts.comments is false: then they are deleted as the client does
-- by default (src/core/sqlstrip.h).
local core = require "mylua.core"

local methods = core.connection_methods

local OPTIONS = { progress = "function", name = "string", comments = "boolean" }

local function check_options(fname, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("bad argument #2 to '%s' (table expected, got %s)"):format(fname, type(opts)), 3)
  end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then
      error(("bad argument #2 to '%s' (unknown option %s)"):format(fname,
        type(k) == "string" and ("%q"):format(k) or tostring(k)), 3)
    end
    if type(v) ~= want then
      error(("bad argument #2 to '%s' (option %s: %s expected, got %s)"):format(fname, k, want, type(v)), 3)
    end
  end
  return opts
end

local function run(db, fname, text, opts, name)
  local splitter = core.sql_splitter(text)
  local progress = opts.progress
  local size = #text
  local count = 0
  local strip = opts.comments == false
  while true do
    local first, last, line, _, done = splitter:next(db)
    if first == nil then return count end
    if first == false then
      -- last is the splitter's "line N: why"
      error(("%s: %s%s"):format(fname, name and (name .. ": ") or "", last), 3)
    end
    -- The client reads its input line by line and drops the CR of each
    -- CR LF, inside strings and bodies too: the server sees LF only.
    local sql = (text:sub(first, last):gsub("\r\n", "\n"))
    -- comments = false: deleted as the client does by default; a statement
    -- left empty (only "--x" lines, a comment to the client) is not sent
    if strip then
      local stripped = splitter:strip_comments(sql, db)
      -- the client counts a statement's line from its first kept line:
      -- skip the leading "--x" lines it deleted
      if sql:sub(1, 2) == "--" and stripped ~= "" then
        local at = 1
        while true do
          local lf = sql:find("\n", at, true)
          if not lf or splitter:strip_comments(sql:sub(1, lf), db) ~= "" then break end
          line, at = line + 1, lf + 1
        end
      end
      sql = stripped
    end
    local ok, err = true, nil
    if sql ~= "" then
      count = count + 1
      ok, err = pcall(db.query, db, sql)
    end
    if not ok then
      if core.is_error(err) then
        err.statement, err.line, err.file = count, line, name
      end
      error(err, 0)
    end
    if progress and sql ~= "" then
      progress{ statement = count, line = line, offset = done, size = size, sql = sql }
    end
  end
end

function methods:execute_script(text, opts)
  if type(text) ~= "string" then
    error(("bad argument #1 to 'execute_script' (string expected, got %s)"):format(type(text)), 2)
  end
  opts = check_options("execute_script", opts)
  return run(self, "execute_script", text, opts, opts.name)
end

function methods:execute_file(path, opts)
  if type(path) ~= "string" then
    error(("bad argument #1 to 'execute_file' (string expected, got %s)"):format(type(path)), 2)
  end
  opts = check_options("execute_file", opts)
  local f, why = io.open(path, "rb")
  if not f then error(("execute_file: cannot open %s"):format(why), 2) end
  local text, rwhy = f:read("a")
  f:close()
  if not text then error(("execute_file: cannot read %s: %s"):format(path, rwhy), 2) end
  return run(self, "execute_file", text, opts, opts.name or path)
end

return methods
