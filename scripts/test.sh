#!/usr/bin/env bash
# Obmen test command: lint + tests (SQLite and a throwaway PostgreSQL).
#
#   bash scripts/test.sh                    # everything, go test ./...
#   bash scripts/test.sh ./internal/store/... # custom go test package pattern
#   OBMEN_TEST_SKIP_LINT=1 bash scripts/test.sh   # skip gofmt/vet/staticcheck
#   OBMEN_FUZZTIME=30s bash scripts/test.sh       # fuzz budget per target (default 5s; 0 skips the stage)
#
# Works on a fresh Debian 12 as root with only Go installed: installs the
# PostgreSQL server (and a C compiler for -race) via apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# One ordered stream (progress messages from scripts/lib/pg.sh go to stderr).
exec 2>&1

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

if [ "$#" -gt 0 ]; then
	PKGS=("$@")
else
	PKGS=(./...)
fi

heading() { printf '\n=== %s\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# shellcheck source=lib/pg.sh
source scripts/lib/pg.sh

# have CMD...: one of the commands is on PATH (or in /usr/sbin, which a
# non-login root shell may not have on it).
have() {
	local c
	for c; do
		{ command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ]; } && return 0
	done
	return 1
}

# apt_for WHAT WHY PACKAGE...: WHAT is missing; as root install the Debian
# packages that bring it, otherwise say which and stop. A package's own
# service is not wanted: the tests start what they need themselves.
apt_for() {
	local what=$1 why=$2
	shift 2
	[ "$(id -u)" -eq 0 ] || die "$what not found; $why (apt-get install $*)"
	echo "$what not found, installing $* with apt-get ..."
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

# The race detector needs cgo, i.e. a C compiler.
ensure_cc() {
	local cc
	cc=$(go env CC)
	have "${cc%% *}" || apt_for "C compiler '$cc'" "go test -race needs it" gcc libc6-dev
}

# The README's API tour (run by a test) uses curl.
ensure_curl() { have curl || apt_for curl "the README tour test needs it" curl ca-certificates; }

# Bitrix24's official JS SDK drives the Bitrix24-compatible API in a test
# (cmd/obmen/jssdk_test.go); install node when missing and the SDK pinned
# by internal/bitrix/testdata/sdk/package-lock.json.
ensure_sdk() {
	{ have node && have npm; } || apt_for "node and npm" "the Bitrix24 SDK test needs them" nodejs npm
	(cd internal/bitrix/testdata/sdk && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci of the Bitrix24 SDK failed"
}

# The mail collector tests run a real Dovecot (internal/intake/mail); the
# test starts it itself, unprivileged, on a loopback port.
ensure_dovecot() { have dovecot || apt_for dovecot "the mail collector tests need it" dovecot-imapd; }

# email.send is tested end to end through a real MTA (exim, run by the
# tests on loopback) delivering to the tests' Dovecot.
ensure_mta() { have exim4 exim || apt_for exim "the SMTP connector tests need it" exim4-daemon-light; }

# Every CommerceML document Obmen writes is validated against the schema
# of its version with xmllint (internal/commerceml/schematest).
ensure_xmllint() { have xmllint || apt_for xmllint "the CommerceML schema tests need it" libxml2-utils; }

# The nginx example in deploy/ is checked with nginx -t (cmd/obmen
# deploy_test.go); nginx-light is Debian's small build of it.
ensure_nginx() { have nginx || apt_for nginx "the deploy/ config test needs it" nginx-light; }

# Real DAV clients from Debian drive the CardDAV/CalDAV server
# (internal/dav/...): vdirsyncer syncs both ways, khard reads and writes.
ensure_davclients() {
	{ have vdirsyncer && have khard; } || apt_for "vdirsyncer and khard" "the CardDAV client tests need them" vdirsyncer khard
	# CalDAV: khal over vdirsyncer, and python3-caldav (Debian's python,
	# not a pyenv one) for discovery, sync tokens and tasks.
	{ have khal && /usr/bin/python3 -c 'import caldav' 2>/dev/null; } ||
		apt_for "khal and python3-caldav" "the CalDAV client tests need them" khal python3-caldav
}

ensure_pdftotext() { have pdftotext || apt_for pdftotext "the invoice PDF tests need it" poppler-utils; }

ensure_chromium() {
	[ -x /usr/bin/chromium ] || apt_for /usr/bin/chromium "the web UI end-to-end tests need it" chromium
}

# pkgs_whose_tests_match prints the packages of PKGS whose test files
# have a line matching the extended regexp $1.
pkgs_whose_tests_match() {
	local pkg dir
	while IFS=' ' read -r pkg dir; do
		if grep -qsE "$1" "$dir"/*_test.go; then
			echo "$pkg"
		fi
	done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' "${PKGS[@]}")
}

# disk_report: free space where the builds and the tests write (the build
# cache, the temporary folder). A CI machine once ran out of disk in the
# middle of the suite ("no space left on device" from the linker): the
# suite needs about 3 GB in the build cache and 1-2 GB in the temporary
# folder; this line says how much there was.
disk_report() {
	local gocache tmp
	gocache=$(go env GOCACHE)
	mkdir -p "$gocache"
	tmp=${TMPDIR:-/tmp}
	printf 'disk (%s): build cache %s: %s free (it holds %s); temporary folder %s: %s free\n' "$1" \
		"$gocache" "$(df -h --output=avail "$gocache" | tail -1 | tr -d ' ')" "$(du -sh "$gocache" 2>/dev/null | cut -f1)" \
		"$tmp" "$(df -h --output=avail "$tmp" | tail -1 | tr -d ' ')"
}

failed=()
heading disk
disk_report start

# ---------------------------------------------------------------- lint
if [ "${OBMEN_TEST_SKIP_LINT:-}" = 1 ]; then
	heading "lint skipped (OBMEN_TEST_SKIP_LINT=1)"
else
	heading gofmt
	if ! out=$(gofmt -l . 2>&1) || [ -n "$out" ]; then
		echo "gofmt: these files need formatting (run: gofmt -w .):"
		printf '%s\n' "$out"
		failed+=(gofmt)
	else
		echo ok
	fi

	heading vet
	if go vet ./...; then echo ok; else failed+=(vet); fi

	heading staticcheck
	if go run "$STATICCHECK" ./...; then echo ok; else failed+=(staticcheck); fi
fi

# ---------------------------------------------------------------- tests
heading "postgres"
ensure_cc
ensure_curl
ensure_sdk
ensure_dovecot
ensure_mta
ensure_chromium
ensure_xmllint
ensure_pdftotext
ensure_nginx
ensure_davclients
# Tests that need a tool fail without it here, rather than skip.
export OBMEN_TEST_CI=1
export CGO_ENABLED=1
trap 'rc=$?; pg_stop; exit $rc' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
pg_start || die "could not start PostgreSQL"

# Two passes. The race detector's pass runs the engine-parametrised tests
# (storetest.Each) on PostgreSQL only; the second pass, without -race, runs
# them on SQLite (and everything else once more). The SQLite driver is C
# translated to Go: under -race it takes three to six times PostgreSQL's
# time for the same test, which made the suite overrun its half hour. The
# tests that open SQLite directly (its writer's turns, River's pool on it)
# still run under -race in the first pass. Engine-agnostic tests (browser
# tests, the binary's command line: storetest.EngineAgnostic/OpenAny) run
# in the second pass only, on SQLite.
heading "test (race, engine tests on PostgreSQL)"
t0=$(date +%s)
echo "OBMEN_TEST_ENGINES=postgres go test -race -count=1 -timeout 20m ${PKGS[*]}"
if OBMEN_TEST_ENGINES=postgres go test -race -count=1 -timeout 20m "${PKGS[@]}"; then
	:
else
	failed+=(test-race)
fi
echo "race pass: $(($(date +%s) - t0)) s"
disk_report "after the race pass"
heading "test (engine tests on SQLite, without -race)"
t0=$(date +%s)
# Only the packages that have engine tests (storetest.Each, EachStore,
# Engines) or engine-agnostic ones: the others ran whole in the race pass.
mapfile -t ENGINE_PKGS < <(pkgs_whose_tests_match 'storetest\.(Each|EachStore|Engines|EngineAgnostic|OpenAny)\(')
echo "OBMEN_TEST_ENGINES=sqlite go test -count=1 -timeout 15m (${#ENGINE_PKGS[@]} packages with engine tests)"
if [ "${#ENGINE_PKGS[@]}" -eq 0 ] || OBMEN_TEST_ENGINES=sqlite go test -count=1 -timeout 15m "${ENGINE_PKGS[@]}"; then
	:
else
	failed+=(test-sqlite)
fi
echo "sqlite pass: $(($(date +%s) - t0)) s"

# ---------------------------------------------------------------- fuzz
# Every fuzz target (found by go test -list, so a new one joins by itself)
# is fuzzed for OBMEN_FUZZTIME beyond its seeds (f.Add and the committed
# testdata/fuzz corpus, which the test stage above already ran). A crasher
# fails the stage; go writes it into the package's testdata/fuzz, where it
# must be committed with the fix so that go test replays it from then on.
FUZZTIME=${OBMEN_FUZZTIME:-5s}
# fuzz_one PKG DIR BIN NAME: fuzz one target with the package's test
# binary, run as go test runs it (in the package's folder, so a failing
# input lands in its testdata/fuzz; the fuzzing cache where go test keeps
# it). Prints the output; returns the binary's exit code.
fuzz_one() {
	(cd "$2" && "$3" -test.run '^$' -test.fuzz "^$4\$" -test.fuzztime "$FUZZTIME" \
		-test.fuzzcachedir "$FUZZCACHE/$1" -test.paniconexit0 2>&1)
}
# fuzz_build BINDIR PKG...: build each package's fuzzing binary in turn
# (go test -c -fuzz), leaving BIN.ok or BIN.failed (with go's output)
# beside it when done; fuzz_stage runs in the background.
fuzz_build() {
	local bindir=$1 pkg bin t1
	shift
	for pkg in "$@"; do
		bin="$bindir/$(tr / _ <<<"$pkg").test"
		t1=$(date +%s)
		if go test -vet=off -c -fuzz . -o "$bin" "$pkg" >"$bin.out" 2>&1; then
			echo "$(($(date +%s) - t1))" >"$bin.ok"
		else
			mv "$bin.out" "$bin.failed"
		fi
	done
}
fuzz_stage() {
	local t0 cands=() pkg line name list dir out rc n=0 bad=() t1 bin bindir builder i
	t0=$(date +%s)
	FUZZCACHE="$(go env GOCACHE)/fuzz"
	bindir=$(mktemp -d)
	# Only packages whose test files declare a Fuzz function can have a
	# target; -list then names the targets exactly.
	mapfile -t cands < <(pkgs_whose_tests_match '^func Fuzz')
	if [ "${#cands[@]}" -eq 0 ]; then
		echo "no fuzz targets in ${PKGS[*]}"
		return 0
	fi
	if ! list=$(go test -vet=off -list '^Fuzz' "${cands[@]}" 2>&1); then
		printf '%s\n' "$list"
		echo "fuzz: listing the targets failed"
		return 1
	fi
	# -list prints the names, then "ok <package> <time>" for each package.
	# Each package's test binary is built once, instrumented for fuzzing,
	# and runs each of its targets in turn (go test -fuzz would link it
	# anew for every target); the binaries are built in the background,
	# one package ahead of the fuzzing.
	local pkgs=() targets=() names=""
	while IFS= read -r line; do
		case $line in
		Fuzz*) names+="$line " ;;
		ok*)
			pkgs+=("$(awk '{print $2}' <<<"$line")")
			targets+=("$names")
			names=""
			;;
		esac
	done <<<"$list"
	fuzz_build "$bindir" "${pkgs[@]}" &
	builder=$!
	for i in "${!pkgs[@]}"; do
		pkg=${pkgs[$i]}
		bin="$bindir/$(tr / _ <<<"$pkg").test"
		while [ ! -e "$bin.ok" ] && [ ! -e "$bin.failed" ]; do
			if ! kill -0 "$builder" 2>/dev/null && [ ! -e "$bin.ok" ] && [ ! -e "$bin.failed" ]; then
				echo "fuzz: the build of $pkg's fuzzing binary did not finish" >"$bin.failed"
				break
			fi
			sleep 0.2
		done
		if [ -e "$bin.failed" ]; then
			cat "$bin.failed"
			echo "fuzz: building $pkg's fuzzing binary failed"
			bad+=("$pkg")
			continue
		fi
		echo "--- $pkg: fuzzing binary built in $(cat "$bin.ok") s"
		dir=$(go list -f '{{.Dir}}' "$pkg")
		for name in ${targets[$i]}; do
			n=$((n + 1))
			printf -- '--- %s %s (%s)\n' "$pkg" "$name" "$FUZZTIME"
			rc=0
			out=$(fuzz_one "$pkg" "$dir" "$bin" "$name") || rc=$?
			if [ "$rc" -ne 0 ] && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written to' <<<"$out"; then
				# Go's fuzzing engine can end a run whose -fuzztime
				# ran out while a worker was inside a slow input
				# with "context deadline exceeded" and no failing
				# input: not a finding. Once more; twice fails.
				echo "fuzz: $name ended at its deadline without a failing input; once more"
				rc=0
				out=$(fuzz_one "$pkg" "$dir" "$bin" "$name") || rc=$?
			fi
			printf '%s\n' "$out" | tail -n 3
			if [ "$rc" -ne 0 ]; then
				printf '%s\n' "$out"
				if line=$(grep -o 'Failing input written to [^ ]*' <<<"$out"); then
					echo "fuzz: $name found a failing input: ${dir#"$PWD"/}/${line#Failing input written to }"
					echo "      fix the code, commit that file with the fix (go test replays it from then on)"
				fi
				bad+=("$pkg.$name")
			fi
		done
		rm -f "$bin"
	done
	wait "$builder" || true
	rm -rf "$bindir"
	t1=$(date +%s)
	echo "fuzzed $n targets for $FUZZTIME each in $((t1 - t0)) s"
	if [ "${#bad[@]}" -gt 0 ]; then
		echo "fuzz failures: ${bad[*]}"
		return 1
	fi
}
if [ "$FUZZTIME" = 0 ]; then
	heading "fuzz skipped (OBMEN_FUZZTIME=0)"
else
	heading "fuzz ($FUZZTIME per target)"
	if fuzz_stage; then echo ok; else failed+=(fuzz); fi
fi

echo
disk_report end
if [ "${#failed[@]}" -gt 0 ]; then
	echo "FAILED stages: ${failed[*]}"
	exit 1
fi
echo "ALL OK"
