-- mylua.migrate.classify: can a statement run inside a transaction that a
-- ROLLBACK undoes?  MariaDB commits implicitly before and after DDL,
-- account and server statements (CREATE, ALTER, DROP, RENAME, TRUNCATE,
-- GRANT, REVOKE, LOCK TABLES, FLUSH, ANALYZE, OPTIMIZE, SET PASSWORD,
-- START TRANSACTION, ...; see "SQL statements that cause an implicit
-- commit" in the MariaDB documentation), and a few statements change what
-- no rollback restores (SET GLOBAL).  Rather than keep that list complete
-- forever, only the statements known to stay in the transaction count as
-- transactional; anything else (CALL, whose procedure may run DDL,
-- PREPARE, a statement that starts with an executable comment, a word
-- added by a later server) makes its migration run without one, which
-- only loses atomicity, never pretends to it.
local classify = {}

local PLAIN = {
  SELECT = true, INSERT = true, UPDATE = true, DELETE = true, REPLACE = true,
  DO = true, WITH = true, VALUES = true,
}

-- SET is transactional when it sets only session and user variables: not
-- autocommit (SET autocommit = 1 commits), passwords, roles, the
-- transaction, global variables or SET STATEMENT (which wraps another).
local SET_REFUSED = { "AUTOCOMMIT", "PASSWORD", "ROLE", "TRANSACTION", "GLOBAL", "STATEMENT", "@@GLOBAL" }

local function words(sql, n)
  local out = {}
  for w in sql:gmatch("[%a_@]+") do
    out[#out + 1] = w:upper()
    if #out == n then break end
  end
  return out
end

-- true, or false and the reason ("CREATE TABLE commits implicitly",
-- "CALL: cannot tell").
function classify.transactional(sql)
  local first = sql:match("^%s*([%a_]+)")
  if not first then return false, "starts with no SQL word" end
  first = first:upper()
  if PLAIN[first] then return true end
  local w = words(sql, 3)
  if first == "SET" then
    local upper = sql:upper()
    for _, word in ipairs(SET_REFUSED) do
      if upper:find("%f[%w_@]" .. word:gsub("@", "%%@") .. "%f[^%w_]") then
        return false, ("SET %s is not undone by a rollback or commits"):format(word)
      end
    end
    return true
  end
  if (first == "CREATE" or first == "DROP") and w[2] == "TEMPORARY" then return true end
  if first == "LOAD" and w[2] == "DATA" then return true end
  local what = first
  if w[2] and (first == "CREATE" or first == "ALTER" or first == "DROP" or first == "RENAME"
      or first == "TRUNCATE") then
    what = first .. " " .. w[2]
  end
  local implicit = {
    CREATE = true, ALTER = true, DROP = true, RENAME = true, TRUNCATE = true, GRANT = true,
    REVOKE = true, LOCK = true, UNLOCK = true, FLUSH = true, ANALYZE = true, OPTIMIZE = true,
    REPAIR = true, CHECK = true, BEGIN = true, START = true, COMMIT = true, ROLLBACK = true,
    RESET = true, CHANGE = true, STOP = true, INSTALL = true, UNINSTALL = true, CACHE = true,
    XA = true, SHUTDOWN = true,
  }
  if implicit[first] then return false, what .. " commits implicitly" end
  return false, what .. ": cannot tell whether it commits"
end

-- Over a list of statement texts: true, or false and "statement N: reason".
function classify.all(statements)
  for i, sql in ipairs(statements) do
    local ok, why = classify.transactional(sql)
    if not ok then return false, ("statement %d: %s"):format(i, why) end
  end
  return true
end

return classify
