# mylua: `make` builds the host program build/mylua and the Lua module
# build/mylua.so.  Knobs: CC, CFLAGS, LDFLAGS, LUA_INC, LUA_LIB, BUILD,
# SANITIZE=1 (AddressSanitizer + UndefinedBehaviorSanitizer).
# `make fuzz` (clang, not part of all or check) fuzzes the decoders.
# `make install` (PREFIX, default /usr/local, and DESTDIR) installs the
# program, its man page (doc/mylua.1), the Lua module and the core as a C
# library (`make lib`: libmylua-core, its header and mylua-core.pc);
# `make uninstall`.  The version is MYL_VERSION in src/core/version.h,
# the one place it is written: everything else reads it from there.

CC ?= cc
BUILD ?= build
CFLAGS ?= -O2 -g
LDFLAGS ?=
LUA_INC ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUA_LIB ?= $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)
# OpenSSL (TLS, SHA, RSA), zlib, libdeflate and zstd (protocol compression),
# libsodium (ed25519 for the MariaDB auth plugins).
SSL_LIB ?= -lssl -lcrypto -lz -ldeflate -lzstd -lsodium
# libedit (BSD editline): line editing and history at the host's prompt.
EDIT_LIB ?= -ledit

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wwrite-strings -Werror
ifeq ($(SANITIZE),1)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Stored rows stay in malloc's blocks, whose ends the sanitizer watches,
# instead of huge pages (src/core/bigmem.c).
SAN_DEFS = -DMYL_NO_BIGMEM
endif
# The core never sees the Lua headers (CORE_CFLAGS has no LUA_INC); every
# object is built with hidden visibility, so mylua.so exports only what is
# marked MYL_EXPORT: luaopen_mylua_core.
CORE_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -pthread -fvisibility=hidden \
              $(WARN) $(CFLAGS) $(SAN) $(SAN_DEFS)
ALL_CFLAGS = $(CORE_CFLAGS) $(LUA_INC)
ALL_LDFLAGS = $(LDFLAGS) $(SAN)
AR ?= ar

CORE_SRC = $(wildcard src/core/*.c)
BIND_SRC = $(wildcard src/lua/*.c)
HOST_SRC = $(wildcard src/host/*.c)
LUA_MODULES = lua/mylua/init.lua lua/mylua/safe.lua lua/mylua/log.lua lua/mylua/progress.lua \
              lua/mylua/print.lua lua/mylua/repl.lua lua/mylua/script.lua lua/mylua/migrate.lua \
              lua/mylua/batch.lua lua/mylua/args.lua lua/mylua/cluster_lock.lua \
              lua/mylua/parallel.lua lua/mylua/hosts.lua \
              $(LUA_MIGRATE_MODULES)
# mylua.migrate's parts, installed in their own directory (mylua/migrate/)
LUA_MIGRATE_MODULES = lua/mylua/migrate/files.lua lua/mylua/migrate/classify.lua \
                      lua/mylua/migrate/cli.lua

CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CORE_LIB = $(BUILD)/libmylua_core.a
BIND_OBJ = $(BIND_SRC:%.c=$(BUILD)/obj/%.o)
HOST_OBJ = $(HOST_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/embedded.o

.PHONY: all check sanitize clean fuzz test install uninstall program lib module \
        install-program install-module install-lib

all: $(BUILD)/mylua $(BUILD)/mylua.so $(BUILD)/test-decoders $(BUILD)/test-framing \
     $(BUILD)/test-compress $(BUILD)/test-infile $(BUILD)/test-binrow $(BUILD)/test-optfile \
     $(BUILD)/test-mylogin $(BUILD)/test-sqlsplit $(BUILD)/test-lua-alloc $(BUILD)/mylua_fault.so

$(BUILD)/mylua: $(BIND_OBJ) $(HOST_OBJ) $(CORE_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(BIND_OBJ) $(HOST_OBJ) $(CORE_LIB) $(LUA_LIB) $(SSL_LIB) $(EDIT_LIB) -lm -pthread

# The module takes the Lua API from the interpreter that loads it; Lua finds
# luaopen_mylua_core in build/mylua.so for require "mylua.core".
$(BUILD)/mylua.so: $(BIND_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -shared -o $@ $(BIND_OBJ) $(CORE_LIB) $(SSL_LIB) -pthread

# The protocol core: plain C, no Lua, usable from C programs and tests.
$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# Decoder cases over byte literals (spec/01-decoders_spec.lua runs it).
$(BUILD)/test-decoders: spec/support/decoders.c spec/support/server_lexer.h spec/support/captured_packets.h $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(SSL_LIB)

# Framing over the in-memory transport, and the fault layer, from byte
# literals (spec/02-framing_spec.lua runs it).
FAULT_SRC = spec/support/fault.c
$(BUILD)/test-framing: spec/support/test_framing.c spec/support/framer_cases.h $(FAULT_SRC) spec/support/fault.h $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(FAULT_SRC) $(CORE_OBJ) $(SSL_LIB)

# The compressed protocol layer over the in-memory transport, from byte
# literals (spec/58-compress_spec.lua runs it).
$(BUILD)/test-compress: spec/support/test_compress.c spec/support/framer_cases.h $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(SSL_LIB)

# LOCAL INFILE's statement scanner and file source, on literal SQL and a
# scratch directory (spec/67-infile_spec.lua runs it).
$(BUILD)/test-infile: spec/support/test_infile.c spec/support/cases.h $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(SSL_LIB)

# The binary protocol's rows, the server's text of their values, and their
# Lua values, from byte literals (spec/03-binrow_spec.lua runs it).
$(BUILD)/test-binrow: spec/support/test_binrow.c spec/support/cases.h spec/support/captured_binrows.h $(BIND_OBJ) $(CORE_OBJ) $(wildcard src/*/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BIND_OBJ) $(CORE_OBJ) $(LUA_LIB) $(SSL_LIB) -lm -pthread

