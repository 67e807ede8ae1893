module github.com/tillpoint/tillpoint/sdk/go

go 1.26.0
