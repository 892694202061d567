# The README's test command is `make test`; .ci/run calls exactly that.
.PHONY: test bench fuzz build

build:
	go build -o bin/flowhunt ./cmd/flowhunt

test:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	go test -race ./...

# End-to-end throughput: hunt on a generated 10M-line CSV beside wc -l on the same file.
bench:
	bash scripts/bench.sh

# Short fuzzing of every parser (the checked-in corpora also run in `make test`).
FUZZTIME ?= 30s
fuzz:
	for t in $$(go test -list '^Fuzz' ./internal/ingest/ | grep ^Fuzz); do \
	  go test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) ./internal/ingest/ || exit 1; done