# Option files: the parser over literal text and the reader over a scratch
# directory (spec/04-optfile_spec.lua runs it, and compares its print mode
# with my_print_defaults).
$(BUILD)/test-optfile: spec/support/test_optfile.c spec/support/cases.h $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(SSL_LIB)

# The login path file (.mylogin.cnf): files built from the format, cut
# short, damaged, too open (spec/05-mylogin_spec.lua runs it, and reads the
# files spec/support/mylogin_gen.py writes with its print mode).
$(BUILD)/test-mylogin: spec/support/test_mylogin.c spec/support/cases.h $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(SSL_LIB)

# The script splitter and the SQL lexer under it, on literal scripts
# (spec/06-sqlsplit_spec.lua runs it).
$(BUILD)/test-sqlsplit: spec/support/test_sqlsplit.c spec/support/cases.h $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(SSL_LIB)

# The host's Lua allocator, alone and under a Lua state
# (spec/07-lua_alloc_spec.lua runs it).
$(BUILD)/test-lua-alloc: spec/support/test_lua_alloc.c spec/support/cases.h src/host/lua_alloc.c src/host/lua_alloc.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< src/host/lua_alloc.c $(LUA_LIB) -lm

# A test-only Lua module: fault.opener{...} for connect's `transport` option
# (spec/55-fault_spec.lua).
$(BUILD)/mylua_fault.so: spec/support/fault_module.c $(FAULT_SRC) spec/support/fault.h $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -shared -o $@ $< $(FAULT_SRC) $(CORE_OBJ) $(SSL_LIB) -pthread

# The tests that need no server, in seconds.
test: $(BUILD)/test-decoders $(BUILD)/test-framing $(BUILD)/test-compress $(BUILD)/test-infile \
      $(BUILD)/test-binrow $(BUILD)/test-optfile $(BUILD)/test-mylogin $(BUILD)/test-sqlsplit \
      $(BUILD)/test-lua-alloc
	@for t in test-decoders test-framing test-compress test-infile test-binrow test-optfile test-mylogin \
	          test-sqlsplit test-lua-alloc; do \
	  $(BUILD)/$$t >$(BUILD)/$$t.out 2>&1 || { grep -v '^ok ' $(BUILD)/$$t.out; exit 1; }; \
	  echo "$$t: $$(grep -c '^ok ' $(BUILD)/$$t.out) cases ok"; \
	done

$(BUILD)/obj/src/core/%.o: src/core/%.c $(wildcard src/core/*.h) Makefile
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.c $(wildcard src/*/*.h) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/embedded.c: $(LUA_MODULES) scripts/embed-lua
	@mkdir -p $(@D)
	scripts/embed-lua $@ $(LUA_MODULES)

$(BUILD)/obj/embedded.o: $(BUILD)/embedded.c src/host/embedded.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc/host -c -o $@ $<

