package cli

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/sim"
)

// newSimCmd is `opendcc sim`: simulated SMETS2 device fleets.
func newSimCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sim",
		Short: "Simulated SMETS2 devices and comms hubs",
		Args:  noSubcommand,
		RunE:  showHelp,
	}
	c.AddCommand(newSimCreateCmd())
	return c
}

func newSimCreateCmd() *cobra.Command {
	var n int
	var seed uint64
	var types string
	var quiet bool
	c := &cobra.Command{
		Use:   "create --devices N [--seed S] [--types ESME,GSME,...]",
		Short: "Create a fleet of simulated devices and report its memory per device",
		Long: `Creates N simulated devices in memory and reports the time taken and the heap memory per
device (runtime.MemStats before and after, after a garbage collection). Without --types the fleet
is built of premises (CHF, GPF, ESME, GSME, PPMID, IHD); with --types the listed types are used in
turn. Device keys are derived from --seed when first needed, so creation stores no key material.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n <= 0 {
				return exitf(exitUsage, "--devices must be positive")
			}
			var ts []sim.Type
			if types != "" {
				for _, s := range strings.Split(types, ",") {
					t, err := sim.ParseType(s)
					if err != nil {
						return exitf(exitUsage, "--types: %v", err)
					}
					ts = append(ts, t)
				}
			}
			stats, err := createFleet(n, seed, ts, progressTo(cmd.ErrOrStderr(), quiet))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "devices: %d\nseed: %d\ntime: %s (%.0f devices/s)\nheap: %.1f MiB (%.1f bytes per device)\ndevices per GiB: %.0f\n",
				stats.Devices, seed, stats.Elapsed.Round(time.Millisecond), float64(stats.Devices)/stats.Elapsed.Seconds(),
				float64(stats.HeapBytes)/(1<<20), stats.BytesPerDevice(), stats.DevicesPerGiB())
			return nil
		},
	}
	c.Flags().IntVar(&n, "devices", 0, "number of devices")
	c.Flags().Uint64Var(&seed, "seed", 1, "key derivation seed")
	c.Flags().StringVar(&types, "types", "", "comma-separated device types (ESME, ESME-twin, ESME-poly, GSME, CHF, GPF, PPMID, HCALCS, IHD)")
	c.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	return c
}

// fleetStats is what createFleet measured.
type fleetStats struct {
	Devices   int
	Elapsed   time.Duration
	HeapBytes int64
}

func (s fleetStats) BytesPerDevice() float64 { return float64(s.HeapBytes) / float64(s.Devices) }
func (s fleetStats) DevicesPerGiB() float64 {
	if s.HeapBytes <= 0 {
		return 0
	}
	return float64(1<<30) / s.BytesPerDevice()
}

func heapNow() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func createFleet(n int, seed uint64, types []sim.Type, progress func(done, total int)) (fleetStats, error) {
	f, err := sim.NewFleet(sim.Options{Seed: seed})
	if err != nil {
		return fleetStats{}, err
	}
	before := heapNow()
	start := time.Now()
	step := n / 100
	if step == 0 {
		step = 1
	}
	for i := 0; i < n; {
		if types == nil {
			ds := f.AddPremises(sim.ESME)
			i += len(ds)
		} else {
			f.Add(types[i%len(types)])
			i++
		}
		if progress != nil && (i%step == 0 || i >= n) {
			progress(min(i, n), n)
		}
	}
	el := time.Since(start)
	after := heapNow()
	runtime.KeepAlive(f)
	return fleetStats{Devices: f.Len(), Elapsed: el, HeapBytes: int64(after) - int64(before)}, nil
}

// progressTo draws a one-line progress bar on w.
func progressTo(w io.Writer, quiet bool) func(done, total int) {
	if quiet {
		return nil
	}
	last := -1
	return func(done, total int) {
		pct := done * 100 / total
		if pct == last {
			return
		}
		last = pct
		bar := strings.Repeat("█", pct/4) + strings.Repeat("░", 25-pct/4)
		fmt.Fprintf(w, "\rcreating devices %s %3d%% %d/%d", bar, pct, done, total)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
