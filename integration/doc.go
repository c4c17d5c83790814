// Package integration holds the end-to-end tests of bin/sandbox.
//
// The tests drive the built binary (../bin/sandbox, produced by `make build`)
// from the outside, exactly as a user would:
//
//   - parity_test.go runs small C programs (integration/c/) and ordinary host
//     programs both natively and under `bin/sandbox run --` in the same working
//     directory and requires byte-identical stdout and the same exit status;
//   - escape_test.go checks the isolation guarantees, judged from outside the
//     sandbox (host files, exit statuses, output);
//   - stress_test.go launches the sandbox many times in a row to catch hangs;
//   - unpriv_test.go repeats some parity cases as uid 65534.
//
// The C programs are compiled once per `go test` run with gcc into a temporary
// directory. This file exists only so that the directory is a regular
// (non-test) package for tools that walk ./...
package integration
