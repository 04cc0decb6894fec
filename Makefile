# nnlab — one entry point. `make help` lists the targets.
#
# Honoured variables: CC, CFLAGS, LDFLAGS, PREFIX, BUILD, SANITIZE=1, V=1.
# Everything generated goes under $(BUILD) (default build/, or build/asan
# with SANITIZE=1); `make clean` removes build/.

.DEFAULT_GOAL := all
SHELL := /bin/bash

PREFIX   ?= /usr/local
CC       ?= cc
CFLAGS   ?= -O3 -g
PYTHON   ?= /usr/bin/python3
PKG_CONFIG ?= pkg-config

ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD    ?= build
SAN      :=
endif

# Own code: strict C11. CI (CI=true) or WERROR=1 turns warnings into errors.
WARN := -Wall -Wextra -Wpedantic
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN += -Werror
endif

BLAS_CFLAGS  := $(shell $(PKG_CONFIG) --cflags openblas 2>/dev/null)
BLAS_LIBS    := $(shell $(PKG_CONFIG) --libs openblas 2>/dev/null || echo -lopenblas)
CUNIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags cunit 2>/dev/null)
CUNIT_LIBS   := $(shell $(PKG_CONFIG) --libs cunit 2>/dev/null || echo -lcunit)

ROOT     := $(CURDIR)
NN_CPPFLAGS := -Ireference/include -D_POSIX_C_SOURCE=200809L -DNNLAB_ROOT='"$(ROOT)"'
# -fPIC for the shared library; -fno-semantic-interposition lets the
# compiler inline a module's own small functions (nn_relu into its loop)
# all the same.
ALL_CFLAGS  := -std=c11 $(WARN) $(CFLAGS) $(SAN) -fPIC -fno-semantic-interposition \
               $(NN_CPPFLAGS) $(BLAS_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SAN)
LIBS        := $(BLAS_LIBS) -lz -lm

ifneq ($(V),1)
Q := @
endif

