package interop

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/internal/refdata"
)

//go:embed java/Oracle.java
var oracleSource []byte

// javaRelease is the class-file level Oracle is compiled for: the tool needs
// Java 17, and compiling for it keeps a cached class usable by any newer JVM.
const javaRelease = "17"

// Exit codes of the DCC Boxed signing tool (ResultCode.java), reported in
// JavaResult.RC exactly as the CLI's process exit status would be.
const (
	RCOK         = 0  // success
	RCOSFail     = 1  // OS failure, or an uncaught Java exception
	RCError      = 2  // application error, e.g. input not well-formed XML
	RCMissingKey = 3  // key or certificate not found / not loadable
	RCInvalid    = 10 // XSD or signature failure
	// RCHarness is not a tool code: the oracle itself failed (bad request,
	// JVM crash); the test has been marked failed with the details.
	RCHarness = -1
)

// JavaResult is what the tool's CLI would have produced for one operation.
type JavaResult struct {
	RC      int    // process exit status of the CLI (see the RC constants)
	Message string // everything the tool printed on stderr, trimmed
	Output  []byte // what it printed on stdout: the signed document for Sign, the digest input for Validate
}

// SignJob is one Sign invocation.
type SignJob struct {
	In, Out         string // input document; output file (may be empty: Output only)
	PreserveCounter bool   // --preserveCounter: keep the RequestID counter
	Cert, Key       string // optional signing cert (PEM) and key (PKCS#8), as on the CLI
}

// JavaTool runs the DCC Boxed signing tool for many documents in one JVM
// (java/Oracle.java), so that checking hundreds of documents costs one JVM
// start rather than one each. Each operation calls the CLI's own entry point
// with the CLI's arguments, and System.exit calls inside the tool are
// trapped, so results match `java -cp tool.jar …Sign|Validate` exactly. A
// JavaTool is safe for concurrent use; operations are serialised.
type JavaTool struct {
	tb       testing.TB
	java     string
	jar      string
	classDir string
	tmp      string

	// Warmup is how long Bench runs the operation before timing it, so that
	// the JIT has compiled the hot paths (default 2 s).
	Warmup time.Duration

	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	errw   *syncWriter // JVM-level diagnostics (the tool's own stderr is captured per operation)
	seq    int
}

// NewJavaTool compiles java/Oracle.java against tool.jar (cached under
// refdata.CacheDir() by source hash) and starts the oracle JVM, which is
// stopped when the test ends. It skips the test when java, javac or the jar
// is missing.
func NewJavaTool(tb testing.TB) *JavaTool {
	tb.Helper()
	java, jar := refdata.SignToolJar(tb)
	javac := refdata.Tool(tb, "javac")
	classDir, err := compileOracle(javac, jar)
	if err != nil {
		tb.Fatalf("interop: compiling Oracle.java: %v", err)
	}
	j := &JavaTool{tb: tb, java: java, jar: jar, classDir: classDir, tmp: tb.TempDir(), Warmup: 2 * time.Second}
	if err := j.start(); err != nil {
		tb.Fatalf("interop: starting the Java oracle: %v", err)
	}
	tb.Cleanup(j.stop)
	return j
}

// compileOracle returns a folder holding the compiled Oracle classes. The
// folder name is the hash of the source and target release, so an edited
// Oracle.java is recompiled and concurrent test binaries share the result.
func compileOracle(javac, jar string) (string, error) {
	h := sha256.New()
	h.Write([]byte("release=" + javaRelease + "\x00"))
	h.Write(oracleSource)
	dir := filepath.Join(cacheRoot(), "java-oracle-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "Oracle.class")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(cacheRoot(), ".oracle-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "Oracle.java")
	if err := os.WriteFile(src, oracleSource, 0o644); err != nil {
		return "", err
	}
	out, err := exec.Command(javac, "--release", javaRelease, "-nowarn", "-cp", jar, "-d", tmp, src).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "Oracle.class")); statErr == nil {
			return dir, nil // a concurrent build won; same source, same classes
		}
		return "", err
	}
	return dir, nil
}

func (j *JavaTool) classpath() string {
	return j.classDir + string(os.PathListSeparator) + j.jar
}

// start launches the server JVM and waits for its "ready" line.
// -Djava.security.manager=allow keeps the exit trap working on JDK 18–23,
// where installing a SecurityManager is otherwise refused.
func (j *JavaTool) start() error {
	cmd := exec.Command(j.java, "-Djava.security.manager=allow", "-cp", j.classpath(), "Oracle")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	j.errw = &syncWriter{}
	cmd.Stderr = j.errw
	if err := cmd.Start(); err != nil {
		return err
	}
	j.cmd, j.stdin, j.stdout = cmd, stdin, bufio.NewReaderSize(stdout, 1<<20)
	line, err := j.stdout.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready\t") {
		j.stop()
		return fmt.Errorf("no ready line (%q, %v); JVM stderr:\n%s", line, err, j.jvmStderr())
	}
	return nil
}

