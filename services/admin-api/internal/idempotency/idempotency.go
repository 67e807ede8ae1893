// Package idempotency implements the Idempotency-Key header of POST requests
// (docs/design.md §2): the first outcome of a key is replayed for 24 hours, a reuse
// with other parameters is refused, and a reuse while the first request runs
// answers 409. It is a gRPC interceptor, so REST and gRPC share it.
//
// A handler that writes to the database calls Save inside its own transaction,
// so that its write and the stored response commit together: a crash can
// never leave a created object without the response that replays it.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

const (
	// maxKeyLen matches Stripe's limit; clients use UUIDs (36 characters).
	maxKeyLen = 255
	// lease: a record still without a response after this long belongs to a
	// request that died; the next request with the key takes it over. It is
	// well above any handler's running time.
	lease = time.Minute
	// codeError marks a stored error outcome; success outcomes store the
	// HTTP status the handler set (200 or 201).
	codeError = 0
)

// Header names in gRPC metadata (lower case); the gateway maps them to and
// from the HTTP headers Idempotency-Key and Idempotent-Replayed.
const (
	KeyHeader      = "idempotency-key"
	ReplayedHeader = "idempotent-replayed"
	// HTTPCodeHeader tells the gateway which HTTP status to answer with.
	HTTPCodeHeader = "x-http-code"
)

// Middleware is the interceptor.
type Middleware struct {
	Store *store.Store
}

type recorder struct {
	principal auth.Principal
	key       string
	saved     bool
}

type ctxKey struct{}

// Save stores resp as the outcome of the request's Idempotency-Key inside
// the handler's transaction, and sets the HTTP status of the answer. Without
// an Idempotency-Key it only sets the status (and tx may be nil).
func Save(ctx context.Context, tx pgx.Tx, resp proto.Message, httpCode int) error {
	if err := grpc.SetHeader(ctx, metadata.Pairs(HTTPCodeHeader, fmt.Sprint(httpCode))); err != nil {
		return fmt.Errorf("set header: %w", err)
	}
	r, ok := ctx.Value(ctxKey{}).(*recorder)
	if !ok {
		return nil
	}
	body, err := proto.Marshal(resp)
	if err != nil {
		return fmt.Errorf("marshal response: %w", err)
	}
	if err := db.New(tx).FinishIdempotencyKey(ctx, db.FinishIdempotencyKeyParams{
		OrganizationID: r.principal.OrganizationID, Livemode: r.principal.Livemode, Key: r.key,
		ResponseCode: ptr(int32(httpCode)), ResponseBody: body,
	}); err != nil {
		return store.Wrap(err, "save idempotent response")
	}
	r.saved = true
	return nil
}

// Keyed reports whether the request has an Idempotency-Key whose response
// Save will store: then the handler's writes need a transaction to share
// with it.
func Keyed(ctx context.Context) bool {
	_, ok := ctx.Value(ctxKey{}).(*recorder)
	return ok
}

// storedError is how an error outcome is kept for replay.
type storedError struct {
	Kind    errs.Kind `json:"kind"`
	Code    string    `json:"code"`
	Param   string    `json:"param,omitempty"`
	Message string    `json:"message"`
}

// Unary applies to every method but Get* and List*, which are safe to repeat.
func (m *Middleware) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	name := info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:]
	md, _ := metadata.FromIncomingContext(ctx)
	keys := md.Get(KeyHeader)
	if len(keys) == 0 || strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List") {
		return handler(ctx, req)
	}
	key := keys[0]
	if key == "" || len(key) > maxKeyLen {
		return nil, errs.Param("Idempotency-Key", "idempotency_key_invalid", "Idempotency-Key must be 1 to %d characters.", maxKeyLen)
	}
	msg, ok := req.(proto.Message)
	if !ok {
		return handler(ctx, req)
	}
	hash, err := requestHash(info.FullMethod, msg)
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	replay, err := m.begin(ctx, p, key, hash)
	if err != nil || replay != nil {
		if err == nil {
			return m.replay(ctx, info.FullMethod, replay)
		}
		return nil, err
	}

	r := &recorder{principal: p, key: key}
	resp, herr := handler(context.WithValue(ctx, ctxKey{}, r), req)
	if r.saved {
		return resp, herr
	}
	// The handler stored nothing: either it failed, or it had nothing to
	// write in a transaction. Keep the outcome, except failures that a retry
	// may cure (outages, bugs): those free the key.
	ids := db.DeleteIdempotencyKeyParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, Key: key}
	if k := errs.KindOf(herr); herr != nil && (k == errs.Internal || k == errs.Unavailable) {
		if err := m.Store.DeleteIdempotencyKey(context.WithoutCancel(ctx), ids); err != nil {
			return nil, store.Wrap(err, "release idempotency key")
		}
		return resp, herr
	}
	code, body, err := outcome(resp, herr)
	if err != nil {
		return nil, err
	}
	if err := m.Store.FinishIdempotencyKey(context.WithoutCancel(ctx), db.FinishIdempotencyKeyParams{
		OrganizationID: p.OrganizationID, Livemode: p.Livemode, Key: key, ResponseCode: &code, ResponseBody: body,
	}); err != nil {
		return nil, store.Wrap(err, "save idempotent outcome")
	}
	return resp, herr
}

