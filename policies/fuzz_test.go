package policies

import (
	"strings"
	"testing"
)

// FuzzParse: no input panics the parser, and every error names where it
// is (file:line:column, or the YAML library's "line N").
func FuzzParse(f *testing.F) {
	for _, n := range Names() {
		data, _ := builtin.ReadFile(n + ".yaml")
		f.Add(data)
	}
	for _, s := range []string{"", "name: x\n", "filesystem: [\n", "network: allowlist\nnetwork_allow: [\"1.2.3.4:1-2/udp\"]\n",
		"limits: {processes: -5, address_space: 2Q}\n", "extends: strict\nexec: {allow: [rel]}\n", "environment: {set: {\"\": x}}\n",
		"memory: {wx: deny, exec_mappings: nope}\n", ":\n- - [\n", "filesystem:\n  read_only: 7\n",
		"filesystem: {tmp_size: 1m, tmpfs: [\"/a:size=2g\", \"/b:size=\", \"c\"]}\n", "memory: {total: 0}\n",
		"limits: {memory: 9999999999999G, pids: -3}\n", "filesystem: {tmp: none, tmp_size: 1M}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if strings.Contains(string(data), "extends") {
			return // follows files and built-ins: covered by TestExtends
		}
		_, err := Parse("f.yaml", data)
		if err == nil {
			return
		}
		msg := err.Error()
		if !strings.Contains(msg, "f.yaml") {
			t.Fatalf("error does not name the file: %q", msg)
		}
		for _, line := range strings.Split(msg, "\n") {
			if !strings.Contains(line, "line ") && !strings.Contains(line, "f.yaml:") && !strings.Contains(line, "f.yaml:") {
				t.Fatalf("error line does not say where: %q", line)
			}
		}
	})
}
