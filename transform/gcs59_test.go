package transform

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/opendcc/opendcc/eui"
)

func TestGCS59RestoreGPFLog(t *testing.T) {
	old := eui.MustParse("00-DB-12-34-56-78-90-B3")
	inv := map[eui.EUI64][]LogDevice{old: {
		{ID: eui.MustParse("00-DB-12-34-56-78-90-B6"), Type: IHD},
		{ID: eui.MustParse("00-DB-12-34-56-78-90-B5"), Type: PPMID},
		{ID: eui.MustParse("00-DB-12-34-56-78-90-0C"), Type: CAD},
	}, eui.MustParse("00-DB-12-34-56-78-90-B4"): {{ID: eui.MustParse("00-DB-12-34-56-78-90-A2"), Type: CHF}},
		eui.MustParse("00-DB-12-34-56-78-90-B7"): nil}
	log := func(id eui.EUI64) ([]LogDevice, bool) { l, ok := inv[id]; return l, ok }
	const tmpl = "GCS59_8.12.2_SUCCESS_REQUEST_DUIS.XML"
	m, err := Build(templateRequest(t, tmpl, ":1300<", ":1400<"), DeviceInfo{Type: GPF}, Options{ACB: testACB, GPFDeviceLog: log})
	if err != nil {
		t.Fatal(err)
	}
	// SEQUENCE { SEQUENCE OF { EUI, type } } in EUI order: the CAD and
	// the IHD (Type 2: 6), the PPMID (5)
	want, _ := hex.DecodeString("302F" + "302D" +
		"300D" + "0408" + "00DB12345678900C" + "020106" +
		"300D" + "0408" + "00DB1234567890B5" + "020105" +
		"300D" + "0408" + "00DB1234567890B6" + "020106")
	if m.MessageCode != 0x008C || m.Originator != testACB || m.OriginatorCounter != 1400 || m.HasSupplementaryRemoteParty {
		t.Errorf("header: %04X %s %d %v", m.MessageCode, m.Originator, m.OriginatorCounter, m.HasSupplementaryRemoteParty)
	}
	if !bytes.Equal(m.Content, want) {
		t.Errorf("content\n got %X\nwant %X", m.Content, want)
	}
	for _, tc := range []struct {
		old  string
		want error
	}{
		{"00-DB-12-34-56-78-90-B4", ErrUnsupported}, // a CHF in the log: no type INTEGER
		{"00-DB-12-34-56-78-90-B7", ErrRequest},     // nothing joined
		{"00-DB-12-34-56-78-90-B8", ErrRequest},     // not in the inventory
		{"00-DB-12-34-56-78-90-A3", ErrRequest},     // the target itself
	} {
		_, err := Build(templateRequest(t, tmpl, "00-DB-12-34-56-78-90-B3", tc.old), DeviceInfo{Type: GPF}, Options{ACB: testACB, GPFDeviceLog: log})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.old, err, tc.want)
		}
	}
}
