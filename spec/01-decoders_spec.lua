-- The pure decoders, tested on bytes: the length-encoded reader, the
-- handshake, OK/ERR/EOF, column definitions, the packet classifier, text
-- rows and the row walk, the native password plugin, quoting, escaping and
-- charset lookup.  The cases live in spec/support/decoders.c, built as
-- test-decoders next to the host program; each line it prints becomes one
-- test here.  No server is needed.

local helpers = require "helpers"

describe("decoders", function()
  for _, case in ipairs(helpers.c_cases("test-decoders", 60)) do it(case.name, case.check) end
end)
