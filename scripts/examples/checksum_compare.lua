-- checksum_compare.lua: are these tables the same on two servers?
--
--   mylua [connection options] checksum_compare.lua --other-host HOST
--         [--other-port N] [--other-socket PATH] [--other-user NAME]
--         [--other-database NAME] [--chunk-size N] TABLE...
--
-- Walks each TABLE (SCHEMA.TABLE, or TABLE in each connection's database)
-- by its primary key in chunks of --chunk-size rows (1000) of this server,
-- and compares each chunk's row count and checksum, the BIT_XOR of every
-- row's CRC32, with the same key range on the other server, as
-- pt-table-checksum does.  A chunk that differs is compared row by row.
-- Prints nothing when all is the same; otherwise one line per differing
-- chunk and row, and exits with status 1.
--
-- The other server: --other-host (with --other-port) or --other-socket;
-- what is not given (user, password, TLS options) is as for this server.
-- Its password, when it differs, comes from the environment variable
-- MYLUA_OTHER_PWD, never from the command line.  Each side is read in a
-- consistent snapshot; compare tables nobody writes to meanwhile (a
-- replica stopped at its source's position, a copy, a restored backup).

local mylua = require "mylua"
local args = require "mylua.args"

local USAGE = [[
usage: mylua [connection options] checksum_compare.lua --other-host HOST
       [--other-port N] [--other-socket PATH] [--other-user NAME]
       [--other-database NAME] [--chunk-size N] TABLE...
]]

local opts, tables = args.parse(arg, {
  ["other-host"] = "value", ["other-port"] = "count", ["other-socket"] = "value",
  ["other-user"] = "value", ["other-database"] = "value", ["chunk-size"] = "count",
}, USAGE)
if #tables == 0 then args.usage_error("name at least one table") end
if not (opts["other-host"] or opts["other-port"] or opts["other-socket"]) then
  args.usage_error("name the other server: --other-host, --other-port or --other-socket")
end
local chunk_size = opts["chunk-size"] or 1000

local here <close> = mylua.connect()
local there <close> = mylua.connect{
  host = opts["other-host"], port = opts["other-port"], socket = opts["other-socket"],
  protocol = opts["other-socket"] and "socket" or "tcp",
  user = opts["other-user"], database = opts["other-database"],
  password = os.getenv("MYLUA_OTHER_PWD"),
}
local function identity(db)
  return table.concat(db:query("SELECT @@hostname, @@port, @@socket, @@server_id"):row(1, "a"), " ")
end
if identity(here) == identity(there) then
  error("both connections reach the same server (" .. identity(here) .. ")", 0)
end
here:begin{ "WITH CONSISTENT SNAPSHOT", "READ ONLY" }
there:begin{ "WITH CONSISTENT SNAPSHOT", "READ ONLY" }

-- The condition "key > values" for a key of one or more columns, spelled out
-- (a = ? AND b > ? ...) so the server reads it as a range of the primary key;
-- with the values for its placeholders.
local function after(key, values, i)
  i = i or 1
  if i == #key then return key[i] .. " > ?", { values[i] } end
  local rest, params = after(key, values, i + 1)
  table.insert(params, 1, values[i])
  table.insert(params, 1, values[i])
  return ("(%s > ? OR (%s = ? AND %s))"):format(key[i], key[i], rest), params
end

-- The WHERE clause and parameters of the chunk after `lower` up to and
-- including `upper` (either nil: no bound).
local function chunk_range(key, lower, upper)
  local where, params = { "TRUE" }, {}
  for _, bound in ipairs{ { lower, "%s" }, { upper, "NOT (%s)" } } do
    if bound[1] then
      local sql, values = after(key, bound[1])
      where[#where + 1] = bound[2]:format(sql)
      table.move(values, 1, #values, #params + 1, params)
    end
  end
  return table.concat(where, " AND "), params
end

local function key_text(names, values)
  local parts = {}
  for i, name in ipairs(names) do parts[i] = name .. "=" .. tostring(values[i]) end
  return table.concat(parts, ", ")
end

local function column_list(db, schema, name)
  local columns = {}
  for column in db:query([[SELECT COLUMN_NAME FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION]],
      schema, name):rows("v") do
    columns[#columns + 1] = column
  end
  return columns
end

local differences = 0
local function report(fmt, ...)
  differences = differences + 1
  print(fmt:format(...))
end

local function compare(spec)
  local schema, name = spec:match("^([^.]+)%.([^.]+)$")
  name = name or spec
  local from = (schema and here:quote_name(schema) .. "." or "") .. here:quote_name(name)
  local columns = column_list(here, schema, name)
  if #columns == 0 then error(spec .. ": no such table on this server", 0) end
  if table.concat(columns, ",") ~= table.concat(column_list(there, schema, name), ",") then
    report("%s: the columns differ on the other server", spec)
    return
  end
  local key_names = {}
  for column in here:query([[SELECT COLUMN_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY'
      ORDER BY SEQ_IN_INDEX]], schema, name):rows("v") do
    key_names[#key_names + 1] = column
  end
  if #key_names == 0 then error(spec .. ": no primary key to walk by", 0) end

  local key, quoted, nulls = {}, {}, {}
  for i, column in ipairs(key_names) do key[i] = here:quote_name(column) end
  for i, column in ipairs(columns) do
    quoted[i] = here:quote_name(column)
    nulls[i] = "ISNULL(" .. quoted[i] .. ")"
  end
  -- NULL and '' hash apart: CONCAT_WS skips NULLs, the ISNULL markers do not.
  local row_crc = ("CRC32(CONCAT_WS('#', %s, CONCAT(%s)))"):format(
    table.concat(quoted, ", "), table.concat(nulls, ", "))
  local key_list = table.concat(key, ", ")

  local lower, chunk = nil, 0
  repeat
    chunk = chunk + 1
    -- This chunk ends at the chunk_size-th key after the last one here.
    local rest, rest_params = chunk_range(key, lower, nil)
    local upper = here:query(("SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT 1 OFFSET %d"):format(
      key_list, from, rest, key_list, chunk_size - 1), table.unpack(rest_params)):row(1, "a")
    local where, params = chunk_range(key, lower, upper)
    local sql = ("SELECT COUNT(*), COALESCE(BIT_XOR(%s), 0) FROM %s WHERE %s"):format(row_crc, from, where)
    local a = here:query(sql, table.unpack(params)):row(1, "a")
    local b = there:query(sql, table.unpack(params)):row(1, "a")
    if a[1] ~= b[1] or a[2] ~= b[2] then
      report("%s: chunk %d (%s%s%s): %d rows here, %d there, checksums %s", spec, chunk,
        lower and "after " .. key_text(key_names, lower) or "from the start",
        upper and " up to " or " to the end", upper and key_text(key_names, upper) or "",
        a[1], b[1], a[2] == b[2] and "equal" or "differ")
      -- Row by row: the key and checksum of each row in the chunk, both sides.
      local rows_sql = ("SELECT %s, %s FROM %s WHERE %s"):format(key_list, row_crc, from, where)
      local function rows(db)
        local by_key = {}
        for row in db:query(rows_sql, table.unpack(params)):rows("a") do
          local crc = table.remove(row)
          by_key[key_text(key_names, row)] = crc
        end
        return by_key
      end
      local mine, theirs = rows(here), rows(there)
      local keys = {}
      for k in pairs(mine) do keys[#keys + 1] = k end
      for k in pairs(theirs) do if mine[k] == nil then keys[#keys + 1] = k end end
      table.sort(keys)
      for _, k in ipairs(keys) do
        if theirs[k] == nil then
          print(("%s: row %s is missing on the other server"):format(spec, k))
        elseif mine[k] == nil then
          print(("%s: row %s is only on the other server"):format(spec, k))
        elseif mine[k] ~= theirs[k] then
          print(("%s: row %s differs"):format(spec, k))
        end
      end
    end
    lower = upper
  until upper == nil
  mylua.log.debug("%s: %d chunks compared", spec, chunk)
end

for _, spec in ipairs(tables) do compare(spec) end
if differences > 0 then os.exit(1) end
