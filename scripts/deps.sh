#!/bin/sh
# Installs what building and testing need, when it is missing: gcc and the
# libseccomp headers (cgo), via apt-get when running as root.
set -e
missing=""
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
[ -f /usr/include/seccomp.h ] || missing="$missing libseccomp-dev"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
# The integration tests drive these real programs.
for p in busybox git make python3 strace; do
	command -v $p >/dev/null 2>&1 || missing="$missing $p"
done
# A real Docker-derived default seccomp profile, for the import test.
[ -f /usr/share/containers/seccomp.json ] || missing="$missing golang-github-containers-common"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing; install them (e.g. sudo apt-get install$missing) and retry" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq $missing >/dev/null
