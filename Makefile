# The two commands of the README, and a few conveniences.
.PHONY: run test setup client fmt bench bench-peers

run:   ## Run Plait with the demo programme on http://127.0.0.1:8080
	scripts/run

test:  ## Every check and test, as CI runs them
	scripts/test

bench: ## The benchmarks and performance targets (BENCHMARKS.md); not part of test
	scripts/bench

bench-peers: ## Plait against other Yjs servers, the same load on each (BENCHMARKS.md)
	scripts/bench-peers

setup: ## Install the build and test tools (skips what is there)
	scripts/setup --browser

client: ## Build the web client into client/dist
	scripts/setup && . scripts/env.sh && trunk build --release

fmt:
	cargo fmt --all
