# DinV. `make test` is the project's test command (.ci/run calls it).
SHELL := /bin/bash
export CGO_ENABLED := 0
GO ?= go
TESTFLAGS ?= -count=1
# go test, its output kept in bin/logs and its failures repeated at the end.
GOTEST = GO=$(GO) scripts/gotest.sh

.PHONY: build test unit tools integration e2e e2e-least reliability engine images demo swarm-demo bench clean

# staticcheck, pinned; `make tools` installs it from the Go module proxy into
# bin/tools (a new version, a new directory: bumping the pin reinstalls).
STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/tools/staticcheck-$(STATICCHECK_VERSION)/staticcheck
TEST_TAGS := integration e2e reliability

build:
	$(GO) build -trimpath -ldflags=-s -o bin/dinv ./cmd/dinv

# Unit, integration (dinv on the host against Debian's dockerd), end-to-end
# (DinV containers of every image) and reliability tests. `engine` first: it
# installs the tools the tests use (openssl, docker.io, ...) on a new machine.
test: engine unit integration e2e reliability

# Hygiene first: go.mod and go.sum tidy (checked, never rewritten), go vet and
# staticcheck over every package and the tagged suites; then the unit tests
# under the race detector (it needs cgo: on for that command only, the binary
# stays static).
unit: tools
	@$(GO) mod tidy -diff || { echo "unit: go.mod/go.sum are not tidy: run 'go mod tidy' (the changes it makes are above)" >&2; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags '$(TEST_TAGS)' ./test/...
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags '$(TEST_TAGS)' ./test/...
	CGO_ENABLED=1 $(GOTEST) bin/logs/unit.log -race $(TESTFLAGS) ./...

# What `make unit` needs besides Go: staticcheck, and a C compiler for -race
# (installed from Debian's packages when missing).
tools: $(STATICCHECK)
	@command -v "$$(CGO_ENABLED=1 $(GO) env CC)" >/dev/null || { \
		echo "tools: installing gcc (the race detector needs cgo)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null; }

$(STATICCHECK):
	GOBIN=$(abspath $(@D)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

integration: engine build
	$(GOTEST) bin/logs/integration.log $(TESTFLAGS) -tags integration -timeout 15m ./test/integration/

e2e: images
	$(GOTEST) bin/logs/e2e.log $(TESTFLAGS) -tags e2e -timeout 50m ./test/e2e/

# The whole end-to-end suite with the least privileges DinV runs with
# (test/harness.LeastPrivilege) instead of every privilege. `make e2e` already
# proves that set, gVisor and the rootless images on the quickstart,
# -tlsverify, an inner container and a build (test/e2e/sandbox_test.go).
e2e-least: images
	DINV_E2E_PRIVILEGES=least $(GOTEST) bin/logs/e2e-least.log $(TESTFLAGS) -tags e2e -timeout 50m ./test/e2e/

# The figures of the run (cases, times) go to bin/reliability-figures.md.
reliability: images
	RELIABILITY_FIGURES=$(CURDIR)/bin/reliability-figures.md \
		$(GOTEST) bin/logs/reliability.log $(TESTFLAGS) -tags reliability -timeout 30m ./test/reliability/
	@sed -n '1,/^- DEBUG/p' bin/reliability-figures.md

# A Docker engine answering on the default socket (installed when missing).
engine:
	scripts/engine.sh

# dinv:<major.minor> for every engine version, and dinv:latest.
images: engine
	images/build.sh

demo: images
	scripts/demo.sh

# Three DinV hosts forming a Docker swarm, left running (IMAGE=, PORT=, SUBNET=).
swarm-demo: images
	scripts/swarm-demo.sh

bench: images
	scripts/bench.sh

clean:
	rm -rf bin
