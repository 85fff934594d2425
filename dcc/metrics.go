package dcc

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the DCC core's Prometheus metrics. A nil *Metrics records
// nothing, so the handler and pipeline work without them (tests).
type Metrics struct {
	Requests        *prometheus.CounterVec   // by SRV and synchronous response code
	RequestSeconds  *prometheus.HistogramVec // synchronous answer time by endpoint
	Finals          *prometheus.CounterVec   // final outcomes of device requests by code
	DeviceSeconds   prometheus.Histogram     // accepted → device response matched
	Deliveries      *prometheus.CounterVec   // POSTs to Users by result (delivered, retry)
	DroppedMessages *prometheus.CounterVec   // device messages dropped, by reason
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opendcc_requests_total",
			Help: "DUIS service requests answered, by service reference variant and synchronous response code."}, []string{"srv", "code"}),
		RequestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "opendcc_request_duration_seconds",
			Help:    "Time to the synchronous DUIS answer, by web service (S, T, D).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"endpoint"}),
		Finals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opendcc_device_final_total",
			Help: "Final outcomes of device requests (I0, E20, E21), by code."}, []string{"code"}),
		DeviceSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "opendcc_device_roundtrip_seconds",
			Help:    "Time from accepting a device request to matching the device's response.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opendcc_delivery_attempts_total",
			Help: "POSTs of responses and alerts to Users' Receive Response Service, by result."}, []string{"result"}),
		DroppedMessages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "opendcc_device_messages_dropped_total",
			Help: "Messages from the WAN dropped: unparsable, unmatched, or not verifying."}, []string{"reason"}),
	}
	reg.MustRegister(m.Requests, m.RequestSeconds, m.Finals, m.DeviceSeconds, m.Deliveries, m.DroppedMessages)
	return m
}

func (m *Metrics) final(code string, sent time.Time, now time.Time) {
	if m == nil {
		return
	}
	m.Finals.WithLabelValues(code).Inc()
	if code == "I0" && !sent.IsZero() {
		m.DeviceSeconds.Observe(now.Sub(sent).Seconds())
	}
}

func (m *Metrics) delivery(result string) {
	if m == nil {
		return
	}
	m.Deliveries.WithLabelValues(result).Inc()
}

func (m *Metrics) dropped(reason string) {
	if m == nil {
		return
	}
	m.DroppedMessages.WithLabelValues(reason).Inc()
}
