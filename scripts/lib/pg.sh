# shellcheck shell=bash
# Throwaway PostgreSQL for Obmen tests and local development.
#
# Usage (from the repo root):
#   source scripts/lib/pg.sh
#   pg_start                      # exports OBMEN_TEST_DATABASE_URL
#   go test ./internal/store/...
#   pg_stop                       # stops the server and deletes its data
#
# This file is meant to be sourced; it defines functions only and does not
# change shell options of the calling shell. Every function returns non-zero
# on failure instead of exiting.
#
# Exported after a successful pg_start:
#   OBMEN_TEST_DATABASE_URL  postgres://postgres@127.0.0.1:PORT/obmen_test?sslmode=disable
#   OBMEN_PG_DIR             temp dir holding data/, log and the unix socket
#   OBMEN_PG_PORT            TCP port (127.0.0.1 only)
#   OBMEN_PG_BIN             PostgreSQL server bin dir that was used
#
# Tunables (environment):
#   OBMEN_PG_BASE_PORT       first port to try (default 55432)
#   OBMEN_PG_TMPDIR          parent of the temp dir (default /tmp; keep it short,
#                            the unix socket path is limited to ~107 bytes)

_pg_log() { printf 'pg: %s\n' "$*" >&2; }

# _pg_find_bin: print the newest /usr/lib/postgresql/<ver>/bin that has initdb.
_pg_find_bin() {
	local d best="" best_ver=-1 ver
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] || continue
		ver=${d#/usr/lib/postgresql/}
		ver=${ver%/bin}
		ver=${ver%%.*}
		case $ver in '' | *[!0-9]*) continue ;; esac
		if [ "$ver" -gt "$best_ver" ]; then
			best_ver=$ver
			best=$d
		fi
	done
	[ -n "$best" ] || return 1
	printf '%s\n' "$best"
}

# pg_ensure_installed: install the PostgreSQL server from apt if missing.
pg_ensure_installed() {
	if _pg_find_bin >/dev/null; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		_pg_log "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)."
		_pg_log "Install them, e.g.: sudo apt-get install postgresql"
		return 1
	fi
	_pg_log "PostgreSQL server not found, installing it with apt-get ..."
	# postgresql-common's postinst may try to start the default cluster; in a
	# container without an init system that is harmless.
	apt-get update -qq || return 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null || return 1
	_pg_find_bin >/dev/null || {
		_pg_log "apt-get installed postgresql but no initdb was found"
		return 1
	}
}

# _pg_as_owner CMD...: run a PostgreSQL server command. As root it runs as
# `nobody` (PostgreSQL refuses to run as root); otherwise as the current user.
# Runs from inside the temp dir so the unprivileged user can always access cwd.
_pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd "$OBMEN_PG_DIR" && runuser -u nobody -- "$@")
	else
		(cd "$OBMEN_PG_DIR" && "$@")
	fi
}

# _pg_port_free PORT: succeeds if nothing listens on 127.0.0.1:PORT.
_pg_port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_pg_print_log() {
	if [ -n "${OBMEN_PG_DIR:-}" ] && [ -f "$OBMEN_PG_DIR/log" ]; then
		_pg_log "----- PostgreSQL log ($OBMEN_PG_DIR/log) -----"
		cat "$OBMEN_PG_DIR/log" >&2
		_pg_log "----- end of PostgreSQL log -----"
	fi
}