# The core as a C library for C programs (no Lua): libmylua-core.a and
# libmylua-core.so with a versioned SONAME, and one header, mylua-core.h,
# put together from the core's own headers so it cannot drift from them.
# Its objects are built apart from the host's: the host's have hidden
# visibility, these default visibility, and the linker's version script
# (src/core/mylua-core.map) exports the myl_* functions and nothing else.
# Every symbol it uses must come from the libraries it names (-z defs),
# except under the sanitizers: clang leaves their runtime to the program.
# While the major version is 0 the SONAME carries the minor version too
# (libmylua-core.so.0.1): any 0.x release may change the interface.
VERSION := $(shell sed -n 's/^\#define MYL_VERSION "\([^"]*\)".*/\1/p' src/core/version.h)
VERSION_PARTS := $(subst ., ,$(VERSION))
SOVERSION := $(if $(filter 0,$(word 1,$(VERSION_PARTS))),$(word 1,$(VERSION_PARTS)).$(word 2,$(VERSION_PARTS)),$(word 1,$(VERSION_PARTS)))
SHLIB = libmylua-core.so
SHLIB_SONAME = $(SHLIB).$(SOVERSION)
SHLIB_FILE = $(SHLIB).$(VERSION)
LIB_CFLAGS = $(filter-out -fvisibility=hidden,$(CORE_CFLAGS))
LIB_OBJ = $(CORE_SRC:%.c=$(BUILD)/obj-lib/%.o)
# The core headers a C program needs, in the order they depend on each other.
PUBLIC_HEADERS = $(addprefix src/core/,version.h error.h buf.h charset.h proto.h transport.h \
                 conn.h options.h result.h row.h binrow.h stmt.h)

program: $(BUILD)/mylua

lib: $(BUILD)/lib/$(SHLIB_FILE) $(BUILD)/lib/libmylua-core.a $(BUILD)/include/mylua-core.h

module: $(BUILD)/mylua.so

$(BUILD)/obj-lib/src/core/%.o: src/core/%.c $(wildcard src/core/*.h) Makefile
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(BUILD)/lib/$(SHLIB_FILE): $(LIB_OBJ) src/core/mylua-core.map
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -shared -Wl,-soname,$(SHLIB_SONAME) -Wl,--version-script=src/core/mylua-core.map \
	  $(if $(SAN),,-Wl,-z,defs) -o $@ $(LIB_OBJ) $(SSL_LIB) -pthread
	ln -sf $(SHLIB_FILE) $(BUILD)/lib/$(SHLIB_SONAME)
	ln -sf $(SHLIB_SONAME) $(BUILD)/lib/$(SHLIB)

$(BUILD)/lib/libmylua-core.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/include/mylua-core.h: src/core/mylua-core.h.in $(PUBLIC_HEADERS) Makefile
	@mkdir -p $(@D)
	{ sed '/@HEADERS@/,$$d' src/core/mylua-core.h.in; \
	  for h in $(PUBLIC_HEADERS); do echo "/* ---- $${h##*/} ---- */"; sed '/^#include "/d' $$h; echo; done; \
	  sed '1,/@HEADERS@/d' src/core/mylua-core.h.in; } >$@.tmp && mv $@.tmp $@

check:
	scripts/check

sanitize:
	scripts/check --sanitize

clean:
	rm -rf build build-san build-clang build-fuzz

# make install [PREFIX=/usr/local] [DESTDIR=...]: the program, its man page,
# and the Lua module where Debian's lua5.4 looks under PREFIX (/usr/local
# and /usr both: Lua files in share/lua/5.4, C modules in lib/lua/5.4), so
# a plain lua5.4 finds require "mylua".  The C half goes in as mylua/core.so:
# require "mylua.core" finds it there and calls its luaopen_mylua_core.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
LUA_LMOD ?= $(PREFIX)/share/lua/5.4
LUA_CMOD ?= $(PREFIX)/lib/lua/5.4
# The C library goes in LIBDIR (default $(PREFIX)/lib), its header in
# INCLUDEDIR and mylua-core.pc in PKGCONFIGDIR, for pkg-config mylua-core.
# install-program, install-module and install-lib are the three parts.
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install

install: install-program install-module install-lib

install-program: $(BUILD)/mylua
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BUILD)/mylua $(DESTDIR)$(BINDIR)/mylua
	$(INSTALL) -m 644 doc/mylua.1 $(DESTDIR)$(MANDIR)/man1/mylua.1

install-module: $(BUILD)/mylua.so
	$(INSTALL) -d $(DESTDIR)$(LUA_LMOD)/mylua/migrate $(DESTDIR)$(LUA_CMOD)/mylua
	$(INSTALL) -m 644 $(filter-out $(LUA_MIGRATE_MODULES),$(LUA_MODULES)) $(DESTDIR)$(LUA_LMOD)/mylua/
	$(INSTALL) -m 644 $(LUA_MIGRATE_MODULES) $(DESTDIR)$(LUA_LMOD)/mylua/migrate/
	$(INSTALL) -m 755 $(BUILD)/mylua.so $(DESTDIR)$(LUA_CMOD)/mylua/core.so

