-- What a server's schemas hold, as a map from a key ("column
-- mysql.db.Host") to a text value, so that two servers (or two databases)
-- can be compared after running the same script two ways:
--
--   local snap = schema_snapshot.take(db [, { schema = "name" }])
--   local diffs = schema_snapshot.diff(a, b)  -- {} when they are the same
--
-- It reads information_schema (schemata, tables, columns, indexes,
-- routines and their parameters, views, triggers, events), SHOW CREATE of
-- every database, table, view, procedure, function, trigger and event, and
-- the tables' contents (CHECKSUM TABLE, or a CRC of the columns that do
-- not record when a row was written). Left out, because they differ
-- between two runs of the same script: times of creation and change, row
-- and size estimates, index cardinalities, InnoDB's persistent statistics,
-- and a password's time of change.
--
-- With opts.schema only that database is read, and its name is written
-- <db> in the keys and values, so that a database can be compared with a
-- copy of it under another name; it becomes the connection's current
-- database (SHOW CREATE VIEW names other databases than the current one).

local schema_snapshot = {}

local SYSTEM_SCHEMAS = "('information_schema', 'performance_schema')"

-- Tables the server itself writes to as it runs.
local SKIP_CONTENT = {
  ["mysql.innodb_table_stats"] = true,
  ["mysql.innodb_index_stats"] = true,
}

-- Columns set to the time of a change without a default that says so.
local WRITTEN_AT = {
  ["mysql.proc.modified"] = true,
  ["mysql.event.modified"] = true,
  ["mysql.event.last_executed"] = true,
}

-- Columns whose value records a time of change inside a JSON document.
local CONTENT_EXPRESSION = {
  ["mysql.global_priv.Priv"] = "JSON_REMOVE(`Priv`, '$.password_last_changed')",
}

local INFO = {
  { "schema", "schemata", "schema_name", "schema_name",
    "default_character_set_name, default_collation_name, schema_comment" },
  -- (engine, collation, row format, options and comment are in SHOW CREATE
  -- TABLE, which reads them at less cost than information_schema.tables)
  { "table", "tables", "table_schema", "table_schema, table_name", "table_type" },
  { "column", "columns", "table_schema", "table_schema, table_name, column_name",
    "ordinal_position, column_default, is_nullable, column_type, character_set_name, collation_name, "
      .. "column_key, extra, privileges, column_comment, is_generated, generation_expression" },
  { "index", "statistics", "table_schema", "table_schema, table_name, index_name, seq_in_index",
    "column_name, non_unique, collation, sub_part, packed, nullable, index_type, comment, index_comment" },
  { "routine", "routines", "routine_schema", "routine_schema, routine_type, routine_name",
    "data_type, dtd_identifier, routine_body, routine_definition, is_deterministic, sql_data_access, "
      .. "security_type, sql_mode, routine_comment, definer, character_set_client, "
      .. "collation_connection, database_collation" },
  { "parameter", "parameters", "specific_schema", "specific_schema, routine_type, specific_name, ordinal_position",
    "parameter_mode, parameter_name, data_type, dtd_identifier" },
  { "view", "views", "table_schema", "table_schema, table_name",
    "view_definition, check_option, is_updatable, definer, security_type, character_set_client, "
      .. "collation_connection, algorithm" },
  { "trigger", "triggers", "trigger_schema", "trigger_schema, trigger_name",
    "event_manipulation, event_object_table, action_order, action_statement, action_timing, "
      .. "sql_mode, definer, character_set_client, collation_connection, database_collation" },
  { "event", "events", "event_schema", "event_schema, event_name",
    "definer, time_zone, event_body, event_definition, event_type, execute_at, interval_value, "
      .. "interval_field, sql_mode, starts, ends, status, on_completion, event_comment, "
      .. "character_set_client, collation_connection, database_collation" },
}