# ---------------------------------------------------------------- sources
LIB_SRC   := $(wildcard reference/src/*.c)
# In a student kit (make release) a lab module whose solution is withheld
# ships as reference/obj/<module>.o in place of reference/src/<module>.c.
# A CUDA lab module (lab 8's kernels.cu, per grader/labs.tsv) belongs to
# the GPU programs, not here.
CUDA_MODULE_OBJ := $(patsubst %.cu,reference/obj/%.o,$(filter %.cu,$(shell grep -v '^\#' grader/labs.tsv 2>/dev/null)))
LIB_PREBUILT := $(filter-out $(LIB_SRC:reference/src/%.c=reference/obj/%.o) $(CUDA_MODULE_OBJ),\
                  $(wildcard reference/obj/*.o))
LIB_OBJ   := $(LIB_SRC:reference/src/%.c=$(BUILD)/obj/ref/%.o) $(LIB_PREBUILT)
LIB       := $(BUILD)/lib/libnnlab.a
SHLIB     := $(BUILD)/lib/libnnlab.so
APP_SRC   := $(wildcard reference/apps/nnlab*.c)
APP_OBJ   := $(APP_SRC:reference/apps/%.c=$(BUILD)/obj/apps/%.o)
NNLAB     := $(BUILD)/bin/nnlab
TEST_SRC  := $(wildcard reference/tests/*.c)
TEST_OBJ  := $(TEST_SRC:reference/tests/%.c=$(BUILD)/obj/tests/%.o)
TESTS     := $(BUILD)/bin/nnlab-tests
BENCH     := $(BUILD)/bin/nnlab-bench
PUBLIC_HEADERS := $(wildcard reference/include/nnlab/*.h)
HEADERS   := $(PUBLIC_HEADERS) $(wildcard reference/src/*.h)

# ---------------------------------------------------------------- build
.PHONY: all lib
all: $(LIB) $(SHLIB) $(NNLAB) $(if $(TEST_SRC),$(TESTS)) $(BENCH) ## build the library, the nnlab program and the tests

lib: $(LIB) $(SHLIB)

$(BUILD)/obj/ref/%.o: reference/src/%.c $(HEADERS) | $(BUILD)/obj/ref
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/apps/%.o: reference/apps/%.c $(HEADERS) | $(BUILD)/obj/apps
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: reference/tests/%.c $(HEADERS) reference/tests/testutil.h | $(BUILD)/obj/tests
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(CUNIT_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ) | $(BUILD)/lib
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SHLIB): $(LIB_OBJ) | $(BUILD)/lib
	@echo "  LD      $@"
	$(Q)$(CC) -shared $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(NNLAB): $(APP_OBJ) $(LIB) | $(BUILD)/bin
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(APP_OBJ) $(LIB) $(LIBS)

$(TESTS): $(TEST_OBJ) $(LIB) | $(BUILD)/bin
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(CUNIT_LIBS) $(LIBS)

$(BENCH): reference/bench/bench.c $(LIB) $(HEADERS) | $(BUILD)/bin
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

$(BUILD)/obj/ref $(BUILD)/obj/apps $(BUILD)/obj/tests $(BUILD)/lib $(BUILD)/bin:
	$(Q)mkdir -p $@

# ---------------------------------------------------------------- use
.PHONY: deps demo demo-cnn datasets train bench fuzz docs test install uninstall release gradescope clean help

deps: ## check the Debian packages nnlab needs and install what is missing
	$(Q)tools/deps.sh

datasets: ## fetch Fashion-MNIST and MNIST (SHA-256 checked) into datasets/downloads/
	$(Q)datasets/fetch.sh

ifneq ($(LAB),)
demo: demo-lab
else
demo: ## train an MLP on Fashion-MNIST and plot its curves; make demo LAB=n: lab n's reference, graded, with its plots
	$(Q)tools/deps.sh --quiet build data
	$(Q)$(MAKE) --no-print-directory $(NNLAB)
	$(Q)tools/demo.sh $(NNLAB) $(BUILD)/demo
endif

demo-cnn: ## train LeNet-5 on Fashion-MNIST and draw curves, confusion matrix, samples, filters, a boundary
	$(Q)tools/deps.sh --quiet build data
	$(Q)$(MAKE) --no-print-directory $(NNLAB)
	$(Q)tools/demo-cnn.sh $(NNLAB) $(BUILD)/demo

train: ## build nnlab from your own lab files and train it: make train MINE=all|1-5 [ARGS="nnlab train options"]
	+$(Q)CC='$(CC)' MAKE='$(MAKE)' BUILD='$(BUILD)' tools/train-mine.sh '$(MINE)' $(ARGS)

bench: ## time an MLP and a LeNet-5 epoch against PyTorch (one thread each)
	$(Q)$(MAKE) --no-print-directory $(BENCH)
	$(Q)reference/bench/bench.sh $(BENCH) $(BUILD)/bench

FUZZ_TARGETS := idx csv safetensors
fuzz: ## build the libFuzzer targets (clang) and run each for FUZZ_SECONDS (default 60)
	$(Q)tools/fuzz.sh build/fuzz $(or $(FUZZ_SECONDS),60) $(FUZZ_TARGETS)

docs: ## build the HTML documentation with Doxygen (warnings are errors)
	$(Q)mkdir -p build/docs && doxygen docs/Doxyfile

test: ## check dependencies, build with -Werror, run every test; ends "N passed, N failed"
	$(Q)tools/deps.sh --quiet build data docs test
	$(Q)tools/run-tests.sh

install: $(LIB) $(SHLIB) $(NNLAB) ## install the library, headers, pkg-config file and nnlab under PREFIX
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/nnlab $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(LIB) $(SHLIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/nnlab/
	install -m 755 $(NNLAB) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' reference/nnlab.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/nnlab.pc

uninstall: ## remove what `make install` put under PREFIX
	rm -rf $(DESTDIR)$(PREFIX)/include/nnlab
	rm -f $(DESTDIR)$(PREFIX)/lib/libnnlab.a $(DESTDIR)$(PREFIX)/lib/libnnlab.so \
	      $(DESTDIR)$(PREFIX)/lib/pkgconfig/nnlab.pc $(DESTDIR)$(PREFIX)/bin/nnlab

release: ## write a student kit: make release OUT=dir LABS=1-8 [SOLUTIONS=1-3]
	$(Q)CC='$(CC)' tools/release.sh '$(OUT)' '$(LABS)' '$(SOLUTIONS)'

gradescope: ## build the Gradescope autograder zip of one lab: make gradescope LAB=n
	$(Q)grader/gradescope/make-zip.sh '$(LAB)'

clean: ## remove build/ (every generated file)
	rm -rf build

help: ## list the targets
	@echo "nnlab — make targets"
	@grep -hE '^[a-z][a-zA-Z_-]*:.*## ' $(MAKEFILE_LIST) | \
	  awk -F':.*## ' '{ printf "  make %-12s %s\n", $$1, $$2 }'
	@echo
	@echo "Variables: CC CFLAGS LDFLAGS PREFIX (install), SANITIZE=1 (ASan+UBSan build in build/asan),"
	@echo "           FUZZ_SECONDS (make fuzz), V=1 (show commands), CI=true or WERROR=1 (-Werror)"
	@echo "Grading:   LAB=n IMPL=student|reference|stub SUBMISSION=dir HIDDEN=dir OUT=dir PLOTS=0"
	@echo "Release:   OUT=dir LABS=1-8 SOLUTIONS=1-3 (lab lists: 1-3,5 or all or none)"

include grader/grader.mk
# The GPU reference and lab 8 (reference/gpu/gpu.mk), the slides
# (slides/slides.mk): each adds its own targets to `make help`.
-include reference/gpu/gpu.mk
-include slides/slides.mk