// stop closes the request stream, which ends the server loop, and reaps the
// JVM; it kills it only if it does not exit on its own.
func (j *JavaTool) stop() {
	if j.cmd == nil {
		return
	}
	j.stdin.Close()
	done := make(chan struct{})
	go func() { j.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		j.cmd.Process.Kill()
		<-done
	}
	j.cmd = nil
}

func (j *JavaTool) jvmStderr() string {
	j.errw.mu.Lock()
	defer j.errw.mu.Unlock()
	return j.errw.buf.String()
}

// SignFiles signs each job's input as `java …Sign IN [--preserveCounter]
// [CERT [KEY]] > OUT` would, writing OUT when it is set.
func (j *JavaTool) SignFiles(jobs []SignJob) []JavaResult {
	res := make([]JavaResult, len(jobs))
	for i, job := range jobs {
		f := []string{"sign", job.In, job.Out, "0"}
		if job.PreserveCounter {
			f[3] = "1"
		}
		switch {
		case job.Key != "" && job.Cert == "":
			res[i] = j.harnessError("SignJob %q: Key needs Cert (the CLI takes them positionally)", job.In)
			continue
		case job.Key != "":
			f = append(f, job.Cert, job.Key)
		case job.Cert != "":
			f = append(f, job.Cert)
		}
		res[i] = j.do(f)
	}
	return res
}

// ValidateFiles validates each file as `java …Validate FILE` would.
func (j *JavaTool) ValidateFiles(files []string) []JavaResult {
	res := make([]JavaResult, len(files))
	for i, f := range files {
		res[i] = j.do([]string{"validate", f, ""})
	}
	return res
}

// Sign signs doc with the key the tool picks from the RequestID originator
// (`Sign - [--preserveCounter]`) and returns the signed document (empty when
// RC is not 0).
func (j *JavaTool) Sign(doc []byte, preserveCounter bool) ([]byte, JavaResult) {
	in, ok := j.writeTemp(doc)
	if !ok {
		return nil, JavaResult{RC: RCHarness}
	}
	defer os.Remove(in)
	r := j.SignFiles([]SignJob{{In: in, PreserveCounter: preserveCounter}})[0]
	return r.Output, r
}

// Validate checks doc's schema validity and signature (`Validate -`), with
// the certificate looked up by X509SerialNumber in the tool's library.
func (j *JavaTool) Validate(doc []byte) JavaResult {
	return j.ValidateWithCert(doc, "")
}

// ValidateWithCert is Validate with an explicit certificate (`Validate -
// CERT`), which overrides the serial-number lookup.
func (j *JavaTool) ValidateWithCert(doc []byte, certPEMPath string) JavaResult {
	in, ok := j.writeTemp(doc)
	if !ok {
		return JavaResult{RC: RCHarness}
	}
	defer os.Remove(in)
	f := []string{"validate", in, ""}
	if certPEMPath != "" {
		f = append(f, certPEMPath)
	}
	return j.do(f)
}

func (j *JavaTool) writeTemp(doc []byte) (string, bool) {
	j.mu.Lock()
	j.seq++
	p := filepath.Join(j.tmp, fmt.Sprintf("doc-%d.xml", j.seq))
	j.mu.Unlock()
	if err := os.WriteFile(p, doc, 0o600); err != nil {
		j.tb.Errorf("interop: %v", err)
		return "", false
	}
	return p, true
}

func (j *JavaTool) harnessError(format string, args ...any) JavaResult {
	msg := fmt.Sprintf("interop: Java oracle: "+format, args...)
	j.tb.Error(msg)
	return JavaResult{RC: RCHarness, Message: msg}
}

