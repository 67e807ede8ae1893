package dashboard

import (
	"context"
	"net/mail"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// maxEmailLen is RFC 5321's limit on a forward path.
const maxEmailLen = 254

// NormalizeEmail trims and lower-cases an address, the form it is stored
// and looked up in.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validEmail reports whether email, normalized, is one plain address.
func validEmail(email string) bool {
	a, err := mail.ParseAddress(email)
	return err == nil && a.Address == email && len(email) <= maxEmailLen
}

// SetUser makes the user with this email a member of org with role,
// creating the user or setting their password. It is how the first owner is
// made (`admin-api users create`) and how the dev stack seeds its demo
// owner; owners invite the others from the Team page (team.go).
func SetUser(ctx context.Context, s *store.Store, email, orgID string, role Role, password string) (db.AdminDashboardUser, error) {
	email = NormalizeEmail(email)
	if !validEmail(email) {
		return db.AdminDashboardUser{}, errs.Param("email", "parameter_invalid", "%q is not an email address", email)
	}
	if _, ok := ParseRole(string(role)); !ok {
		return db.AdminDashboardUser{}, errs.Param("role", "parameter_invalid", "role must be owner, developer, support or viewer")
	}
	if n := len([]rune(password)); n < minPasswordLen || len(password) > maxPasswordLen {
		return db.AdminDashboardUser{}, errs.Param("password", "parameter_invalid",
			"a password needs %d to %d characters", minPasswordLen, maxPasswordLen)
	}
	hash, err := HashPassword(ctx, password)
	if err != nil {
		return db.AdminDashboardUser{}, err
	}
	var user db.AdminDashboardUser
	err = s.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if _, err := q.GetOrganization(ctx, orgID); store.IsNoRows(err) {
			return errs.NotFoundf("org", "no organization %q", orgID)
		} else if err != nil {
			return store.Wrap(err, "get organization")
		}
		if user, err = q.UpsertDashboardUser(ctx, db.UpsertDashboardUserParams{ID: ids.New("usr"), Email: email, PasswordHash: hash}); err != nil {
			return store.Wrap(err, "upsert user")
		}
		if _, err := q.SetDashboardMembership(ctx, db.SetDashboardMembershipParams{UserID: user.ID, OrganizationID: orgID, Role: string(role)}); err != nil {
			return store.Wrap(err, "set membership")
		}
		return nil
	})
	return user, err
}

// ResetTwoFactor turns off the two-factor sign-in of the user with email and
// deletes their recovery codes: for a person who lost both their phone and
// their recovery codes (`admin-api users reset-two-factor`). Their password
// is unchanged.
func ResetTwoFactor(ctx context.Context, s *store.Store, email string) error {
	email = NormalizeEmail(email)
	return s.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		user, err := q.GetDashboardUserByEmail(ctx, email)
		if store.IsNoRows(err) {
			return errs.NotFoundf("email", "no dashboard user %q", email)
		} else if err != nil {
			return store.Wrap(err, "get dashboard user")
		}
		if err := q.DisableDashboardUserTOTP(ctx, user.ID); err != nil {
			return store.Wrap(err, "disable TOTP")
		}
		if err := q.DeleteDashboardRecoveryCodes(ctx, user.ID); err != nil {
			return store.Wrap(err, "delete recovery codes")
		}
		return nil
	})
}
