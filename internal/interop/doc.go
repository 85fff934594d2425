// Package interop wraps the external oracles that the conformance tests
// compare opendcc against: xmllint (XSD validation with libxml2), xmlsec1 (an
// independent XML-DSig implementation) and the DCC Boxed signing tool (the
// Java program that DCC Boxed and duis-sign-wrap clients actually run).
//
// It is test support only: product code must never import it. Every entry
// point takes a testing.TB and skips the test (or fails it under CI=true, via
// internal/refdata) when the oracle or the reference data is absent, so a
// fresh clone still passes `go test ./...`.
//
// The wrappers are built for volume. The conformance suites check hundreds of
// templates, so xmllint is run with many files per process and the Java tool
// is driven through one long-lived JVM (java/Oracle.java) instead of one JVM
// per document, which would cost about half a second each.
package interop
