package js

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a run starts (the channel's sender and reader, server
// accept loops) must be gone when Run returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
