#!/usr/bin/env bash
# The OpenAPI document of the real binary on the demo configuration (#16): validated with
# openapi-spec-validator, then exercised with schemathesis (bounded examples, fixed seed): zero 5xx answers,
# zero answers that contradict the document. Also /schemas with and without the master key, and
# `logging.format: json` lines without secrets. Usage: scripts/integration/openapi.sh path/to/causeway
set -euo pipefail
binary="${1:?usage: $0 path/to/causeway}"
here="$(cd "$(dirname "$0")" && pwd)"

# Python packages from PyPI, installed when missing.
for pkg in openapi_spec_validator:openapi-spec-validator schemathesis:schemathesis; do
    module="${pkg%%:*}"; dist="${pkg##*:}"
    if ! python3 -c "import $module" 2>/dev/null; then
        echo "openapi: installing $dist from PyPI" >&2
        python3 -m pip install --quiet "$dist" >&2
    fi
done

exec python3 "$here/openapi_check.py" "$binary"
