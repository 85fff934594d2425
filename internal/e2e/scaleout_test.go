package e2e

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/store/postgres"
	"github.com/opendcc/opendcc/wan"
)

var counterRE = regexp.MustCompile(`(<sr:RequestID>[^<]*:)\d+<`)

// reachable skips (fails with CI=true) when a service the test needs is
// not listening.
func reachable(t *testing.T, what, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s at %s unreachable (CI=true): %v", what, u.Host, err)
	}
	t.Skipf("%s at %s unreachable: %v", what, u.Host, err)
}

// TestServeOnPostgresAndNATS runs the whole server on PostgreSQL and an
// external NATS JetStream (serve --postgres --nats): a template gets I99
// then I0, and a second server started on the same database and bus
// after the first stopped still knows the request (its replay is refused
// E1003).
func TestServeOnPostgresAndNATS(t *testing.T) {
	dsn := os.Getenv("OPENDCC_TEST_POSTGRES")
	if dsn == "" {
		dsn = postgres.DefaultTestDSN
	}
	natsURL := os.Getenv("OPENDCC_TEST_NATS")
	if natsURL == "" {
		natsURL = "nats://127.0.0.1:4222"
	}
	reachable(t, "PostgreSQL", dsn)
	reachable(t, "NATS", natsURL)
	schema := fmt.Sprintf("e2e_%d", time.Now().UnixNano())
	t.Cleanup(func() { postgres.DropSchema(context.Background(), dsn, schema) })
	// The pipeline's stream is shared by the processes of one DCC; this
	// test's DCC starts with none left by an earlier run.
	if nc, err := nats.Connect(natsURL); err == nil {
		if js, err := nc.JetStream(); err == nil {
			js.DeleteStream("OPENDCC")
		}
		nc.Close()
	}

	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Keystore: keys, Allowance: 5 * 365 * 24 * time.Hour, Timeout: 10 * time.Second}
	ln := &client.Listener{Verify: c.VerifyOptions, Security: c.Security()}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c.Listener = ln
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	start := func() *server.Server {
		s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
			Profile: "dccboxed", ResponseURL: ln.URL(), WANLinks: fast, DeviceDeadline: 10 * time.Second, Log: quietLog(),
			PostgresDSN: dsn, PostgresSchema: schema, NATSURL: natsURL})
		if err != nil {
			t.Fatal(err)
		}
		c.Server = s.DUISURL
		return s
	}
	doc, err := os.ReadFile(filepath.Join(refdata.Path(t, "duis", "templates"), "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	doc = counterRE.ReplaceAll(doc, []byte(fmt.Sprintf("${1}%d<", time.Now().UnixMilli())))
	s := start()
	res, err := c.Send(context.Background(), doc)
	if err != nil || res.Ack.Code != "I99" || res.Final == nil || res.Final.Code != "I0" || !res.Final.SignatureValid {
		t.Fatalf("on PostgreSQL + NATS: %v %+v", err, res)
	}
	t.Logf("PostgreSQL schema %s, NATS %s: %s → %s (%s)", schema, natsURL, res.Ack.Code, res.Final.Code, res.Final.GBCS[0].UseCase)
	s.Close()

	s = start()
	defer s.Close()
	res, err = c.Send(context.Background(), doc)
	if res == nil || res.Ack == nil || res.Ack.Code != "E1003" {
		t.Fatalf("replay after restart: %v %+v, want E1003", err, res)
	}
	t.Logf("restarted on the same database: the replay gets %s", res.Ack.Code)
}
