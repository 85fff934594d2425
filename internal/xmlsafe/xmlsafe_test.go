package xmlsafe

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want error
	}{
		{"ok", `<?xml version="1.0" encoding="UTF-8"?><a/>`, 0, nil},
		{"ok no decl", `<a/>`, 0, nil},
		{"bom", "\xEF\xBB\xBF<a/>", 0, nil},
		{"empty", "  \n", 0, ErrEmpty},
		{"too large", "<a>" + strings.Repeat("x", 100) + "</a>", 50, ErrTooLarge},
		{"doctype", `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`, 0, ErrDoctype},
		{"entity only", `<a><!ENTITY x "y"></a>`, 0, ErrDoctype},
		{"latin1 bytes", "<a>\xE9</a>", 0, ErrNotUTF8},
		{"declared latin1", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, 0, ErrNotUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in), tt.max)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="UTF-8"?><a/>`))
	f.Add([]byte(`<!DOCTYPE a><a/>`))
	f.Fuzz(func(t *testing.T, b []byte) { _ = Check(b, 1<<16) })
}
