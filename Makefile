# The two commands of the README. Both install what is missing (as root) or say what to install.
.PHONY: demo test lint deps

demo:
	@scripts/dev.sh demo

test:
	@scripts/dev.sh test

lint:
	@scripts/dev.sh lint

deps:
	@scripts/dev.sh deps