# pg_start: initdb + start a throwaway server, create database obmen_test and
# export OBMEN_TEST_DATABASE_URL. On failure it prints the server log, cleans
# up and returns 1.
#
# The server belongs to the shell that started it: the dir is remembered in the
# NON-exported variable _obmen_pg_started_dir, so a child process (e.g.
# scripts/test.sh run from a shell that has a dev server) starts and stops its
# own server and never touches the parent's.
pg_start() {
	if [ -n "${_obmen_pg_started_dir:-}" ] && [ -f "$_obmen_pg_started_dir/data/postmaster.pid" ]; then
		_pg_log "already running in $_obmen_pg_started_dir (port ${OBMEN_PG_PORT:-?}); call pg_stop first"
		return 0
	fi

	pg_ensure_installed || return 1
	local bin
	bin=$(_pg_find_bin) || return 1
	export OBMEN_PG_BIN=$bin

	local parent=${OBMEN_PG_TMPDIR:-/tmp}
	OBMEN_PG_DIR=$(mktemp -d "$parent/obmen-pg.XXXXXX") || return 1
	export OBMEN_PG_DIR
	_obmen_pg_started_dir=$OBMEN_PG_DIR
	if [ "$(id -u)" -eq 0 ]; then
		chown nobody "$OBMEN_PG_DIR" || { pg_stop; return 1; }
	fi

	# initdb: prefer C.UTF-8, fall back to plain C.
	local initdb_out
	if ! initdb_out=$(_pg_as_owner "$bin/initdb" -D "$OBMEN_PG_DIR/data" -A trust --no-sync \
		-U postgres -E UTF8 --locale=C.UTF-8 2>&1); then
		_pg_as_owner rm -rf "$OBMEN_PG_DIR/data"
		if ! initdb_out=$(_pg_as_owner "$bin/initdb" -D "$OBMEN_PG_DIR/data" -A trust --no-sync \
			-U postgres -E UTF8 --locale=C 2>&1); then
			_pg_log "initdb failed:"
			printf '%s\n' "$initdb_out" >&2
			pg_stop
			return 1
		fi
	fi

	# Start on the first free port; retry on the next one if we lose a race
	# for the port between the check and the bind.
	local port=${OBMEN_PG_BASE_PORT:-55432} last=$((${OBMEN_PG_BASE_PORT:-55432} + 200)) started=""
	while [ "$port" -le "$last" ]; do
		if _pg_port_free "$port"; then
			if _pg_as_owner "$bin/pg_ctl" -D "$OBMEN_PG_DIR/data" -l "$OBMEN_PG_DIR/log" -w -t 60 \
				-o "-k $OBMEN_PG_DIR -p $port -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
				start >/dev/null 2>&1; then
				started=1
				break
			fi
			if grep -qiE 'address already in use|could not bind|could not create any TCP/IP sockets' \
				"$OBMEN_PG_DIR/log" 2>/dev/null; then
				_pg_as_owner "$bin/pg_ctl" -D "$OBMEN_PG_DIR/data" stop -m immediate >/dev/null 2>&1
				: >"$OBMEN_PG_DIR/log"
				port=$((port + 1))
				continue
			fi
			break
		fi
		port=$((port + 1))
	done
	if [ -z "$started" ]; then
		_pg_log "PostgreSQL failed to start (last port tried: $port)"
		_pg_print_log
		pg_stop
		return 1
	fi
	export OBMEN_PG_PORT=$port

	if ! "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres obmen_test; then
		_pg_log "createdb obmen_test failed"
		_pg_print_log
		pg_stop
		return 1
	fi

	export OBMEN_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/obmen_test?sslmode=disable"
	_pg_log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$port (data in $OBMEN_PG_DIR)"
	_pg_log "OBMEN_TEST_DATABASE_URL=$OBMEN_TEST_DATABASE_URL"
}

# pg_stop: stop the server started by this shell (if any) and remove its temp
# dir. Safe to call more than once and after a partial pg_start.
pg_stop() {
	local dir=${_obmen_pg_started_dir:-}
	if [ -z "$dir" ]; then
		return 0
	fi
	OBMEN_PG_DIR=$dir
	local bin=${OBMEN_PG_BIN:-}
	[ -n "$bin" ] || bin=$(_pg_find_bin 2>/dev/null) || bin=""
	if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
		_pg_as_owner "$bin/pg_ctl" -D "$dir/data" stop -m immediate -w >/dev/null 2>&1 || true
	fi
	case $dir in
	*/obmen-pg.*) rm -rf -- "$dir" ;;
	esac
	unset OBMEN_PG_DIR OBMEN_PG_PORT OBMEN_TEST_DATABASE_URL _obmen_pg_started_dir
	return 0
}
