package sandbox

import (
	"encoding/binary"
	"strings"
	"testing"

	"sandbox/landlock"
)

// TestSpecEncode: the records initstage.c reads, in its layout; a string
// with a NUL (an environment value from a policy) is refused by name
// rather than cut short in the guest.
func TestSpecEncode(t *testing.T) {
	s := initSpec{Filter: [][]byte{make([]byte, 8)}, Notify: make([]byte, 16), Path: "/bin/true", Argv: []string{"true", "x"},
		Env: []string{"A=1"}, Landlock: []landlock.Rule{{Path: "/usr", Write: false}}, Rlimits: map[int]uint64{7: 1 << 40},
		Binds: []bindMount{{Host: "/h", Guest: "/tmp", ReadOnly: true}}, IPC: true, Umask: 0o22, SigIgn: 1, SigMask: 2, ClosedStd: 4}
	b, err := s.encode()
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		tag     uint32
		payload string
	}
	var got []rec
	for len(b) > 0 {
		tag, n := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		got = append(got, rec{tag, string(b[8 : 8+n])})
		b = b[8+n:]
	}
	want := []rec{
		{specTagFilterBase, strings.Repeat("\x00", 8)},
		{specTagFilterNotify, strings.Repeat("\x00", 16)},
		{specTagPath, "/bin/true\x00"},
		{specTagArg, "true\x00"},
		{specTagArg, "x\x00"},
		{specTagEnv, "A=1\x00"},
		{specTagLandlock, "\x00/usr\x00"},
		{specTagRlimit, "\x07\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00"},
		{specTagBind, "\x01\x00/h\x00/tmp\x00"},
		{specTagIPC, ""},
		{specTagUmask, "\x12\x00\x00\x00"},
		{specTagSignals, "\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00"},
	}
	if len(got) != len(want) {
		t.Fatalf("records %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: %+q, want %+q", i, got[i].payload, want[i].payload)
		}
	}
	s.Env = []string{"A=b\x00c"}
	if _, err := s.encode(); err == nil || !strings.Contains(err.Error(), `"A=b\x00c"`) {
		t.Errorf("a NUL in the environment: %v", err)
	}
}
