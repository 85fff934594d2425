package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
)

func newGBCSUTRNCmd() *cobra.Command {
	var keys []string
	var supplier, device, class, validate string
	var counter uint64
	var value uint
	var accepted []uint
	c := &cobra.Command{
		Use:   "utrn --keys DIR|KEYSTORE.json|dccboxed --supplier EUI --device EUI (--counter N --value V --class pounds|pennies | --validate UTRN)",
		Short: "Generate or validate a 20-digit UTRN prepayment top-up code",
		Long: `Generates the UTRN for a top-up, or with --validate checks one as the meter would: the
MAC with the supplier's prepayment key and the meter's key-agreement key, and the counter rules
(not one already accepted and, once the meter's record is full, above the oldest one it keeps;
give the counters it already accepted with --accepted).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(keys) == 0 || supplier == "" || device == "" {
				return exitf(exitUsage, "need --keys, --supplier and --device")
			}
			sup, err := eui.Parse(supplier)
			if err != nil {
				return exitf(exitUsage, "--supplier: %v", err)
			}
			dev, err := eui.Parse(device)
			if err != nil {
				return exitf(exitUsage, "--device: %v", err)
			}
			ks, err := loadKeyring(keys)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			sec := gbcs.NewSecurity(ks, 0)
			out := cmd.OutOrStdout()
			if validate != "" {
				cache := &gbcs.UTRNCounterCache{}
				for _, a := range accepted {
					cache.Record(uint64(a))
				}
				t, err := sec.ValidateUTRN(sup, dev, validate, cache)
				if err != nil {
					return exitf(1, "UTRN %s rejected: %v", validate, err)
				}
				fmt.Fprintf(out, "valid UTRN %s: counter %d, value %d %s\n", validate, t.Counter, t.Value, t.Class)
				return nil
			}
			if !cmd.Flags().Changed("counter") || !cmd.Flags().Changed("value") || class == "" {
				return exitf(exitUsage, "need --counter, --value and --class (or --validate)")
			}
			var vc gbcs.ValueClass
			switch class {
			case "pennies":
				vc = gbcs.ValuePennies
			case "pounds":
				vc = gbcs.ValuePounds
			default:
				return exitf(exitUsage, "--class must be pounds or pennies")
			}
			if value > 0xFFFF {
				return exitf(exitUsage, "--value %d out of range", value)
			}
			u, err := sec.GenerateUTRN(sup, dev, gbcs.TopUp{Counter: counter, Value: uint16(value), Class: vc})
			if err != nil {
				return exitf(1, "%v", err)
			}
			fmt.Fprintln(out, u)
			return nil
		},
	}
	c.Flags().StringSliceVar(&keys, "keys", nil, `keys: RTDS key folder, DCC Boxed keystore JSON, or "dccboxed" (repeatable)`)
	c.Flags().StringVar(&supplier, "supplier", "", "supplier EUI-64 (its prepayment key signs the UTRN)")
	c.Flags().StringVar(&device, "device", "", "meter EUI-64")
	c.Flags().Uint64Var(&counter, "counter", 0, "UTRN counter")
	c.Flags().UintVar(&value, "value", 0, "top-up value")
	c.Flags().StringVar(&class, "class", "", "value class: pounds or pennies")
	c.Flags().StringVar(&validate, "validate", "", "validate this UTRN instead of generating one")
	c.Flags().UintSliceVar(&accepted, "accepted", nil, "UTRN counters the meter has already accepted (for --validate)")
	return c
}
