package payload

import (
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/internal/rtdstest"
)

func benchMessage(b *testing.B, rel string) rtdstest.Message {
	b.Helper()
	for _, m := range rtdstest.Load(b) {
		if m.Rel == rel {
			return m
		}
	}
	b.Fatalf("RTDS file %s not found", rel)
	return rtdstest.Message{}
}

func benchDecode(b *testing.B, rel string) {
	m := benchMessage(b, rel)
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Content)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(m.Header.MessageCode, m.Content, Options{Alert: m.Alert()}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, rel string) {
	m := benchMessage(b, rel)
	n, err := Decode(m.Header.MessageCode, m.Content, Options{Alert: m.Alert()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Content)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Encode(n); err != nil {
			b.Fatal(err)
		}
	}
}

// A typical DLMS read (ECS17b, 97 bytes: IC 30 get_protected_attributes).
func BenchmarkDecodeDLMS(b *testing.B) {
	benchDecode(b, "4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
}

// A DLMS response with a compact array (ECS35a event log, 258 bytes).
func BenchmarkDecodeDLMSCompactArray(b *testing.B) {
	benchDecode(b, "6.13_ECS35a/ECS35a_6.13_SUCCESS_RESPONSE_GBCS.HEX")
}

// A typical GBZ read (GCS13c Read Attributes, 7 attributes).
func BenchmarkDecodeGBZ(b *testing.B) {
	benchDecode(b, "4.1.2_GCS13c/GCS13c_4.1.2_SUCCESS_RELIABLE_GSME_COMMAND_GBCS.HEX")
}

// A large GBZ command (GCS01a, 8 tariff components, 280 bytes).
func BenchmarkDecodeGBZTariff(b *testing.B) {
	benchDecode(b, "1.1.1_GCS01a/GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS_COMMAND_GBCS.HEX")
}

// An ASN.1 command carrying a device certificate (CS02d).
func BenchmarkDecodeASN1(b *testing.B) {
	benchDecode(b, "6.15.2_CS02d/CS02d_6.15.2_SUCCESS_COMMAND_GBCS.HEX")
}

func BenchmarkEncodeDLMS(b *testing.B) {
	benchEncode(b, "4.1.1_ECS17b/ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
}

func BenchmarkEncodeGBZ(b *testing.B) {
	benchEncode(b, "1.1.1_GCS01a/GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS_COMMAND_GBCS.HEX")
}
