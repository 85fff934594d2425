package payload

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/internal/rtdstest"
	"github.com/opendcc/opendcc/internal/refdata"
)

// goldenCases: representative RTDS messages, one per payload shape.
var goldenCases = []struct{ name, file string }{
	{"dlms-request-ic30", "4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX"},
	{"dlms-response-protected", "4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX"},
	{"dlms-response-compact-array", "6.13_ECS35a/ECS35a_6.13_SUCCESS_RESPONSE_GBCS.HEX"},
	{"dlms-alert-future-dated", "1.1.1_ECS01a/ECS01a_1.1.1_8F66_FUTURE_DATED_TOU_BLOCK_SUCCESS_ALERT_CURRENCY_UNIT_GBCS.HEX"},
	{"gbz-command-tariff", "1.1.1_GCS01a/GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS_COMMAND_GBCS.HEX"},
	{"gbz-response-encrypted-attributes", "4.1.2_GCS13c/GCS13c_4.1.2_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX"},
	{"gbz-response-event-log", "6.13_CS10a/CS10a_6.13_SUCCESS_RESPONSE_GBCS.HEX"},
	{"gbz-alert-encrypted-snapshot", "NA_GCS53/GCS53_NA_8F0A_ALERT_GBCS.HEX"},
	{"asn1-command-certificate", "6.15.2_CS02d/CS02d_6.15.2_SUCCESS_COMMAND_GBCS.HEX"},
	{"asn1-response-join-details", "8.9_CS07/CS07_8.9_SUCCESS_RESPONSE_GBCS.HEX"},
}

// TestGolden compares the text and JSON trees of representative messages
// (decrypted where they carry ciphertext) with testdata/golden; -update
// rewrites them.
func TestGolden(t *testing.T) {
	msgs := rtdstest.Load(t)
	ks := rtdstest.NewKeystore(refdata.Path(t, "gbcs", "rtds", "keystore"))
	byRel := map[string]rtdstest.Message{}
	for _, m := range msgs {
		byRel[m.Rel] = m
	}
	dir := filepath.Join("testdata", "golden")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range goldenCases {
		t.Run(g.name, func(t *testing.T) {
			m, ok := byRel[g.file]
			if !ok {
				t.Fatalf("RTDS file %s not found", g.file)
			}
			opts := Options{Alert: m.Alert()}
			if m.Kind == "RESPONSE" || m.Kind == "ALERT" {
				if dec, err := ks.Decryptor(m.Header); err == nil {
					opts.Decrypt = dec
				}
			}
			n, err := Decode(m.Header.MessageCode, m.Content, opts)
			if err != nil {
				t.Fatal(err)
			}
			js, err := n.JSON()
			if err != nil {
				t.Fatal(err)
			}
			text := "# " + g.file + "\n" + n.String()
			for ext, got := range map[string][]byte{".txt": []byte(text), ".json": append(js, '\n')} {
				path := filepath.Join(dir, g.name+ext)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the decoded tree (run with -update after checking):\n%s", path, firstDiff(string(got), string(want)))
				}
			}
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + itoa(i+1) + ":\n got: " + al[i] + "\nwant: " + bl[i]
		}
	}
	return "lengths differ"
}

func itoa(i int) string { return strconv.Itoa(i) }
