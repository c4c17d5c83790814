package vfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

func benchFS(b *testing.B) (*FS, Ctx) {
	fs, err := New(Config{Scratch: b.TempDir(), Mounts: []MountSpec{{Guest: "/etc", Host: "/etc", ReadOnly: true}, {Guest: "/usr", Host: "/usr", ReadOnly: true}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fs.Close)
	return fs, Ctx{Cwd: Dir{Guest: "/", FD: fs.Root().FD(), Mount: fs.Root()}}
}

func BenchmarkOpenMountChild(b *testing.B) {
	fs, c := benchFS(b)
	for i := 0; i < b.N; i++ {
		o, errno := fs.Open(c, "/etc/hostname", unix.O_RDONLY, 0, 0)
		if errno != 0 {
			b.Fatal(errno)
		}
		unix.Close(o.FD)
	}
}

func BenchmarkOpenDeep(b *testing.B) {
	fs, c := benchFS(b)
	for i := 0; i < b.N; i++ {
		o, errno := fs.Open(c, "/usr/lib/x86_64-linux-gnu/libc.so.6", unix.O_RDONLY, 0, 0)
		if errno != 0 {
			b.Fatal(errno)
		}
		unix.Close(o.FD)
	}
}

func BenchmarkRawOpenat(b *testing.B) {
	for i := 0; i < b.N; i++ {
		fd, err := unix.Open("/etc/hostname", unix.O_RDONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
}
