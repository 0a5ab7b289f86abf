# The two commands of the README. Both install what is missing (as root) or say what to install.
.PHONY: demo test lint deps deb

demo:
	@scripts/dev.sh demo

test:
	@scripts/dev.sh test

lint:
	@scripts/dev.sh lint

deps:
	@scripts/dev.sh deps

# The Debian package: target/debian/mosq-auth_<version>_amd64.deb (installs cargo-deb if missing).
deb:
	@scripts/dev.sh deb
