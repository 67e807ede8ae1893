module github.com/tillpoint/tillpoint/services/checkout-runtime

go 1.26.0
