# fullconv — top-level build. `make`, `make test`, `make demo`, `make install PREFIX=...`.
# Sources are picked up by directory: one file per op family / pass / importer.
# BUILD=dir builds out of tree (several builds can coexist); WERROR=1 (set by CI) adds -Werror.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
CXX     ?= c++
SAN     ?=
# sanitizer flags of the AVX-512 kernels (*_avx512.c); scripts/fuzz.sh leaves them uninstrumented:
# clang took minutes to instrument each of those unrolled files with ASan + UBSan (gconv_avx512.c
# over 5), and `make test-asan` (gcc) instruments them under the kernel tests anyway
SAN_AVX512 ?= $(SAN)
OPT     ?= -O2

PKGS    := libzip libcjson libprotobuf-c zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra $(if $(WERROR),-Werror)
CFLAGS  += -std=c11 $(OPT) -g $(WARN) -D_GNU_SOURCE -I. -I$(BUILD)/gen $(PKG_CFLAGS) $(SAN)
CXXFLAGS+= -std=c++17 $(OPT) -g $(WARN) -I. $(SAN)
LDLIBS  := $(PKG_LIBS) -lpthread -lm
SIMD    := -mavx2 -mfma -mf16c

LIB_DIRS := common runtime runtime/ops runtime/kernels converter converter/passes converter/arch
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
BENCH_SRCS := $(wildcard bench/*.c)
GEN_SRCS := $(BUILD)/gen/converter/onnx.pb-c.c

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/onnx.pb-c.o
BENCH_OBJS := $(BENCH_SRCS:%.c=$(BUILD)/obj/%.o) $(if $(wildcard bench/gbench_shim.cc),$(BUILD)/obj/bench/gbench_shim.o)
CLI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c))
BENCH_LIBS := $(if $(wildcard bench/gbench_shim.cc),-lbenchmark -lstdc++)

TEST_SRCS := $(wildcard */tests/test_*.c)
TEST_BINS := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TEST_SRCS)))
TOOL_SRCS := $(wildcard */tests/tool_*.c)
TOOL_BINS := $(patsubst %.c,$(BUILD)/tests/%,$(notdir $(TOOL_SRCS)))

LIB := $(BUILD)/libfullconv.a
BIN := $(BUILD)/fullconv

.PHONY: all test demo clean install bench bench-ci fuzz test-asan testdata
all: $(BIN) $(LIB)

$(BUILD)/gen/converter/onnx.pb-c.c $(BUILD)/gen/converter/onnx.pb-c.h: converter/onnx.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen converter/onnx.proto

$(BUILD)/obj/gen/onnx.pb-c.o: $(BUILD)/gen/converter/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(CFLAGS)) -Wno-unused-parameter -c $< -o $@

# SIMD kernels are the only files built with -mavx2; the dispatcher checks cpuid first.
$(BUILD)/obj/%_avx2.o: %_avx2.c $(BUILD)/gen/converter/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SIMD) -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c $(BUILD)/gen/converter/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out $(SAN),$(CFLAGS)) $(SAN_AVX512) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/converter/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJS) $(BENCH_OBJS) $(LIB)
	$(CXX) $(SAN) -o $@ $(CLI_OBJS) $(BENCH_OBJS) $(LIB) $(BENCH_LIBS) $(LDLIBS)

vpath test_%.c $(sort $(dir $(TEST_SRCS)))
vpath tool_%.c $(sort $(dir $(TOOL_SRCS)))
$(BUILD)/tests/%: %.c $(BENCH_OBJS) $(LIB)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS) -c $< -o $@.o
	$(CXX) $(SAN) -o $@ $@.o $(BENCH_OBJS) $(LIB) $(BENCH_LIBS) $(LDLIBS) -lcmocka

test: all $(TEST_BINS) $(TOOL_BINS)
	@BUILD=$(BUILD) sh scripts/run_tests.sh

demo:
	@BUILD=$(BUILD) sh scripts/demo.sh

bench: all
	@BUILD=$(BUILD) sh scripts/bench.sh

bench-ci: all
	@BUILD=$(BUILD) sh scripts/bench_ci.sh

fuzz:
	@BUILD=$(BUILD) sh scripts/fuzz.sh

test-asan:
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" test

testdata:
	/usr/bin/python3 scripts/make_testdata.py
	/usr/bin/python3 scripts/make_torch_testdata.py

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include/fullconv/runtime $(DESTDIR)$(PREFIX)/include/fullconv/common
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/fullconv
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libfullconv.a
	install -m 644 runtime/fcn.h runtime/format.h $(DESTDIR)$(PREFIX)/include/fullconv/runtime/
	install -m 644 common/fc_common.h $(DESTDIR)$(PREFIX)/include/fullconv/common/
	sed -e 's|@PREFIX@|$(PREFIX)|' scripts/fullconv.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/fullconv.pc

clean:
	rm -rf $(BUILD) build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
