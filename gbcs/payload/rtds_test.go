package payload

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/internal/rtdstest"
	"github.com/opendcc/opendcc/internal/refdata"
)

// rawPayloads lists the raw (layout not decoded) nodes of a tree.
func rawPayloads(n *Node) []*Node {
	var out []*Node
	n.Walk(func(c *Node) bool {
		if c.Type == "raw" || (c.Type == "plaintext" && c.Value != nil) {
			out = append(out, c)
		}
		return true
	})
	return out
}

// TestRTDSCorpus decodes the payload of every RTDS message (plaintext parts;
// see TestRTDSDecrypted for the encrypted ones), re-encodes it byte-exactly,
// round-trips it through JSON, and reports counts per format.
func TestRTDSCorpus(t *testing.T) {
	msgs := rtdstest.Load(t)
	counts := map[Format]int{}
	kinds := map[string]int{}
	rawReasons := map[string]int{}
	var failures []string
	for _, m := range msgs {
		code := m.Header.MessageCode
		f, err := Detect(code, m.Content)
		if err != nil {
			counts["unknown"]++
			failures = append(failures, fmt.Sprintf("%s: detect: %v", m.Rel, err))
			continue
		}
		counts[f]++
		kinds[string(f)+" "+m.Kind]++
		n, err := Decode(code, m.Content, Options{Alert: m.Alert()})
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s (0x%04X %s): decode: %v", m.Rel, code, f, err))
			continue
		}
		out, err := Encode(n)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: encode: %v", m.Rel, err))
			continue
		}
		if !bytes.Equal(out, m.Content) {
			failures = append(failures, fmt.Sprintf("%s: re-encoding differs\n got %x\nwant %x", m.Rel, out, m.Content))
			continue
		}
		js, err := n.JSON()
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: JSON: %v", m.Rel, err))
			continue
		}
		back, err := ParseJSON(js)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: parse JSON: %v", m.Rel, err))
			continue
		}
		if out2, err := Encode(back); err != nil || !bytes.Equal(out2, m.Content) {
			failures = append(failures, fmt.Sprintf("%s: JSON round trip does not re-encode: %v", m.Rel, err))
			continue
		}
		if n.Len != len(m.Content) {
			failures = append(failures, fmt.Sprintf("%s: root covers %d of %d bytes", m.Rel, n.Len, len(m.Content)))
		}
		for _, r := range rawPayloads(n) {
			rawReasons[string(f)+": "+r.Text]++
		}
	}
	t.Logf("RTDS payloads: %d messages; DLMS %d, GBZ %d, ASN.1 %d, unknown %d",
		len(msgs), counts[DLMS], counts[GBZ], counts[ASN1], counts["unknown"])
	t.Logf("by kind: %s", sortedCounts(kinds))
	t.Logf("payload parts kept raw: %d kinds", len(rawReasons))
	for _, k := range sortedKeys(rawReasons) {
		t.Logf("  %4d  %s", rawReasons[k], k)
	}
	for _, f := range failures {
		t.Error(f)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d messages failed", len(failures), len(msgs))
	}
}

// TestRTDSDecrypted decrypts the sensitive parts of RTDS responses and
// alerts with the RTDS keystore (remote-party private keys and device
// certificates) and decodes the plaintexts into the tree.
func TestRTDSDecrypted(t *testing.T) {
	msgs := rtdstest.Load(t)
	ks := rtdstest.NewKeystore(refdata.Path(t, "gbcs", "rtds", "keystore"))
	var withCipher, decrypted, blocks, plainRaw, noKeys int
	rawReasons := map[string]int{}
	for _, m := range msgs {
		code := m.Header.MessageCode
		n, err := Decode(code, m.Content, Options{Alert: m.Alert()})
		if err != nil {
			continue // reported by TestRTDSCorpus
		}
		if countCiphered(n) == 0 {
			continue
		}
		withCipher++
		dec, err := ks.Decryptor(m.Header)
		if errors.Is(err, rtdstest.ErrNoKeys) {
			noKeys++
			t.Logf("%s: %v", m.Rel, err)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", m.Rel, err)
			continue
		}
		dn, err := Decode(code, m.Content, Options{Alert: m.Alert(), Decrypt: dec})
		if err != nil {
			t.Errorf("%s: decode with decryption: %v", m.Rel, err)
			continue
		}
		decrypted++
		dn.Walk(func(c *Node) bool {
			if c.Decrypted {
				blocks++
			}
			return true
		})
		for _, r := range rawPayloads(dn) {
			plainRaw++
			rawReasons[r.Text]++
			t.Logf("%s: plaintext part kept raw: %s", m.Rel, r.Text)
		}
		out, err := Encode(dn)
		if err != nil || !bytes.Equal(out, m.Content) {
			t.Errorf("%s: tree with plaintext does not re-encode to the input: %v", m.Rel, err)
		}
	}
	t.Logf("messages with ciphertext: %d; decrypted %d (%d blocks), keys missing %d; plaintext parts kept raw %d",
		withCipher, decrypted, blocks, noKeys, plainRaw)
	if withCipher == 0 {
		t.Error("no encrypted payloads found in RTDS")
	}
}

func countCiphered(n *Node) int {
	c := 0
	n.Walk(func(x *Node) bool {
		if x.Type == "ciphered" || x.Name == "protected-attributes" {
			c++
		}
		return true
	})
	return c
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCounts(m map[string]int) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
