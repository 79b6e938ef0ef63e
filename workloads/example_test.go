package workloads_test

import (
	"bytes"
	"fmt"

	"github.com/raftbench/raftbench/workloads"
)

func ExampleKV() {
	kv := workloads.NewKV(workloads.KVConfig{})
	// The node applies committed entries in log order.
	kv.Apply(1, workloads.EncodePut(7, 1, []byte("greeting"), []byte("hello")))
	retry := kv.Apply(2, workloads.EncodePut(7, 1, []byte("greeting"), []byte("hello")))
	res := kv.Apply(3, workloads.EncodeGet(7, 2, []byte("greeting"))).(*workloads.Result)
	fmt.Printf("retry found=%v, get %q\n", retry.(*workloads.Result).Found, res.Value)

	// A snapshot is a frozen view; applies may go on while it is written.
	view, _ := kv.Snapshot()
	kv.Apply(4, workloads.EncodeDelete(7, 3, []byte("greeting")))
	var buf bytes.Buffer
	view.WriteTo(&buf)
	view.Release()

	replica := workloads.NewKV(workloads.KVConfig{})
	if err := replica.Restore(&buf); err != nil {
		panic(err)
	}
	v, ok := replica.Get([]byte("greeting"))
	fmt.Printf("restored %q %v at index %d\n", v, ok, replica.Applied())
	// Output:
	// retry found=false, get "hello"
	// restored "hello" true at index 3
}

func ExampleGenerator() {
	g, err := workloads.NewGenerator(workloads.GeneratorConfig{
		Seed:          1,
		Keys:          workloads.KeyConfig{Distribution: workloads.Sequential, Keys: 1000},
		ValueBytesMin: 8, ValueBytesMax: 8,
		ReadRatio: 0,
	})
	if err != nil {
		panic(err)
	}
	for range 3 {
		op := g.Next()
		fmt.Println(op.Kind, string(op.Key), len(op.Value))
	}
	// Output:
	// write k0000000000 8
	// write k0000000001 8
	// write k0000000002 8
}
