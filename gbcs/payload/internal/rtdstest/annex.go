package rtdstest

import (
	"html"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

var (
	reScript = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	reBreak  = regexp.MustCompile(`(?i)<(tr|p|br|div|h[1-6]|li)\b[^>]*>`)
	reCell   = regexp.MustCompile(`(?i)<(td|th)\b[^>]*>`)
	reTag    = regexp.MustCompile(`<[^>]*>`)
	reSpace  = regexp.MustCompile(`[ \t\x{a0}]+`)
	reBlank  = regexp.MustCompile(`\n\s*\n+`)
)

// HTMLText turns the annex HTML into lines: a row or paragraph starts a line,
// a table cell starts " | ".
func HTMLText(src string) string {
	s := reScript.ReplaceAllString(src, "")
	s = reBreak.ReplaceAllString(s, "\n")
	s = reCell.ReplaceAllString(s, " | ")
	s = reTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = reSpace.ReplaceAllString(s, " ")
	s = reBlank.ReplaceAllString(s, "\n")
	return s
}

// AnnexPath is the use-case annex below the reference data folder.
var AnnexPath = []string{"gbcs", "spec", "gbcs-use-cases-annex.html"}

// AnnexText reads the GBCS use-case annex as text.
func AnnexText(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(refdata.Path(tb, AnnexPath...))
	if err != nil {
		tb.Fatal(err)
	}
	return HTMLText(string(b))
}

// Lines splits text into lines, keeping the leading " | " cell marks.
func Lines(text string) []string { return strings.Split(text, "\n") }
