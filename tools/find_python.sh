#!/usr/bin/env bash
# Print the path of a working Python X.Y interpreter (`tools/find_python.sh 3.13`), or fail
# saying how to get one. `make test-colab` uses it: each Colab runtime is tested on its own
# Python (the version its constraints file names), never silently on another one.
#
# Looked for, in order: $PYTHON_X_Y (e.g. PYTHON_3_13=/opt/python3.13/bin/python3.13), pythonX.Y on
# PATH, pyenv's installed X.Y.* versions (newest first), uv's managed Pythons. Each candidate must
# run and report X.Y (a pyenv shim for a version that is not active does not count).
set -uo pipefail

want="${1:?usage: tools/find_python.sh X.Y}"
if [[ ! "${want}" =~ ^3\.[0-9]+$ ]]; then
    echo "find_python: expected a version like 3.13, not '${want}'" >&2
    exit 2
fi

works() {  # works PATH [ENV=VALUE...]: true when PATH runs and is Python ${want}
    local candidate="$1"; shift
    [[ -n "${candidate}" ]] || return 1
    local got
    got="$(env "$@" "${candidate}" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || return 1
    [[ "${got}" == "${want}" ]]
}

override_var="PYTHON_${want//./_}"
if [[ -n "${!override_var:-}" ]]; then
    if works "${!override_var}"; then echo "${!override_var}"; exit 0; fi
    echo "find_python: ${override_var}=${!override_var} is not a working Python ${want}" >&2
    exit 1
fi

if candidate="$(command -v "python${want}" 2>/dev/null)" && works "${candidate}"; then
    echo "${candidate}"; exit 0
fi

if command -v pyenv > /dev/null 2>&1; then
    root="$(pyenv root 2>/dev/null)"
    for version in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}\.[0-9]+$" | sort -t. -k3,3nr); do
        candidate="${root}/versions/${version}/bin/python${want}"
        if works "${candidate}"; then echo "${candidate}"; exit 0; fi
    done
fi

if command -v uv > /dev/null 2>&1; then
    if candidate="$(uv python find "${want}" 2>/dev/null)" && works "${candidate}"; then
        echo "${candidate}"; exit 0
    fi
fi

cat >&2 <<EOF
find_python: no Python ${want} found (looked for \$${override_var}, python${want} on PATH, pyenv, uv).
This Colab runtime runs Python ${want}; its test needs the same. Get one, then rerun:
  pyenv:   pyenv install ${want}          (https://github.com/pyenv/pyenv; no need to make it global)
  uv:      uv python install ${want}
  Debian/Ubuntu: apt-get install python${want} python${want}-venv   (older Ubuntu: the deadsnakes PPA)
  or name it: make test-colab ${override_var}=/path/to/python${want}
EOF
exit 1
