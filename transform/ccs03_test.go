package transform

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/opendcc/opendcc/eui"
)

func TestCCS03RestorePAN(t *testing.T) {
	old := eui.MustParse("00-DB-12-34-56-78-90-95")
	rec := HANBackup{ExtendedPANID: [8]byte{0x02, 0xDB, 0x12, 0x34, 0x56, 0x78, 0x90, 0x95}, Devices: []HANDevice{
		{ID: eui.MustParse("00-DB-12-34-56-78-90-B1"), HashedLinkKey: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		{ID: eui.MustParse("00-DB-12-34-56-78-90-0A"), HashedLinkKey: [16]byte{0xFF}},
		{ID: eui.MustParse("00-DB-12-34-56-78-90-B3"), HashedLinkKey: [16]byte{15: 0xEE}},
	}}
	backup := func(id eui.EUI64) (HANBackup, bool) { return rec, id == old }
	req := func(oldID string, counter string) []string {
		return []string{"00-DB-12-34-56-78-90-95", oldID, ":1002<", ":" + counter + "<"}
	}
	const tmpl = "CCS03_8.12.1_SUCCESS_REQUEST_DUIS.XML"
	m, err := Build(templateRequest(t, tmpl, req("00-DB-12-34-56-78-90-95", "1002")...), DeviceInfo{Type: CHF},
		Options{ACB: testACB, ACBCounter: 0x00ABCDEF, UserRole: "IS", HANBackup: backup})
	if err != nil {
		t.Fatal(err)
	}
	// invoke-id 0x20 ‖ counter, empty date-time, one action request-spec
	// on IC104 0-0:30.3.0.255 m5, then the restore_PAN structure in the
	// record's order
	want, _ := hex.DecodeString("D920ABCDEF0001030068" + "00001E0300FF" + "05" + "01" +
		"0202" + "0908" + "02DB123456789095" + "0103" +
		"0202" + "0908" + "00DB1234567890B1" + "0910" + "0102030405060708090A0B0C0D0E0F10" +
		"0202" + "0908" + "00DB12345678900A" + "0910" + "FF000000000000000000000000000000" +
		"0202" + "0908" + "00DB1234567890B3" + "0910" + "000000000000000000000000000000EE")
	if m.MessageCode != 0x0003 || m.Originator != testACB || !m.HasSupplementaryRemoteParty || m.OriginatorCounter != 0x00ABCDEF {
		t.Errorf("header: %04X %s %v %d", m.MessageCode, m.Originator, m.HasSupplementaryRemoteParty, m.OriginatorCounter)
	}
	if !bytes.Equal(m.Content, want) {
		t.Errorf("content\n got %X\nwant %X", m.Content, want)
	}
	for _, tc := range []struct {
		name string
		opts Options
		old  string
		want error
	}{
		{"no record of the old CHF", Options{ACB: testACB, HANBackup: backup}, "00-DB-12-34-56-78-90-96", ErrRequest},
		{"no HAN record source", Options{ACB: testACB}, "00-DB-12-34-56-78-90-95", ErrRequest},
		{"more than 16 devices", Options{ACB: testACB, HANBackup: func(eui.EUI64) (HANBackup, bool) {
			return HANBackup{Devices: make([]HANDevice, 17)}, true
		}}, "00-DB-12-34-56-78-90-95", ErrRequest},
	} {
		_, err := Build(templateRequest(t, tmpl, req(tc.old, "1003")...), DeviceInfo{Type: CHF}, tc.opts)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}
