# The CUDA reference and lab 8 (included by the top Makefile).
#
# Honoured variables:
#   CUDA_HOME   the toolkit (default /usr/local/cuda); nvcc is $(CUDA_HOME)/bin/nvcc,
#               else the nvcc on PATH
#   CUDA_ARCH   compute capabilities to build code for (default "80 90"): one
#               -gencode per entry, plus PTX of the last, which newer GPUs compile
#               at load time
#   NVCC        the compiler itself, to override the search
#
# `make gpu` builds the GPU library, the GPU tests and benchmark, and turns on
# the GPU path of nnlab (`nnlab train --device cuda`): it leaves the marker
# $(BUILD)/gpu/enabled, so that every later `make` links nnlab with CUDA too,
# until `make clean`. Plain `make` never compiles CUDA on its own.
# Without nvcc, every GPU target says it is skipped and why, and succeeds.
#
# The grader asks this file for its CUDA settings (make cuda-env) and, for
# lab 8, for the GPU objects (make grade-objs GRADE_LAB=08).

CUDA_HOME ?= /usr/local/cuda
CUDA_ARCH ?= 80 90
NVCC      ?= $(firstword $(wildcard $(CUDA_HOME)/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CXX_EMU   ?= g++

GPU_DIR   := reference/gpu
GPU_OBJ   := $(BUILD)/obj/gpu
GPU_HDRS  := $(wildcard $(GPU_DIR)/*.h $(GPU_DIR)/*.cuh) $(HEADERS)

# -gencode for each architecture, and PTX (compute_XX) for the last one.
GPU_LAST_ARCH := $(lastword $(CUDA_ARCH))
GENCODE := $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
           -gencode arch=compute_$(GPU_LAST_ARCH),code=compute_$(GPU_LAST_ARCH)

# Flags for any CUDA source: the reference's and a student's lab 8 file.
NVCC_FLAGS := -std=c++17 -O3 -lineinfo $(GENCODE) -Xcompiler -fPIC,-Wall,-Wextra \
              -Ireference/include -I$(GPU_DIR)
# The reference's own: warnings are errors under CI=true or WERROR=1, as for the C code.
NVCC_REF_FLAGS := $(NVCC_FLAGS) -DNN_CUDA_ARCH_LIST='"$(CUDA_ARCH)"' \
                  $(if $(filter true 1,$(CI) $(WERROR)),-Werror all-warnings -Xcompiler -Werror)
CUDA_CFLAGS := -isystem $(CUDA_HOME)/include -I$(GPU_DIR)
CUDA_LIBS   := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++ -lm

# The GPU library: the trainer and its kernels (gpu.h), and lab 8's module.
GPU_LIB_SRC  := device gemm ops train
GPU_LIB_OBJS := $(GPU_LIB_SRC:%=$(GPU_OBJ)/%.o)
# (absent from a student kit that withholds the solution: reference/obj/kernels.o instead)
GPU_LAB_OBJ  := $(if $(wildcard $(GPU_DIR)/kernels.cu),$(GPU_OBJ)/kernels.o)
GPU_LIB      := $(BUILD)/lib/libnnlab-gpu.a
GPU_TESTS    := $(BUILD)/bin/nnlab-gpu-tests
GPU_BENCH    := $(BUILD)/bin/nnlab-gpu-bench
GPU_HOST_TESTS := $(BUILD)/bin/nnlab-gpu-host-tests
GPU_EMU_TESTS  := $(BUILD)/bin/nnlab-gpu-emu-tests
GPU_ENABLED  := $(BUILD)/gpu/enabled

# What reference/gpu/test-gpu.sh runs: the GPU tests (GPU_TESTS, or GPU_SKIP
# saying why not), the plain-C tests, and the emulator (built on demand
# when the CUDA headers are there).
GPU_TEST_ENV = OPENBLAS_NUM_THREADS=1 HOST_TESTS=$(GPU_HOST_TESTS) EMU_TESTS=$(GPU_EMU_TESTS) \
               EMU_BUILD='$(MAKE) --no-print-directory $(GPU_EMU_TESTS)' \
               CUDA_INCLUDE=$(CUDA_HOME)/include

ifeq ($(NVCC),)
GPU_MISSING := nvcc not found (looked in $(CUDA_HOME)/bin and on PATH; set CUDA_HOME to the CUDA toolkit)
endif

.PHONY: gpu gpu-build test-gpu bench-gpu bench-gpu-run test-gpu-emu cuda-env

ifeq ($(GPU_MISSING),)

gpu: ## build the CUDA library, GPU tests and benchmark, and nnlab with --device cuda (skipped without nvcc)
	$(Q)mkdir -p $(dir $(GPU_ENABLED)) && touch $(GPU_ENABLED)
	+$(Q)$(MAKE) --no-print-directory gpu-build
	@echo "gpu: built with $(NVCC) for CUDA_ARCH=\"$(CUDA_ARCH)\"; $(NNLAB) now takes --device cuda"
	@echo "gpu: run the GPU tests with 'make test-gpu', the benchmark with 'make bench-gpu'"

gpu-build: $(GPU_LIB) $(NNLAB) $(GPU_TESTS) $(GPU_BENCH) $(BENCH)


test-gpu: $(GPU_TESTS) $(GPU_HOST_TESTS) ## GPU tests: kernels and training against the CPU (each skipped without a device), and the kernels' logic on the CPU emulator
	$(Q)$(GPU_TEST_ENV) GPU_TESTS=$(GPU_TESTS) $(GPU_DIR)/test-gpu.sh

# The benchmark compares nnlab's --device cpu and --device cuda: it turns the
# GPU path on, as `make gpu` does.
bench-gpu: ## time each kernel against cuBLAS and the device's ceilings, and MLP/LeNet-5 epochs against the CPU and PyTorch (skipped without nvcc or a device)
	$(Q)mkdir -p $(dir $(GPU_ENABLED)) && touch $(GPU_ENABLED)
	+$(Q)$(MAKE) --no-print-directory bench-gpu-run

bench-gpu-run: $(GPU_BENCH) $(BENCH) $(NNLAB)
	$(Q)$(GPU_DIR)/bench-gpu.sh $(GPU_BENCH) $(BENCH) $(NNLAB) $(BUILD)/bench-gpu

# nnlab links the GPU library once `make gpu` has run (the marker).
ifneq ($(wildcard $(GPU_ENABLED)),)
$(NNLAB): $(GPU_LIB_OBJS)
$(NNLAB): LIBS += $(GPU_LIB_OBJS) $(LIB) $(CUDA_LIBS) $(BLAS_LIBS) -lz -lm
NNLAB_LINK_MODE := cuda $(NVCC) $(CUDA_ARCH)
else
NNLAB_LINK_MODE := cpu
endif

# Lab 8's tests see the CUDA runtime and the reference's GPU objects.
ifeq ($(GRADE_LAB),08)
grade-objs: $(GPU_LIB_OBJS) $(GPU_LAB_OBJ)
endif
GPU_GRADER_MODE := cuda $(CUDA_HOME)
$(GRADER_OBJ)/labs/lab08.o $(GRADER_OBJ)/hidden/lab08.o: GRADER_CFLAGS += -DNNLAB_HAVE_CUDA $(CUDA_CFLAGS)

else # no nvcc

gpu bench-gpu:
	@echo "$@: skipped: $(GPU_MISSING)"

test-gpu: $(GPU_HOST_TESTS)
	$(Q)$(GPU_TEST_ENV) GPU_SKIP='$(GPU_MISSING)' $(GPU_DIR)/test-gpu.sh

NNLAB_LINK_MODE := cpu
GPU_GRADER_MODE := none

endif

# Switching nnlab or the lab 8 tables between CUDA and no CUDA relinks or
# recompiles them: each depends on a file that records its mode and is
# rewritten only when the mode changes.
$(BUILD)/gpu/nnlab-link.mode $(BUILD)/gpu/grader.mode: FORCE
	@mkdir -p $(@D)
	@mode='$(if $(findstring nnlab,$@),$(NNLAB_LINK_MODE),$(GPU_GRADER_MODE))'; \
	  [ "$$(cat $@ 2>/dev/null)" = "$$mode" ] || echo "$$mode" > $@
$(NNLAB): $(BUILD)/gpu/nnlab-link.mode
$(GRADER_OBJ)/labs/lab08.o $(GRADER_OBJ)/hidden/lab08.o: $(BUILD)/gpu/grader.mode \
    $(GPU_DIR)/kernels.h $(GPU_DIR)/gpu.h
.PHONY: FORCE
FORCE:

# ---------------------------------------------------------------- CUDA objects

$(GPU_OBJ)/%.o: $(GPU_DIR)/%.cu $(GPU_HDRS) | $(GPU_OBJ)
	@echo "  NVCC    $<"
	$(Q)$(NVCC) $(NVCC_REF_FLAGS) -c $< -o $@

$(GPU_LIB): $(GPU_LIB_OBJS) $(GPU_LAB_OBJ) | $(BUILD)/lib
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(GPU_TESTS): $(GPU_OBJ)/test_gpu.o $(GPU_LIB) $(LIB) | $(BUILD)/bin
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(GPU_LIB) $(LIB) $(CUDA_LIBS) $(BLAS_LIBS) -lz -lm

$(GPU_BENCH): $(GPU_OBJ)/bench_gpu.o $(GPU_LIB) $(LIB) | $(BUILD)/bin
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(GPU_LIB) $(LIB) $(CUDA_LIBS) $(BLAS_LIBS) -lz -lm

$(GPU_OBJ):
	$(Q)mkdir -p $@

# ---------------------------------------------------------------- CPU-only checks

# pcg.h (the dropout stream's jump-ahead) against rng.c, in plain C.
$(GPU_HOST_TESTS): $(GPU_DIR)/test_host.c $(GPU_DIR)/pcg.h $(LIB) $(HEADERS) | $(BUILD)/bin
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -I$(GPU_DIR) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

# The emulator (emu/cuda_emu.h): the CUDA sources compiled by g++ against
# the CUDA headers, launches rewritten by sed, threads run as coroutines on
# the CPU. Needs the headers only, no nvcc, no GPU.
GPU_EMU_SRC  := device gemm ops train test_gpu
GPU_EMU_OBJ  := $(BUILD)/obj/gpu-emu
GPU_EMU_FLAGS := -std=c++20 -O1 -g -Wall -Wextra -Wno-unknown-pragmas \
                 -include $(GPU_DIR)/emu/cuda_emu.h -I$(CUDA_HOME)/include \
                 -Ireference/include -I$(GPU_DIR) $(BLAS_CFLAGS)

$(GPU_EMU_OBJ)/%.o: $(GPU_DIR)/%.cu $(GPU_HDRS) $(GPU_DIR)/emu/cuda_emu.h | $(GPU_EMU_OBJ)
	@echo "  EMU     $<"
	$(Q)sed -E 's/<<<(.*)>>>\(/ % emu::launch_config(\1) % std::make_tuple(/' $< > $(@:.o=.cpp)
	$(Q)$(CXX_EMU) $(GPU_EMU_FLAGS) -x c++ -c $(@:.o=.cpp) -o $@

$(GPU_EMU_OBJ)/emu.o: $(GPU_DIR)/emu/emu.cpp $(GPU_DIR)/emu/cuda_emu.h | $(GPU_EMU_OBJ)
	@echo "  EMU     $<"
	$(Q)$(CXX_EMU) $(GPU_EMU_FLAGS) -c $< -o $@

$(GPU_EMU_TESTS): $(GPU_EMU_SRC:%=$(GPU_EMU_OBJ)/%.o) $(GPU_EMU_OBJ)/emu.o $(LIB) | $(BUILD)/bin
	@echo "  LD      $@"
	$(Q)$(CXX_EMU) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(GPU_EMU_OBJ):
	$(Q)mkdir -p $@

test-gpu-emu: $(GPU_HOST_TESTS) ## check the CUDA kernels' logic on the CPU (emulator; needs the CUDA headers, no GPU)
	$(Q)$(GPU_TEST_ENV) GPU_SKIP='not asked for (make test-gpu runs it)' $(GPU_DIR)/test-gpu.sh

# ---------------------------------------------------------------- for scripts

# Shell assignments for grader/grade.sh and tools/mkstub.sh: eval "$(make -s cuda-env)".
cuda-env:
	@printf "NVCC='%s'\n" '$(NVCC)'
	@printf "CUDA_HOME='%s'\n" '$(CUDA_HOME)'
	@printf "CUDA_MISSING='%s'\n" '$(GPU_MISSING)'
	@printf "NVCC_FLAGS='%s'\n" '$(NVCC_FLAGS)'
	@printf "CUDA_LIBS='%s'\n" '$(CUDA_LIBS)'
	@printf "GPU_OBJS='%s'\n" '$(GPU_LIB_OBJS)'
	@printf "GPU_LAB_OBJ='%s'\n" '$(GPU_LAB_OBJ)'
