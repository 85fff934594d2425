package interop

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// cliResult is one run of the real DCC Boxed CLI.
type cliResult struct {
	rc             int
	stdout, stderr []byte
}

// toolCLI runs the real DCC Boxed CLI, the reference that the Java oracle
// must reproduce. It is resolved in the test goroutine (where a missing jar
// may skip the test) and then safe to call from other goroutines.
type toolCLI struct {
	t         *testing.T
	java, jar string
}

// newToolCLI skips under -short: each CLI run is a JVM start (0.5–2 s), so
// the comparisons with the real CLI belong to the full run only.
func newToolCLI(t *testing.T) toolCLI {
	if testing.Short() {
		t.Skip("-short: skipping the comparison with the real CLI (one JVM per document)")
	}
	java, jar := refdata.SignToolJar(t)
	return toolCLI{t, java, jar}
}

// run runs `java -cp tool.jar uk.co.smartdcc.boxed.xmldsig.<class> - args…
// < stdin`. Failing to run it at all is reported with t.Errorf and rc -1.
func (c toolCLI) run(class, stdin string, args ...string) cliResult {
	t, java, jar := c.t, c.java, c.jar
	in, err := os.Open(stdin)
	if err != nil {
		t.Error(err)
		return cliResult{rc: -1}
	}
	defer in.Close()
	cmd := exec.Command(java, append([]string{"-cp", jar, "uk.co.smartdcc.boxed.xmldsig." + class, "-"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	rc := 0
	switch {
	case errors.As(err, &ee):
		rc = ee.ExitCode()
	case err != nil:
		t.Error(err)
		rc = -1
	}
	return cliResult{rc: rc, stdout: out.Bytes(), stderr: errb.Bytes()}
}

// parallelCLI runs f for every item with two JVMs at a time; each CLI run
// costs about half a second of JVM start, which dominates these tests.
func parallelCLI[T any](items []string, f func(string) T) map[string]T {
	res := make(map[string]T, len(items))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v := f(it)
			mu.Lock()
			res[it] = v
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

// glob lists files in a reference-data folder, sorted.
func glob(t testing.TB, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(refdata.Path(t, dir), pattern))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func sample(t testing.TB, name string) string {
	t.Helper()
	return refdata.Path(t, "duis", "samples", name)
}

// refdataDir is a reference-data folder given with slashes ("duis/samples").
func refdataDir(t testing.TB, dir string) string {
	t.Helper()
	return refdata.Path(t, filepath.FromSlash(dir))
}

func zaz1(t testing.TB, name string) string {
	t.Helper()
	return refdata.Path(t, "zaz1", name)
}
