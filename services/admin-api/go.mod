module github.com/tillpoint/tillpoint/services/admin-api

go 1.26.0
