-- mylua.migrate.files: the migration files of a directory.
--
-- A migration is a file `<version>_<name>.sql` or `<version>_<name>.lua`,
-- the version being its leading digits (at most 18, compared as numbers,
-- so 20260101000000_a.sql and 0042_b.sql both work). A .sql file holds an
-- up section after a line `-- migrate:up` and an optional down section
-- after a line `-- migrate:down`; a .lua file returns a table with
-- `up(db)` and optionally `down(db)` (and `transaction = true` to run them
-- in one transaction). The checksum is the SHA-256 of the file with CR LF
-- read as LF, so a checkout that changes line endings changes nothing.
local sha256 = require("mylua.core").sha256

local files = {}

local MAX_DIGITS = 18 -- what a BIGINT and a Lua integer both hold

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_all(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text, rerr = f:read("a")
  f:close()
  if not text then return nil, path .. ": " .. tostring(rerr) end
  return text
end

-- The migrations in `dir`, sorted by version: { version =, name =, file =,
-- kind = "sql"|"lua" }. Other files are left alone; two files with the
-- same version raise.
function files.list(dir)
  local probe = io.open(dir, "rb")
  if not probe then error(("migrations directory '%s' does not exist"):format(dir), 0) end
  probe:close()
  local p = assert(io.popen("ls -1A -- " .. shell_quote(dir) .. " 2>/dev/null", "r"))
  local names = {}
  for line in p:lines() do names[#names + 1] = line end
  if not p:close() then error(("cannot list the migrations directory '%s'"):format(dir), 0) end
  local list, by_version = {}, {}
  for _, fname in ipairs(names) do
    local digits, name, kind = fname:match("^(%d+)_(.-)%.(%a+)$")
    if digits and (kind == "sql" or kind == "lua") then
      if #digits > MAX_DIGITS then
        error(("%s/%s: a version has at most %d digits"):format(dir, fname, MAX_DIGITS), 0)
      end
      local version = math.tointeger(tonumber(digits, 10))
      local other = by_version[version]
      if other then
        error(("%s/%s and %s have the same version %d"):format(dir, fname, other.fname, version), 0)
      end
      local m = { version = version, name = name, file = dir .. "/" .. fname, fname = fname, kind = kind }
      by_version[version] = m
      list[#list + 1] = m
    end
  end
  table.sort(list, function(a, b) return a.version < b.version end)
  return list
end

function files.checksum(text)
  return sha256((text:gsub("\r\n", "\n")))
end

-- Splits a .sql migration into its sections: { up = text, down = text or
-- nil }. Each section keeps blank lines for the lines before it, so the
-- line numbers the script runner reports are the file's.
local function sections(text, file)
  local parts, current, lines = {}, nil, {}
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    local marker = line:match("^%-%-%s*migrate:(%a+)%s*$")
    marker = marker and marker:lower()
    if marker == "up" or marker == "down" then
      if parts[marker] then error(("%s:%d: a second '-- migrate:%s' line"):format(file, n, marker), 0) end
      if current then parts[current] = table.concat(lines, "\n") end
      current, lines = marker, {}
      for i = 1, n do lines[i] = "" end
      parts[marker] = true
    elseif current then
      lines[#lines + 1] = line
    elseif line:find("%S") and not line:find("^%s*%-%-") and not line:find("^%s*#") then
      error(("%s:%d: SQL before the '-- migrate:up' line"):format(file, n), 0)
    end
  end
  if current then parts[current] = table.concat(lines, "\n") end
  if not parts.up then error(("%s: no '-- migrate:up' line"):format(file), 0) end
  return { up = parts.up, down = parts.down }
end

-- Reads migration `m` (an entry of list): sets m.checksum and, for SQL,
-- m.up / m.down (section texts), for Lua m.up / m.down (functions) and
-- m.transaction. Raises with the file's name when it cannot.
function files.load(m)
  local text, err = read_all(m.file)
  if not text then error(("cannot read %s: %s"):format(m.file, err), 0) end
  m.checksum = files.checksum(text)
  if m.kind == "sql" then
    local s = sections(text, m.file)
    m.up, m.down = s.up, s.down
    if m.down and not m.down:find("%S") then m.down = nil end
  else
    local chunk, lerr = load(text, "@" .. m.file, "t")
    if not chunk then error(lerr, 0) end
    local ok, t = pcall(chunk)
    if not ok then error(("%s: %s"):format(m.file, tostring(t)), 0) end
    if type(t) ~= "table" or type(t.up) ~= "function" or (t.down ~= nil and type(t.down) ~= "function") then
      error(("%s: a Lua migration returns a table with up(db) and optionally down(db)"):format(m.file), 0)
    end
    m.up, m.down, m.transaction = t.up, t.down, t.transaction == true
  end
  return m
end

-- The text `new NAME` writes.
files.TEMPLATE = [[
-- migrate:up


-- migrate:down

]]

files.LUA_TEMPLATE = [[
-- transaction = true runs up and down each in one transaction (only when
-- every statement they send can: no DDL)
return {
  up = function(db)
  end,
  down = function(db)
  end,
}
]]

return files
