package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/isowasm/isowasm/engine"
	"github.com/isowasm/isowasm/engine/process"
)

// The defaults of the supervision flags: the default primary protects
// against crash loops and hung workers out of the box, where the engine's
// zero values keep isotropic-cluster's replace-at-once-forever.
const (
	defaultGrace             = 10 * time.Second
	defaultRestartBackoff    = 100 * time.Millisecond
	defaultRestartBackoffMax = 10 * time.Second
	defaultMinUptime         = 5 * time.Second
	defaultMaxRestarts       = 10
	defaultMaxStartFailures  = 3
	defaultRestartWindow     = time.Minute
	defaultReadyTimeout      = 30 * time.Second
	defaultHeartbeatInterval = time.Second
	defaultHeartbeatTimeout  = 5 * time.Second
	defaultMaxQueued         = 10000
	defaultMaxQueuedMiB      = 8
	defaultMaxFrameMiB       = 64
)

// supervision is what the flags say about restarts, timeouts and limits.
type supervision struct {
	restart      engine.RestartPolicy
	readyTimeout time.Duration
	grace        time.Duration
	limits       process.Config // heartbeat, memory, queue, frame size
}

// defaultSupervision is the flags' defaults (tests start from it).
func defaultSupervision() supervision {
	return supervision{
		restart: engine.RestartPolicy{
			Backoff:          defaultRestartBackoff,
			MaxBackoff:       defaultRestartBackoffMax,
			MinUptime:        defaultMinUptime,
			MaxRestarts:      defaultMaxRestarts,
			Window:           defaultRestartWindow,
			MaxStartFailures: defaultMaxStartFailures,
		},
		readyTimeout: defaultReadyTimeout,
		grace:        defaultGrace,
		limits: process.Config{
			HeartbeatInterval: defaultHeartbeatInterval,
			HeartbeatTimeout:  defaultHeartbeatTimeout,
			MaxQueued:         defaultMaxQueued,
			MaxQueuedBytes:    defaultMaxQueuedMiB << 20,
		},
	}
}

const supCategory = "supervision (0 turns a limit off; restarts, --ready-timeout and --grace are the default primary's)"

func supervisionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "restart-backoff", Category: supCategory, Value: defaultRestartBackoff,
			Usage: "wait this long before replacing a worker that died young (it lived less than --min-uptime); doubles with each young death in a row, up to --restart-backoff-max; 0 replaces at once"},
		&cli.DurationFlag{Name: "restart-backoff-max", Category: supCategory, Value: defaultRestartBackoffMax,
			Usage: "the longest restart backoff"},
		&cli.DurationFlag{Name: "min-uptime", Category: supCategory, Value: defaultMinUptime,
			Usage: "a worker that lived this long was healthy: its replacement comes at once and the backoff starts over"},
		&cli.IntFlag{Name: "max-restarts", Category: supCategory, Value: defaultMaxRestarts,
			Usage: "replace one worker (it and its replacements) at most this many times within --restart-window, then give up on it; when every worker is given up, isowasm exits with status 1. Every death counts (exits, the primary's kills, signals the worker brought on itself) except a kill from outside (kill -9, the OOM killer); 0: no limit"},
		&cli.DurationFlag{Name: "restart-window", Category: supCategory, Value: defaultRestartWindow,
			Usage: "the window --max-restarts counts in"},
		&cli.IntFlag{Name: "max-start-failures", Category: supCategory, Value: defaultMaxStartFailures,
			Usage: "give up on a worker when it and the workers it replaces died during start (before they were ready) this many times in a row and none was ever ready, whatever --max-restarts allows: a script that throws at start fails in seconds; 0: no limit"},
		&cli.DurationFlag{Name: "ready-timeout", Category: supCategory, Value: defaultReadyTimeout,
			Usage: "kill a worker that is not ready this long after it was forked (a failed start)"},
		&cli.DurationFlag{Name: "grace", Category: supCategory, Value: defaultGrace,
			Usage: "on Ctrl-C, SIGTERM or SIGHUP, give the workers this long to leave before killing them (a second Ctrl-C kills them at once)"},
		&cli.DurationFlag{Name: "heartbeat-interval", Category: supCategory, Value: defaultHeartbeatInterval,
			Usage: "ask each worker's event loop this often whether it still turns"},
		&cli.DurationFlag{Name: "heartbeat-timeout", Category: supCategory, Value: defaultHeartbeatTimeout,
			Usage: "kill and replace a worker that leaves a heartbeat unanswered this long (a busy loop in JavaScript or WebAssembly)"},
		&cli.UintFlag{Name: "max-rss", Category: supCategory,
			Usage: "kill and replace a worker whose resident memory goes over this many MiB (read every heartbeat interval); 0: no limit"},
		&cli.IntFlag{Name: "max-queued", Category: supCategory, Value: defaultMaxQueued,
			Usage: "refuse a send to a worker that already has this many messages waiting to be written (it reads too slowly); 0: no limit"},
		&cli.UintFlag{Name: "max-queued-size", Category: supCategory, Value: defaultMaxQueuedMiB,
			Usage: "refuse a send to a worker that already has this many MiB of messages waiting to be written (one message of any size may always wait); 0: no limit"},
		&cli.UintFlag{Name: "max-frame-size", Category: supCategory, Value: defaultMaxFrameMiB,
			Usage: "the largest frame, in MiB, either side accepts; a worker that sends a larger one is killed"},
	}
}

