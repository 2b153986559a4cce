-- report.lua: a small nightly job written with mylua.
--
-- Loads a batch of orders into a work table (all or nothing), prints the
-- revenue per region as an aligned table, makes one streaming pass over the
-- orders to find the largest one, and drops the work table again.
--
--   build/mylua scripts/examples/report.lua
--
-- Connection settings come from the environment, as scripts/demo sets them:
-- MYLUA_TEST_HOST, MYLUA_TEST_PORT, MYLUA_TEST_USER, MYLUA_TEST_PASSWORD,
-- MYLUA_TEST_DB (or MYLUA_TEST_SOCKET when MYLUA_TEST_HOST is empty).
-- Any failed statement raises: the script stops with a non-zero exit code.

local mylua = require "mylua"

local function setting(name, default)
  local value = os.getenv(name)
  if value == nil or value == "" then return default end
  return value
end

local function connect_options()
  local options = {
    user = setting("MYLUA_TEST_USER", "mylua"),
    password = setting("MYLUA_TEST_PASSWORD", ""),
    database = setting("MYLUA_TEST_DB", "mylua_test"),
  }
  local socket = setting("MYLUA_TEST_SOCKET")
  if socket and not setting("MYLUA_TEST_HOST") then
    options.socket = socket
  else
    options.host = setting("MYLUA_TEST_HOST", "127.0.0.1")
    options.port = math.tointeger(tonumber(setting("MYLUA_TEST_PORT", "3306")))
  end
  return options
end

-- customer, region, product, quantity, unit price (exact, as a string), note
local ORDERS = {
  { "Acme Corp",      "north", "widget",   12, "2.50",   nil },
  { "Acme Corp",      "north", "gadget",    3, "19.99",  "rush delivery" },
  { "Bolt & Sons",    "south", "widget",   40, "2.35",   nil },
  { "Café Müller",    "west",  "sprocket",  7, "4.10",   "ship with invoice" },
  { "Bolt & Sons",    "south", "gizmo",     1, "149.00", nil },
  { "Delta O'Neil",   "east",  "widget",   25, "2.50",   "customer's own pallet" },
  { "Northwind",      "north", "sprocket", 60, "3.95",   nil },
  { "Café Müller",    "west",  "gadget",    2, "21.50",  nil },
  { "Delta O'Neil",   "east",  "gizmo",     2, "145.00", nil },
}

local NUMERIC = {
  TINY = true, SHORT = true, INT24 = true, LONG = true, LONGLONG = true,
  FLOAT = true, DOUBLE = true, DECIMAL = true, NEWDECIMAL = true, YEAR = true,
}

local function cell(value)
  if value == mylua.null then return "NULL" end
  return tostring(value)
end

-- Prints rows (arrays) under the column names, numbers right-aligned.
local function print_table(columns, rows)
  local widths, right = {}, {}
  for i, column in ipairs(columns) do
    widths[i] = utf8.len(column.name) or #column.name
    right[i] = NUMERIC[column.type] or false
  end
  local texts = {}
  for r, row in ipairs(rows) do
    texts[r] = {}
    for i = 1, #columns do
      local text = cell(row[i])
      texts[r][i] = text
      widths[i] = math.max(widths[i], utf8.len(text) or #text)
    end
  end

  local function line(values)
    local parts = {}
    for i, text in ipairs(values) do
      local pad = string.rep(" ", widths[i] - (utf8.len(text) or #text))
      parts[i] = right[i] and pad .. text or text .. pad
    end
    print("  " .. table.concat(parts, "  "))
  end

  local names, rules = {}, {}
  for i, column in ipairs(columns) do
    names[i] = column.name
    rules[i] = string.rep("-", widths[i])
  end
  line(names)
  line(rules)
  for _, values in ipairs(texts) do line(values) end
end

local db <close> = mylua.connect(connect_options())
print(("connected to MariaDB %s (%s)"):format(db.server_version, db.host_info))

local orders = db:quote_name("report_demo_orders")

-- A leftover from an earlier run that failed half-way must not get in the way.
db:query("DROP TABLE IF EXISTS " .. orders)
db:query(([[
  CREATE TABLE %s (
    id         INT AUTO_INCREMENT PRIMARY KEY,
    customer   VARCHAR(64)   NOT NULL,
    region     VARCHAR(16)   NOT NULL,
    product    VARCHAR(32)   NOT NULL,
    quantity   INT           NOT NULL,
    unit_price DECIMAL(10,2) NOT NULL,
    note       VARCHAR(100)  NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4]]):format(orders))

-- All rows or none: if one INSERT fails, the batch is rolled back and the
-- error re-raised, which ends the script with a non-zero exit code.
local inserted, first_id, last_id = db:transaction(function(tx)
  local count, first, last = 0, nil, nil
  for _, order in ipairs(ORDERS) do
    local res = tx:query("INSERT INTO " .. orders ..
      " (customer, region, product, quantity, unit_price, note) VALUES (?, ?, ?, ?, ?, ?)",
      table.unpack(order, 1, 6))
    count = count + res.affected_rows
    first = first or res.insert_id
    last = res.insert_id
  end
  return count, first, last
end)
print(("loaded %d orders (ids %d to %d)"):format(inserted, first_id, last_id))

-- Revenue per region, largest first, with a grand total (the ROLLUP row,
-- whose region is NULL) at the bottom.
local report = db:query(([[
  SELECT COALESCE(region, 'all regions') AS region, orders, units, revenue
  FROM (
    SELECT region, COUNT(*) AS orders, SUM(quantity) AS units,
           SUM(quantity * unit_price) AS revenue
    FROM %s
    GROUP BY region WITH ROLLUP
  ) AS per_region
  ORDER BY per_region.region IS NULL, revenue DESC, region]]):format(orders))

local rows = {}
for row in report:rows("a") do rows[#rows + 1] = row end
print()
print("revenue by region")
print_table(report.columns, rows)
print()

-- One pass over all orders in constant memory: the rows are read from the
-- server as the loop asks for them, never held all at once.
local biggest, biggest_total, without_note = nil, nil, 0
do
  local cursor <close> = db:cursor{ stream = true }
  cursor:execute("SELECT customer, product, quantity * unit_price AS total, note FROM " ..
    orders .. " WHERE quantity > ? ORDER BY id", 0)
  for customer, product, total, note in cursor:rows("v") do
    if biggest_total == nil or tonumber(total) > tonumber(biggest_total) then
      biggest, biggest_total = customer .. " (" .. product .. ")", total
    end
    if note == mylua.null then without_note = without_note + 1 end
  end
end
print(("largest order: %s, %s"):format(biggest, biggest_total))
print(("orders without a note: %d"):format(without_note))

db:query("DROP TABLE " .. orders)
db:close()
