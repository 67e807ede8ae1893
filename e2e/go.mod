module github.com/tillpoint/tillpoint/e2e

go 1.26.0

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.22.1
	github.com/jackc/pgx/v5 v5.12.0
	github.com/stripe/stripe-go/v82 v82.5.1
	github.com/tillpoint/tillpoint/services/platform v0.0.0
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace github.com/tillpoint/tillpoint/services/platform => ../services/platform

require github.com/tillpoint/tillpoint/sdk/go v0.0.0

replace github.com/tillpoint/tillpoint/sdk/go => ../sdk/go

require (
	github.com/tillpoint/tillpoint/proto/gen/go v0.0.0
	google.golang.org/grpc v1.85.0
)

replace github.com/tillpoint/tillpoint/proto/gen/go => ../proto/gen/go
