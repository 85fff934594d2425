package repository

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

// ErrNotFound is returned by Retrieve when the repository has no
// certificate with the serial (HTTP 402).
var ErrNotFound = errors.New("smki repository: no such certificate")

// ErrRefused wraps the repository's HTTP 401 (it found the query malformed).
var ErrRefused = errors.New("smki repository: query refused as malformed")

// maxResponseSize bounds a repository answer read by the client.
const maxResponseSize = 4 << 20

// SearchResult is one Result of a CertificateSearchResponse.
type SearchResult struct {
	Serial string // as the repository wrote it (upper-case hex)
	Usage  Usage  // "" for a certificate with neither DS nor KA
	Status Status
	Role   smki.Role // organisation certificates only (HasRole)
	// HasRole: the result carried a CertificateRole.
	HasRole bool
}

// Retrieved is the CertificateResponse of a CertificateDataResponse.
type Retrieved struct {
	Serial         string
	SubjectName    string // organisation EUI, or a CA's subject
	SubjectAltName string // device EUI
	Usage          Usage
	Status         Status
	Role           smki.Role
	HasRole        bool
	Certificate    *smki.Certificate // parsed CertificateBody
}

// Client speaks the SMKI repository interface that Handler serves (and DCC
// Boxed on port 8083). The zero value is usable.
type Client struct {
	// HTTP does the posts (default: a client with a 10 s timeout).
	HTTP *http.Client
	// APIKey, when set, is sent as the apikey query parameter (the DCC
	// Boxed reference client always sends one; Handler ignores it).
	APIKey string
}

// DefaultClient is used by Search and Retrieve.
var DefaultClient = &Client{}

var defaultHTTP = &http.Client{Timeout: 10 * time.Second}

// Search runs q against the repository at baseURL with DefaultClient.
func Search(ctx context.Context, baseURL string, q Query) ([]SearchResult, error) {
	return DefaultClient.Search(ctx, baseURL, q)
}

// Retrieve fetches a certificate by serial (hex) with DefaultClient.
func Retrieve(ctx context.Context, baseURL, serial string) (*Retrieved, error) {
	return DefaultClient.Retrieve(ctx, baseURL, serial)
}

// SearchRequest renders q as a CertificateSearchRequest document.
func SearchRequest(q Query) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><` + elSearchRequest + `>`)
	name := elSubjectName
	if q.Device {
		name = elSubjectAltName
	}
	writeElement(&b, name, strings.ToLower(q.EUI.String()))
	if q.Usage != "" {
		writeElement(&b, elUsage, string(q.Usage))
	}
	if q.Status != "" {
		writeElement(&b, elStatus, string(q.Status))
	}
	if q.MatchRole && !q.Device {
		writeElement(&b, elRole, strconv.Itoa(int(q.Role)))
	}
	b.WriteString(`</` + elSearchRequest + `>`)
	return b.Bytes()
}

// DataRequest renders a CertificateDataRequest for serial (hex).
func DataRequest(serial *big.Int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><` + elDataRequest + `>`)
	writeElement(&b, elSerial, serial.Text(16))
	b.WriteString(`</` + elDataRequest + `>`)
	return b.Bytes()
}

// Search runs q against the repository at baseURL (e.g.
// http://127.0.0.1:8083). Nothing found (HTTP 402) is an empty result and
// no error; HTTP 401 wraps ErrRefused.
func (c *Client) Search(ctx context.Context, baseURL string, q Query) ([]SearchResult, error) {
	body, err := c.post(ctx, baseURL, PathSearch, SearchRequest(q))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var resp struct {
		XMLName xml.Name `xml:"CertificateSearchResponse"`
		Results []struct {
			Serial string  `xml:"CertificateSerial"`
			Usage  string  `xml:"CertificateUsage"`
			Status string  `xml:"CertificateStatus"`
			Role   *string `xml:"CertificateRole"`
		} `xml:"Result"`
	}
	if err := xml.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("smki repository: search answer: %w", err)
	}
	out := make([]SearchResult, 0, len(resp.Results))
	for _, r := range resp.Results {
		sr := SearchResult{Serial: strings.TrimSpace(r.Serial), Usage: Usage(strings.TrimSpace(r.Usage)), Status: Status(strings.TrimSpace(r.Status))}
		if _, err := ParseSerial(sr.Serial); err != nil {
			return nil, fmt.Errorf("smki repository: search answer: %w", err)
		}
		if r.Role != nil {
			role, err := ParseRole(*r.Role)
			if err != nil {
				return nil, fmt.Errorf("smki repository: search answer: %w", err)
			}
			sr.Role, sr.HasRole = role, true
		}
		out = append(out, sr)
	}
	return out, nil
}

