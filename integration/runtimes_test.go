package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The program shapes real workloads have, each run natively and in the
// sandbox with the same output and exit status required.

const bashJobs = `
set -u
trap 'echo "trap EXIT"' EXIT
trap 'echo "got USR1"' USR1
f() { local x=$1; echo "fn $x"; }
f 1
( cd sub && echo "subshell in $(basename "$PWD")" ) ; echo "back in $(basename "$PWD")"
sleep 0.2 & a=$!
(sleep 0.1; echo bg-done) & b=$!
wait $a $b
echo "waited: $?"
kill -USR1 $$
cat names.txt | sort | uniq -c | sort -rn | head -2
for i in 1 2 3; do echo "loop $i"; done | tac
false || echo "or works"
x=$(echo nested $(echo twice)); echo "$x"
exit 3
`

const busyboxSh = `
trap 'echo trapped' EXIT
ls | sort | head -3
(echo sub; exit 2); echo "status $?"
sleep 0.1 & wait; echo waited
echo $((6*7))
`

const pyRuntimes = `
import threading, subprocess, multiprocessing, os, json
res = []
lock = threading.Lock()
def work(i):
    with lock:
        res.append(i * i)
ts = [threading.Thread(target=work, args=(i,)) for i in range(16)]
[t.start() for t in ts]; [t.join() for t in ts]
print("threads", sorted(res))
r = subprocess.run(["sh", "-c", "echo from-sh; exit 5"], capture_output=True, text=True)
print("subprocess", r.returncode, r.stdout.strip())
def sq(x): return x * x
if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as p:
        print("pool", p.map(sq, range(8)))
    q = ctx.Queue()
    pr = ctx.Process(target=q.put, args=("from-child",))
    pr.start(); print("process", q.get()); pr.join(); print("exitcode", pr.exitcode)
    json.dump({"k": [1, 2]}, open("out.json", "w")); print("json", json.load(open("out.json")))
`

func runtimeCases(t *testing.T) []parityCase {
	cases := []parityCase{
		{name: "bash-jobs", argv: []string{"/bin/bash", "-c", bashJobs}, files: seedFiles, status: 3,
			want: []string{"got USR1", "waited: 0", "trap EXIT", "subshell in sub"}},
		{name: "python-threads-subprocess-multiprocessing", argv: []string{"/usr/bin/python3", "-c", pyRuntimes},
			want: []string{"pool [0, 1, 4, 9, 16, 25, 36, 49]", "process from-child", "subprocess 5 from-sh"}},
		{name: "make-j2-gcc", argv: []string{"/usr/bin/make", "-s", "-j2"}, setup: makeProject,
			want: []string{"sum=42"}},
		{name: "git-200-files", argv: []string{"/bin/sh", "-c", gitScript}, setup: gitTree,
			want: []string{"commits 2", "files 201", "status-lines 1"}},
	}
	cases = append(cases, parityCase{name: "shebang-scripts", argv: []string{"/bin/sh", "-c", "./s.sh && ./p.py && ./nested"},
		files: map[string]string{
			"s.sh":   "#!/bin/sh\necho sh-script $0\n",
			"p.py":   "#!/usr/bin/env python3\nimport sys; print('py-script', sys.argv[0])\n",
			"inner":  "#!/bin/sh\necho inner-interp \"$@\"\n",
			"nested": "#!" + "./inner arg\n",
		}, setup: func(t *testing.T, dir string) {
			for _, f := range []string{"s.sh", "p.py", "inner", "nested"} {
				os.Chmod(filepath.Join(dir, f), 0o755)
			}
		}, want: []string{"sh-script ./s.sh", "py-script ./p.py"}})
	if bb, err := exec.LookPath("busybox"); err == nil {
		cases = append(cases, parityCase{name: "busybox-sh", argv: []string{bb, "sh", "-c", busyboxSh}, files: seedFiles,
			want: []string{"trapped", "status 2", "waited", "42"}})
	} else {
		t.Log("busybox not installed: make test installs it (scripts/deps.sh)")
	}
	return cases
}

func makeProject(t *testing.T, dir string) {
	writeFiles(t, dir, map[string]string{
		"main.c":   "#include <stdio.h>\nint add(int,int);\nint main(void){printf(\"sum=%d\\n\", add(40,2));return 0;}\n",
		"add.c":    "int add(int a,int b){return a+b;}\n",
		"Makefile": "all: prog\n\t./prog\nprog: main.o add.o\n\tgcc -o prog main.o add.o\n%.o: %.c\n\tgcc -c -O2 $<\n",
	})
}

const gitScript = `
export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
g() { git -c user.email=t@e -c user.name=t -c init.defaultBranch=main "$@"; }
g init -q . && g add -A && g commit -qm first &&
echo changed >> f7.txt && g commit -qam second &&
echo "commits $(g log --oneline | wc -l)" &&
echo "files $(g ls-files | wc -l)" &&
echo untracked > new.txt && echo "status-lines $(g status --short | wc -l)" &&
g log --format=%s
`

func gitTree(t *testing.T, dir string) {
	for i := 0; i < 200; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.txt", i)), []byte(strings.Repeat("x", i)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("prog\n"), 0o644)
}

func TestParityRuntimes(t *testing.T) {
	sb := requireSandbox(t)
	for _, c := range runtimeCases(t) {
		c := c
		t.Run(c.name, func(t *testing.T) {
			if _, err := os.Stat(c.argv[0]); err != nil {
				t.Fatalf("%s is not installed: make test installs it", c.argv[0])
			}
			runParity(t, c, nil, sb)
		})
	}
}
