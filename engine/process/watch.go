package process

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/isowasm/isowasm/hostabi/frame"
)

// rssInterval is how often resident memory is read when there are no
// heartbeats to pace it.
const rssInterval = time.Second

// watch owns a process's health checks while its channel is open: it sends
// a heartbeat every interval (one at a time: the next goes once the last is
// answered), kills the process when one stays unanswered past the timeout,
// and reads its resident memory against Config.MaxRSS.
func (pr *Process) watch() {
	defer pr.g.wg.Done()
	cfg := &pr.g.cfg
	interval := cfg.HeartbeatInterval
	if interval == 0 {
		interval = rssInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-pr.readerDone:
			return
		case <-t.C:
		}
		if err := pr.check(time.Now()); err != nil {
			pr.unhealthy(err)
			return
		}
	}
}

// check runs one round of the health checks; an error is the reason to
// kill the process.
func (pr *Process) check(now time.Time) *KillError {
	cfg := &pr.g.cfg
	if cfg.MaxRSS > 0 {
		if rss, err := residentBytes(pr.pid); err == nil && rss > cfg.MaxRSS {
			return &KillError{ID: pr.id, Err: ErrMemoryLimit, Reason: fmt.Sprintf(
				"used %d MiB of resident memory, over the limit of %d MiB", rss>>20, cfg.MaxRSS>>20)}
		}
	}
	if cfg.HeartbeatInterval > 0 && pr.online.Load() {
		sent := pr.heartbeat.Load()
		if sent == 0 {
			if pr.heartbeat.CompareAndSwap(0, now.UnixNano()) {
				pr.out.push(outItem{f: frame.Frame{Type: frame.TypeHeartbeat}})
			}
		} else if stalled := pr.stalled.Swap(false); stalled || pr.waiting.Load() {
			// We stopped reading the channel (MaxUndelivered) since the
			// last check: the answer may be in it, or the process blocked
			// writing to it. The wait is ours; the timeout starts over.
			pr.heartbeat.CompareAndSwap(sent, now.UnixNano())
		} else if waited := now.Sub(time.Unix(0, sent)); waited >= cfg.HeartbeatTimeout {
			return &KillError{ID: pr.id, Err: ErrUnresponsive, Reason: fmt.Sprintf(
				"did not answer the heartbeat for %v", waited.Round(100*time.Millisecond))}
		}
	}
	return nil
}

// unhealthy reports err and kills the process, unless its channel has
// already ended (Disconnect is then being reported, and must come last).
func (pr *Process) unhealthy(err *KillError) {
	pr.call(func() {
		if pr.ending {
			return
		}
		if fn := pr.h.Unhealthy; fn != nil {
			fn(err)
		}
		_ = pr.cmd.Process.Kill()
	})
}

// residentBytes reads VmRSS from /proc/PID/status.
func residentBytes(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				break
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("process: no VmRSS in /proc/%d/status", pid)
}
