# Entry points for building and testing wagate. Every tool is pinned and installed into the
# ignored .venv/ and .bin/ by `make tools`, so a fresh clone needs only Go, python3 and make.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

PYTHON ?= python3
# staticcheck 2026.2.2; the first release line that understands Go 1.26.
STATICCHECK_VERSION := v0.8.2

VENV := .venv
BIN := $(CURDIR)/.bin
REQUIREMENTS := infra/requirements

# One virtualenv per Python tool: aws-sam-cli pins boto3, click and a cfn-lint range that
# would otherwise hold moto's and cfn-lint's dependencies back.
VENV_STAMPS := $(VENV)/moto/.installed $(VENV)/cfnlint/.installed $(VENV)/sam/.installed $(VENV)/receiver/.installed $(VENV)/schemathesis/.installed
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_STAMP := $(BIN)/.staticcheck-$(STATICCHECK_VERSION)

MOTO_PYTHON := $(CURDIR)/$(VENV)/moto/bin/python
# The official Standard Webhooks verifier that checks wagate's signatures in the tests.
RECEIVER_PYTHON := $(CURDIR)/$(VENV)/receiver/bin/python
CFN_LINT := $(VENV)/cfnlint/bin/cfn-lint
# schemathesis's virtualenv also holds openapi-spec-validator, which checks infra/openapi.yaml.
OPENAPI_VALIDATOR := $(VENV)/schemathesis/bin/openapi-spec-validator
OPENAPI_PYTHON := $(VENV)/schemathesis/bin/python
SAM := $(CURDIR)/$(VENV)/sam/bin/sam
# SAM CLI would otherwise try to send telemetry, which this network cannot reach.
export SAM_CLI_TELEMETRY := 0

.PHONY: tools tools-parallel test bench lint dev trigger build deploy deploy-localstack image console console-test-tools chromium

# The installs are independent and mostly wait on the network: run them side by side
# (about 90 s instead of 115 s from scratch) without making the caller's whole make parallel.
tools:
	@$(MAKE) --no-print-directory -j4 --output-sync=target tools-parallel

tools-parallel: $(VENV_STAMPS) $(STATICCHECK_STAMP)

# A changed requirements file rebuilds its virtualenv from scratch so no stale package survives.
$(VENV)/%/.installed: $(REQUIREMENTS)/%.txt
	rm -rf $(VENV)/$*
	$(PYTHON) -m venv $(VENV)/$*
	$(VENV)/$*/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(STATICCHECK_STAMP):
	GOBIN=$(BIN) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	rm -f $(BIN)/.staticcheck-*
	touch $@

# Dot directories (.venv, .aws-sam, .git) are skipped: they hold no code of ours.
define go-lint
	@unformatted=$$(find . -path './.*' -prune -o -name '*.go' -print | xargs -r gofmt -l); \
	if [ -n "$$unformatted" ]; then echo "gofmt -w needed on:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	$(STATICCHECK) ./...
endef

