-- The file name carries the version (src/core/version.h's MYL_VERSION,
-- then the rockspec revision); scripts/check --package fails when they
-- disagree.
rockspec_format = "3.0"
package = "mylua"
version = "0.1.0-1"
-- `luarocks make` builds the checkout it runs in; the source is where a
-- release's tarball (git archive --prefix=mylua-0.1.0/ v0.1.0) would be read.
source = {
  url = "mylua-0.1.0.tar.gz",
  dir = "mylua-0.1.0",
}
description = {
  summary = "MySQL/MariaDB client for Lua 5.4, with a protocol core in C",
  detailed = [[
A driver you can require "mylua" from Lua 5.4: TLS, protocol compression,
the MySQL and MariaDB authentication plugins, buffered and streamed results,
prepared statements, LOAD DATA LOCAL INFILE. A failed statement is always a
raised error (or nil, err with require "mylua.safe").]],
  license = "MIT",
  labels = { "database", "mysql", "mariadb" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  OPENSSL = { header = "openssl/ssl.h", library = "ssl" },
  ZLIB = { header = "zlib.h", library = "z" },
  DEFLATE = { header = "libdeflate.h", library = "deflate" },
  ZSTD = { header = "zstd.h", library = "zstd" },
  SODIUM = { header = "sodium.h", library = "sodium" },
}
build = {
  type = "make",
  -- the Lua module only: the C part as mylua/core.so, the Lua files beside it
  build_target = "module",
  build_variables = {
    CFLAGS = "$(CFLAGS) -I$(OPENSSL_INCDIR) -I$(ZLIB_INCDIR) -I$(DEFLATE_INCDIR) -I$(ZSTD_INCDIR) -I$(SODIUM_INCDIR)",
    LDFLAGS = "-L$(OPENSSL_LIBDIR) -L$(ZLIB_LIBDIR) -L$(DEFLATE_LIBDIR) -L$(ZSTD_LIBDIR) -L$(SODIUM_LIBDIR)",
    LUA_INC = "-I$(LUA_INCDIR)",
  },
  install_target = "install-module",
  install_variables = {
    LUA_LMOD = "$(LUADIR)",
    LUA_CMOD = "$(LIBDIR)",
  },
}
