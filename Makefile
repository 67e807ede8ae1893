# Tillpoint — make help lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export TILLPOINT_DEV_DIR ?= $(CURDIR)/.dev
TOOLS := bin/tools
SERVICES := admin-api checkout-runtime hooks
MODULES := proto/gen/go services/platform $(addprefix services/,$(SERVICES)) sdk/go e2e bench chaos
# Every package of every workspace module.
PKGS := $(addsuffix /...,$(addprefix ./,$(MODULES)))
GEN_DIRS := proto/gen services/admin-api/internal/openapi $(foreach s,$(SERVICES),services/$(s)/internal/store/db)

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN{FS=":.*## "} /^[a-z-]+:.*## /{printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(TOOLS)/.built: tools/go.mod tools/go.sum tools/openapi31/main.go
	@mkdir -p $(TOOLS)
	cd tools && GOWORK=off go build -o ../$(TOOLS)/ \
		github.com/bufbuild/buf/cmd/buf \
		github.com/sqlc-dev/sqlc/cmd/sqlc \
		google.golang.org/protobuf/cmd/protoc-gen-go \
		google.golang.org/grpc/cmd/protoc-gen-go-grpc \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
		github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2 \
		./openapi31
	@touch $@

.PHONY: tools
tools: $(TOOLS)/.built ## Build the pinned code generators (tools/go.mod) into bin/tools.

.PHONY: generate
generate: tools ## Regenerate protobuf, gateway, OpenAPI and sqlc code.
	rm -rf proto/gen/go/tillpoint services/admin-api/internal/openapi/openapi.swagger.json services/admin-api/internal/openapi/openapi.json
	$(TOOLS)/buf generate
	$(TOOLS)/openapi31 -in services/admin-api/internal/openapi/openapi.swagger.json -out services/admin-api/internal/openapi/openapi.json
	rm services/admin-api/internal/openapi/openapi.swagger.json
	for s in $(SERVICES); do \
		if [ -f services/$$s/sqlc.yaml ]; then rm -rf services/$$s/internal/store/db && $(TOOLS)/sqlc generate -f services/$$s/sqlc.yaml; fi; \
	done

.PHONY: check-generated
check-generated: tools ## Fail when the generated code differs from what make generate makes of the sources.
	@snap=$$(mktemp -d); trap 'rm -rf "$$snap"' EXIT; \
	for d in $(GEN_DIRS); do if [ -d $$d ]; then mkdir -p "$$snap/$$d" && cp -r $$d/. "$$snap/$$d/"; fi; done; \
	$(MAKE) --no-print-directory generate >/dev/null; \
	stale=0; for d in $(GEN_DIRS); do \
		if [ -d $$d ] || [ -d "$$snap/$$d" ]; then diff -r -q "$$snap/$$d" $$d || stale=1; fi; \
	done; \
	if [ $$stale = 1 ]; then echo "generated code was out of date: make generate has now updated it; review and commit"; exit 1; fi

.PHONY: lint
lint: tools ## buf lint, gofmt, go vet.
	$(TOOLS)/buf lint
	@bad=$$(gofmt -l services proto/gen/go sdk/go e2e bench chaos tools | grep -v '\.pb\.' || true); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	go vet $(PKGS)

.PHONY: deps
deps: ## Install what the tests need and is missing (PostgreSQL server, Chromium) with apt-get.
	@scripts/install-deps.sh

.PHONY: node-deps
node-deps: e2e/node/node_modules/.installed sdk/ts/dist/index.js ## Install Stripe's Node SDK for the end-to-end tests and compile sdk/ts with tsc (npm ci into git-ignored node_modules).

e2e/node/node_modules/.installed: e2e/node/package.json e2e/node/package-lock.json
	cd e2e/node && npm ci --no-audit --no-fund
	@touch $@

.PHONY: prism-deps
prism-deps: tools/prism/node_modules/.installed ## Install Stoplight Prism, which checks the Paystack client against Paystack's OpenAPI spec (npm ci into git-ignored tools/prism/node_modules).

tools/prism/node_modules/.installed: tools/prism/package.json tools/prism/package-lock.json
	cd tools/prism && npm ci --no-audit --no-fund
	@touch $@

sdk/ts/node_modules/.installed: sdk/ts/package.json sdk/ts/package-lock.json
	cd sdk/ts && npm ci --no-audit --no-fund
	@touch $@

sdk/ts/dist/index.js: sdk/ts/node_modules/.installed sdk/ts/tsconfig.json $(wildcard sdk/ts/src/*.ts)
	cd sdk/ts && node_modules/.bin/tsc -p .

.PHONY: deploy-check
deploy-check: ## Render the Kubernetes overlays (kustomize) and validate them strictly (kubeconform) with the example Secrets, NATS values and alert rules, against deploy/schemas.
	cd tools/deploycheck && GOWORK=off go run . -root ../.. && GOWORK=off go test -count=1 -timeout 5m .

.PHONY: test
test: deps node-deps prism-deps lint check-generated deploy-check ## Everything: lint, generated-code check, deployment check, unit, integration and end-to-end tests.
	go test -count=1 -timeout 20m $(PKGS)

.PHONY: test-short
test-short: prism-deps ## Unit and integration tests without the slow end-to-end ones.
	go test -short $(PKGS)

.PHONY: build
build: ## Build the service binaries into bin/.
	go build -o bin/ ./services/admin-api/cmd/admin-api ./services/checkout-runtime/cmd/checkout-runtime \
		./services/hooks/cmd/hooks ./services/platform/cmd/tillpoint-dev

.PHONY: run
run: build ## Start the whole stack on an embedded PostgreSQL and NATS (Ctrl-C stops it).
	exec bin/tillpoint-dev run --bin bin

.PHONY: clean
clean: ## Remove build outputs (keeps .dev, the dev database).
	rm -rf bin test-artifacts

.PHONY: bench
bench: ## Run the load benchmarks against a private stack on loopback (tables in bench/results/latest.md; BENCH_FLAGS=-duration=10s).
	go run ./bench/cmd/bench $(BENCH_FLAGS)

.PHONY: chaos
chaos: ## Chaos soak: 2 replicas of each service, 3 NATS nodes, PostgreSQL, kill -9s under load, then the invariants (docs/chaos.md; CHAOS_FLAGS='-duration 10m -rate 4 -seed N').
	go run ./chaos/cmd/chaos $(CHAOS_FLAGS)
