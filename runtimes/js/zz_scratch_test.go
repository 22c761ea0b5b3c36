package js

import (
	"context"
	"os"
	"testing"
)

func TestScratch(t *testing.T) {
	code, err := Run(context.Background(), Config{Script: os.Getenv("SCRATCH"), Stdout: os.Stdout, Stderr: os.Stderr, CacheDir: "off"})
	t.Log(code, err)
}
