# The lecture decks (DESIGN.md section 1: slides/), included by the top
# Makefile. `make slides` writes build/slides/<deck>.pdf, one beamer PDF
# per deck: intro.md and lab01.md ... lab08.md.
#
# How a deck is built:
#   1. build/slides/figures (slides/figures.c linked with libnnlab.a)
#      computes the data of every plot with the reference library into
#      build/slides/fig/, and gnuplot draws them (slides/figures.gp) as PDFs;
#   2. slides/grading.sh writes each lab's "how it is graded" table from
#      grader/labs/labNN.c and grader/hidden/labNN.c into build/slides/gen/;
#   3. pandoc turns slides/<deck>.md into beamer LaTeX (slides/defaults.yaml,
#      slides/preamble.tex), and pdflatex, run in build/slides/, makes the PDF.
# Needs pandoc, pdflatex with beamer, pgf/TikZ, listings and Latin Modern,
# gnuplot with pdfcairo (`tools/deps.sh slides`; slides/need.sh says what
# is missing). slides/check.sh (a stage of make test) builds them when those
# are installed and checks the result. All nine decks take about 15 s.

SLIDES_OUT    := build/slides
SLIDES_DECKS  := intro lab01 lab02 lab03 lab04 lab05 lab06 lab07 lab08
SLIDES_PDF    := $(SLIDES_DECKS:%=$(SLIDES_OUT)/%.pdf)
SLIDES_FIGBIN := $(SLIDES_OUT)/figures
SLIDES_FIGS   := $(SLIDES_OUT)/fig/.stamp
SLIDES_COMMON := slides/defaults.yaml slides/preamble.tex slides/slides.mk
PANDOC        ?= pandoc
PDFLATEX      ?= pdflatex

.PHONY: slides slides-pdf

slides: ## build the lecture decks (pandoc + beamer) into build/slides/, plots drawn by the reference
	$(Q)tools/deps.sh --quiet slides
	$(Q)slides/need.sh
	+$(Q)$(MAKE) --no-print-directory slides-pdf
	@echo "slides: $(SLIDES_PDF)"

# The decks alone, no dependency installation (slides/check.sh uses it).
slides-pdf: $(SLIDES_PDF)

$(SLIDES_FIGBIN): slides/figures.c $(LIB) $(PUBLIC_HEADERS)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS)

$(SLIDES_FIGS): $(SLIDES_FIGBIN) slides/figures.gp
	@echo "  FIGURES $(@D)"
	$(Q)rm -rf $(@D) && mkdir -p $(@D)
	$(Q)OPENBLAS_NUM_THREADS=1 $(SLIDES_FIGBIN) $(@D)
	$(Q)cp slides/figures.gp $(@D)/ && cd $(@D) && gnuplot figures.gp
	$(Q)touch $@

# Each lab's grading table, from the grader's tables (either may not exist
# yet: then the slide says so).
SLIDES_LABS := $(filter lab%,$(SLIDES_DECKS))
$(foreach d,$(SLIDES_LABS),$(eval $(SLIDES_OUT)/gen/$(d)-grading.tex: \
    $(wildcard grader/labs/$(d).c grader/hidden/$(d).c)))
$(SLIDES_LABS:%=$(SLIDES_OUT)/%.pdf): $(SLIDES_OUT)/%.pdf: $(SLIDES_OUT)/gen/%-grading.tex

$(SLIDES_OUT)/gen/lab%-grading.tex: slides/grading.sh
	@mkdir -p $(@D)
	$(Q)slides/grading.sh $* > $@.tmp && mv -f $@.tmp $@

# pandoc writes the LaTeX; pdflatex runs in build/slides/, a second time
# only when the first asks for it (a table whose column widths settle on
# the second pass says "Rerun"). Its log is kept in build/slides/<deck>.log;
# on an error its first lines are shown.
SLIDES_LATEX = $(PDFLATEX) -interaction=nonstopmode -halt-on-error $*.tex > /dev/null 2>&1 || { \
	    echo "slides: pdflatex failed on $(SLIDES_OUT)/$*.tex (log: $(SLIDES_OUT)/$*.log):" >&2; \
	    grep -A 6 '^!' $*.log | head -n 20 >&2; rm -f $*.pdf; exit 1; }

$(SLIDES_OUT)/%.pdf: slides/%.md $(SLIDES_COMMON) $(SLIDES_FIGS)
	@echo "  SLIDES  $@"
	$(Q)$(PANDOC) --defaults=slides/defaults.yaml slides/$*.md -o $(SLIDES_OUT)/$*.tex
	$(Q)cd $(SLIDES_OUT) && $(SLIDES_LATEX)
	$(Q)cd $(SLIDES_OUT) && if grep -qE 'Rerun (LaTeX|to get)|Table widths have changed' $*.log; then $(SLIDES_LATEX); fi
