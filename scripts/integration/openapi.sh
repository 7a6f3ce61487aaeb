#!/usr/bin/env bash
# The OpenAPI document of the real binary on the demo configuration (#16): validated with
# openapi-spec-validator, then exercised with schemathesis (bounded examples, fixed seed): zero 5xx answers,
# zero answers that contradict the document. Also /schemas with and without the master key, and
# `logging.format: json` lines without secrets. Usage: scripts/integration/openapi.sh path/to/causeway
set -euo pipefail
binary="${1:?usage: $0 path/to/causeway}"
here="$(cd "$(dirname "$0")" && pwd)"
suite=openapi; source "$here/lib.bash"

# Python packages from PyPI, installed when missing.
pip_install openapi_spec_validator openapi-spec-validator
pip_install schemathesis schemathesis

exec python3 "$here/openapi_check.py" "$binary"
