package sentry

import "testing"

// TestParseShebang: the #! line as binfmt_script reads it.
func TestParseShebang(t *testing.T) {
	for _, tc := range []struct {
		in     string
		interp string
		script bool
	}{
		{"#!/bin/sh\n", "/bin/sh", true},
		{"#! /bin/sh -e\n", "/bin/sh", true},
		{"#!\t/usr/bin/env python3\n", "/usr/bin/env", true},
		{"#!/bin/sh\r\n", "/bin/sh\r", true}, // the kernel keeps the CR (and then finds no such file)
		{"#!/bin/sh\x00junk\n", "/bin/sh", true},
		{"#!/bin/sh", "/bin/sh", true}, // no newline in the buffer
		{"#!\n", "", true},
		{"#!", "", true},
		{"#", "", false},
		{"\x7fELF\x02\x01", "", false},
		{"", "", false},
	} {
		interp, script := parseShebang([]byte(tc.in))
		if interp != tc.interp || script != tc.script {
			t.Errorf("parseShebang(%q) = %q, %v; want %q, %v", tc.in, interp, script, tc.interp, tc.script)
		}
	}
}
