// Package refdata finds the project's reference corpora (../shared/data, or
// $OPENDCC_REFDATA) for tests. The data is kept outside the repository, so a
// fresh clone must still pass `go test ./...`: tests that need it skip with a
// message. In CI (CI=true) a missing corpus is a failure, so the conformance
// tests cannot silently stop running.
package refdata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// EnvVar names the environment variable that overrides the data location.
const EnvVar = "OPENDCC_REFDATA"

// Find returns the reference data folder and whether it exists, without
// needing a testing.T (for generators and benchmarks run by hand).
func Find() (string, bool) {
	if d := os.Getenv(EnvVar); d != "" {
		if isDir(d) {
			return d, true
		}
		return d, false
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", false
	}
	// internal/refdata/refdata.go -> repository root -> ../shared/data
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	d := filepath.Join(root, "..", "shared", "data")
	if isDir(d) {
		return filepath.Clean(d), true
	}
	return filepath.Clean(d), false
}

// Dir returns the reference data folder, or ends the test: it skips when the
// folder is absent, and fails when CI=true.
func Dir(tb testing.TB) string {
	tb.Helper()
	d, ok := Find()
	if !ok {
		msg := "reference data not found at " + d + " (set " + EnvVar + "); skipping conformance test"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + " — CI=true requires it")
		}
		tb.Skip(msg)
	}
	return d
}

// Path joins elements onto the reference folder, ending the test as Dir does
// when the folder or the named file is missing.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		msg := "reference file missing: " + p
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return p
}

// Tool reports whether an external oracle program is on PATH; when it is
// not, the test skips, or fails under CI=true where .ci/run installs it.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := lookPath(name)
	if err != nil {
		msg := "oracle " + name + " not installed; skipping"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg + " — CI=true requires it (.ci/run installs it)")
		}
		tb.Skip(msg)
	}
	return p
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// CacheDir is where .ci/run installs the npm test peers, outside the
// repository: $OPENDCC_CACHE, or ~/.cache/opendcc.
func CacheDir() string {
	if d := os.Getenv("OPENDCC_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "opendcc-cache")
	}
	return filepath.Join(home, ".cache", "opendcc")
}

// SignToolJar returns the DCC Boxed signing tool's jar (from npm
// @smartdcc/duis-sign-wrap@0.1.2, installed by .ci/run under CacheDir, or
// $OPENDCC_DUIS_SIGN_JAR) and the java binary, skipping the test when either
// is missing (failing under CI=true).
func SignToolJar(tb testing.TB) (java, jar string) {
	tb.Helper()
	java = Tool(tb, "java")
	jar = os.Getenv("OPENDCC_DUIS_SIGN_JAR")
	if jar == "" {
		jar = filepath.Join(CacheDir(), "npm", "node_modules", "@smartdcc", "duis-sign-wrap", "dist", "tool.jar")
	}
	if _, err := os.Stat(jar); err != nil {
		msg := "DCC Boxed signing tool not installed at " + jar + " (run .ci/run or npm install @smartdcc/duis-sign-wrap@0.1.2 there); skipping"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return java, jar
}
