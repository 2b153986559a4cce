-- The script splitter in the core (src/core/sqlsplit.c) and the SQL lexer
-- under it (src/core/sqllex.c), without a server: the cases in
-- spec/support/test_sqlsplit.c split literal scripts, a hand-written
-- mariadb-dump --routines --triggers one among them, and strip the
-- comments of statements as the mariadb client does by default
-- (src/core/sqlstrip.c), one test each.

local helpers = require "helpers"

describe("script splitter", function()
  for _, case in ipairs(helpers.c_cases("test-sqlsplit", 26)) do it(case.name, case.check) end
end)
