module github.com/raftbench/raftbench

go 1.26

require github.com/spf13/pflag v1.1.0

require github.com/tidwall/btree v1.8.2
