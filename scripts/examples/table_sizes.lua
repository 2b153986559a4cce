-- table_sizes.lua: how big each table is, and how much it grew.
--
--   mylua [connection options] table_sizes.lua [--history SCHEMA.TABLE]
--         [--schema NAME]... [--top N] [--batch]
--
-- Prints, from information_schema.TABLES, the rows (an estimate for
-- InnoDB), data and index bytes of each base table, largest first, then
-- the same summed per schema with a total.  With --history, each run also
-- stores its numbers in that table (created when missing) and shows the
-- change since the run before: run nightly, the mail is a growth report.
-- System schemas are left out unless --schema names them.
--
--   --history T   keep snapshots in T (SCHEMA.TABLE, or TABLE in the
--                 connection's database) and show the change since the last
--   --schema S    only this schema (may be given several times)
--   --top N       only the N largest tables in the first list
--   --batch       tab-separated output instead of aligned tables

local mylua = require "mylua"
local args = require "mylua.args"

local USAGE = [[
usage: mylua [connection options] table_sizes.lua [--history SCHEMA.TABLE]
       [--schema NAME]... [--top N] [--batch]
]]

local opts, rest = args.parse(arg, { history = "value", schema = "list", top = "count", batch = "flag" }, USAGE)
if #rest > 0 then args.usage_error("unexpected argument " .. rest[1]) end
local top = opts.top
local history_schema, history_table = args.qualified_name(opts, "history")

local db <close> = mylua.connect()
local format = opts.batch and "batch" or "table"

-- Which tables: the schemas asked for, or all but the server's own.
local where = { "TABLE_TYPE = 'BASE TABLE'" }
if opts.schema then
  local names = {}
  for i, name in ipairs(opts.schema) do names[i] = db:quote(name) end
  where[#where + 1] = "TABLE_SCHEMA IN (" .. table.concat(names, ", ") .. ")"
else
  where[#where + 1] = "TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"
end

local current, previous, taken_at, since
if opts.history then
  history_schema = history_schema or db:query("SELECT DATABASE()"):row(1, "a")[1]
  if history_schema == mylua.null then args.usage_error("--history " .. opts.history .. ": no database selected") end
  local history = db:quote_name(history_schema) .. "." .. db:quote_name(history_table)
  db:query(([[
    CREATE TABLE IF NOT EXISTS %s (
      taken_at     DATETIME(6)     NOT NULL,
      table_schema VARCHAR(64)     NOT NULL,
      table_name   VARCHAR(64)     NOT NULL,
      table_rows   BIGINT UNSIGNED NOT NULL,
      data_bytes   BIGINT UNSIGNED NOT NULL,
      index_bytes  BIGINT UNSIGNED NOT NULL,
      PRIMARY KEY (taken_at, table_schema, table_name)
    ) ENGINE=InnoDB]]):format(history))
  since = db:query("SELECT MAX(taken_at) FROM " .. history):row(1, "a")[1]
  taken_at = db:query("SELECT NOW(6)"):row(1, "a")[1]
  -- The history table itself is not reported on.
  where[#where + 1] = ("NOT (TABLE_SCHEMA = %s AND TABLE_NAME = %s)"):format(
    db:quote(history_schema), db:quote(history_table))
  db:query(([[
    INSERT INTO %s (taken_at, table_schema, table_name, table_rows, data_bytes, index_bytes)
    SELECT ?, TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0),
           COALESCE(INDEX_LENGTH, 0)
    FROM information_schema.TABLES WHERE %s]]):format(history, table.concat(where, " AND ")),
    taken_at)
  current = ("(SELECT * FROM %s WHERE taken_at = %s) AS cur"):format(history, db:quote(taken_at))
  if since ~= mylua.null then
    previous = ("LEFT JOIN %s AS prev ON prev.taken_at = %s AND prev.table_schema = cur.table_schema "
      .. "AND prev.table_name = cur.table_name"):format(history, db:quote(since))
  end
else
  taken_at = db:query("SELECT NOW()"):row(1, "a")[1]
  current = ([[
    (SELECT TABLE_SCHEMA AS table_schema, TABLE_NAME AS table_name,
            COALESCE(TABLE_ROWS, 0) AS table_rows, COALESCE(DATA_LENGTH, 0) AS data_bytes,
            COALESCE(INDEX_LENGTH, 0) AS index_bytes
     FROM information_schema.TABLES WHERE %s) AS cur]]):format(table.concat(where, " AND "))
end

-- The change columns: NULL for a table the previous snapshot did not have.
-- Signed, so that a table that shrank shows a negative change instead of
-- an out-of-range unsigned subtraction.
local ROWS_CHANGE = "CAST(cur.table_rows AS SIGNED) - CAST(prev.table_rows AS SIGNED)"
local BYTES_CHANGE = "CAST(cur.data_bytes + cur.index_bytes AS SIGNED) "
  .. "- CAST(prev.data_bytes + prev.index_bytes AS SIGNED)"
local growth = previous and (",\n  %s AS `rows +/-`, %s AS `bytes +/-`"):format(ROWS_CHANGE, BYTES_CHANGE) or ""

-- (seconds are enough to read; the history keeps microseconds)
print(("table sizes at %s%s"):format(taken_at:sub(1, 19),
  previous and (", change since " .. since:sub(1, 19)) or opts.history and ", first snapshot" or ""))

local per_table = db:query(([[
  SELECT cur.table_schema AS `schema`, cur.table_name AS `table`, cur.table_rows AS `rows`,
         cur.data_bytes AS `data`, cur.index_bytes AS `index`,
         cur.data_bytes + cur.index_bytes AS `total`%s
  FROM %s %s
  ORDER BY `total` DESC, `schema`, `table` %s]]):format(growth, current, previous or "",
  top and ("LIMIT " .. top) or ""))
mylua.print(per_table, { format = format })
print()

local schema_growth = previous
  and (",\n  SUM(%s) AS `rows +/-`, SUM(%s) AS `bytes +/-`"):format(ROWS_CHANGE, BYTES_CHANGE) or ""
local per_schema = db:query(([[
  SELECT COALESCE(cur.table_schema, 'all schemas') AS `schema`, COUNT(*) AS `tables`,
         SUM(cur.table_rows) AS `rows`, SUM(cur.data_bytes) AS `data`,
         SUM(cur.index_bytes) AS `index`, SUM(cur.data_bytes + cur.index_bytes) AS `total`%s
  FROM %s %s
  GROUP BY cur.table_schema WITH ROLLUP]]):format(schema_growth, current, previous or ""))
mylua.print(per_schema, { format = format })
