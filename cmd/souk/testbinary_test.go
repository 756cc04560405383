package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// The souk binary, for tests that run it as a real process (signals,
// restarts, stdout as a script sees it). It is built at most once per test
// run, on first use, so tests that never need it do not pay for the build.
var testBinary struct {
	dir  string // removed by TestMain
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "souk-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "souk tests:", err)
		os.Exit(1)
	}
	testBinary.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// soukBinary returns the path of the souk binary built from this package.
func soukBinary(t testing.TB) string {
	t.Helper()
	testBinary.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			testBinary.err = fmt.Errorf("the go command is needed to build souk: %w", err)
			return
		}
		path := filepath.Join(testBinary.dir, "souk")
		if runtime.GOOS == "windows" {
			path += ".exe"
		}
		// The package directory is the working directory of its tests.
		out, err := exec.Command(goTool, "build", "-o", path, ".").CombinedOutput()
		if err != nil {
			testBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		testBinary.path = path
	})
	if testBinary.err != nil {
		t.Fatal(testBinary.err)
	}
	return testBinary.path
}
