package repository

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opendcc/opendcc/smki"
)

// maxFileSize bounds one certificate or revocation-list file read from a
// folder; SMKI certificates are well under 1 KiB and CRLs small.
const maxFileSize = 8 << 20

// DirSource reads certificates and revocation lists from a folder tree, for
// example an OpenDCC CA folder or the RTDS key store. Scan may be called
// again to pick up files added since (files whose size and modification time
// are unchanged are not read again).
//
// Files read, recursively: *.pem, *.crt, *.cer (PEM blocks CERTIFICATE and
// X509 CRL, or one DER certificate), *.der (a DER certificate or CRL), *.crl
// (a CRL, DER or PEM). Other files (private keys *.key, CSRs, JSON) are
// ignored, as are PEM blocks of other types; a file that parses as neither a
// certificate nor a CRL is reported in DirReport.Skipped. Hidden files and
// folders (name starting with ".") are not visited. Scan may be called from
// several goroutines; calls run one at a time.
type DirSource struct {
	Dir    string
	Source Source

	mu   sync.Mutex
	seen map[string]stamp
}

type stamp struct {
	size int64
	mod  time.Time
}

// DirReport says what a Scan found.
type DirReport struct {
	Files        int // files read this time
	Certificates int // certificates newly added to the index
	CRLs         int // revocation lists taken into account
	Skipped      []string
	Unverified   []string // CRL files whose issuer is not in the index
}

// Scan reads new or changed files under d.Dir into m. Certificates are added
// before revocation lists so that a CA found in the same tree verifies its
// lists. A missing Dir is an error; unreadable or unparsable files are
// reported in Skipped and do not stop the scan.
func (d *DirSource) Scan(m *Memory) (DirReport, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var rep DirReport
	if d.seen == nil {
		d.seen = map[string]stamp{}
	}
	st, err := os.Stat(d.Dir)
	if err != nil {
		return rep, err
	}
	if !st.IsDir() {
		return rep, fmt.Errorf("%s: not a folder", d.Dir)
	}
	var paths []string
	err = filepath.WalkDir(d.Dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", p, err))
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p != d.Dir && strings.HasPrefix(de.Name(), ".") {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() || !de.Type().IsRegular() && de.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".pem", ".crt", ".cer", ".der", ".crl":
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	sort.Strings(paths)
	var lists []*smki.CRL
	var listPaths []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		s := stamp{fi.Size(), fi.ModTime()}
		if old, ok := d.seen[p]; ok && old == s {
			continue
		}
		if fi.Size() > maxFileSize {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: larger than %d bytes", p, maxFileSize))
			d.seen[p] = s
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		d.seen[p] = s
		rep.Files++
		certs, crls, err := parseFile(b, strings.ToLower(filepath.Ext(p)) == ".crl")
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", p, err))
		}
		src := d.Source
		if src.Name == "" {
			src.Name = p
		}
		for _, c := range certs {
			if m.Add(c, src) {
				rep.Certificates++
			}
		}
		for _, l := range crls {
			lists = append(lists, l)
			listPaths = append(listPaths, p)
		}
	}
	for i, l := range lists {
		verified, err := m.AddCRL(l)
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", listPaths[i], err))
			continue
		}
		rep.CRLs++
		if !verified {
			rep.Unverified = append(rep.Unverified, listPaths[i])
		}
	}
	return rep, nil
}

// parseFile extracts certificates and revocation lists from one file.
func parseFile(b []byte, crlOnly bool) ([]*smki.Certificate, []*smki.CRL, error) {
	var certs []*smki.Certificate
	var crls []*smki.CRL
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN")) {
		rest := bytes.TrimSpace(b)
		var errs []error
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			switch blk.Type {
			case "CERTIFICATE":
				if crlOnly {
					continue
				}
				c, err := smki.ParseCertificate(blk.Bytes)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				certs = append(certs, c)
			case "X509 CRL":
				l, err := smki.ParseCRL(blk.Bytes)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				crls = append(crls, l)
			}
		}
		return certs, crls, errors.Join(errs...)
	}
	if !crlOnly {
		c, cerr := smki.ParseCertificate(b)
		if cerr == nil {
			return []*smki.Certificate{c}, nil, nil
		}
		l, lerr := smki.ParseCRL(b)
		if lerr == nil {
			return nil, []*smki.CRL{l}, nil
		}
		return nil, nil, fmt.Errorf("neither a certificate (%v) nor a revocation list (%v)", cerr, lerr)
	}
	l, err := smki.ParseCRL(b)
	if err != nil {
		return nil, nil, err
	}
	return nil, []*smki.CRL{l}, nil
}
