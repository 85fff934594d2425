package interop

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// Verdict is xmllint's judgement of one file.
type Verdict struct {
	// Valid is true only when xmllint printed "<file> validates".
	Valid bool
	// Message is the first diagnostic xmllint printed for the file (or its
	// verdict line when it printed none). Empty for valid files.
	Message string
}

// Schema file names in the reference data and in the fixed copy. libxml2
// cannot resolve an import whose schemaLocation contains spaces, so the copy
// uses underscores (duis.md §4, fix 1).
const (
	duisXSDSrc  = "DUIS Schema V5.4.xsd"
	mmcXSDSrc   = "MMC Schema V5.4.xsd"
	duisXSDDst  = "DUIS_Schema_V5.4.xsd"
	mmcXSDDst   = "MMC_Schema_V5.4.xsd"
	dsigXSD     = "xmldsig-core-schema.xsd"
	schemaPatch = "v1" // bump when the edits below change, to invalidate caches
)

// serialDecl is the xmldsig declaration that libxml2 cannot use: its
// xs:integer overflows on the 38–39 digit serials of real certificates, so
// genuine signed DUIS documents would fail (duis.md §4, fix 2).
const (
	serialDecl      = `<element name="X509SerialNumber" type="integer"/>`
	serialDeclFixed = `<element name="X509SerialNumber"><simpleType><restriction base="string"><pattern value="-?[0-9]+"/></restriction></simpleType></element>`
	mmcImportSrc    = `schemaLocation="` + mmcXSDSrc + `"`
	mmcImportDst    = `schemaLocation="` + mmcXSDDst + `"`
)

var schemaCache struct {
	sync.Mutex
	paths map[string]string // reference schema dir -> fixed main XSD
}

// XMLLintSchema returns the path of the main XSD of a copy of the DUIS 5.4
// schema that xmllint can use, building it on first use. The copy lives under
// refdata.CacheDir(), in a folder named after a hash of the source files, so
// it is built once per machine and rebuilt when the reference schema changes.
// The reference data itself is read-only and is never modified.
func XMLLintSchema(tb testing.TB) string {
	tb.Helper()
	refdata.Tool(tb, "xmllint")
	src := refdata.Path(tb, "duis", "schema")
	schemaCache.Lock()
	defer schemaCache.Unlock()
	if p, ok := schemaCache.paths[src]; ok {
		return p
	}
	p, err := buildSchema(src)
	if err != nil {
		tb.Fatalf("interop: building the xmllint copy of the DUIS schema: %v", err)
	}
	if schemaCache.paths == nil {
		schemaCache.paths = map[string]string{}
	}
	schemaCache.paths[src] = p
	return p
}

// buildSchema writes the fixed copy of the schema in src and returns the path
// of its main XSD. The copy is made in a temporary sibling folder and renamed
// into place, so concurrent test processes never see a half-written schema.
func buildSchema(src string) (string, error) {
	names := []string{duisXSDSrc, mmcXSDSrc, dsigXSD, "XMLSchema.dtd", "datatypes.dtd"}
	files := map[string][]byte{}
	h := sha256.New()
	h.Write([]byte(schemaPatch))
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			return "", err
		}
		files[n] = b
		fmt.Fprintf(h, "\x00%s\x00%d\x00", n, len(b))
		h.Write(b)
	}

	duis, err := replaceOnce(files[duisXSDSrc], mmcImportSrc, mmcImportDst)
	if err != nil {
		return "", fmt.Errorf("%s: %w", duisXSDSrc, err)
	}
	dsig, err := replaceOnce(files[dsigXSD], serialDecl, serialDeclFixed)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dsigXSD, err)
	}
	out := map[string][]byte{
		duisXSDDst:      duis,
		mmcXSDDst:       files[mmcXSDSrc],
		dsigXSD:         dsig,
		"XMLSchema.dtd": files["XMLSchema.dtd"],
		"datatypes.dtd": files["datatypes.dtd"],
	}

	base := cacheRoot()
	dir := filepath.Join(base, "duis-5.4-xmllint-"+hex.EncodeToString(h.Sum(nil))[:16])
	main := filepath.Join(dir, duisXSDDst)
	if _, err := os.Stat(main); err == nil {
		return main, nil
	}
	tmp, err := os.MkdirTemp(base, ".schema-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // no-op after a successful rename
	for n, b := range out {
		if err := os.WriteFile(filepath.Join(tmp, n), b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have won the race; its copy is identical.
		if _, statErr := os.Stat(main); statErr == nil {
			return main, nil
		}
		return "", err
	}
	return main, nil
}

// replaceOnce replaces old by new in b, insisting that old occurs exactly
// once: if the reference schema ever changes shape the fix must fail loudly
// rather than silently produce an unfixed copy.
func replaceOnce(b []byte, old, new string) ([]byte, error) {
	if n := bytes.Count(b, []byte(old)); n != 1 {
		return nil, fmt.Errorf("expected exactly one %q, found %d", old, n)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1), nil
}

// cacheRoot is the folder for interop's build products (fixed schema,
// compiled Java). It falls back to the system temp dir when the cache
// location is not writable.
func cacheRoot() string {
	d := filepath.Join(refdata.CacheDir(), "interop")
	if err := os.MkdirAll(d, 0o755); err == nil {
		return d
	}
	d = filepath.Join(os.TempDir(), "opendcc-interop")
	_ = os.MkdirAll(d, 0o755)
	return d
}

// xmllintChunkBytes bounds the argument bytes per xmllint process, far below
// ARG_MAX, so that a few processes cover hundreds of files.
const xmllintChunkBytes = 64 << 10

// XMLLintValidate validates files against the fixed DUIS schema and returns a
// verdict for every file (keyed by the path as given). It runs
// `xmllint --noout --nonet --schema X f1 f2 …` on chunks of the list, a few
// processes in parallel, because a process per file would dominate the run
// time of the conformance suites. Files that do not exist are reported
// invalid without being passed to xmllint.
func XMLLintValidate(tb testing.TB, files []string) map[string]Verdict {
	tb.Helper()
	xmllint := refdata.Tool(tb, "xmllint")
	schema := XMLLintSchema(tb)

	res := make(map[string]Verdict, len(files))
	var todo []string
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f] {
			continue
		}
		seen[f] = true
		if _, err := os.Stat(f); err != nil {
			res[f] = Verdict{Message: err.Error()}
			continue
		}
		todo = append(todo, f)
	}

	var chunks [][]string
	for len(todo) > 0 {
		n, size := 0, 0
		for n < len(todo) && (n == 0 || size+len(todo[n])+1 <= xmllintChunkBytes) {
			size += len(todo[n]) + 1
			n++
		}
		chunks = append(chunks, todo[:n])
		todo = todo[n:]
	}

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
		sem  = make(chan struct{}, runtime.GOMAXPROCS(0))
	)
	for _, chunk := range chunks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v, err := runXMLLint(xmllint, schema, chunk)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			for f, verdict := range v {
				res[f] = verdict
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		tb.Fatalf("interop: xmllint: %v", errors.Join(errs...))
	}
	return res
}

