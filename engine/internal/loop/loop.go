// Package loop is the primary's own event loop, used when the embedder does
// not bring one: a goroutine that runs posted functions one at a time, in the
// order they were posted.
package loop

import "sync"

// Loop runs posted functions on one goroutine. Post never blocks.
type Loop struct {
	mu      sync.Mutex
	queue   []func()
	wake    chan struct{}
	stopped bool
	done    chan struct{}
}

// Start starts the loop's goroutine; Stop ends it.
func Start() *Loop {
	l := &Loop{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go l.run()
	return l
}

// Post queues fn; after Stop it is dropped.
func (l *Loop) Post(fn func()) {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.queue = append(l.queue, fn)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Stop ends the loop once the function it is running returns; functions
// still queued are dropped. It waits for the goroutine, so it must not be
// called on the loop. Safe to call more than once.
func (l *Loop) Stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.done
}

func (l *Loop) run() {
	defer close(l.done)
	for range l.wake {
		for {
			l.mu.Lock()
			if l.stopped {
				l.queue = nil
				l.mu.Unlock()
				return
			}
			if len(l.queue) == 0 {
				l.mu.Unlock()
				break
			}
			fn := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.mu.Unlock()
			fn()
		}
	}
}
