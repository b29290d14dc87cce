#!/usr/bin/env bash
# Start a throwaway PostgreSQL for local development (see scripts/lib/pg.sh).
#
#   eval "$(scripts/pg-up.sh)"          # exports OBMEN_TEST_DATABASE_URL etc.
#   go test ./internal/store/...
#   source scripts/lib/pg.sh && pg_stop # stop it and delete its data
#
# Alternatively, in an interactive shell:
#   source scripts/lib/pg.sh; pg_start; echo "$OBMEN_TEST_DATABASE_URL"
#
# Progress goes to stderr; stdout carries only the export lines.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/pg.sh
source scripts/lib/pg.sh

pg_start
printf 'export OBMEN_TEST_DATABASE_URL=%q\n' "$OBMEN_TEST_DATABASE_URL"
printf 'export OBMEN_PG_DIR=%q\n' "$OBMEN_PG_DIR"
printf 'export OBMEN_PG_PORT=%q\n' "$OBMEN_PG_PORT"
printf 'export OBMEN_PG_BIN=%q\n' "$OBMEN_PG_BIN"
# Not exported: marks the eval'ing shell as the owner, so its pg_stop works.
printf '_obmen_pg_started_dir=%q\n' "$OBMEN_PG_DIR"
echo "pg: stop with: source scripts/lib/pg.sh && pg_stop   (after eval'ing the exports above)" >&2
