#!/bin/sh
# A stand-in for a program you do not trust: it pokes at everything a
# sandbox should stop, and reports what happened. Run it with `make demo`.
try() {
	label=$1; shift
	if out=$("$@" 2>&1); then
		printf '%-44s ALLOWED %s\n' "$label" "$(printf '%s' "$out" | head -c 60 | tr '\n' ' ')"
	else
		printf '%-44s blocked: %s\n' "$label" "$(printf '%s' "$out" | tail -n 1 | head -c 70)"
	fi
}
echo "I am $(id -un 2>/dev/null || id -u), in $(pwd)"
try "read /etc/hostname (system file)"        cat /etc/hostname
try "read /etc/shadow (password hashes)"      cat /etc/shadow
try "list /home (other people's files)"       ls /home
try "list /root"                              ls /root
try "write into /usr/bin"                     sh -c 'echo evil > /usr/bin/evil'
try "write into the working directory"        sh -c 'echo ok > .sandbox-demo && cat .sandbox-demo && rm .sandbox-demo'
try "write into /tmp (private to this run)"   sh -c 'echo ok > /tmp/x && cat /tmp/x'
try "escape with ../../../../"                cat ../../../../../../../etc/shadow
try "network: connect to 1.1.1.1:80"          python3 -c 'import socket; socket.create_connection(("1.1.1.1", 80), timeout=2)'
try "list / (what this program can see)"      ls /
