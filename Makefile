# DinV. `make test` is the project's test command (.ci/run calls it).
SHELL := /bin/bash
export CGO_ENABLED := 0
GO ?= go
TESTFLAGS ?= -count=1

.PHONY: build test unit integration e2e reliability engine images demo swarm-demo bench clean

build:
	$(GO) build -trimpath -ldflags=-s -o bin/dinv ./cmd/dinv

# Unit, integration (dinv on the host against Debian's dockerd), end-to-end
# (DinV containers of every image) and reliability tests. `engine` first: it
# installs the tools the tests use (openssl, docker.io, ...) on a new machine.
test: engine unit integration e2e reliability

unit:
	$(GO) vet ./...
	$(GO) vet -tags 'integration e2e reliability' ./test/...
	$(GO) test $(TESTFLAGS) ./...

integration: engine build
	$(GO) test $(TESTFLAGS) -tags integration -timeout 15m ./test/integration/

e2e: images
	$(GO) test $(TESTFLAGS) -tags e2e -timeout 40m ./test/e2e/

# The figures of the run (cases, times) go to bin/reliability-figures.md.
reliability: images
	RELIABILITY_FIGURES=$(CURDIR)/bin/reliability-figures.md \
		$(GO) test $(TESTFLAGS) -tags reliability -timeout 30m ./test/reliability/
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
