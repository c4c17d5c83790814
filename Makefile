# sandbox: see README.md. `make demo` and `make test` install what they need.
GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
export PATH := $(dir $(GO)):$(PATH)

.PHONY: all build demo test unit integration bench deps lint clean

all: build

# deps installs the C toolchain and libseccomp headers the build needs
# (cgo for libseccomp-golang), with apt-get when running as root.
deps:
	@scripts/deps.sh

build: deps
	$(GO) build -o bin/sandbox ./cmd/sandbox

demo: build
	@echo "== running demo/untrusted.sh under the default policy =="
	bin/sandbox run -- sh demo/untrusted.sh

# test runs every test: unit tests, then the integration suite against
# bin/sandbox (parity with native Linux, escapes, launch stress).
test: build lint
	$(GO) test -count=1 ./...

# lint: gofmt, go vet and staticcheck (a pinned version, built into
# bin/tools on first use) must all be clean.
STATICCHECK := bin/tools/staticcheck
$(STATICCHECK):
	GOBIN=$(CURDIR)/bin/tools $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: $(STATICCHECK)
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

unit: build
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /integration)

bench: build
	$(GO) run ./bench

clean:
	rm -rf bin
