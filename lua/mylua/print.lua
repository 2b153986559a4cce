-- mylua.print: a result as the `mariadb` client shows it.  "table" is the
-- boxed layout of `mariadb --table` (and of the client at a terminal),
-- "batch" the tab-separated one of `mariadb --batch`, "vertical" the layout
-- of `\G`.  The client prints the text the server sent; rows here hold
-- decoded Lua values, so each value is turned back into the server's text:
-- integers and strings are exact, floating-point values are written as the
-- server writes them (its shortest round-trip digits and its choice between
-- fixed and exponent notation), BIT values as their bytes.
local core = require "mylua.core"

local null = core.null

-- Protocol type ids (the server's enum_field_types).
local T_FLOAT, T_TIMESTAMP, T_INT24 = 4, 7, 9
local T_YEAR, T_BIT, T_NEWDECIMAL = 13, 16, 246
-- A column's decimals from here up mean "not fixed": the value is printed
-- with as many digits as it needs (the server's FLOATING_POINT_DECIMALS).
local FLOATING_POINT_DECIMALS = 31
local NOT_NULL_FLAG = 1
-- The client pads no column wider than this (mysql.cc MAX_COLUMN_LENGTH).
local MAX_COLUMN_LENGTH = 1024

-- The client's IS_NUM: these columns are right-aligned.
local function is_numeric(type_id)
  return (type_id <= T_INT24 and type_id ~= T_TIMESTAMP) or type_id == T_YEAR
    or type_id == T_NEWDECIMAL
end

-- The digits and decimal point position of v (v > 0) written with the
-- fewest significant digits, at most `max_digits`, that read back as v
-- (for a FLOAT column: that read back as the same single-precision value).
local function shortest_digits(v, max_digits, same)
  local s
  for p = 1, max_digits do
    s = ("%." .. (p - 1) .. "e"):format(v)
    if same(tonumber(s), v) then break end
  end
  local int, frac, exp = s:match("^(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (int .. frac):gsub("0+$", "")
  if digits == "" then digits = "0" end
  return digits, tonumber(exp) + 1
end

local function same_double(a, b) return a == b end
local function same_float(a, b)
  return string.pack("f", a) == string.pack("f", b)
end

-- v as the server writes a FLOAT or DOUBLE without fixed decimals
-- (my_gcvt): fixed notation unless the point is more than 14 places left
-- of the first digit, or more than 15 right of it with nothing after.
local function float_text(v, single)
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
  if v == 0 then return "0" end
  local sign = v < 0 and "-" or ""
  if v < 0 then v = -v end
  local digits, decpt
  if single then
    -- FLT_DIG significant digits, as the server rounds a FLOAT
    local s = ("%.5e"):format(v)
    local int, frac, exp = s:match("^(%d)%.(%d*)e([-+]%d+)$")
    digits, decpt = (int .. frac):gsub("0+$", ""), tonumber(exp) + 1
    if digits == "" then digits = "0" end
    digits = digits:gsub("0+$", "")
  else
    digits, decpt = shortest_digits(v, 17, same_double)
  end
  local len = #digits
  if decpt >= -14 and (decpt <= 15 or len > decpt) then
    if decpt <= 0 then return sign .. "0." .. ("0"):rep(-decpt) .. digits end
    if decpt < len then return sign .. digits:sub(1, decpt) .. "." .. digits:sub(decpt + 1) end
    return sign .. digits .. ("0"):rep(decpt - len)
  end
  local mantissa = digits:sub(1, 1)
  if len > 1 then mantissa = mantissa .. "." .. digits:sub(2) end
  return sign .. mantissa .. "e" .. (decpt - 1)
end

-- The server's text of value v in column col, or nil for NULL.
local function value_text(v, col)
  if v == null then return nil end
  local tv = math.type(v)
  if tv == "float" then
    if col.decimals < FLOATING_POINT_DECIMALS then return ("%." .. col.decimals .. "f"):format(v) end
    return float_text(v, col.type_id == T_FLOAT)
  elseif tv == "integer" then
    if col.type_id == T_BIT then
      local n = math.max(1, math.min(8, (col.length + 7) // 8))
      return string.pack(">I" .. n, v)
    end
    return tostring(v)
  elseif type(v) == "boolean" then
    return v and "1" or "0"
  end
  return tostring(v)
end

-- Display cells of UTF-8 text as the client counts them (numcells of its
-- charset): one per character, two for East Asian wide and fullwidth
-- characters of the Basic Multilingual Plane and for CJK ideographs of
-- planes 2 and 3; a byte that starts no valid character counts none.
local function is_wide(c)
  return (c >= 0x1100 and c <= 0x115F) or (c >= 0x2E80 and c <= 0xA4CF and c ~= 0x303F)
    or (c >= 0xAC00 and c <= 0xD7A3) or (c >= 0xF900 and c <= 0xFAFF)
    or (c >= 0xFE30 and c <= 0xFE4F) or (c >= 0xFF00 and c <= 0xFF60)
    or (c >= 0xFFE0 and c <= 0xFFE6) or (c >= 0x20000 and c <= 0x3FFFD)
end

local function cells(s)
  if not s:find("[\128-\255]") then return #s end
  local n, i, len = 0, 1, #s
  while i <= len do
    local c = s:byte(i)
    if c < 0x80 then
      n, i = n + 1, i + 1
    else
      local ok, code = pcall(utf8.codepoint, s, i)
      if ok then
        n = n + (is_wide(code) and 2 or 1)
        i = i + #utf8.char(code)
      else
        i = i + 1
      end
    end
  end
  return n
end

-- Where rows come from: a result, or a cursor (streaming or statement).
local function source(x)
  local ok, columns = pcall(function() return x.columns end)
  if not ok or type(columns) ~= "table" then
    error(("bad argument #1 to 'print' (result or cursor expected, got %s)"):format(
      type(x) == "userdata" and tostring(x) or type(x)), 3)
  end
  local next_row
  if type(x.fetch) == "function" then
    next_row = function() return x:fetch(nil, "a") end
  else
    local iter = x:rows("a")
    next_row = function() return iter() end
  end
  return columns, next_row
end

-- Rows as arrays of texts (nil for NULL), read to the end.
local function collect(columns, next_row)
  local rows, n = {}, 0
  for row in next_row do
    local texts = {}
    for i, col in ipairs(columns) do texts[i] = value_text(row[i], col) end
    n = n + 1
    rows[n] = texts
  end
  return rows, n
end

local function pad(text, width, right)
  local spaces = (" "):rep(width - cells(text))
  return right and spaces .. text or text .. spaces
end

local function print_table(out, columns, next_row)
  local rows, n = collect(columns, next_row)
  if n == 0 then return 0 end
  local ncols = #columns
  local widths, numeric, parts = {}, {}, { "+" }
  for i, col in ipairs(columns) do
    local w = #col.name
    for r = 1, n do
      local t = rows[r][i]
      if t and #t > w then w = #t end
    end
    if w < 4 and (col.flags & NOT_NULL_FLAG) == 0 then w = 4 end
    widths[i], numeric[i] = w, is_numeric(col.type_id)
    parts[#parts + 1] = ("-"):rep(w + 2) .. "+"
  end
  local separator = table.concat(parts) .. "\n"
  out:write(separator)
  local line = {}
  for i, col in ipairs(columns) do
    line[i] = pad(col.name, math.min(widths[i], MAX_COLUMN_LENGTH), false)
  end
  out:write("| ", table.concat(line, " | "), " |\n", separator)
  for r = 1, n do
    local row = rows[r]
    for i = 1, ncols do
      local t = row[i] or "NULL"
      t = t:gsub("%z", " ")
      if widths[i] > MAX_COLUMN_LENGTH then
        line[i] = pad(t, MAX_COLUMN_LENGTH, false)
      else
        line[i] = pad(t, widths[i], numeric[i])
      end
    end
    out:write("| ", table.concat(line, " | "), " |\n")
  end
  out:write(separator)
  return n
end

local BATCH_ESCAPES = { ["\0"] = "\\0", ["\t"] = "\\t", ["\n"] = "\\n", ["\\"] = "\\\\" }

-- Row by row, in constant memory for a cursor: the header waits for the
-- first row, since the client prints nothing for an empty result.
local function print_batch(out, columns, next_row)
  local n = 0
  for row in next_row do
    if n == 0 then
      local names = {}
      for i, col in ipairs(columns) do names[i] = col.name end
      out:write(table.concat(names, "\t"), "\n")
    end
    n = n + 1
    local line = {}
    for i, col in ipairs(columns) do
      local t = value_text(row[i], col)
      line[i] = t and t:gsub("[%z\t\n\\]", BATCH_ESCAPES) or "NULL"
    end
    out:write(table.concat(line, "\t"), "\n")
  end
  return n
end

local STARS = ("*"):rep(27)

local function print_vertical(out, columns, next_row)
  local width = 0
  for _, col in ipairs(columns) do width = math.max(width, #col.name) end
  local n = 0
  for row in next_row do
    n = n + 1
    out:write(STARS, " ", n, ". row ", STARS, "\n")
    for i, col in ipairs(columns) do
      local t = value_text(row[i], col)
      out:write((" "):rep(width - #col.name), col.name, ": ", t and t:gsub("%z", " ") or "NULL", "\n")
    end
  end
  return n
end

local PRINTERS = { table = print_table, batch = print_batch, vertical = print_vertical }
local OPTIONS = { format = true, out = true }

-- print(res [, opts]): writes res (a result, a streaming cursor or a
-- statement cursor, read to the end of its current result set) to
-- opts.out (default io.stdout) in opts.format: "table" when the output is
-- a terminal, else "batch"; or "vertical".  Returns the number of rows.
-- A result without columns (an OK) prints nothing.
local function print_result(res, opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(("bad argument #2 to 'print' (table expected, got %s)"):format(type(opts)), 2)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not OPTIONS[k] then error(("bad argument #2 to 'print' (unknown option '%s')"):format(tostring(k)), 2) end
  end
  local out = opts.out or io.stdout
  local format = opts.format
  if format == nil then format = io.type(out) == "file" and core.isatty(out) and "table" or "batch" end
  local printer = PRINTERS[format]
  if not printer then
    error(("bad argument #2 to 'print' (format must be \"table\", \"batch\" or \"vertical\", got %s)"):format(
      tostring(format)), 2)
  end
  local columns, next_row = source(res)
  if #columns == 0 then return 0 end
  return printer(out, columns, next_row)
end

return print_result
