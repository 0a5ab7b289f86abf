# The two commands of the README. Both install what is missing (as root) or say what to install.
.PHONY: demo test lint deps deb fuzz valgrind soak

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

# The cargo-fuzz targets of fuzz/, FUZZ_SECONDS (120) each, one after the other; FUZZ_TARGETS=a,b
# picks some. Needs the nightly toolchain; installs cargo-fuzz if missing. Fails on a crash.
fuzz:
	@scripts/fuzz.sh

# A subset of the broker tests with mosquitto 2.0 and 2.1.2 under valgrind's memcheck; fails on
# an error or definite leak in frames of libmosq_auth.so (logs in target/valgrind/<version>/).
valgrind:
	@scripts/valgrind.sh

# The soak: SOAK_SECONDS (600) against a real broker with files, JWT and HTTP chained, steady
# load and injected faults, every answer judged by an oracle; SOAK_BROKER=2.1 for Mosquitto
# 2.1.2. Fails on a wrong answer, a crash, a missing fault log line or resource growth.
soak:
	@scripts/soak.sh
