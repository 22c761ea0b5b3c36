package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isowasm/isowasm/engine/process"
	"github.com/isowasm/isowasm/hostabi/frame"
	"github.com/isowasm/isowasm/runtimes/js"
)

// events records what the adapter reports about one worker.
type events struct {
	mu      sync.Mutex
	list    []string
	changed chan struct{}
}

func newEvents() *events { return &events{changed: make(chan struct{})} }

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
	close(e.changed)
	e.changed = make(chan struct{})
}

func (e *events) Online() { e.add("online") }
func (e *events) Message(p []byte) {
	var v any
	if err := frame.Unmarshal(p, &v); err != nil {
		e.add("bad message: " + err.Error())
		return
	}
	e.add(fmt.Sprintf("message %v", v))
}
func (e *events) Listening(address string, port, addressType int) {
	e.add(fmt.Sprintf("listening %q %d %d", address, port, addressType))
}
func (e *events) ExitedAfterDisconnect()       { e.add("exitedAfterDisconnect") }
func (e *events) ProtocolError(err error)      { e.add("protocolError " + err.Error()) }
func (e *events) Disconnect()                  { e.add("disconnect") }
func (e *events) Exit(code int, signal string) { e.add(fmt.Sprintf("exit %d %s", code, signal)) }
func (e *events) Stdout(p []byte)              { e.add("stdout " + strings.TrimSpace(string(p))) }
func (e *events) Stderr(p []byte)              { e.add("stderr " + strings.TrimSpace(string(p))) }

// wait waits for an event with that prefix and returns all so far.
func (e *events) wait(t *testing.T, prefix string) []string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		e.mu.Lock()
		list, changed := slices.Clone(e.list), e.changed
		e.mu.Unlock()
		for _, s := range list {
			if strings.HasPrefix(s, prefix) {
				return list
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out waiting for %q; events %q", prefix, list)
		}
	}
}

func TestJSProcesses(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, "worker.js", `
import cluster from 'node:cluster';
console.log('worker ' + cluster.worker.id + ' args ' + process.argv.slice(2).join(',') + ' cwd ' + process.cwd() + ' env ' + process.env.ADAPTER_TEST);
process.on('message', (m) => {
    if (m === 'leave') { cluster.worker.disconnect(); return; }
    process.send({echo: m});
});
process.send('ready');
`)
	procs, err := newJSProcesses(process.Config{Executable: bin}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := procs.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	start := func(id int, silent bool) (js.WorkerProcess, *events) {
		ev := newEvents()
		w, err := procs.Start(js.WorkerSpec{
			ID: id, Exec: script, Args: []string{"a", "b"}, Env: []string{"ADAPTER_TEST=yes"}, Silent: silent, Cwd: dir,
		}, ev)
		if err != nil {
			t.Fatal(err)
		}
		if w.PID() <= 0 {
			t.Fatalf("pid %d", w.PID())
		}
		return w, ev
	}

	t.Run("messages, output, voluntary leave", func(t *testing.T) {
		w, ev := start(1, true)
		ev.wait(t, "message ready")
		b, _ := frame.Marshal(map[string]any{"n": 1})
		sent := make(chan error, 1)
		w.Send(b, func(err error) { sent <- err })
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		ev.wait(t, "message map[echo:map[n:1]]")
		b, _ = frame.Marshal("leave")
		w.Send(b, nil)
		got := ev.wait(t, "exit ")
		// The worker's stdout is a pipe of its own: its line may come
		// before or after the channel's messages, but before the exit
		// (the process layer drains the pipes first).
		stdout := "stdout worker 1 args a,b cwd " + dir + " env yes"
		if i := slices.Index(got, stdout); i < 0 || i == len(got)-1 {
			t.Errorf("events %q: no %q before the exit", got, stdout)
		} else {
			got = slices.Delete(slices.Clone(got), i, i+1)
		}
		want := []string{
			"online", "message ready", "message map[echo:map[n:1]]",
			"exitedAfterDisconnect", "disconnect", "exit 0 ",
		}
		if !slices.Equal(got, want) {
			t.Errorf("events without stdout\n got %q\nwant %q", got, want)
		}
	})
	t.Run("kill by name", func(t *testing.T) {
		w, ev := start(2, true)
		ev.wait(t, "message ready")
		if err := w.Kill("NOSUCHSIG"); err == nil {
			t.Error("unknown signal accepted")
		}
		if err := w.Kill("SIGTERM"); err != nil {
			t.Fatal(err)
		}
		if got := ev.wait(t, "exit "); got[len(got)-1] != "exit -1 SIGTERM" {
			t.Errorf("events %q", got)
		}
		if err := w.Kill("SIGKILL"); err != nil {
			t.Errorf("Kill after exit: %v", err)
		}
	})
	t.Run("primary disconnects", func(t *testing.T) {
		w, ev := start(3, true)
		ev.wait(t, "message ready")
		w.Disconnect()
		got := ev.wait(t, "exit ")
		if got[len(got)-2] != "disconnect" || got[len(got)-1] != "exit 0 " {
			t.Errorf("events %q", got)
		}
	})
}
