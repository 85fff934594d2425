package server

// Events a test team triggers on the simulated estate (admin API
// "POST /admin/v1/sim/devices/{eui}/power"): what a real premises would do
// to the devices, with the alerts the devices and the DCC then send.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// ErrNotSimulated: the server has no simulated fleet, or the device is not
// one it can simulate.
var ErrNotSimulated = errors.New("server: no simulated device")

// SetCommsHubPower cuts (on=false) or restores (on=true) the power of the
// premises of the comms hub whose CHF is chf. A cut makes the CHF send its
// power outage alert (sim) and, as the CSP learns of it from the hub's last
// gasp, the DCC sends the DCC Alert AD1 PowerOutageEvent to the premises'
// Electricity Distributors; the count of those is returned. A restore makes
// the CHF report the restoration with its alert.
func (s *Server) SetCommsHubPower(ctx context.Context, chf eui.EUI64, on bool) (dccAlerts int, err error) {
	if s.transport == nil || s.Pipeline == nil {
		return 0, ErrNotSimulated
	}
	d, err := s.Store.Inventory().GetDevice(ctx, chf)
	if err != nil {
		return 0, err
	}
	if d.Type != store.DeviceCHF {
		return 0, fmt.Errorf("%w: %s is a %s, not a CHF", ErrNotSimulated, chf, d.Type)
	}
	sd, err := s.transport.device(ctx, d, func(id eui.EUI64) (store.Device, error) { return s.Store.Inventory().GetDevice(ctx, id) })
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNotSimulated, err)
	}
	if on {
		sd.PowerRestore()
		return 0, nil
	}
	sd.PowerOutage()
	return s.Pipeline.CommsHubPowerOutage(ctx, chf, s.Pipeline.Now())
}

// simPower handles POST /admin/v1/sim/devices/{eui}/power {"on": bool}.
func (a *admin) simPower(w http.ResponseWriter, r *http.Request) {
	id, ok := pathEUI(w, r)
	if !ok {
		return
	}
	var body struct {
		On *bool `json:"on"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil || body.On == nil {
		writeErr(w, http.StatusBadRequest, `body: want {"on": true|false}`)
		return
	}
	if a.server == nil {
		writeErr(w, http.StatusNotImplemented, "no simulated fleet")
		return
	}
	n, err := a.server.SetCommsHubPower(r.Context(), id, *body.On)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, http.StatusNotFound, "device %s is not in the inventory", id)
	case errors.Is(err, ErrNotSimulated):
		writeErr(w, http.StatusUnprocessableEntity, "%v", err)
	case err != nil:
		writeErr(w, http.StatusInternalServerError, "%v", err)
	default:
		writeJSON(w, http.StatusOK, map[string]any{"device": id.String(), "on": *body.On, "dccAlerts": n})
	}
}

// DistributeFirmware implements dcc.FirmwareDistributor: the image crosses
// the WAN to the device's comms hub (an unreachable hub or a regional
// outage is an error the DCC retries) and the hub hands it to the device,
// which stores it as pending and answers with its receipt alert.
func (t *simTransport) DistributeFirmware(ctx context.Context, d store.Device, image []byte, version string) error {
	sd, err := t.device(ctx, d, func(id eui.EUI64) (store.Device, error) { return t.inv.GetDevice(ctx, id) })
	if err != nil {
		return err
	}
	delay, err := t.net.Send(hubOf(d))
	if err != nil {
		return err
	}
	img := append([]byte(nil), image...)
	time.AfterFunc(delay, func() { sd.DeliverFirmware(img, version) })
	return nil
}