// supervisionFromFlags reads the flags.
func supervisionFromFlags(c *cli.Context) (supervision, error) {
	s := supervision{
		restart: engine.RestartPolicy{
			Backoff:          c.Duration("restart-backoff"),
			MaxBackoff:       c.Duration("restart-backoff-max"),
			MinUptime:        c.Duration("min-uptime"),
			MaxRestarts:      c.Int("max-restarts"),
			Window:           c.Duration("restart-window"),
			MaxStartFailures: c.Int("max-start-failures"),
		},
		readyTimeout: c.Duration("ready-timeout"),
		grace:        c.Duration("grace"),
		limits:       processLimits(c, false),
	}
	for _, name := range []string{"restart-backoff", "restart-backoff-max", "min-uptime", "restart-window", "ready-timeout", "grace", "heartbeat-interval", "heartbeat-timeout"} {
		if c.Duration(name) < 0 {
			return s, fmt.Errorf("run: --%s %s is negative", name, c.Duration(name))
		}
	}
	for _, name := range []string{"max-restarts", "max-start-failures", "max-queued"} {
		if c.Int(name) < 0 {
			return s, fmt.Errorf("run: --%s %d is negative", name, c.Int(name))
		}
	}
	if s.limits.HeartbeatInterval == 0 {
		s.limits.HeartbeatTimeout = 0
	} else if s.limits.HeartbeatTimeout > 0 && s.limits.HeartbeatTimeout < s.limits.HeartbeatInterval {
		return s, fmt.Errorf("run: --heartbeat-timeout %s is shorter than --heartbeat-interval %s", s.limits.HeartbeatTimeout, s.limits.HeartbeatInterval)
	}
	return s, nil
}

// processLimits are the limits the process layer enforces. For a primary
// script (onlySet), only the flags given apply: the script's workers keep
// Node's behaviour unless asked. --max-queued-size is the exception: a
// worker that stops reading must not make any primary grow without bound.
func processLimits(c *cli.Context, onlySet bool) process.Config {
	var l process.Config
	use := func(name string) bool { return !onlySet || c.IsSet(name) }
	if use("heartbeat-interval") {
		l.HeartbeatInterval = c.Duration("heartbeat-interval")
	}
	if use("heartbeat-timeout") && l.HeartbeatInterval > 0 {
		l.HeartbeatTimeout = c.Duration("heartbeat-timeout")
	}
	if use("max-rss") {
		l.MaxRSS = int64(c.Uint("max-rss")) << 20
	}
	if use("max-queued") {
		l.MaxQueued = max(c.Int("max-queued"), 0)
	}
	if use("max-queued-size") || onlySet { // the default applies to a primary script too
		l.MaxQueuedBytes = int64(c.Uint("max-queued-size")) << 20
	}
	if use("max-frame-size") {
		l.MaxFrameSize = int(c.Uint("max-frame-size")) << 20
	}
	return l
}

// defaultPrimaryOnly names a flag given that only the default primary
// honours (a primary script replaces its workers itself), or "".
func defaultPrimaryOnly(c *cli.Context) string {
	for _, name := range []string{"restart-backoff", "restart-backoff-max", "min-uptime", "max-restarts", "restart-window", "max-start-failures", "ready-timeout", "grace"} {
		if c.IsSet(name) {
			return name
		}
	}
	return ""
}
