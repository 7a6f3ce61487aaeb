# Sourced by the integration suites' wrappers: installs what a suite needs when it is missing.
# Messages go to stderr, prefixed with the suite's name ($suite, set by the wrapper).

# apt_install PACKAGE...: Debian packages with apt-get (through sudo when not root).
apt_install() {
    echo "$suite: installing $* (Debian packages)" >&2
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

# pip_install MODULE DIST: the PyPI distribution DIST unless python3 can import MODULE already.
pip_install() {
    python3 -c "import $1" 2>/dev/null && return 0
    echo "$suite: installing $2 from PyPI" >&2
    python3 -m pip install -q "$2" >&2 || python3 -m pip install -q --break-system-packages "$2" >&2
}

command -v python3 >/dev/null || apt_install python3 python3-pip

# The drivers import harness.py: no __pycache__ folder left in the working tree.
export PYTHONDONTWRITEBYTECODE=1
