module github.com/seattletestbed/clearinghouse-go

go 1.26
