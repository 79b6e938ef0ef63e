module github.com/raftbench/raftbench

go 1.26

require github.com/spf13/pflag v1.1.0

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/tidwall/btree v1.8.2
)

require github.com/anishathalye/porcupine v1.3.1
