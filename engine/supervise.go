package engine

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/isowasm/isowasm/engine/process"
)

// RestartPolicy says when a worker that exits while the primary is active
// is replaced. Its zero value is isotropic-cluster's: at once, always.
//
// Replacements are counted per slot: a worker forked by Fork starts a
// slot, and each replacement inherits the slot of the worker it replaces,
// so one crash-looping worker slows down and gives up alone.
type RestartPolicy struct {
	// Backoff is the delay before replacing a worker that died young
	// (it lived less than MinUptime); it doubles with each young death in a
	// row in the slot, up to MaxBackoff (0: 100 × Backoff). 0: no delay.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MinUptime is how long a worker must live for its death not to count
	// as young: its replacement then comes at once and the doubling starts
	// over (0: 5s when Backoff is set).
	MinUptime time.Duration
	// MaxRestarts caps the replacements of one slot within Window (0: one
	// minute); a worker dying past the cap is not replaced: a workerGiveUp
	// event says so. 0: no cap. Every death counts except a kill from
	// outside (countsAgainstRestarts): a worker killed by another
	// process's signal (kill -9 by hand, the kernel's OOM killer) is
	// replaced, after the backoff if it died young, but not counted, so
	// that killing workers from outside never makes the primary give up.
	MaxRestarts int
	Window      time.Duration
	// MaxStartFailures gives up on a slot whose workers died during start
	// (before their 'ready') this many times in a row before any of them
	// was ready, counted as MaxRestarts counts: a script that cannot start
	// (it throws at start) fails fast instead of after the whole restart
	// budget. Once a worker of the slot has been ready, its successors'
	// failed starts fall under MaxRestarts alone (a dependency gone for a
	// while). 0: no limit.
	MaxStartFailures int
}

const (
	defaultMinUptime     = 5 * time.Second
	defaultRestartWindow = time.Minute
)

func (r RestartPolicy) withDefaults() RestartPolicy {
	if r.Backoff > 0 {
		if r.MaxBackoff == 0 {
			r.MaxBackoff = 100 * r.Backoff
		}
		r.MaxBackoff = max(r.MaxBackoff, r.Backoff)
		if r.MinUptime == 0 {
			r.MinUptime = defaultMinUptime
		}
	}
	if r.MaxRestarts > 0 && r.Window == 0 {
		r.Window = defaultRestartWindow
	}
	return r
}

func (c Config) validate() error {
	r := c.Restart
	switch {
	case r.Backoff < 0 || r.MaxBackoff < 0 || r.MinUptime < 0 || r.Window < 0:
		return fmt.Errorf("engine: RestartPolicy %+v has a negative duration", r)
	case r.MaxRestarts < 0 || r.MaxStartFailures < 0:
		return fmt.Errorf("engine: RestartPolicy.MaxRestarts %d or MaxStartFailures %d is negative", r.MaxRestarts, r.MaxStartFailures)
	case c.ReadyTimeout < 0:
		return fmt.Errorf("engine: ReadyTimeout %v is negative", c.ReadyTimeout)
	}
	return nil
}

// slot is the line of workers that replace one another.
type slot struct {
	young         int         // young deaths in a row
	restarts      []time.Time // replacements within the window, oldest first
	startFailures int         // deaths during start in a row, none ready yet
	everReady     bool        // a worker of the slot was ready
}

// next decides the replacement of a worker of slot s that lived uptime and
// died at now: after delay, or not at all (giveUp). counted says whether
// the death counts against MaxRestarts; the replacement it allows is then
// recorded.
func (r RestartPolicy) next(s *slot, now time.Time, uptime time.Duration, counted bool) (delay time.Duration, giveUp bool) {
	if r.MaxRestarts > 0 && counted {
		keep := s.restarts[:0]
		for _, t := range s.restarts {
			if now.Sub(t) < r.Window {
				keep = append(keep, t)
			}
		}
		s.restarts = keep
		if len(s.restarts) >= r.MaxRestarts {
			return 0, true
		}
		s.restarts = append(s.restarts, now)
	}
	if r.Backoff > 0 {
		if uptime >= r.MinUptime {
			s.young = 0
		} else {
			s.young++
			delay = r.Backoff
			for i := 1; i < s.young && delay < r.MaxBackoff; i++ {
				delay *= 2
			}
			delay = min(delay, r.MaxBackoff)
		}
	}
	return delay, false
}

// countsAgainstRestarts says whether the death of w, by signal ("" for
// an exit), counts against RestartPolicy.MaxRestarts. Only a kill from
// outside does not: a death by a signal that another process sends
// (outsideSignals) which neither the primary sent (its kills: ready
// timeout, heartbeat, memory, protocol, Worker.Kill) nor the worker said
// it was sending itself (process.kill(process.pid, …), announced on its
// channel before the signal). An exit, whatever its code, and a death by
// a signal a process brings on itself (SIGPIPE writing to a closed pipe,
// SIGSEGV, SIGABRT…) always count. So a worker cannot crash-loop forever
// by its own doing, and kills from outside never make the primary give up.
func countsAgainstRestarts(w *Worker, signal string) bool {
	switch {
	case signal == "", w.killedBy != nil, w.killed, signal == w.selfSignal:
		return true
	}
	return !outsideSignals[signal]
}

