package dcc

import (
	"encoding/json"
	"testing"
)

// metaRequestID reads what a full Unmarshal of the meta would.
func TestMetaRequestID(t *testing.T) {
	for _, id := range []string{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000", "", `a"b\c`, "<&>", "é"} {
		meta, err := json.Marshal(requestMeta{RequestID: id, Endpoint: EndpointSend, Body: "X", Request: []byte("<x/>")})
		if err != nil {
			t.Fatal(err)
		}
		if got := metaRequestID(meta); got != id {
			t.Errorf("metaRequestID(%s) = %q, want %q", meta, got, id)
		}
	}
	for _, meta := range []string{`{"endpoint":"S","requestId":"x"}`, ``, `{`, `{"requestId":"x`} {
		var m struct {
			RequestID string `json:"requestId"`
		}
		json.Unmarshal([]byte(meta), &m)
		if got := metaRequestID([]byte(meta)); got != m.RequestID {
			t.Errorf("metaRequestID(%s) = %q, want %q", meta, got, m.RequestID)
		}
	}
}

// requestMeta.marshal writes what json.Marshal writes.
func TestMetaMarshal(t *testing.T) {
	for _, m := range []requestMeta{
		{},
		{RequestID: "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000", Endpoint: EndpointSend, Body: "ReadInventory", Request: []byte("<x/>")},
		{RequestID: `a"b\c`, Endpoint: "<&>", Body: "é\u2028\x01", Request: []byte{}},
		{RequestID: "x", Request: []byte{0, 1, 2, 0xff, 0xfe}, ScheduleID: "17"},
		{ScheduleID: "<s>"},
	} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.marshal(); string(got) != string(want) {
			t.Errorf("marshal = %s, want %s", got, want)
		}
	}
}

// TestPlainJSON: a string plainJSON accepts is what json.Marshal writes
// between its quotes (every byte value tried).
func TestPlainJSON(t *testing.T) {
	n := 0
	for c := 0; c < 256; c++ {
		s := "a" + string([]byte{byte(c)}) + "b"
		if !plainJSON(s) {
			continue
		}
		n++
		want, _ := json.Marshal(s)
		if string(want) != `"`+s+`"` {
			t.Errorf("byte %#x: json.Marshal writes %s", c, want)
		}
	}
	if n != 95-5 { // printable ASCII but " \ < > &
		t.Errorf("%d bytes plain, want 90", n)
	}
}
