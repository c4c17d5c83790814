package sentry

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestReadProc(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000) // past the first 4 KiB buffer
	f := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(f, big, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want []byte
	}{
		{f, big},
		{"/proc/self/cmdline", nil}, // compared with os.ReadFile below
	} {
		want := tc.want
		if want == nil {
			var err error
			if want, err = os.ReadFile(tc.path); err != nil {
				t.Fatal(err)
			}
		}
		got, err := readProc(tc.path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("readProc(%s) = %d bytes, %v; want %d bytes", tc.path, len(got), err, len(want))
		}
	}
	if _, err := readProc("/proc/self/no-such-file"); !os.IsNotExist(err) {
		t.Errorf("readProc of a missing file: %v, want not-exist", err)
	}
}
