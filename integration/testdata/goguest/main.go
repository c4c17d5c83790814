// goguest is a Go program shaped like a real service: CPU-bound goroutines
// (preempted by the runtime's SIGURG every ~10 ms), timers, a loop of
// routed calls (stat, open/close, readdir), and os/exec. It does a fixed
// amount of work and prints a checksum, so native and sandboxed runs can be
// compared for both result and time.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

func main() {
	var wg sync.WaitGroup
	sums := make([][32]byte, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			h := [32]byte{byte(g)}
			for i := 0; i < 28_000_000; i++ {
				h = sha256.Sum256(h[:])
			}
			sums[g] = h
		}(g)
	}
	calls := 0
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				time.Sleep(time.Millisecond)
			}
			if _, err := os.Stat("/etc/hostname"); err != nil {
				panic(err)
			}
			f, err := os.Open("/etc")
			if err != nil {
				panic(err)
			}
			f.Readdirnames(5)
			f.Close()
			calls++
		}
	}()
	out, err := exec.Command("sh", "-c", "echo child").Output()
	if err != nil || string(out) != "child\n" {
		panic(fmt.Sprint("exec: ", err, string(out)))
	}
	wg.Wait()
	close(done)
	fmt.Printf("%x\n", sha256.Sum256(append(append(sums[0][:], sums[1][:]...), append(sums[2][:], sums[3][:]...)...)))
	if calls < 20 {
		panic(fmt.Sprint("only ", calls, " routed-call rounds"))
	}
}