local function rows(db, sql)
  local out = {}
  for r in db:query(sql):rows("a") do out[#out + 1] = r end
  return out
end

local function text(v)
  if v == nil then return "NULL" end
  return tostring(v)
end

local function qname(db, ...)
  local parts = {}
  for i, p in ipairs({ ... }) do parts[i] = db:quote_name(p) end
  return table.concat(parts, ".")
end

function schema_snapshot.take(db, opts)
  opts = opts or {}
  local only = opts.schema
  local snap = {}
  local pattern = only and only:gsub("%p", "%%%0")
  local function put(key, value)
    if only then
      -- The database's name, quoted or not, wherever it appears.
      key = key:gsub(pattern, "<db>")
      value = value:gsub(pattern, "<db>")
    end
    snap[key] = value
  end
  if only then db:select_db(only) end
  local where = only and ("= " .. db:quote(only)) or ("NOT IN " .. SYSTEM_SCHEMAS)

  local columns_seen, tables_seen -- information_schema's rows, for SHOW CREATE and contents below
  for _, info in ipairs(INFO) do
    local kind, view, schema_col, key_cols, value_cols = table.unpack(info)
    local nkey = select(2, key_cols:gsub(",", ",")) + 1
    local sql = ("SELECT %s, %s FROM information_schema.%s WHERE %s %s ORDER BY %s")
      :format(key_cols, value_cols, view, schema_col, where, key_cols)
    local got = rows(db, sql)
    if kind == "column" then columns_seen = got end
    if kind == "table" then tables_seen = got end
    for _, r in ipairs(got) do
      local k, v = {}, {}
      for i = 1, nkey do k[i] = text(r[i]) end
      for i = nkey + 1, #r do v[#v + 1] = text(r[i]) end
      put(kind .. " " .. table.concat(k, "."), table.concat(v, " | "))
    end
  end

  -- SHOW CREATE of every object: its text as the server keeps it.
  local function show(what, key, sql, col)
    local r = db:query(sql):row(1, "a")
    put("create " .. what .. " " .. key, text(r and r[col]))
  end
  for _, r in ipairs(rows(db, "SELECT schema_name FROM information_schema.schemata WHERE schema_name "
      .. where .. " ORDER BY 1")) do
    show("database", r[1], "SHOW CREATE DATABASE " .. qname(db, r[1]), 2)
  end
  local base_tables = {}
  for _, r in ipairs(tables_seen) do
    local key = r[1] .. "." .. r[2]
    if r[3] == "VIEW" then
      show("view", key, "SHOW CREATE VIEW " .. qname(db, r[1], r[2]), 2)
    else
      show("table", key, "SHOW CREATE TABLE " .. qname(db, r[1], r[2]), 2)
      if r[3] == "BASE TABLE" then base_tables[#base_tables + 1] = r end
    end
  end
  for _, r in ipairs(rows(db, "SELECT routine_schema, routine_name, routine_type FROM information_schema.routines"
      .. " WHERE routine_schema " .. where .. " ORDER BY 1, 2, 3")) do
    show(r[3]:lower(), r[1] .. "." .. r[2], "SHOW CREATE " .. r[3] .. " " .. qname(db, r[1], r[2]), 3)
  end
  for _, r in ipairs(rows(db, "SELECT trigger_schema, trigger_name FROM information_schema.triggers"
      .. " WHERE trigger_schema " .. where .. " ORDER BY 1, 2")) do
    show("trigger", r[1] .. "." .. r[2], "SHOW CREATE TRIGGER " .. qname(db, r[1], r[2]), 3)
  end
  for _, r in ipairs(rows(db, "SELECT event_schema, event_name FROM information_schema.events"
      .. " WHERE event_schema " .. where .. " ORDER BY 1, 2")) do
    show("event", r[1] .. "." .. r[2], "SHOW CREATE EVENT " .. qname(db, r[1], r[2]), 4)
  end

  -- Contents: CHECKSUM TABLE for whole rows; a CRC over the other columns
  -- where a column records when the row was written.
  local columns = {}
  for _, r in ipairs(columns_seen) do
    -- table_schema, table_name, column_name, ordinal_position, column_default, ..., extra (11th)
    local key = r[1] .. "." .. r[2]
    columns[key] = columns[key] or {}
    local written_at = WRITTEN_AT[key .. "." .. r[3]] or text(r[5]):lower():find("^current_timestamp")
      or text(r[11]):lower():find("on update", 1, true)
    table.insert(columns[key], { name = r[3], written_at = written_at })
  end
  local whole = {}
  for _, r in ipairs(base_tables) do
    local key = r[1] .. "." .. r[2]
    local cols = columns[key] or {}
    local plain = not SKIP_CONTENT[key]
    for _, c in ipairs(cols) do
      if c.written_at or CONTENT_EXPRESSION[key .. "." .. c.name] then plain = false end
    end
    if SKIP_CONTENT[key] then
      -- the server's own bookkeeping
    elseif plain then
      whole[#whole + 1] = qname(db, r[1], r[2])
    else
      local exprs = {}
      for _, c in ipairs(cols) do
        if not c.written_at then
          exprs[#exprs + 1] = "QUOTE(" .. (CONTENT_EXPRESSION[key .. "." .. c.name] or db:quote_name(c.name)) .. ")"
        end
      end
      local c = db:query(("SELECT COUNT(*), BIT_XOR(CRC32(CONCAT_WS(',', %s))) FROM %s")
        :format(table.concat(exprs, ", "), qname(db, r[1], r[2]))):row(1, "a")
      put("rows " .. key, text(c[1]) .. " crc " .. text(c[2]))
    end
  end
  if #whole > 0 then
    local res = db:query("CHECKSUM TABLE " .. table.concat(whole, ", "))
    for r in res:rows("a") do put("checksum " .. r[1], text(r[2])) end
  end
  return snap
end

-- Up to `limit` (default 8) entries naming the keys that differ and
-- showing each value from its first differing byte; names labels a and b
-- (default "client" and "execute_file").
function schema_snapshot.diff(a, b, limit, names)
  limit = limit or 8
  names = names or { "client", "execute_file" }
  local keys, seen = {}, {}
  for k in pairs(a) do keys[#keys + 1] = k; seen[k] = true end
  for k in pairs(b) do if not seen[k] then keys[#keys + 1] = k end end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do
    if a[k] ~= b[k] then
      if #out == limit then
        out[#out + 1] = "..."
        break
      end
      local x, y = tostring(a[k]), tostring(b[k])
      local at = 1
      while at <= #x and x:byte(at) == y:byte(at) do at = at + 1 end
      local from = math.max(1, at - 60)
      out[#out + 1] = ("%s (from byte %d):\n    %-13s %q\n    %-13s %q"):format(
        k, at, names[1] .. ":", x:sub(from, at + 100), names[2] .. ":", y:sub(from, at + 100))
    end
  end
  return out
end

function schema_snapshot.count(snap)
  local n = 0
  for _ in pairs(snap) do n = n + 1 end
  return n
end

return schema_snapshot