// Retrieve fetches the certificate with serial (hexadecimal, as a search
// reports it) from the repository at baseURL. An unknown serial (HTTP 402)
// wraps ErrNotFound.
func (c *Client) Retrieve(ctx context.Context, baseURL, serial string) (*Retrieved, error) {
	n, err := ParseSerial(serial)
	if err != nil {
		return nil, fmt.Errorf("smki repository: %w", err)
	}
	body, err := c.post(ctx, baseURL, PathRetrieve, DataRequest(n))
	if err != nil {
		return nil, err
	}
	var resp struct {
		XMLName  xml.Name `xml:"CertificateDataResponse"`
		Response struct {
			Serial         string  `xml:"CertificateSerial"`
			SubjectName    string  `xml:"CertificateSubjectName"`
			SubjectAltName string  `xml:"CertificateSubjectAltName"`
			Usage          string  `xml:"CertificateUsage"`
			Status         string  `xml:"CertificateStatus"`
			Role           *string `xml:"CertificateRole"`
			Body           string  `xml:"CertificateBody"`
		} `xml:"CertificateResponse"`
	}
	if err := xml.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("smki repository: retrieve answer: %w", err)
	}
	r := resp.Response
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(r.Body), ""))
	if err != nil {
		return nil, fmt.Errorf("smki repository: CertificateBody is not base64: %w", err)
	}
	cert, err := smki.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("smki repository: CertificateBody: %w", err)
	}
	if cert.SerialNumber == nil || cert.SerialNumber.Cmp(n) != 0 {
		return nil, fmt.Errorf("smki repository: asked for serial %s, got %s", n.Text(16), cert.SerialHex())
	}
	out := &Retrieved{Serial: strings.TrimSpace(r.Serial), SubjectName: strings.TrimSpace(r.SubjectName),
		SubjectAltName: strings.TrimSpace(r.SubjectAltName), Usage: Usage(strings.TrimSpace(r.Usage)),
		Status: Status(strings.TrimSpace(r.Status)), Certificate: cert}
	if r.Role != nil {
		if out.Role, err = ParseRole(*r.Role); err != nil {
			return nil, fmt.Errorf("smki repository: retrieve answer: %w", err)
		}
		out.HasRole = true
	}
	return out, nil
}

// FindDevice searches the device certificates of id with usage u (DS or KA;
// "" any) and status st ("" any), and retrieves each. The certificates are
// checked to name id in their hardwareModuleName.
func (c *Client) FindDevice(ctx context.Context, baseURL string, id eui.EUI64, u Usage, st Status) ([]*Retrieved, error) {
	res, err := c.Search(ctx, baseURL, Query{EUI: id, Device: true, Usage: u, Status: st})
	if err != nil {
		return nil, err
	}
	var out []*Retrieved
	for _, r := range res {
		if (u != "" && r.Usage != u) || (st != "" && r.Status != st) {
			continue // the reference client filters too
		}
		got, err := c.Retrieve(ctx, baseURL, r.Serial)
		if err != nil {
			return out, err
		}
		cert := got.Certificate
		if cert.Kind != smki.KindDevice || cert.EUI != id {
			return out, fmt.Errorf("smki repository: certificate %s is not a device certificate of %s", cert.SerialHex(), id)
		}
		out = append(out, got)
	}
	return out, nil
}

func (c *Client) post(ctx context.Context, baseURL, path string, body []byte) ([]byte, error) {
	u := strings.TrimRight(baseURL, "/") + path
	if c.APIKey != "" {
		u += "?apikey=" + c.APIKey
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("smki repository: %w", err)
	}
	req.Header.Set("Content-Type", "application/xml")
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("smki repository: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("smki repository: reading %s: %w", u, err)
	}
	if len(data) > maxResponseSize {
		return nil, fmt.Errorf("smki repository: %s answered more than %d bytes", u, maxResponseSize)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusPaymentRequired:
		return nil, fmt.Errorf("%w (%s)", ErrNotFound, u)
	case http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: %s: %s", ErrRefused, u, firstLine(data))
	default:
		return nil, fmt.Errorf("smki repository: %s answered HTTP %d: %s", u, resp.StatusCode, firstLine(data))
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || (mt != "application/xml" && mt != "text/xml") {
		return nil, fmt.Errorf("smki repository: %s answered Content-Type %q, want application/xml", u, resp.Header.Get("Content-Type"))
	}
	return data, nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
