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
local args = require "mylua.args"
local batch = require "mylua.batch"

local USAGE = [[
usage: mylua [connection options] archive_job.lua --table [SCHEMA.]TABLE
       --column NAME --days N (--to [SCHEMA.]TABLE | --file PATH)
       [--chunk-size N] [--pause SECONDS] [--limit ROWS] [--dry-run]
]]

local opts, rest = args.parse(arg, {
  table = "value", column = "value", days = "count", to = "value", file = "value",
  ["chunk-size"] = "count", pause = "seconds", limit = "count", ["dry-run"] = "flag",
}, USAGE)
if #rest > 0 then args.usage_error("unexpected argument " .. rest[1]) end
args.required(opts, "table", "column", "days")
if (opts.to == nil) == (opts.file == nil) then args.usage_error("give --to or --file (one of them)") end
local schema, name = args.qualified_name(opts, "table")
local dest_schema, dest_table = args.qualified_name(opts, "to")

local db <close> = mylua.connect()
if opts.to and not opts["dry-run"] then
  local function qualified(s, t) return (s and db:quote_name(s) .. "." or "") .. db:quote_name(t) end
  db:query(("CREATE TABLE IF NOT EXISTS %s LIKE %s"):format(qualified(dest_schema, dest_table),
    qualified(schema, name)))
end
local summary = batch.archive(db, {
  schema = schema, table = name,
  where = db:quote_name(opts.column) .. " < NOW() - INTERVAL ? DAY", params = { opts.days },
  dest_schema = dest_schema, dest_table = dest_table, dest_file = opts.file,
  chunk_size = opts["chunk-size"], pause = opts.pause, limit = opts.limit,
  dry_run = opts["dry-run"] or false,
})
if opts["dry-run"] then
  print(("%d rows of %s are older than %d days and would be archived"):format(summary.rows, opts.table, opts.days))
end
