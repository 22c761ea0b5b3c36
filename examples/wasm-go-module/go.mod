module example.com/wasm-go-module

go 1.26.0

require github.com/isowasm/isowasm v0.0.0-00010101000000-000000000000

// Until the SDK is published, depend on a clone of isowasm: this path is
// where the clone is, relative to this go.mod (or absolute).
replace github.com/isowasm/isowasm => ../..
