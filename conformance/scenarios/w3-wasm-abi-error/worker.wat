;; The compiled worker of w3-wasm-abi-error: it lacks the required export
;; isowasm_on_message, so the host refuses the module at start, before any
;; guest code runs (one line on stderr naming the module and the export).
;; Build: wat2wasm worker.wat -o worker.wasm (../build.sh)
(module
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "isowasm_init") (result i32) (i32.const 0)))
