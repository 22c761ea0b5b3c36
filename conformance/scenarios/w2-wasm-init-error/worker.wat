;; The compiled worker of w2-wasm-init-error: isowasm_init logs why and
;; returns 1 (an initialize error): the worker exits 1, never ready.
;; Build: wat2wasm worker.wat -o worker.wasm (../build.sh)
(module
  (import "isowasm" "log" (func $log (param i32 i32 i32)))
  (data (i32.const 16) "Initialize error: no config")
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "isowasm_init") (result i32)
    (call $log (i32.const 2) (i32.const 16) (i32.const 27))
    (i32.const 1))
  (func (export "isowasm_on_message") (param i32 i32)))
