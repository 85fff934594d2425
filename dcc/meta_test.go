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
