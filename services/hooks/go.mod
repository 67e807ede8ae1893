module github.com/tillpoint/tillpoint/services/hooks

go 1.26.0
