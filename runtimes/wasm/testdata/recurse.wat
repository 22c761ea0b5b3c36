;; Recurses without end on any message.
(module
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 1024))
  (func $down (param i32) (result i32)
    (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "isowasm_on_message") (param i32 i32)
    (drop (call $down (i32.const 0)))))
