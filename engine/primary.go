package engine

import (
	"math"
	"slices"
	"time"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// Active reports whether the primary still forks and replaces workers (it
// stops at shutDown).
func (p *Primary) Active() bool { return p.active }

// Destroyed reports whether the primary was destroyed.
func (p *Primary) Destroyed() bool { return p.destroyed }

// Fork publishes a fork event whose complete stage starts n workers; an
// inactive primary does nothing.
func (p *Primary) Fork(n int) {
	if p.active {
		p.publish(&Event{Name: "fork", WorkerCount: n})
	}
}

// ShutDown publishes shutDown (once): the primary stops replacing workers
// and disconnects every worker; shutDownComplete follows when Node's
// cluster.disconnect would call back.
func (p *Primary) ShutDown() error {
	if p.destroyed {
		return ErrDestroyed
	}
	p.publish(&Event{Name: "shutDown"})
	return nil
}

// Destroy publishes destroy (once). An active primary shuts down first and
// is destroyed after shutDownComplete; then destroyComplete is published,
// every subscription is removed and Done is closed.
func (p *Primary) Destroy() {
	p.publish(&Event{Name: "destroy"})
}

// Workers returns the ready workers in ascending id order.
func (p *Primary) Workers() []*Worker { return slices.Clone(p.readyList) }

// WorkerByID returns the ready worker with that id, or nil.
func (p *Primary) WorkerByID(id int) *Worker { return p.ready[id] }

// RoundRobin returns the ready worker least recently returned for tag: the
// first (in id order) never returned, else the one with the oldest
// millisecond stamp, ties to the lowest id.
func (p *Primary) RoundRobin(tag string) (*Worker, error) {
	if p.destroyed {
		return nil, ErrDestroyed
	}
	if len(p.readyList) == 0 {
		return nil, ErrNoWorker
	}
	stamps := p.rrStamps[tag]
	if stamps == nil {
		stamps = map[*Worker]int64{}
		p.rrStamps[tag] = stamps
	}
	var pick *Worker
	oldest := int64(math.MaxInt64)
	for _, w := range p.readyList {
		t := stamps[w]
		if t == 0 {
			pick = w
			break
		}
		if t < oldest {
			pick, oldest = w, t
		}
	}
	stamps[pick] = p.now()
	return pick, nil
}

// Send sends message to each destination in to: a *Worker, the id of a
// ready worker (any integer type, or an integral float64 as JavaScript
// numbers arrive), or one slice of those ([]any, []*Worker, []int). No
// destination means every ready worker; duplicates are sent each time.
// message is encoded once with frame.Marshal (pass a cbor.RawMessage to
// send bytes already encoded). One bad destination fails the delivery with
// a *DestinationError while the others are still sent; a failed write is a
// *SendError.
func (p *Primary) Send(message any, to ...any) *Delivery {
	var targets []any
	switch {
	case len(to) == 0:
		for _, w := range p.readyList {
			targets = append(targets, w)
		}
	case len(to) == 1:
		switch list := to[0].(type) {
		case []any:
			targets = list
		case []*Worker:
			for _, w := range list {
				targets = append(targets, w)
			}
		case []int:
			for _, id := range list {
				targets = append(targets, id)
			}
		default:
			targets = to
		}
	default:
		targets = to
	}
	d := newDelivery(p, len(targets))
	payload, encErr := frame.Marshal(message)
	for _, t := range targets {
		w := p.destination(t)
		switch {
		case w == nil:
			d.settle(&DestinationError{Message: message, To: t})
		case encErr != nil:
			d.settle(&SendError{WorkerID: w.id, Message: message, Err: encErr})
		default:
			w.write(payload, func(err error) {
				if err != nil {
					err = &SendError{WorkerID: w.id, Message: message, Err: err}
				}
				d.settle(err)
			})
		}
	}
	return d
}

func (p *Primary) destination(to any) *Worker {
	var id int64
	switch t := to.(type) {
	case *Worker:
		return t
	case int:
		id = int64(t)
	case int64:
		id = t
	case int32:
		id = int64(t)
	case uint64:
		if t > math.MaxInt64 {
			return nil
		}
		id = int64(t)
	case float64:
		if t != math.Trunc(t) || math.Abs(t) > 1<<53 {
			return nil
		}
		id = int64(t)
	default:
		return nil
	}
	if id <= 0 || id > math.MaxInt32 {
		return nil
	}
	return p.ready[int(id)]
}

// forkOne is Node's cluster.fork(): a new id, the process started now,
// workerFork published on a later turn of the loop.
func (p *Primary) forkOne() {
	p.nextID++
	w := &Worker{p: p, id: p.nextID, state: "none", connected: true, slot: p.inherit, forkedAt: time.Now()}
	p.inherit = nil
	if w.slot == nil {
		w.slot = &slot{}
	}
	p.cluster[w.id] = w
	// Posted before the process starts, so that workerFork comes before
	// anything the process layer posts for the worker.
	var startErr error
	p.post(func() {
		p.publish(&Event{Name: "workerFork", Worker: w})
		if startErr != nil {
			w.EmitError(startErr)
		}
	})
	pr, err := p.startProcess(w)
	if err != nil {
		// Node's child process emits only 'error' then: no disconnect, no
		// exit. Unlike Node, the worker leaves the cluster set so that a
		// shutDown can still complete.
		startErr = err
		w.connected, w.dead, w.state = false, true, "dead"
		p.removeFromCluster(w)
		return
	}
	w.proc, w.pid = pr, pr.PID()
	p.running++
	p.watchReady(w)
}

// removeFromCluster is Node's removeWorker: the worker leaves
// cluster.workers, and an empty set calls cluster.disconnect's callbacks.
func (p *Primary) removeFromCluster(w *Worker) {
	delete(p.cluster, w.id)
	if len(p.cluster) == 0 {
		p.emitIntercom()
	}
}

func (p *Primary) emitIntercom() {
	cbs := p.intercom
	p.intercom = nil
	for _, cb := range cbs {
		cb()
	}
}

// clusterDisconnect is Node's cluster.disconnect(cb): every connected
// worker is disconnected (and so leaves the cluster set at once); cb runs at
// the next removal that leaves the set empty: in practice when the first
// disconnected worker has both closed its channel and exited.
func (p *Primary) clusterDisconnect(cb func()) {
	if len(p.cluster) == 0 {
		p.post(p.emitIntercom)
	} else {
		ids := make([]int, 0, len(p.cluster))
		for id := range p.cluster {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if w := p.cluster[id]; w != nil && w.connected {
				w.Disconnect()
			}
		}
	}
	p.intercom = append(p.intercom, cb)
}

func (p *Primary) onOnline(w *Worker) {
	w.state = "online"
	p.publish(&Event{Name: "workerOnline", Worker: w})
}

func (p *Primary) onMessage(w *Worker, v any, raw []byte) {
	p.publish(&Event{Name: "workerMessage", Worker: w, Message: v, Raw: raw})
	if s, ok := v.(string); ok && s == "ready" && w.awaitReady {
		w.awaitReady = false
		w.wasReady = true
		w.slot.everReady = true
		p.stopReady(w)
		p.publish(&Event{Name: "workerReady", Worker: w})
	}
}

func (p *Primary) onListening(w *Worker, l *frame.Listening) {
	w.state = "listening"
	p.publish(&Event{Name: "workerListening", Worker: w, Address: l})
}

// onProtocolError: the worker broke the protocol; the process layer has
// already killed it, and its disconnect and exit follow.
func (p *Primary) onProtocolError(w *Worker, err error) {
	p.log.Error("killed worker", "workerId", w.id, "error", err)
	w.killed = true // by the process layer, for what the worker sent
	w.EmitError(err)
}

// onDisconnect is Node's handler of the child's 'disconnect'.
func (p *Primary) onDisconnect(w *Worker) {
	w.connected = false
	if w.dead {
		p.removeFromCluster(w)
	}
	w.state = "disconnected"
	p.publish(&Event{Name: "workerDisconnect", Worker: w})
}

// onExit is Node's handler of the child's 'exit'.
func (p *Primary) onExit(w *Worker, code int, signal string) {
	if !w.connected {
		p.removeFromCluster(w)
	}
	w.dead = true
	w.state = "dead"
	p.running--
	p.stopReady(w)
	p.publish(&Event{Name: "workerExit", Worker: w, Code: code, Signal: signal})
}
