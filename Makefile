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

.PHONY: tools tools-parallel test bench lint dev trigger

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

# The 20,000-log tests of shared/manage run for minutes against the emulator: hence -timeout.
test: tools
	$(go-lint)
	WAGATE_MOTO_PYTHON=$(MOTO_PYTHON) WAGATE_RECEIVER_PYTHON=$(RECEIVER_PYTHON) go test -race -count=1 -timeout 25m ./...
	bash infra/schemathesis/run.sh
	$(CFN_LINT) template.yaml
	$(OPENAPI_VALIDATOR) infra/openapi.yaml
	$(OPENAPI_PYTHON) infra/check_openapi_examples.py infra/openapi.yaml

bench: tools
	WAGATE_MOTO_PYTHON=$(MOTO_PYTHON) go test -run '^$$' -bench . -benchmem ./...

lint: $(VENV)/cfnlint/.installed $(VENV)/schemathesis/.installed $(STATICCHECK_STAMP)
	$(go-lint)
	$(CFN_LINT) template.yaml
	$(OPENAPI_VALIDATOR) infra/openapi.yaml

# The whole gateway on this machine: WAGATE_ADDR, WAGATE_API_KEY and AWS_ENDPOINT_URL (a
# LocalStack) are read from the environment. The binary is run directly so Ctrl-C and SIGTERM
# reach it.
dev: tools
	go build -o $(BIN)/wagate-dev ./infra/dev
	WAGATE_MOTO_PYTHON=$(MOTO_PYTHON) exec $(BIN)/wagate-dev

# Publish an event through the running local stack: make trigger EVENT=message.received INSTANCE=<id>
EVENT ?= message.received
trigger:
	@test -n "$(INSTANCE)" || { echo "usage: make trigger EVENT=message.received INSTANCE=<instance id> [DATA='{\"body\":\"hi\"}']"; exit 2; }
	@test -f .wagate/dev.env || { echo "no local stack is running (start one with make dev)"; exit 2; }
	@. ./.wagate/dev.env && curl -sS -X POST "$$WAGATE_URL/api/dev/trigger" -H "X-API-Key: $$WAGATE_API_KEY" \
		-H 'Content-Type: application/json' -d '{"instanceId":"$(INSTANCE)","event":"$(EVENT)"$(if $(DATA),$(comma)"data":$(DATA))}'; echo

comma := ,

# build and deploy targets go here; they use $(SAM) and `tools`.
