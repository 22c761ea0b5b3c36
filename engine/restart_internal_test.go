package engine

import (
	"slices"
	"testing"
	"time"
)

func TestRestartPolicyNext(t *testing.T) {
	ms := time.Millisecond
	pol := RestartPolicy{Backoff: 100 * ms, MaxBackoff: time.Second, MinUptime: 5 * time.Second, MaxRestarts: 5, Window: time.Minute}.withDefaults()
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at     time.Duration // since t0
		uptime time.Duration
		delay  time.Duration
		giveUp bool
	}{
		{0, 10 * ms, 100 * ms, false},               // young: backoff
		{1 * time.Second, 10 * ms, 200 * ms, false}, // doubles
		{2 * time.Second, 10 * ms, 400 * ms, false},
		{3 * time.Second, 6 * time.Second, 0, false}, // lived long: at once, backoff reset
		{4 * time.Second, 10 * ms, 100 * ms, false},  // starts over
		{5 * time.Second, 10 * ms, 0, true},          // 5 within a minute: given up
		{61 * time.Second, 10 * ms, 200 * ms, false}, // the first ones left the window
	}
	s := &slot{}
	for i, st := range steps {
		delay, giveUp := pol.next(s, t0.Add(st.at), st.uptime, true)
		if delay != st.delay || giveUp != st.giveUp {
			t.Errorf("step %d: next = %v, %v; want %v, %v", i, delay, giveUp, st.delay, st.giveUp)
		}
	}

	capped := RestartPolicy{Backoff: 300 * ms, MaxBackoff: time.Second}.withDefaults()
	s = &slot{}
	var got []time.Duration
	for range 4 {
		d, _ := capped.next(s, t0, 0, true)
		got = append(got, d)
	}
	if want := []time.Duration{300 * ms, 600 * ms, time.Second, time.Second}; !slices.Equal(got, want) {
		t.Errorf("capped backoffs %v, want %v", got, want)
	}
	if d, g := (RestartPolicy{}).next(&slot{}, t0, 0, true); d != 0 || g {
		t.Errorf("zero policy: %v %v", d, g)
	}
	// Deaths that do not count never reach the cap, but still back off.
	s = &slot{}
	limited := RestartPolicy{Backoff: ms, MaxRestarts: 1}.withDefaults()
	for range 3 {
		if d, g := limited.next(s, t0, 0, false); d == 0 || g {
			t.Errorf("uncounted death: %v %v", d, g)
		}
	}
	if _, g := limited.next(s, t0, 0, true); g {
		t.Error("gave up at the first counted death")
	}
	if d, g := limited.next(s, t0, 0, true); d != 0 || !g {
		t.Errorf("second counted death with MaxRestarts 1: %v %v", d, g)
	}
}

// Only a kill from outside goes uncounted: exits, the primary's kills, the
// worker's own signals and the signals a process brings on itself count.
func TestCountsAgainstRestarts(t *testing.T) {
	tests := []struct {
		name   string
		w      Worker
		signal string
		want   bool
	}{
		{"exit", Worker{}, "", true},
		{"kill -9 from outside", Worker{}, "SIGKILL", false},
		{"SIGTERM from outside", Worker{}, "SIGTERM", false},
		{"killed by the primary (heartbeat)", Worker{killedBy: &KillError{}}, "SIGKILL", true},
		{"killed by the primary (Kill, protocol)", Worker{killed: true}, "SIGTERM", true},
		{"its own SIGKILL", Worker{selfSignal: "SIGKILL"}, "SIGKILL", true},
		{"its own SIGTERM, then SIGKILL from outside", Worker{selfSignal: "SIGTERM"}, "SIGKILL", false},
		{"SIGPIPE", Worker{}, "SIGPIPE", true},
		{"SIGSEGV", Worker{}, "SIGSEGV", true},
		{"SIGABRT", Worker{}, "SIGABRT", true},
	}
	for _, tt := range tests {
		if got := countsAgainstRestarts(&tt.w, tt.signal); got != tt.want {
			t.Errorf("%s: counted %v, want %v", tt.name, got, tt.want)
		}
	}
}
