package transform

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/gbcs"
)

// TestCoverage lists, per device SRV, the use cases that have a mapping
// and those that do not (they answer ErrUnsupported).
func TestCoverage(t *testing.T) {
	var srvs, ucs, mapped int
	var lines []string
	for _, srv := range duis.SRVs() {
		if srv.NonDevice {
			continue
		}
		srvs++
		var yes, no []string
		seen := map[string]bool{}
		for _, name := range srv.GBCSUseCases {
			found := gbcs.LookupUseCase(name)
			if len(found) == 0 {
				for _, uc := range gbcs.UseCases() {
					if strings.Contains(uc.Name, "/") && strings.Contains("/"+uc.Name+"/", "/"+name+"/") {
						found = append(found, uc)
					}
				}
			}
			for _, uc := range found {
				if seen[uc.Name] {
					continue
				}
				seen[uc.Name] = true
				ucs++
				if _, ok := builders[uc.Name]; ok {
					mapped++
					yes = append(yes, uc.Name)
				} else {
					no = append(no, uc.Name)
				}
			}
		}
		lines = append(lines, fmt.Sprintf("%-7s %-4v mapped [%s] unsupported [%s]", srv.Variant, srv.Critical, strings.Join(yes, " "), strings.Join(no, " ")))
	}
	sort.Strings(lines)
	t.Logf("device SRVs %d, SRV use cases %d, mapped %d\n%s", srvs, ucs, mapped, strings.Join(lines, "\n"))
}
