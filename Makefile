# mylua: `make` builds the host program build/mylua and the Lua module
# build/mylua.so.  Knobs: CC, CFLAGS, LDFLAGS, LUA_INC, LUA_LIB, BUILD,
# SANITIZE=1 (AddressSanitizer + UndefinedBehaviorSanitizer).

CC ?= cc
BUILD ?= build
CFLAGS ?= -O2 -g
LDFLAGS ?=
LUA_INC ?= $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUA_LIB ?= $(shell pkg-config --libs lua5.4 2>/dev/null || echo -llua5.4)
SSL_LIB ?= -lcrypto

WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wwrite-strings -Werror
ifeq ($(SANITIZE),1)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -pthread $(WARN) $(CFLAGS) $(SAN) $(LUA_INC)
ALL_LDFLAGS = $(LDFLAGS) $(SAN)

CORE_SRC = $(wildcard src/core/*.c)
BIND_SRC = $(wildcard src/lua/*.c)
HOST_SRC = $(wildcard src/host/*.c)
LUA_MODULES = lua/mylua/init.lua lua/mylua/safe.lua

CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
BIND_OBJ = $(BIND_SRC:%.c=$(BUILD)/obj/%.o)
HOST_OBJ = $(HOST_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/embedded.o

.PHONY: all check sanitize clean

all: $(BUILD)/mylua $(BUILD)/mylua.so $(BUILD)/test-decoders

$(BUILD)/mylua: $(CORE_OBJ) $(BIND_OBJ) $(HOST_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LUA_LIB) $(SSL_LIB) -lm -pthread

# The module takes the Lua API from the interpreter that loads it; Lua finds
# luaopen_mylua_core in build/mylua.so for require "mylua.core".
$(BUILD)/mylua.so: $(CORE_OBJ) $(BIND_OBJ)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -shared -o $@ $^ $(SSL_LIB) -pthread

# Decoder cases over byte literals (spec/01-decoders_spec.lua runs it).
$(BUILD)/test-decoders: spec/support/decoders.c $(CORE_OBJ) $(wildcard src/core/*.h)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(CORE_OBJ) $(SSL_LIB)

$(BUILD)/obj/%.o: %.c $(wildcard src/*/*.h) Makefile
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/embedded.c: $(LUA_MODULES) scripts/embed-lua
	@mkdir -p $(@D)
	scripts/embed-lua $@ $(LUA_MODULES)

$(BUILD)/obj/embedded.o: $(BUILD)/embedded.c src/host/embedded.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc/host -c -o $@ $<

check:
	scripts/check

sanitize:
	scripts/check --sanitize

clean:
	rm -rf build build-san build-clang
