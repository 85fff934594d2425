// Package bus is the durable work queue of the DCC core: the
// device-communication pipeline and user delivery publish work to subjects
// of a stream and consume it with explicit acknowledgement, at least once.
// bus/natsjs implements it on NATS JetStream, embedded in-process (the
// default, no socket) or over a URL; bus/bustest is the shared conformance
// suite. docs/storage.md describes the semantics and the figures.
package bus

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("bus: closed")

// Stream is a durable, work-queue stream: a message is kept until a
// consumer acknowledges (or terminates) it, or until MaxAge.
type Stream struct {
	// Name: letters, digits, '-' and '_'.
	Name string
	// Subjects captured, e.g. "device.>".
	Subjects []string
	// MaxAge drops messages older than this (0 keeps them until acked).
	MaxAge time.Duration
	// Replicas for a clustered server (0 means 1).
	Replicas int
	// Duplicates is the window in which a repeated WithMsgID is dropped
	// (0: two minutes, or MaxAge if shorter).
	Duplicates time.Duration
}

// ConsumerConfig describes a durable consumer of a stream.
type ConsumerConfig struct {
	Stream string
	// Name of the durable consumer: every Consume with the same name shares
	// one cursor and splits the work; its position survives restarts.
	Name string
	// Filter restricts the consumer to matching subjects ("" = all). In a
	// work-queue stream consumers' filters must not overlap.
	Filter string
	// AckWait: a message not acknowledged within it is redelivered
	// (default 30 s). Long handlers call InProgress to extend it.
	AckWait time.Duration
	// MaxDeliver bounds deliveries per message (0 = unbounded). After the
	// last one the message stays in the stream but is not delivered again.
	MaxDeliver int
	// MaxAckPending bounds unacknowledged messages in flight (default
	// 1000). With 1 (and Workers 1) processing is strictly sequential in
	// stream order: a Nak'd or timed-out message comes back before any
	// later one is delivered.
	MaxAckPending int
	// Workers is the number of handler goroutines (default 1). Each calls
	// the handler sequentially; with more than one, order is not kept.
	Workers int
	// Backoff, if set, replaces AckWait for redeliveries after an ack
	// timeout: the n-th redelivery waits Backoff[min(n, len-1)].
	Backoff []time.Duration
}

// Msg is one delivery. The handler must call exactly one of Ack, Nak and
// Term; if it calls none, the message is redelivered after AckWait.
type Msg interface {
	Subject() string
	Data() []byte
	// Header returns a header set by WithHeader ("" if absent).
	Header(key string) string
	// ID is the publisher's WithMsgID, "" if none.
	ID() string
	// Seq is the stream sequence number.
	Seq() uint64
	// Delivery counts deliveries of this message: 1 the first time.
	Delivery() int
	// Ack removes the message; it returns once the server confirmed it.
	Ack(ctx context.Context) error
	// Nak asks for redelivery after delay (0: at once).
	Nak(delay time.Duration) error
	// Term drops the message: it will not be delivered again.
	Term() error
	// InProgress restarts the AckWait clock.
	InProgress() error
}

// Handler processes one message.
type Handler func(ctx context.Context, m Msg)

// Subscription is a running Consume.
type Subscription interface {
	// Stop stops fetching and waits for running handlers to return;
	// messages not acknowledged are redelivered later (to this consumer
	// name).
	Stop()
}

// Pending is a consumer's queue depth.
type Pending struct {
	Waiting    uint64 // in the stream, not yet delivered
	AckPending int    // delivered, not yet acknowledged
	Redelivery int    // being redelivered
}

// PublishOption modifies Publish.
type PublishOption func(*PublishOptions)

// PublishOptions are gathered from PublishOption values.
type PublishOptions struct {
	MsgID   string
	Headers map[string]string
}

// WithMsgID sets a message ID: a second Publish with the same ID within
// the stream's duplicate window is stored once (republishing after a crash
// is safe).
func WithMsgID(id string) PublishOption { return func(o *PublishOptions) { o.MsgID = id } }

// WithHeader adds a header.
func WithHeader(key, value string) PublishOption {
	return func(o *PublishOptions) {
		if o.Headers == nil {
			o.Headers = map[string]string{}
		}
		o.Headers[key] = value
	}
}

// Bus is a durable message bus.
type Bus interface {
	// EnsureStream creates the stream or updates it to s.
	EnsureStream(ctx context.Context, s Stream) error
	// Publish stores data on subject; when it returns nil the message is
	// stored durably by the server. seq is its stream sequence; dup
	// reports a duplicate WithMsgID that was not stored again.
	Publish(ctx context.Context, subject string, data []byte, opts ...PublishOption) (seq uint64, dup bool, err error)
	// Consume creates or updates the durable consumer and starts calling h
	// until the Subscription is stopped or the bus closed.
	Consume(ctx context.Context, c ConsumerConfig, h Handler) (Subscription, error)
	// Pending reports the queue depth of a consumer.
	Pending(ctx context.Context, stream, consumer string) (Pending, error)
	// DeleteStream removes a stream and its consumers.
	DeleteStream(ctx context.Context, name string) error
	// Close stops every subscription and releases the connection (and the
	// embedded server).
	Close() error
}