// runXMLLint runs one xmllint process over files and parses its report.
// xmllint's exit status only summarises the batch (3 when any file is
// invalid), so it is used only to detect a broken schema or a crash.
func runXMLLint(xmllint, schema string, files []string) (map[string]Verdict, error) {
	args := append([]string{"--noout", "--nonet", "--schema", schema}, files...)
	cmd := exec.Command(xmllint, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, err
	}
	// 0 all valid, 1 unclassified (parse errors), 3 validation errors,
	// 4 validation internal errors; 5 means the schema did not compile.
	if ee != nil && ee.ExitCode() == 5 {
		return nil, fmt.Errorf("schema %s did not compile:\n%s", schema, out.String())
	}
	if ee != nil && ee.ExitCode() > 5 {
		return nil, fmt.Errorf("exit %d:\n%s", ee.ExitCode(), out.String())
	}
	return parseXMLLint(out.Bytes(), files), nil
}

// parseXMLLint turns xmllint's stderr into per-file verdicts. xmllint handles
// the files in order and ends each with a verdict line ("f validates", "f
// fails to validate", "f validation generated an internal error"); a file
// that is not well-formed gets diagnostics but no verdict line. Diagnostics
// start with "f:" or quote the file name, and continuation lines (source
// excerpts, carets) carry no name, so they belong to the current file.
func parseXMLLint(out []byte, files []string) map[string]Verdict {
	res := make(map[string]Verdict, len(files))
	msgs := make([]string, len(files))
	done := make([]bool, len(files))
	cur := 0
	closeUpTo := func(k int) { // files cur..k-1 never got a verdict
		for ; cur < k; cur++ {
			m := msgs[cur]
			if m == "" {
				m = "xmllint printed no verdict"
			}
			res[files[cur]] = Verdict{Message: m}
			done[cur] = true
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		if k, valid, ok := verdictLine(line, files, cur); ok {
			closeUpTo(k)
			m := ""
			if !valid {
				m = msgs[k]
				if m == "" {
					m = line
				}
			}
			res[files[k]] = Verdict{Valid: valid, Message: m}
			done[k] = true
			cur = k + 1
			continue
		}
		owner := -1
		for j := cur; j < len(files); j++ {
			if strings.HasPrefix(line, files[j]+":") || strings.Contains(line, `"`+files[j]+`"`) {
				owner = j
				break
			}
		}
		if owner < 0 {
			owner = cur
		} else {
			closeUpTo(owner)
		}
		if owner < len(files) && msgs[owner] == "" {
			msgs[owner] = line
		}
	}
	closeUpTo(len(files))
	return res
}

// verdictLine reports whether line is the verdict for one of files[from:].
func verdictLine(line string, files []string, from int) (k int, valid, ok bool) {
	for k = from; k < len(files); k++ {
		f := files[k]
		if !strings.HasPrefix(line, f+" ") {
			continue
		}
		switch line[len(f)+1:] {
		case "validates":
			return k, true, true
		case "fails to validate", "validation generated an internal error":
			return k, false, true
		}
	}
	return 0, false, false
}
