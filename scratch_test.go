package sandbox

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRemoveStaleScratch: a scratch tree is removed by a later run only once
// its lock is free, and nothing else in the temporary directory is touched.
func TestRemoveStaleScratch(t *testing.T) {
	tmp := t.TempDir()
	dir, lock, err := makeScratch(tmp, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, dataLock, err := makeScratch(tmp, dataKind)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(data, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A data tree still empty may be one whose sandbox is about to lock
	// it: never removed.
	fresh := filepath.Join(tmp, "sandbox-data-1-2")
	if err := os.Mkdir(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	others := []string{"sandbox-1-2x", "sandbox-project", "sandbox-12-34", "sandbox-data-x-1"} // no skeleton, or not our names
	for _, o := range others {
		if err := os.Mkdir(filepath.Join(tmp, o), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleScratch(tmp)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a tree in use was removed: %v", err)
	}
	lock.Close() // as when the sandbox is killed
	dataLock.Close()
	removeStaleScratch(tmp)
	for _, d := range []string{dir, data} {
		if _, err := os.Stat(d); err == nil {
			t.Fatalf("a stale tree was left: %s", d)
		}
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("an empty data tree (its sandbox may be starting) was removed")
	}
	for _, o := range others {
		if _, err := os.Stat(filepath.Join(tmp, o)); err != nil {
			t.Errorf("%s is not a scratch tree, yet it was removed", o)
		}
	}
}
