;; The compiled worker of w1-wasm-trap: ready at once (no isowasm_init), and
;; `unreachable` on any message from the primary (which sends only 'trap').
;; Build: wat2wasm worker.wat -o worker.wasm (../build.sh)
(module
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "isowasm_on_message") (param i32 i32) unreachable))
