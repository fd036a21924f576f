#!/usr/bin/env bash
# Prints the patterns of the given signature ids from assets/log-signatures.yaml, one a line,
# in the syntax GNU grep -E reads (the Rust regex `(?:` groups become plain groups; everything
# else the signatures use — `\(`, `\S`, `[^)]`, `\d` aside — is the same in both).
#
#     scripts/bench/patterns.sh nginx_upstream_refused nginx_upstream_reset ...
set -euo pipefail
table="$(dirname "$0")/../../assets/log-signatures.yaml"
for id in "$@"; do
  pattern=$(awk -v id="$id" '
    $1 == "-" && $2 == "id:" { current = $3 }
    current == id && $1 == "pattern:" {
      sub(/^[^:]*: */, ""); sub(/^'\''/, ""); sub(/'\''$/, ""); gsub(/'\'''\''/, "'\''"); print; exit
    }' "$table")
  if [ -z "$pattern" ]; then
    echo "patterns.sh: no signature $id" >&2
    exit 2
  fi
  case "$pattern" in
    *'\d'*) echo "patterns.sh: $id uses \\d, which grep -E does not read" >&2; exit 2 ;;
  esac
  printf '%s\n' "${pattern//'(?:'/(}"
done
