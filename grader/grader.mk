# The autograder and the lab stubs (DESIGN.md sections 2 and 4).
# Included by the top Makefile; uses its BUILD, CC, ALL_CFLAGS, CUNIT_CFLAGS,
# HEADERS, LIB_OBJ and Q. The work is done by scripts:
#   grader/grade.sh     make grade, make demo-lab
#   grader/report.sh    the HTML report (called by grade.sh)
#   grader/selftest.sh  make selftest (a stage of make test)
#   tools/mkstub.sh     make stubs, make check-stubs
# grader/labs.tsv lists the labs: number, folder, module file(s).

GRADER_OBJ    := $(BUILD)/obj/grader
GRADER_CFLAGS := $(ALL_CFLAGS) $(CUNIT_CFLAGS) -Igrader
GRADER_HDRS   := $(wildcard grader/*.h grader/bands/*.h) $(HEADERS)

# grade.sh asks for the objects of one lab: make grade-objs GRADE_LAB=01.
GRADE_LAB ?=
GRADE_TABLE_OBJ := $(if $(GRADE_LAB),$(patsubst grader/%.c,$(GRADER_OBJ)/%.o,\
                     $(wildcard grader/labs/lab$(GRADE_LAB).c grader/hidden/lab$(GRADE_LAB).c)))

# Grading options, passed on to grade.sh (LAB, IMPL, SUBMISSION, HIDDEN, OUT,
# SANITIZE, PLOTS=0).
GRADE_ARGS = --lab '$(LAB)' $(if $(IMPL),--impl '$(IMPL)') \
             $(if $(SUBMISSION),--submission '$(SUBMISSION)') $(if $(HIDDEN),--hidden '$(HIDDEN)') \
             $(if $(OUT),--out '$(OUT)') $(if $(filter 1,$(SANITIZE)),--sanitize) \
             $(if $(filter 0,$(PLOTS)),--no-plots)
GRADE_ENV  = CC='$(CC)' MAKE='$(MAKE)' BUILD='$(BUILD)'

.PHONY: grade demo-lab grade-objs stubs check-stubs selftest

# The lines start with + so the scripts' own `make` shares a parent -j.
grade: ## grade a lab: make grade LAB=n [IMPL=student|reference|stub] [SUBMISSION=dir] [HIDDEN=dir] [OUT=dir] [SANITIZE=1]
	+$(Q)$(GRADE_ENV) grader/grade.sh $(GRADE_ARGS)

demo-lab: ## grade lab LAB's reference solution into build/demo/labNN and show its plots
	+$(Q)$(GRADE_ENV) grader/grade.sh $(GRADE_ARGS) --demo

# The runner: grader/runner.c (main) and its helpers grader/runner_*.c.
RUNNER_OBJ := $(patsubst grader/%.c,$(GRADER_OBJ)/%.o,$(wildcard grader/runner*.c))

grade-objs: $(LIB_OBJ) $(RUNNER_OBJ) $(GRADE_TABLE_OBJ)

$(GRADER_OBJ)/%.o: grader/%.c $(GRADER_HDRS)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(GRADER_CFLAGS) -c $< -o $@

stubs: ## (re)generate the stubs in labs/ from the reference; never overwrites a file you edited
	$(Q)tools/mkstub.sh --update

check-stubs: ## fail (with a diff) when a stub in labs/ is out of date with the reference
	$(Q)CC='$(CC)' tools/mkstub.sh --check

selftest: ## check the grader: reference gets full marks, stubs zero, known mistakes are caught
	+$(Q)$(GRADE_ENV) SANITIZE='$(SANITIZE)' grader/selftest.sh
