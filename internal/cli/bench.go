package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/internal/loadgen"
)

// newBenchCmd is `opendcc bench`: measurements of the running system.
func newBenchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure OpenDCC under load",
		Args:  noSubcommand,
		RunE:  showHelp,
	}
	c.AddCommand(newBenchE2ECmd())
	return c
}

func newBenchE2ECmd() *cobra.Command {
	var o loadgen.Options
	var asJSON bool
	var profile, targets string
	c := &cobra.Command{
		Use:   "e2e [--duration D] [--concurrency N] [--json] [--cpuprofile FILE]",
		Short: "Run the whole system in-process under load and report throughput, latency and CPU per request",
		Long: `Starts OpenDCC in this process (embedded SQLite and JetStream in a temporary folder, profile
dccboxed, simulated WAN with 1–5 ms links) and a Receive Response Service, then posts signed
non-critical requests (4.1.1 Read Instantaneous Import Registers, signed by the ZAZ1 supplier
with one strictly increasing counter) to the RTDS electricity meters from N workers. Requests are
signed before the measured window, so the client's signing is not counted.

Reports (one "name value" per line, or one JSON object with --json): requests (I99
acknowledgements of requests posted in the window), rps, ack_p50_ms/ack_p99_ms (POST → I99),
final_p50_ms/final_p99_ms (POST → final response received), cpu_seconds_per_request (process
user+system CPU from the start of the window until the last final response, per request),
crypto_floor_seconds_per_request (measured here: one ECDSA P-256 verify + two signs) and their
ratio; dcc_cpu_seconds_per_request and dcc_cpu_floor_ratio: the DCC's own part of that CPU, the
load generator, the Receive Response Service and the simulated devices taken out by their pprof
labels in a CPU profile of the window (dcc_cpu_share, client_cpu_share, devices_cpu_share), and
dcc_cores_at_rate, the cores the DCC's part used at the measured rate;
crypto_floor_all_cores_seconds_per_request (the floor with every core running it at once, as
under load: a loaded core does less per second) and dcc_cpu_floor_all_cores_ratio;
skeleton_hub_cpu_seconds_per_request, dcc_cpu_skeleton_ratio and skeleton_floor_ratio (after the
load, a hub with none of OpenDCC's work, only the HTTP exchanges, the verify, the two signs and a
file append, runs --skeleton-requests requests: the least any hub of this flow spends here; 0
leaves it out); then the details: requests posted and answered otherwise (E1003: a counter overtaken by a
later one), final response codes, missing finals.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneGC() // as serve does
			if o.SkeletonRequests == 0 {
				o.SkeletonRequests = -1 // the flag's 0 is "none"; Options' 0 is the default
			}
			if targets != "" {
				o.Targets = strings.Split(targets, ",")
			}
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return exitf(1, "%v", err)
				}
				defer f.Close()
				o.CPUProfile = f
			}
			rep, err := loadgen.Run(cmd.Context(), o)
			if err != nil {
				return exitf(1, "%v", err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				e := json.NewEncoder(w)
				return e.Encode(rep)
			}
			fmt.Fprintf(w, "requests %d\nrps %.1f\nack_p50_ms %.2f\nack_p99_ms %.2f\nfinal_p50_ms %.2f\nfinal_p99_ms %.2f\n",
				rep.Requests, rep.RPS, rep.AckP50ms, rep.AckP99ms, rep.FinalP50ms, rep.FinalP99ms)
			fmt.Fprintf(w, "cpu_seconds_per_request %.6f\ncrypto_floor_seconds_per_request %.6f\ncpu_floor_ratio %.2f\n",
				rep.CPUPerRequest, rep.FloorPerReq, rep.CPUFloorRatio)
			fmt.Fprintf(w, "dcc_cpu_seconds_per_request %.6f\ndcc_cpu_floor_ratio %.2f\ndcc_cores_at_rate %.2f\ndcc_cpu_share %.3f\nclient_cpu_share %.3f\ndevices_cpu_share %.3f\n",
				rep.DCCPerRequest, rep.DCCFloorRatio, rep.DCCCoresAtRate, rep.DCCShare, rep.ClientShare, rep.DevicesShare)
			fmt.Fprintf(w, "crypto_floor_all_cores_seconds_per_request %.6f\ndcc_cpu_floor_all_cores_ratio %.2f\n", rep.FloorAllCores, rep.DCCFloorAllCoresRt)
			if rep.SkeletonHub > 0 {
				fmt.Fprintf(w, "skeleton_hub_cpu_seconds_per_request %.6f\ndcc_cpu_skeleton_ratio %.2f\nskeleton_floor_ratio %.2f\n",
					rep.SkeletonHub, rep.DCCSkeletonRatio, rep.SkeletonFloorRatio)
			}
			fmt.Fprintf(w, "cpu_window_seconds_per_request %.6f\nconcurrency %d\ngomaxprocs %d\nwindow_seconds %.2f\ndrain_seconds %.2f\n",
				rep.CPUWindowPerRq, rep.Concurrency, rep.GOMAXPROCS, rep.WindowSeconds, rep.DrainSeconds)
			fmt.Fprintf(w, "posted %d\nposted_rps %.1f\ncpu_seconds_per_posted %.6f\nhttp_errors %d\nfinals %d\nmissing_finals %d\nfinals_in_window %d\npool_exhausted %v\n",
				rep.Posted, rep.PostedRPS, rep.CPUPerPosted, rep.HTTPErrors, rep.Finals, rep.MissingFinals, rep.FinalsInWin, rep.PoolExhausted)
			for _, k := range slices.Sorted(maps.Keys(rep.Rejected)) {
				fmt.Fprintf(w, "rejected_%s %d\n", k, rep.Rejected[k])
			}
			for _, k := range slices.Sorted(maps.Keys(rep.FinalCodes)) {
				fmt.Fprintf(w, "final_%s %d\n", k, rep.FinalCodes[k])
			}
			return nil
		},
	}
	c.Flags().DurationVar(&o.Duration, "duration", 10*time.Second, "measured window")
	c.Flags().IntVar(&o.SkeletonRequests, "skeleton-requests", 8000, "requests of the skeleton hub run after the load (0: none)")
	c.Flags().DurationVar(&o.Warmup, "warmup", 2*time.Second, "load before the window (not measured)")
	c.Flags().IntVar(&o.Concurrency, "concurrency", 32, "posting workers")
	c.Flags().StringVar(&targets, "targets", "", "comma-separated device EUIs (default: --meters meters added to the inventory)")
	c.Flags().IntVar(&o.Meters, "meters", 256, "electricity meters added to the inventory to spread the requests over")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	c.Flags().StringVar(&profile, "cpuprofile", "", "write a pprof CPU profile of the window to FILE")
	return c
}
