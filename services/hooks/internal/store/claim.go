package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
)

// ClaimParams says what a claim may take: up to MaxRows due deliveries of
// enabled endpoints, oldest first, at most PerEndpoint per endpoint less the
// attempts in flight here (InFlightEndpoints, InFlightCounts), none of an
// endpoint in Busy, looking at the ScanRows oldest due ones only; each is
// leased for LeaseSeconds.
type ClaimParams struct {
	Busy              []string
	ScanRows          int64
	InFlightEndpoints []string
	InFlightCounts    []int64
	PerEndpoint       int64
	MaxRows           int64
	LeaseSeconds      float64
}

// Delivery is a leased delivery with what its attempt needs: the
// endpoint's URL and secrets, the event's body.
type Delivery struct {
	ID                      string
	EndpointID              string
	AttemptCount            int32
	OrganizationID          string
	Livemode                bool
	Url                     string
	Secret                  string
	PreviousSecret          *string
	PreviousSecretExpiresAt *time.Time
	Body                    []byte
	SignatureFormat         string
	ApiVersion              *string
	EventID                 string
	EventType               string
	EventCreated            time.Time
	StripeObject            []byte
}

// claimDeliveries calls hooks.claim_deliveries (migrations 0009, 0010): it
// leases the deliveries it returns, so that a worker that dies leaves them
// due again when the lease ends, and re-checks each row as the scan saw it,
// so that a row another replica leased or finished meanwhile is skipped,
// not sent twice. It is written here rather than given to sqlc, which
// cannot read the columns of a function's result.
const claimDeliveries = `SELECT * FROM hooks.claim_deliveries($1, $2, $3, $4, $5, $6, $7)`

// ClaimDeliveries leases due deliveries on q (the pool, or a transaction).
func ClaimDeliveries(ctx context.Context, q db.DBTX, p ClaimParams) ([]Delivery, error) {
	rows, err := q.Query(ctx, claimDeliveries, p.Busy, p.ScanRows, p.InFlightEndpoints, p.InFlightCounts,
		p.PerEndpoint, p.MaxRows, p.LeaseSeconds)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Delivery])
}

// ClaimDeliveries leases due deliveries (see ClaimDeliveries).
func (s *Store) ClaimDeliveries(ctx context.Context, p ClaimParams) ([]Delivery, error) {
	return ClaimDeliveries(ctx, s.Pool, p)
}
