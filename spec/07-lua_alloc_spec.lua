-- The host program's Lua allocator (src/host/lua_alloc.c), without a
-- server: the cases in spec/support/test_lua_alloc.c check that blocks
-- keep their bytes through every resize and never overlap, that small
-- blocks come from the range and userdata and large ones from malloc, that
-- a full range falls back to malloc, and that a Lua state on it computes
-- what it should; under AddressSanitizer, that freed and unused bytes are
-- poisoned.  One test each.

local helpers = require "helpers"

describe("host Lua allocator", function()
  for _, case in ipairs(helpers.c_cases("test-lua-alloc", 6)) do it(case.name, case.check) end
end)