// do sends one request and decodes the reply. If the JVM died (only possible
// where the exit trap is unavailable, JDK 24+), the process exit status is
// the CLI's exit status for this request, and a fresh JVM serves the next.
func (j *JavaTool) do(fields []string) JavaResult {
	for _, f := range fields {
		if strings.ContainsAny(f, "\t\r\n") {
			return j.harnessError("argument %q contains a tab or newline", f)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cmd == nil {
		if err := j.start(); err != nil {
			return j.harnessError("restart: %v", err)
		}
	}
	line, err := j.exchange(strings.Join(fields, "\t"))
	if err != nil {
		return j.died(err)
	}
	p := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
	switch {
	case len(p) == 4 && p[0] == "ok":
		rc, err1 := strconv.Atoi(p[1])
		stderr, err2 := base64.StdEncoding.DecodeString(p[2])
		stdout, err3 := base64.StdEncoding.DecodeString(p[3])
		if err := errors.Join(err1, err2, err3); err != nil {
			return j.harnessError("bad reply %.200q: %v", line, err)
		}
		return JavaResult{RC: rc, Message: strings.TrimSpace(string(stderr)), Output: stdout}
	case len(p) == 2 && p[0] == "error":
		msg, _ := base64.StdEncoding.DecodeString(p[1])
		return j.harnessError("%s", msg)
	default:
		return j.harnessError("bad reply %.200q", line)
	}
}

func (j *JavaTool) exchange(req string) (string, error) {
	if _, err := io.WriteString(j.stdin, req+"\n"); err != nil {
		return "", err
	}
	return j.stdout.ReadString('\n')
}

// died records the exit of the JVM mid-request as that request's result.
func (j *JavaTool) died(ioErr error) JavaResult {
	j.stdin.Close()
	err := j.cmd.Wait()
	stderr := j.jvmStderr()
	j.cmd = nil
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return JavaResult{RC: ee.ExitCode(), Message: "JVM exited (System.exit not trappable on this JDK); stderr:\n" + stderr}
	}
	return j.harnessError("JVM lost: %v / %v\n%s", ioErr, err, stderr)
}

// syncWriter collects the JVM's stderr; exec copies into it from its own
// goroutine, hence the lock.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// Bench operations, for comparison with opendcc's Go benchmarks.
const (
	// BenchSign and BenchVerify time the tool's CLI entry points in a warm
	// JVM: Sign --preserveCounter / Validate on a file, including reading,
	// parsing with DUIS 5.1 XSD validation, key or certificate lookup,
	// XML-DSig, and (Sign) serialising the result. JVM start is excluded.
	BenchSign   = "sign"
	BenchVerify = "verify"
	// BenchSignCore and BenchVerifyCore time only the XML-DSig step with
	// the tool's parameters on a document parsed once up front: sign-core
	// clones the DOM, signs and serialises; verify-core looks up the
	// certificate by serial, unmarshals and validates the signature.
	BenchSignCore   = "sign-core"
	BenchVerifyCore = "verify-core"
)

// BenchResult is one warm-JVM measurement by BenchDetail.
type BenchResult struct {
	NsPerOp    float64       // wall-clock time per operation
	CPUNsPerOp float64       // CPU time of the benchmark thread per operation (excludes GC and JIT threads)
	Ops        int64         // operations timed
	Elapsed    time.Duration // timed wall-clock duration
	GC         time.Duration // garbage-collection time during the timed part
}

// Bench measures op (one of the Bench* constants) on doc in a warm JVM and
// returns the mean wall-clock ns per operation; see BenchDetail.
func (j *JavaTool) Bench(op string, doc []byte, d time.Duration) (nsPerOp float64, err error) {
	r, err := j.BenchDetail(op, doc, d)
	return r.NsPerOp, err
}

// BenchDetail measures op on doc in a dedicated JVM: it runs op once and
// fails if the tool's exit code is not 0, then runs it for j.Warmup untimed
// and for d timed. A separate JVM is used so that the measured code runs
// without the exit trap (a SecurityManager) and with no other work in the
// process. For the verify operations doc must already be signed (see Sign).
func (j *JavaTool) BenchDetail(op string, doc []byte, d time.Duration) (BenchResult, error) {
	in, ok := j.writeTemp(doc)
	if !ok {
		return BenchResult{}, errors.New("interop: cannot write the benchmark document")
	}
	defer os.Remove(in)
	cmd := exec.Command(j.java, "-cp", j.classpath(), "Oracle", "bench", op, in,
		strconv.FormatInt(j.Warmup.Milliseconds(), 10), strconv.FormatInt(d.Milliseconds(), 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return BenchResult{}, fmt.Errorf("interop: Java bench %s: %v\n%s", op, err, stderr.String())
	}
	p := strings.Split(strings.TrimSpace(string(out)), "\t")
	switch {
	case len(p) == 6 && p[0] == "bench":
		var r BenchResult
		var elapsed, gc int64
		var errs [5]error
		r.NsPerOp, errs[0] = strconv.ParseFloat(p[1], 64)
		r.Ops, errs[1] = strconv.ParseInt(p[2], 10, 64)
		elapsed, errs[2] = strconv.ParseInt(p[3], 10, 64)
		r.CPUNsPerOp, errs[3] = strconv.ParseFloat(p[4], 64)
		gc, errs[4] = strconv.ParseInt(p[5], 10, 64)
		if err := errors.Join(errs[:]...); err != nil {
			return BenchResult{}, fmt.Errorf("interop: Java bench %s: bad output %q: %v", op, out, err)
		}
		r.Elapsed, r.GC = time.Duration(elapsed), time.Duration(gc)*time.Millisecond
		return r, nil
	case len(p) == 3 && p[0] == "fail":
		msg, _ := base64.StdEncoding.DecodeString(p[2])
		return BenchResult{}, fmt.Errorf("interop: Java bench %s: tool rc=%s: %s", op, p[1], strings.TrimSpace(string(msg)))
	default:
		return BenchResult{}, fmt.Errorf("interop: Java bench %s: unexpected output %q\n%s", op, out, stderr.String())
	}
}
