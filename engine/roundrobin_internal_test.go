package engine

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
)

func TestRoundRobin(t *testing.T) {
	tests := []struct {
		name  string
		clock []int64 // Date.now() at each pick; the last value repeats
		tags  []string
		drop  map[int]int // before pick i, remove worker id
		want  []int
	}{
		{name: "same millisecond: first never picked, then ties to lowest id",
			clock: []int64{1000}, tags: []string{"", "", "", "", "", ""}, want: []int{1, 2, 3, 1, 1, 1}},
		{name: "advancing clock cycles",
			clock: []int64{1, 2, 3, 4, 5, 6, 7}, tags: []string{"", "", "", "", "", "", ""}, want: []int{1, 2, 3, 1, 2, 3, 1}},
		{name: "tags are independent",
			clock: []int64{1, 2, 3, 4}, tags: []string{"a", "b", "a", "b"}, want: []int{1, 1, 2, 2}},
		{name: "a stamp of 0 counts as never picked",
			clock: []int64{0}, tags: []string{"", "", ""}, want: []int{1, 1, 1}},
		{name: "a removed worker's stamp goes with it",
			clock: []int64{1, 2, 3, 4}, tags: []string{"", "", "", ""}, drop: map[int]int{3: 1}, want: []int{1, 2, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{Executable: os.Args[0]})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close(context.Background())
			tick := 0
			p.now = func() int64 {
				v := tt.clock[min(tick, len(tt.clock)-1)]
				tick++
				return v
			}
			var got []int
			err = p.Do(context.Background(), func() {
				if _, err := p.RoundRobin(""); !errors.Is(err, ErrNoWorker) {
					t.Errorf("no worker: %v", err)
				}
				workers := map[int]*Worker{}
				for id := 1; id <= 3; id++ {
					workers[id] = &Worker{p: p, id: id}
					p.publish(&Event{Name: "addWorker", Worker: workers[id]})
				}
				for i, tag := range tt.tags {
					if id, ok := tt.drop[i]; ok {
						p.removeWorker(workers[id])
					}
					w, err := p.RoundRobin(tag)
					if err != nil {
						t.Error(err) // not Fatal: this runs on the loop's goroutine
						return
					}
					got = append(got, w.ID())
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("picks %v, want %v", got, tt.want)
			}
		})
	}
}
