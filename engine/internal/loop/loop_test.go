package loop

import (
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestOrderAndStop(t *testing.T) {
	defer goleak.VerifyNone(t)
	l := Start()
	var got []int
	var wg sync.WaitGroup
	wg.Add(100)
	gate := make(chan struct{})
	l.Post(func() { <-gate }) // hold the loop until all 100 are queued
	for i := range 100 {
		l.Post(func() {
			got = append(got, i)
			if i == 0 {
				l.Post(func() { got = append(got, -1) }) // queued behind the rest
			}
			wg.Done()
		})
	}
	close(gate)
	wg.Wait()
	done := make(chan struct{})
	l.Post(func() { close(done) })
	<-done
	l.Stop()
	l.Stop()
	l.Post(func() { t.Error("ran after Stop") })
	want := make([]int, 0, 101)
	for i := range 100 {
		want = append(want, i)
	}
	want = append(want, -1)
	if !slices.Equal(got, want) {
		t.Errorf("order %v", got)
	}
}