// outsideSignals are the signals that end a worker only when a process
// sends them (kill, the OOM killer, a terminal); the others a process
// brings on itself.
var outsideSignals = map[string]bool{
	"SIGKILL": true, "SIGTERM": true, "SIGINT": true, "SIGHUP": true,
	"SIGQUIT": true, "SIGUSR1": true, "SIGUSR2": true, "SIGALRM": true,
}

func (r RestartPolicy) isZero() bool { return r == RestartPolicy{} }

// replace is workerExit's complete stage on an active primary: the
// replacement comes at once, after a backoff (a workerRestart event), or
// never (a workerGiveUp event).
func (p *Primary) replace(w *Worker, signal string) {
	pol := p.cfg.Restart
	if pol.isZero() {
		p.log.Info("replacing dead worker")
		p.Fork(1)
		return
	}
	s := w.slot
	if s == nil {
		s = &slot{}
	}
	counted := countsAgainstRestarts(w, signal)
	if counted && !w.wasReady && !s.everReady {
		s.startFailures++
	}
	if pol.MaxStartFailures > 0 && s.startFailures >= pol.MaxStartFailures {
		p.publish(&Event{Name: "workerGiveUp", Worker: w, Error: &StartFailureError{
			WorkerID: w.id, Failures: s.startFailures}})
		return
	}
	delay, giveUp := pol.next(s, time.Now(), time.Since(w.forkedAt), counted)
	switch {
	case giveUp:
		p.publish(&Event{Name: "workerGiveUp", Worker: w, Error: &RestartLimitError{
			WorkerID: w.id, Restarts: len(s.restarts), Window: pol.Window}})
	case delay > 0:
		p.publish(&Event{Name: "workerRestart", Worker: w, Delay: delay})
	default:
		p.forkReplacement(s)
	}
}

// completeRestart is workerRestart's complete stage: the replacement is
// forked when the delay is over, unless the primary has stopped by then.
func (p *Primary) completeRestart(e *Event) {
	p.log.Warn("replacing dead worker after a backoff", "workerId", e.Worker.id, "delay", e.Delay)
	s := e.Worker.slot
	p.scheduled++
	p.timers.after(e.Delay, func() {
		p.post(func() {
			p.scheduled--
			if p.active {
				p.forkReplacement(s)
			}
		})
	})
}

func (p *Primary) forkReplacement(s *slot) {
	p.log.Info("replacing dead worker")
	p.inherit = s
	p.Fork(1)
	p.inherit = nil
}

// watchReady starts w's ready timeout.
func (p *Primary) watchReady(w *Worker) {
	d := p.cfg.ReadyTimeout
	if d <= 0 {
		return
	}
	w.readyTimer = p.timers.after(d, func() {
		p.post(func() {
			if w.readyTimer == nil || w.dead {
				return
			}
			w.readyTimer = nil
			_ = w.Kill(syscall.SIGKILL)
			w.killedBy = &KillError{WorkerID: w.id, Err: ErrReadyTimeout,
				Reason: fmt.Sprintf("was not ready within %v", d)}
			w.EmitError(w.killedBy)
		})
	})
}

// stopReady cancels w's ready timeout (it is ready, or gone).
func (p *Primary) stopReady(w *Worker) {
	if w.readyTimer != nil {
		p.timers.stop(w.readyTimer)
		w.readyTimer = nil
	}
}

// onUnhealthy: the process layer killed w (heartbeat, memory); its
// disconnect and exit follow.
func (p *Primary) onUnhealthy(w *Worker, err error) {
	ke := &KillError{WorkerID: w.id, Reason: err.Error(), Err: err}
	var pk *process.KillError
	if errors.As(err, &pk) {
		ke.Reason = pk.Reason
		switch {
		case errors.Is(err, process.ErrUnresponsive):
			ke.Err = ErrUnresponsive
		case errors.Is(err, process.ErrMemoryLimit):
			ke.Err = ErrMemoryLimit
		}
	}
	p.log.Error("killed worker", "workerId", w.id, "error", ke)
	w.killedBy = ke
	w.EmitError(ke)
}

// Live is the number of workers whose process runs, plus the replacements
// waiting for their backoff. On an active primary, 0 means that no worker
// will run again unless Fork is called (every worker died and the restart
// policy gave up on them).
func (p *Primary) Live() int { return p.running + p.scheduled }

// timerSet owns the primary's timers, so that Close can stop them all.
type timerSet struct {
	mu      sync.Mutex
	stopped bool
	set     map[*time.Timer]struct{}
}

// after runs fn (which must only post to the loop) after d.
func (ts *timerSet) after(d time.Duration, fn func()) *time.Timer {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.stopped {
		return nil
	}
	if ts.set == nil {
		ts.set = map[*time.Timer]struct{}{}
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		ts.mu.Lock()
		delete(ts.set, t)
		ts.mu.Unlock()
		fn()
	})
	ts.set[t] = struct{}{}
	return t
}

func (ts *timerSet) stop(t *time.Timer) {
	if t == nil {
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t.Stop()
	delete(ts.set, t)
}

func (ts *timerSet) stopAll() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.stopped = true
	for t := range ts.set {
		t.Stop()
	}
	ts.set = nil
}
