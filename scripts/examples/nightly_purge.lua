-- nightly_purge.lua: deletes the rows older than N days, chunk by chunk.
--
--   mylua [connection options] nightly_purge.lua --table [SCHEMA.]TABLE
--         --column NAME --days N [--chunk-size N] [--pause SECONDS]
--         [--limit ROWS] [--dry-run]
--
-- Deletes the rows of TABLE whose date or time column NAME is more than N
-- days old, walking the primary key in chunks (mylua.batch.purge): each
-- chunk is one short transaction, so the table stays usable meanwhile, a
-- deadlock is retried, and SIGINT or SIGTERM stop it between chunks.  A
-- run killed half-way is simply run again.  Prints nothing (the summary is
-- an info line on stderr, which --quiet leaves out); --dry-run prints how
-- many rows would go, and deletes nothing.
--
--   --chunk-size N   rows per chunk (1000)
--   --pause SECONDS  wait between chunks, to leave room for other work (0)
--   --limit ROWS     delete at most this many rows in this run

local mylua = require "mylua"
local batch = require "mylua.batch"

local USAGE = [[
usage: mylua [connection options] nightly_purge.lua --table [SCHEMA.]TABLE
       --column NAME --days N [--chunk-size N] [--pause SECONDS]
       [--limit ROWS] [--dry-run]
]]

local function usage(message)
  io.stderr:write("nightly_purge.lua: ", message, "\n", USAGE)
  os.exit(2)
end

-- --name=value, --name value and --flag, as `known` says ("flag",
-- "value" or "list"); returns the options and the other arguments.
local function parse_args(args, known)
  local opts, rest, i = {}, {}, 1
  while i <= #args do
    local a = args[i]
    local name, value = a:match("^%-%-([%w-]+)=(.*)$")
    name = name or a:match("^%-%-([%w-]+)$")
    if a == "--help" then io.stdout:write(USAGE) os.exit(0) end
    if not name then
      rest[#rest + 1] = a
    elseif known[name] == "flag" then
      if value then usage("--" .. name .. " takes no value") end
      opts[name] = true
    elseif known[name] then
      if not value then
        i = i + 1
        value = args[i] or usage("--" .. name .. " needs a value")
      end
      if known[name] == "list" then
        opts[name] = opts[name] or {}
        table.insert(opts[name], value)
      else
        opts[name] = value
      end
    else
      usage("unknown option " .. a)
    end
    i = i + 1
  end
  return opts, rest
end

-- A whole number from an option, at least `min`.
local function count(opts, name, min)
  local n = opts[name] and math.tointeger(tonumber(opts[name]))
  if opts[name] and not (n and n >= min) then usage(("--%s needs a whole number >= %d"):format(name, min)) end
  return n
end

local opts, rest = parse_args(arg, {
  table = "value", column = "value", days = "value", ["chunk-size"] = "value",
  pause = "value", limit = "value", ["dry-run"] = "flag",
})
if #rest > 0 then usage("unexpected argument " .. rest[1]) end
for _, name in ipairs{ "table", "column", "days" } do
  if not opts[name] then usage("--" .. name .. " is required") end
end
local days = count(opts, "days", 1)
local pause = tonumber(opts.pause or "0")
if not pause or pause < 0 or pause ~= pause or pause == math.huge then usage("--pause needs seconds >= 0") end
local schema, name = opts.table:match("^([^.]+)%.([^.]+)$")
if not schema then name = opts.table:match("^[^.]+$") or usage("--table needs SCHEMA.TABLE or TABLE") end

local db <close> = mylua.connect()
local summary = batch.purge(db, {
  schema = schema, table = name,
  where = db:quote_name(opts.column) .. " < NOW() - INTERVAL ? DAY", params = { days },
  chunk_size = count(opts, "chunk-size", 1), pause = pause, limit = count(opts, "limit", 1),
  dry_run = opts["dry-run"] or false,
})
if opts["dry-run"] then
  print(("%d rows of %s are older than %d days and would be deleted"):format(summary.rows, opts.table, days))
end
