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
	done chan struct{}
	then []func(error)
}

func newDelivery(p *Primary, n int) *Delivery {
	d := &Delivery{p: p, n: n, left: n, done: make(chan struct{})}
	if n == 0 {
		close(d.done)
	}
	return d
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
	close(d.done)
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
func (d *Delivery) Done() <-chan struct{} { return d.done }

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
	case <-d.done:
		return d.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Then calls fn with the result on the primary's loop once the delivery
// settles: never synchronously, like a promise reaction.
func (d *Delivery) Then(fn func(error)) {
	d.mu.Lock()
	select {
	case <-d.done:
		err := d.err
		d.mu.Unlock()
		d.post(fn, err)
	default:
		d.then = append(d.then, fn)
		d.mu.Unlock()
	}
}
