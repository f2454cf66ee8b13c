# Mediaflow developer commands. The logic lives in scripts/; see README.md.
#   make run    install what is missing, start PostgreSQL + RabbitMQ, build, run every service (Ctrl-C stops all)
#   make test   the same on a separate test instance, run the whole test suite, stop everything
SHELL := /bin/bash
.DEFAULT_GOAL := help
.NOTPARALLEL:
.PHONY: help deps build run up down test bench fuzz status clean-local

help:
	@echo "make run          start everything in the foreground (API on http://127.0.0.1:8080); Ctrl-C stops it"
	@echo "make test         run the whole test suite on its own PostgreSQL/RabbitMQ instance"
	@echo "make up / down    start / stop everything in the background"
	@echo "make bench        measure every TARGETS.md row over HTTP (reuses or starts the stack)"
	@echo "make fuzz         libFuzzer on the parsers of untrusted bytes (FUZZ_SECONDS per target, default 60)"
	@echo "make deps         install missing system packages (apt)"
	@echo "make build        swift build -c release"
	@echo "make status       what is running"
	@echo "make clean-local  stop everything and delete .local/ (databases, queues, stored files)"

deps:
	scripts/services.sh dev deps

build:
	swift build -c release

run: deps build
	scripts/app.sh run

up: deps build
	scripts/app.sh up

down:
	scripts/app.sh down

test: deps
	scripts/test.sh

bench: deps build
	scripts/bench.sh $(BENCH_ARGS)

fuzz: deps
	scripts/fuzz.sh $(FUZZ_ARGS)

status:
	@scripts/app.sh status
	@scripts/services.sh dev status
	@scripts/services.sh test status

clean-local:
	scripts/app.sh down
	scripts/services.sh test clean
	scripts/services.sh dev clean
	rm -rf .local
