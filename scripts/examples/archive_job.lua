-- archive_job.lua: moves the rows older than N days to an archive table
-- (or a file), chunk by chunk.
--
--   mylua [connection options] archive_job.lua --table [SCHEMA.]TABLE
--         --column NAME --days N (--to [SCHEMA.]TABLE | --file PATH)
--         [--chunk-size N] [--pause SECONDS] [--limit ROWS] [--dry-run]
--
-- Copies the rows of TABLE whose date or time column NAME is more than N
-- days old to the archive table --to (on the same server; created LIKE
-- TABLE when missing) or appends them to --file (tab-separated, as LOAD
-- DATA INFILE reads them), then deletes them, walking the primary key in
-- chunks (mylua.batch.archive).  Each chunk is copied and deleted so that a
-- run killed at any point loses and duplicates nothing: run it again (with
-- --file, with the same or a larger --chunk-size; README "Batch maintenance").
-- Prints nothing (the summary is an info line on stderr, which --quiet
-- leaves out); --dry-run prints how many rows would move, and moves none.
--
--   --chunk-size N   rows per chunk (1000)
--   --pause SECONDS  wait between chunks, to leave room for other work (0)
--   --limit ROWS     move at most this many rows in this run

local mylua = require "mylua"
local batch = require "mylua.batch"

local USAGE = [[
usage: mylua [connection options] archive_job.lua --table [SCHEMA.]TABLE
       --column NAME --days N (--to [SCHEMA.]TABLE | --file PATH)
       [--chunk-size N] [--pause SECONDS] [--limit ROWS] [--dry-run]
]]

local function usage(message)
  io.stderr:write("archive_job.lua: ", message, "\n", USAGE)
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

-- SCHEMA.TABLE or TABLE: the schema (or nil) and the table.
local function table_name(option, value)
  local schema, name = value:match("^([^.]+)%.([^.]+)$")
  if schema then return schema, name end
  return nil, value:match("^[^.]+$") or usage("--" .. option .. " needs SCHEMA.TABLE or TABLE")
end

local opts, rest = parse_args(arg, {
  table = "value", column = "value", days = "value", to = "value", file = "value",
  ["chunk-size"] = "value", pause = "value", limit = "value", ["dry-run"] = "flag",
})
if #rest > 0 then usage("unexpected argument " .. rest[1]) end
for _, name in ipairs{ "table", "column", "days" } do
  if not opts[name] then usage("--" .. name .. " is required") end
end
if (opts.to == nil) == (opts.file == nil) then usage("give --to or --file (one of them)") end
local days = count(opts, "days", 1)
local pause = tonumber(opts.pause or "0")
if not pause or pause < 0 or pause ~= pause or pause == math.huge then usage("--pause needs seconds >= 0") end
local schema, name = table_name("table", opts.table)
local dest_schema, dest_table
if opts.to then dest_schema, dest_table = table_name("to", opts.to) end

local db <close> = mylua.connect()
if opts.to and not opts["dry-run"] then
  local function qualified(s, t) return (s and db:quote_name(s) .. "." or "") .. db:quote_name(t) end
  db:query(("CREATE TABLE IF NOT EXISTS %s LIKE %s"):format(qualified(dest_schema, dest_table),
    qualified(schema, name)))
end
local summary = batch.archive(db, {
  schema = schema, table = name,
  where = db:quote_name(opts.column) .. " < NOW() - INTERVAL ? DAY", params = { days },
  dest_schema = dest_schema, dest_table = dest_table, dest_file = opts.file,
  chunk_size = count(opts, "chunk-size", 1), pause = pause, limit = count(opts, "limit", 1),
  dry_run = opts["dry-run"] or false,
})
if opts["dry-run"] then
  print(("%d rows of %s are older than %d days and would be archived"):format(summary.rows, opts.table, days))
end