# The web console (shared/console): TypeScript and Preact bundled by esbuild into
# shared/console/dist, which the console's function embeds. The npm packages are pinned in
# package.json and package-lock.json and installed into the ignored node_modules/ folders; the
# browser tests (infra/consolecheck) drive Debian's chromium with playwright-core and check
# each screen with axe-core. A missing browser fails them: CI installs chromium with apt-get.
CONSOLE_WEB := shared/console/web
CONSOLE_CHECK := infra/consolecheck
CONSOLE_SRC := $(wildcard $(CONSOLE_WEB)/src/*) $(CONSOLE_WEB)/build.mjs $(CONSOLE_WEB)/tsconfig.json
CHROMIUM ?= /usr/bin/chromium

%/node_modules/.installed: %/package.json %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# TypeScript checks the types (esbuild only strips them), then esbuild bundles.
shared/console/dist/index.html: $(CONSOLE_WEB)/node_modules/.installed $(CONSOLE_SRC)
	cd $(CONSOLE_WEB) && node_modules/.bin/tsc -p .
	node $(CONSOLE_WEB)/build.mjs

console: shared/console/dist/index.html

console-test-tools: $(CONSOLE_CHECK)/node_modules/.installed chromium

# Debian's chromium, for the browser tests; installed with apt-get when it is missing and this
# runs as root (CI), else the tests fail and say so.
chromium:
	@if ! command -v $(CHROMIUM) >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }; \
		else echo "no $(CHROMIUM): install Debian's chromium (apt-get install chromium) for the console's browser tests"; fi; \
	fi

# The 20,000-log tests of shared/manage run for minutes against the emulator: hence -timeout.
test: tools console console-test-tools
	$(go-lint)
	WAGATE_MOTO_PYTHON=$(MOTO_PYTHON) WAGATE_RECEIVER_PYTHON=$(RECEIVER_PYTHON) WAGATE_CONSOLE_BUILT=1 WAGATE_CHROMIUM=$(CHROMIUM) \
		go test -race -count=1 -timeout 25m ./...
	bash infra/schemathesis/run.sh
	$(CFN_LINT) template.yaml
	$(OPENAPI_VALIDATOR) infra/openapi.yaml
	$(OPENAPI_PYTHON) infra/check_openapi_examples.py infra/openapi.yaml
	$(SAM) validate --lint
	$(SAM) build
	go run ./infra/buildcheck -dir .aws-sam/build

bench: tools
	WAGATE_MOTO_PYTHON=$(MOTO_PYTHON) go test -run '^$$' -bench . -benchmem ./...

lint: $(VENV)/cfnlint/.installed $(VENV)/schemathesis/.installed $(STATICCHECK_STAMP)
	$(go-lint)
	$(CFN_LINT) template.yaml
	$(OPENAPI_VALIDATOR) infra/openapi.yaml

# The whole gateway on this machine: WAGATE_ADDR, WAGATE_API_KEY and AWS_ENDPOINT_URL (a
# LocalStack) are read from the environment. The binary is run directly so Ctrl-C and SIGTERM
# reach it.
dev: tools console
	go build -o $(BIN)/wagate-dev ./infra/dev
	WAGATE_MOTO_PYTHON=$(MOTO_PYTHON) exec $(BIN)/wagate-dev

# Make an event happen on the running local stack's simulated WhatsApp (docs/simulated-whatsapp.md),
# linking the instance to its simulated phone first if needed:
#   make trigger EVENT=message.received INSTANCE=<id> [DATA='{"type":"image","body":"the menu"}']
EVENT ?= message.received
trigger:
	@test -n "$(INSTANCE)" || { echo "usage: make trigger EVENT=message.received INSTANCE=<instance id> [DATA='{\"body\":\"hi\"}']"; exit 2; }
	@test -f .wagate/dev.env || { echo "no local stack is running (start one with make dev)"; exit 2; }
	@. ./.wagate/dev.env && curl -sS -X POST "$$WAGATE_URL/api/dev/trigger" -H "X-API-Key: $$WAGATE_API_KEY" \
		-H 'Content-Type: application/json' -d '{"instanceId":"$(INSTANCE)","event":"$(EVENT)"$(if $(DATA),$(comma)"data":$(DATA))}'; echo

comma := ,

# Lambda binaries. One recipe serves both `make build` and `sam build`: every function in
# template.yaml has BuildMethod makefile, so SAM runs `make build-<LogicalId>` from the
# repository root with ARTIFACTS_DIR set to where it packages the function from. Run alone,
# build-<LogicalId> writes .build/<LogicalId>/bootstrap. The binaries are static linux/arm64
# (CGO off), without the net/rpc runtime API that provided.al2023 never uses (lambda.norpc),
# without local paths (-trimpath) or symbol tables (-s -w). infra/buildcheck checks all that.
LAMBDA_GOFLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
# <LogicalId>:<directory under functions/>, one per function of template.yaml.
FUNCTIONS := \
	WebhookDeliveryFunction:webhook-delivery \
	WebhookTestFunction:webhook-test \
	WebhookLogsFunction:webhook-logs \
	WebhookRetryFunction:webhook-retry \
	WebhookStatsFunction:webhook-stats \
	WebhookCountFunction:webhook-count \
	WebhookClearFunction:webhook-clear \
	WebhookJobsFunction:webhook-jobs \
	WebhookReconcileFunction:webhook-reconcile \
	InstancesFunction:instances \
	MessagesFunction:messages \
	MediaFunction:media \
	ConsoleFunction:console
FUNCTION_IDS := $(foreach f,$(FUNCTIONS),$(word 1,$(subst :, ,$(f))))

define function-build
.PHONY: build-$(1)
build-$(1): ARTIFACTS_DIR ?= $(CURDIR)/.build/$(1)
build-$(1):
	mkdir -p "$$(ARTIFACTS_DIR)"
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $$(LAMBDA_GOFLAGS) -o "$$(ARTIFACTS_DIR)/bootstrap" ./functions/$(2)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call function-build,$(word 1,$(subst :, ,$(f))),$(word 2,$(subst :, ,$(f))))))
# The console's function embeds the bundle: build it first.
build-ConsoleFunction: console

build: $(addprefix build-,$(FUNCTION_IDS))
	go run ./infra/buildcheck -dir .build

# Build and deploy with samconfig.toml's default profile (stack wagate, us-east-1, change set
# shown before it is executed). Extra `sam deploy` flags go in DEPLOY_ARGS, e.g.
#   make deploy DEPLOY_ARGS=--guided
#   make deploy DEPLOY_ARGS='--parameter-overrides SessionHostImage=<uri> SessionHostSubnets=<ids> SessionHostSecurityGroups=<id>'
deploy: $(VENV)/sam/.installed
	$(SAM) build
	$(SAM) deploy $(DEPLOY_ARGS)

# The same stack on LocalStack (samconfig.toml's localstack profile: no ECS service, which
# LocalStack's free edition does not run). localhost.localstack.cloud resolves to 127.0.0.1
# and, unlike plain localhost, also serves the S3 bucket names SAM uploads to.
LOCALSTACK_ENDPOINT ?= $(or $(AWS_ENDPOINT_URL),http://localhost.localstack.cloud:4566)
deploy-localstack: $(VENV)/sam/.installed
	$(SAM) build
	AWS_ENDPOINT_URL=$(LOCALSTACK_ENDPOINT) AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-test} \
		AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-test} AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
		$(SAM) deploy --config-env localstack $(DEPLOY_ARGS)

# The session host's image, for Fargate's arm64 tasks. IMAGE names it (e.g. an ECR URI with a
# tag); PUSH=1 pushes it instead of loading it into the local Docker engine.
IMAGE ?= wagate-session-host:latest
image:
	docker buildx build --platform linux/arm64 -f session-host/Dockerfile -t $(IMAGE) $(if $(PUSH),--push,--load) .
