package payload

import (
	"os"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/internal/rtdstest"
	"github.com/opendcc/opendcc/internal/refdata"
)

// TestDump prints the trees of the RTDS messages whose path contains
// $GBCS_DUMP (with decryption when the keystore allows), for inspection:
//
//	GBCS_DUMP=ECS17b_4.1.1_SINGLE go test ./gbcs/payload -run TestDump -v
func TestDump(t *testing.T) {
	pat := os.Getenv("GBCS_DUMP")
	if pat == "" {
		t.Skip("set GBCS_DUMP to a path substring")
	}
	ks := rtdstest.NewKeystore(refdata.Path(t, "gbcs", "rtds", "keystore"))
	for _, m := range rtdstest.Load(t) {
		if !strings.Contains(m.Rel, pat) {
			continue
		}
		opts := Options{Alert: m.Alert()}
		if m.Kind == "RESPONSE" || m.Kind == "ALERT" {
			if dec, err := ks.Decryptor(m.Header); err == nil {
				opts.Decrypt = dec
			}
		}
		n, err := Decode(m.Header.MessageCode, m.Content, opts)
		if err != nil {
			t.Logf("%s: %v", m.Rel, err)
			continue
		}
		t.Logf("%s\n%s", m.Rel, n)
	}
}