install-lib: lib
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 644 $(BUILD)/lib/$(SHLIB_FILE) $(BUILD)/lib/libmylua-core.a $(DESTDIR)$(LIBDIR)/
	ln -sf $(SHLIB_FILE) $(DESTDIR)$(LIBDIR)/$(SHLIB_SONAME)
	ln -sf $(SHLIB_SONAME) $(DESTDIR)$(LIBDIR)/$(SHLIB)
	$(INSTALL) -m 644 $(BUILD)/include/mylua-core.h $(DESTDIR)$(INCLUDEDIR)/mylua-core.h
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@LIBS_PRIVATE@|$(SSL_LIB) -pthread|' src/core/mylua-core.pc.in \
	    >$(DESTDIR)$(PKGCONFIGDIR)/mylua-core.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/mylua-core.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mylua $(DESTDIR)$(MANDIR)/man1/mylua.1 \
	      $(addprefix $(DESTDIR)$(LUA_LMOD)/mylua/,$(notdir $(filter-out $(LUA_MIGRATE_MODULES),$(LUA_MODULES)))) \
	      $(addprefix $(DESTDIR)$(LUA_LMOD)/mylua/migrate/,$(notdir $(LUA_MIGRATE_MODULES))) \
	      $(DESTDIR)$(LUA_CMOD)/mylua/core.so \
	      $(addprefix $(DESTDIR)$(LIBDIR)/,$(SHLIB_FILE) $(SHLIB_SONAME) $(SHLIB) libmylua-core.a) \
	      $(DESTDIR)$(INCLUDEDIR)/mylua-core.h $(DESTDIR)$(PKGCONFIGDIR)/mylua-core.pc
	-rmdir $(DESTDIR)$(LUA_LMOD)/mylua/migrate $(DESTDIR)$(LUA_LMOD)/mylua $(DESTDIR)$(LUA_CMOD)/mylua 2>/dev/null

# libFuzzer targets for the decoders (spec/support/fuzz_*.c), built from the
# sources with their own flags, each run for FUZZ_SECONDS on a corpus under
# build-fuzz/ that starts from the seeds the targets write.  A finding stops
# the run and lands in build-fuzz/ as decoders-crash-*, rows-leak-*, ...
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR = build-fuzz
FUZZ_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -pthread -g -O1 $(WARN) \
              -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined $(LUA_INC)

$(BUILD)/fuzz-decoders: spec/support/fuzz_decoders.c $(CORE_SRC) $(wildcard src/core/*.h) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(SSL_LIB)

$(BUILD)/fuzz-rows: spec/support/fuzz_rows.c $(CORE_SRC) $(BIND_SRC) $(wildcard src/*/*.h) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(BIND_SRC) $(LUA_LIB) $(SSL_LIB) -lm

$(BUILD)/fuzz-binrows: spec/support/fuzz_binrows.c $(CORE_SRC) $(BIND_SRC) $(wildcard src/*/*.h) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(BIND_SRC) $(LUA_LIB) $(SSL_LIB) -lm

$(BUILD)/fuzz-optfile: spec/support/fuzz_optfile.c $(CORE_SRC) $(wildcard src/core/*.h) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(SSL_LIB)

$(BUILD)/fuzz-mylogin: spec/support/fuzz_mylogin.c $(CORE_SRC) $(wildcard src/core/*.h) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(SSL_LIB)

$(BUILD)/fuzz-sqlsplit: spec/support/fuzz_sqlsplit.c $(CORE_SRC) $(wildcard src/core/*.h) Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(CORE_SRC) $(SSL_LIB)

fuzz: $(BUILD)/fuzz-decoders $(BUILD)/fuzz-rows $(BUILD)/fuzz-binrows $(BUILD)/fuzz-optfile \
      $(BUILD)/fuzz-mylogin $(BUILD)/fuzz-sqlsplit
	@for t in decoders rows binrows optfile mylogin sqlsplit; do \
	  mkdir -p $(FUZZ_DIR)/corpus-$$t && \
	  FUZZ_WRITE_SEEDS=$(FUZZ_DIR)/corpus-$$t $(BUILD)/fuzz-$$t && \
	  echo "fuzz: $$t for $(FUZZ_SECONDS)s" && \
	  $(BUILD)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_DIR)/$$t- $(FUZZ_DIR)/corpus-$$t || exit 1; \
	done
