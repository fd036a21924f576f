#!/usr/bin/env bash
# Prints the patterns of the given signature ids from assets/log-signatures.yaml, one a line,
# in the syntax GNU grep -E reads (the Rust regex `(?:` groups become plain groups; everything
# else the signatures use — `\(`, `\S`, `[^)]` — is the same in both; `\d` becomes `[0-9]`).
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
  pattern=${pattern//'(?:'/(}
  printf '%s\n' "${pattern//'\d'/[0-9]}"
done
