-- The script splitter in the core (src/core/sqlsplit.c) and the SQL lexer
-- under it (src/core/sqllex.c), without a server: the cases in
-- spec/support/test_sqlsplit.c split literal scripts, a hand-written
-- mariadb-dump --routines --triggers one among them, one test each.

local helpers = require "helpers"

describe("script splitter", function()
  for _, case in ipairs(helpers.c_cases("test-sqlsplit", 20)) do it(case.name, case.check) end
end)
