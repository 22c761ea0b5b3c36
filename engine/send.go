package engine

import (
	"context"
	"sync"
)

// Delivery is the pending result of a send, the Go form of the promise
// ClusterPrimary.send returns: it settles when every frame is written, or
// at the first failure (the other destinations are still sent to). Its
// methods are safe from any goroutine.
type Delivery struct {
	p    *Primary
	n    int
	mu   sync.Mutex
	left int
	err  error
	// settled is set when left reaches 0; done is made on the first call
	// to Done or Wait (most deliveries are never waited on: no channel
	// for them) and closed when settled.
	settled bool
	done    chan struct{}
	then    []func(error)
}

// closedChan is the Done of a delivery settled before anyone asked.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func newDelivery(p *Primary, n int) *Delivery {
	return &Delivery{p: p, n: n, left: n, settled: n == 0}
}

// settle records the result of one destination.
func (d *Delivery) settle(err error) {
	d.mu.Lock()
	if d.left == 0 {
		d.mu.Unlock()
		return
	}
	if err != nil {
		d.left = 0
		d.err = err
	} else {
		d.left--
	}
	if d.left > 0 {
		d.mu.Unlock()
		return
	}
	then := d.then
	d.then = nil
	d.settled = true
	if d.done != nil {
		close(d.done)
	}
	d.mu.Unlock()
	for _, fn := range then {
		d.post(fn, err)
	}
}

func (d *Delivery) post(fn func(error), err error) {
	d.p.post(func() { fn(err) })
}

// Len is the number of destinations (the length of the array the promise
// resolves to).
func (d *Delivery) Len() int { return d.n }

// Done is closed when the delivery settles.
func (d *Delivery) Done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.done != nil:
	case d.settled:
		d.done = closedChan
	default:
		d.done = make(chan struct{})
	}
	return d.done
}

// Err is the failure the delivery settled with; nil while pending or on
// success.
func (d *Delivery) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Wait waits for the delivery to settle and returns its error, or ctx's.
func (d *Delivery) Wait(ctx context.Context) error {
	select {
	case <-d.Done():
		return d.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Then calls fn with the result on the primary's loop once the delivery
// settles: never synchronously, like a promise reaction.
func (d *Delivery) Then(fn func(error)) {
	d.mu.Lock()
	if d.settled {
		err := d.err
		d.mu.Unlock()
		d.post(fn, err)
		return
	}
	d.then = append(d.then, fn)
	d.mu.Unlock()
}
