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
local args = require "mylua.args"
local batch = require "mylua.batch"

local USAGE = [[
usage: mylua [connection options] nightly_purge.lua --table [SCHEMA.]TABLE
       --column NAME --days N [--chunk-size N] [--pause SECONDS]
       [--limit ROWS] [--dry-run]
]]

local opts, rest = args.parse(arg, {
  table = "value", column = "value", days = "count", ["chunk-size"] = "count",
  pause = "seconds", limit = "count", ["dry-run"] = "flag",
}, USAGE)
if #rest > 0 then args.usage_error("unexpected argument " .. rest[1]) end
args.required(opts, "table", "column", "days")
local schema, name = args.qualified_name(opts, "table")

local db <close> = mylua.connect()
local summary = batch.purge(db, {
  schema = schema, table = name,
  where = db:quote_name(opts.column) .. " < NOW() - INTERVAL ? DAY", params = { opts.days },
  chunk_size = opts["chunk-size"], pause = opts.pause, limit = opts.limit,
  dry_run = opts["dry-run"] or false,
})
if opts["dry-run"] then
  print(("%d rows of %s are older than %d days and would be deleted"):format(summary.rows, opts.table, opts.days))
end
