# a2m: thin wrapper over CMake. `make demo` = main job, `make test` = every test.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= 2
FUZZ_SECONDS ?= 15
A2M        := $(BUILD)/a2m

.PHONY: all deps build asan fuzz-build test test-release test-asan fuzz demo bench model model-transformer model-anypitch model-anypitch-b gendata clean compare-features eval-anypitch-cv two-stage uncertainty search-seed

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DA2M_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

fuzz-build: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DA2M_SANITIZE=ON -DA2M_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

# Everything: release tests, the same tests under ASan+UBSan, then a short fuzz run of each target.
test: test-release test-asan fuzz

test-release: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: asan
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j$(JOBS)

fuzz: fuzz-build
	@bash scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	@bash scripts/demo.sh $(BUILD)

bench: build
	@bash scripts/bench.sh $(BUILD)

model: build
	@bash scripts/make-model.sh $(BUILD)

# docs/features.md's table: each feature kind x {kNN, logistic regression, CRNN} on the seed split (long: niced)
compare-features: build
	@bash scripts/compare-features.sh $(BUILD)

# The original's Transformer trained by a2m on the seed split (resumable; data/transformer/, scripts/make-transformer.sh)
model-transformer: build
	@bash scripts/make-transformer.sh $(BUILD)

# One-stage vs two-stage on the seed test split and Prueba (docs/two-stage.md); the uncertainty and calibration
# table (docs/uncertainty.md). Both train their models into STAGES_WORK first (reused when there).
STAGES_WORK ?= /tmp/a2m-stages
two-stage: build
	@bash scripts/compare-stages.sh $(BUILD) $(STAGES_WORK)
uncertainty: build
	@bash scripts/uncertainty-table.sh $(BUILD) $(STAGES_WORK)

# The any-pitch model from nothing but ../shared: data generation, dataset, training (resumable: run it again
# after an interruption). FOLD=0/1/2 trains a cross-validation model without a third of singreal instead.
FOLD ?= all
model-anypitch: build
	@bash scripts/make-anypitch.sh $(BUILD) $(FOLD)

# The shipped second draw of the same recipe (train --seed 1), for `a2m transcribe --ensemble anypitch,anypitch-b`.
model-anypitch-b: build
	@TRAIN_SEED=1 OUT=models/a2m-anypitch-b.safetensors bash scripts/make-anypitch.sh $(BUILD) all

# Scores a model on singreal (FOLD's files), Prueba at the pitch sung and the seed test split.
MODEL ?= models/a2m-anypitch.safetensors
eval-anypitch: build
	@bash scripts/eval-anypitch.sh $(BUILD) $(MODEL) $(FOLD)

# The cross-validated singreal score: each fold's files by the fold model that never heard them (needs the three
# models of `make model-anypitch FOLD=0/1/2`).
eval-anypitch-cv: build
	@bash scripts/eval-anypitch-cv.sh $(BUILD)

# a2m search on the seed data with the original's space (docs/search.md); TRIALS=, EPOCHS=, THREADS= override
search-seed: build
	@bash scripts/search-seed.sh $(BUILD)

# Training data for the any-pitch model into data/gen/ (docs/gendata.md)
gendata: build
	@bash scripts/gendata.sh $(BUILD) data/gen

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