// begin claims the key, or returns the finished record to replay, or the
// error for a mismatch or a request in flight.
func (m *Middleware) begin(ctx context.Context, p auth.Principal, key string, hash []byte) (*db.AdminIdempotencyKey, error) {
	_, err := m.Store.InsertIdempotencyKey(ctx, db.InsertIdempotencyKeyParams{
		OrganizationID: p.OrganizationID, Livemode: p.Livemode, Key: key, RequestHash: hash})
	if err == nil {
		return nil, nil
	}
	if !store.IsNoRows(err) {
		return nil, store.Wrap(err, "claim idempotency key")
	}
	_, err = m.Store.TakeOverIdempotencyKey(ctx, db.TakeOverIdempotencyKeyParams{
		RequestHash: hash, OrganizationID: p.OrganizationID, Livemode: p.Livemode, Key: key, LeaseSeconds: lease.Seconds()})
	if err == nil {
		return nil, nil
	}
	if !store.IsNoRows(err) {
		return nil, store.Wrap(err, "take over idempotency key")
	}
	rec, err := m.Store.GetIdempotencyKey(ctx, db.GetIdempotencyKeyParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, Key: key})
	switch {
	case store.IsNoRows(err): // deleted in between: the first request failed; let the client retry
		return nil, errs.E(errs.IdempotencyInFlight, "idempotency_key_in_use", "A request with this Idempotency-Key just failed; retry it.")
	case err != nil:
		return nil, store.Wrap(err, "read idempotency key")
	case string(rec.RequestHash) != string(hash):
		return nil, errs.E(errs.IdempotencyMismatch, "idempotency_key_reused",
			"Keys for idempotent requests can only be used with the same parameters they were first used with.")
	case rec.ResponseCode == nil:
		return nil, errs.E(errs.IdempotencyInFlight, "idempotency_key_in_use",
			"A request with this Idempotency-Key is still being processed; retry after it completes.")
	}
	return &rec, nil
}

func (m *Middleware) replay(ctx context.Context, method string, rec *db.AdminIdempotencyKey) (any, error) {
	if err := grpc.SetHeader(ctx, metadata.Pairs(ReplayedHeader, "true")); err != nil {
		return nil, fmt.Errorf("set header: %w", err)
	}
	if *rec.ResponseCode == codeError {
		var se storedError
		if err := json.Unmarshal(rec.ResponseBody, &se); err != nil {
			return nil, fmt.Errorf("stored idempotent error: %w", err)
		}
		return nil, &errs.Error{Kind: se.Kind, Code: se.Code, Param: se.Param, Message: se.Message}
	}
	resp, err := newResponse(method)
	if err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(rec.ResponseBody, resp); err != nil {
		return nil, fmt.Errorf("stored idempotent response: %w", err)
	}
	if err := grpc.SetHeader(ctx, metadata.Pairs(HTTPCodeHeader, fmt.Sprint(*rec.ResponseCode))); err != nil {
		return nil, fmt.Errorf("set header: %w", err)
	}
	return resp, nil
}

func outcome(resp any, herr error) (int32, []byte, error) {
	if herr != nil {
		e, _ := errs.As(herr)
		b, err := json.Marshal(storedError{Kind: e.Kind, Code: e.Code, Param: e.Param, Message: e.Message})
		return codeError, b, err
	}
	b, err := proto.Marshal(resp.(proto.Message))
	return 200, b, err
}

// requestHash identifies "the same parameters": the method and the request
// message in deterministic wire form (so key order in the JSON body does not
// matter).
func requestHash(method string, m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("hash request: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil), nil
}

// newResponse makes an empty response message of a method ("/pkg.Svc/Name").
func newResponse(method string) (proto.Message, error) {
	full := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", "."))
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(full)
	if err != nil {
		return nil, fmt.Errorf("method %s: %w", method, err)
	}
	md, ok := d.(protoreflect.MethodDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a method", method)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		return nil, fmt.Errorf("response of %s: %w", method, err)
	}
	return mt.New().Interface(), nil
}

func ptr[T any](v T) *T { return &v }
