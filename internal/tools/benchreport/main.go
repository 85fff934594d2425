// Command benchreport turns `go test -bench` output of the DUIS benchmarks
// (duis, xmldsig, internal/cli and the Java tool's internal/interop) into the
// markdown tables of BENCHMARKS.md, with throughput ratios against the DCC
// Boxed Java tool measured in the same run. Usage: scripts/bench-duis.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// result holds the metrics of one benchmark line, keyed by unit.
type result map[string]float64

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (map[string]result, []string) {
	out := map[string]result{}
	var order []string
	sc := bufio.NewScanner(r)
	pkg := ""
	for sc.Scan() {
		t := sc.Text()
		if strings.HasPrefix(t, "pkg: ") {
			pkg = strings.TrimPrefix(t, "pkg: github.com/opendcc/opendcc/")
			continue
		}
		m := line.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		name := pkg + "." + strings.TrimPrefix(m[1], "Benchmark")
		f := strings.Fields(m[2])
		res := result{}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				res[f[i+1]] = v
			}
		}
		if _, seen := out[name]; !seen {
			order = append(order, name)
		}
		out[name] = res
	}
	return out, order
}

func us(ns float64) string {
	if ns == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f µs", ns/1000)
}

func main() {
	suite := flag.String("suite", "duis", "which tables to print: duis or gbcs")
	flag.Parse()
	res, _ := parse(os.Stdin)
	if *suite == "gbcs" {
		gbcsTables(res)
		return
	}
	get := func(name, unit string) float64 { return res[name][unit] }
	docs := []string{"8.2", "1.1.1"}

	fmt.Println("| operation | document | ns/op | allocs/op |")
	fmt.Println("|---|---|---:|---:|")
	rows := []struct{ label, bench string }{
		{"parse + validate (`duis.Validate`)", "duis.Validate"},
		{"decode to Go types (`duis.Decode`)", "duis.Decode"},
		{"encode (`duis.Encode`)", "duis.Encode"},
		{"sign (`xmldsig.Sign`)", "xmldsig.Sign"},
		{"verify (`xmldsig.Verify`)", "xmldsig.Verify"},
		{"validate + sign (what `opendcc duis sign` does)", "internal/cli.SignPath"},
		{"validate + verify (what `opendcc duis verify` does)", "internal/cli.VerifyPath"},
	}
	for _, r := range rows {
		for _, d := range docs {
			n := r.bench + "/" + d
			if _, ok := res[n]; !ok {
				continue
			}
			fmt.Printf("| %s | %s | %.0f | %.0f |\n", r.label, d, get(n, "ns/op"), get(n, "allocs/op"))
		}
	}
	fmt.Printf("| ECDSA P-256 sign (crypto floor) | — | %.0f | %.0f |\n", get("xmldsig.ECDSAFloor/sign", "ns/op"), get("xmldsig.ECDSAFloor/sign", "allocs/op"))
	fmt.Printf("| ECDSA P-256 verify (crypto floor) | — | %.0f | %.0f |\n", get("xmldsig.ECDSAFloor/verify", "ns/op"), get("xmldsig.ECDSAFloor/verify", "allocs/op"))

	fmt.Println()
	fmt.Println("| comparison (same run, warm JVM) | document | OpenDCC | DCC Boxed Java tool | throughput ratio |")
	fmt.Println("|---|---|---:|---:|---:|")
	cmp := []struct{ label, ours, java string }{
		{"sign, whole path (schema + signature)", "internal/cli.SignPath", "internal/interop.JavaToolSign"},
		{"verify, whole path (schema + signature)", "internal/cli.VerifyPath", "internal/interop.JavaToolVerify"},
		{"sign, XML-DSig only", "xmldsig.Sign", "internal/interop.JavaToolSignCore"},
		{"verify, XML-DSig only", "xmldsig.Verify", "internal/interop.JavaToolVerifyCore"},
	}
	for _, c := range cmp {
		for _, d := range docs {
			o, j := get(c.ours+"/"+d, "ns/op"), get(c.java+"/"+d, "java-ns/op")
			ratio := "—"
			if o > 0 && j > 0 {
				ratio = fmt.Sprintf("%.1f×", j/o)
			}
			fmt.Printf("| %s | %s | %s | %s | %s |\n", c.label, d, us(o), us(j), ratio)
		}
	}
	fmt.Println()
	fmt.Println("| ratio to the crypto floor | document | OpenDCC / ECDSA alone |")
	fmt.Println("|---|---|---:|")
	for _, d := range docs {
		if f := get("xmldsig.ECDSAFloor/sign", "ns/op"); f > 0 {
			fmt.Printf("| sign | %s | %.2f× |\n", d, get("xmldsig.Sign/"+d, "ns/op")/f)
		}
		if f := get("xmldsig.ECDSAFloor/verify", "ns/op"); f > 0 {
			fmt.Printf("| verify | %s | %.2f× |\n", d, get("xmldsig.Verify/"+d, "ns/op")/f)
		}
	}
}

// gbcsTables prints the GBCS figures next to the cost of the cryptography
// each operation must do, measured in the same run.
func gbcsTables(res map[string]result) {
	get := func(name, unit string) float64 { return res["gbcs."+name][unit] }
	verify, sign, ecdh, mac := get("CryptoFloor/ecdsa-verify", "ns/op"), get("CryptoFloor/ecdsa-sign", "ns/op"), get("CryptoFloor/ecdh", "ns/op"), get("CryptoFloor/kdf+gmac", "ns/op")
	fmt.Println("| operation | ns/op | allocs/op | its cryptography | crypto ns | ratio |")
	fmt.Println("|---|---:|---:|---|---:|---:|")
	row := func(label, bench, cryptoLabel string, floor float64) {
		ns := get(bench, "ns/op")
		ratio := "—"
		if floor > 0 && ns > 0 {
			ratio = fmt.Sprintf("%.2f×", ns/floor)
		}
		fmt.Printf("| %s | %.0f | %.0f | %s | %.0f | %s |\n", label, ns, get(bench, "allocs/op"), cryptoLabel, floor, ratio)
	}
	row("parse + verify, MAC'd message (ECS17b command; shared secret cached)", "RTDSParseVerifyMAC", "KDF + GMAC", mac)
	row("parse + verify, signed message (ECS01a command)", "RTDSParseVerifySigned", "ECDSA verify", verify)
	row("build + MAC + marshal (ECS17b command)", "RTDSBuildMAC", "KDF + GMAC", mac)
	row("UTRN generation (CS01a; shared secret cached)", "RTDSUTRN", "KDF + GMAC", mac)
	row("KDF for a message, uncached (ECDH + KDF)", "KDF/nocache", "ECDH", ecdh)
	row("ECDSA sign of a grouping header", "SignGroupingHeader", "ECDSA sign", sign)
	c := res["gbcs.RTDSCorpus"]
	if c["ns/op"] > 0 {
		floor := c["sigs/pass"]*verify + c["macs/pass"]*mac
		fmt.Println()
		fmt.Println("| whole RTDS corpus per pass | messages | MACs checked | signatures checked | ns per pass | messages/s | crypto floor ns | ratio |")
		fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
		fmt.Printf("| parse, verify, decode (and decrypt) every message | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f× |\n",
			c["msgs/pass"], c["macs/pass"], c["sigs/pass"], c["ns/op"], c["msgs/s"], floor, c["ns/op"]/floor)
	}
}
