package dashboard

// Role is what a user may do in an organization.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner     Role = "owner"     // everything, including the team
	RoleDeveloper Role = "developer" // API keys, webhooks, sites; reads everything
	RoleSupport   Role = "support"   // reads everything; creates and expires checkouts, refunds
	RoleViewer    Role = "viewer"    // reads everything, changes nothing
)

// Roles lists the roles in the order the docs and forms show them.
var Roles = []Role{RoleOwner, RoleDeveloper, RoleSupport, RoleViewer}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// Action is something a user does in the dashboard. Every handler names
// its action, and the server checks it against the table below before
// doing anything.
type Action string

// The actions. Those without a page yet are in the table already, so that
// the pages added later only name them.
const (
	ActionViewCheckouts  Action = "checkouts.view"
	ActionCreateCheckout Action = "checkouts.create"
	ActionExpireCheckout Action = "checkouts.expire"
	ActionRefund         Action = "payments.refund"
	ActionResendWebhook  Action = "webhooks.resend"
	ActionViewSites      Action = "sites.view"
	ActionManageSites    Action = "sites.manage"
	ActionManageKeys     Action = "keys.manage"
	ActionManageWebhooks Action = "webhooks.manage"
	ActionManageTeam     Action = "team.manage"
	ActionViewAudit      Action = "audit.view"
	// The catalog: products and prices, customers, coupons and promotion
	// codes. Everyone sees it; those who build the integration manage it.
	ActionViewCatalog   Action = "catalog.view"
	ActionManageCatalog Action = "catalog.manage"
	// Subscriptions and invoices: everyone sees them; cancelling one is a
	// money action, for those who refund.
	ActionViewBilling        Action = "billing.view"
	ActionCancelSubscription Action = "subscriptions.cancel"
	// Provider accounts (their secrets) and routes decide where the
	// merchant's money goes: the owners' call. Everyone who sees sites sees
	// them, without the secrets.
	ActionManageProviders Action = "providers.manage"
)

// permissions is the one table of who may do what (role × action). An
// action missing from a role's set is forbidden.
var permissions = map[Role]map[Action]bool{
	RoleOwner: set(ActionViewCheckouts, ActionViewSites, ActionCreateCheckout, ActionExpireCheckout, ActionRefund, ActionResendWebhook,
		ActionManageSites, ActionManageKeys, ActionManageWebhooks, ActionManageTeam, ActionViewAudit, ActionViewCatalog, ActionManageCatalog,
		ActionViewBilling, ActionCancelSubscription, ActionManageProviders),
	RoleDeveloper: set(ActionViewCheckouts, ActionViewSites, ActionResendWebhook, ActionManageSites, ActionManageKeys, ActionManageWebhooks,
		ActionViewCatalog, ActionManageCatalog, ActionViewBilling),
	// Support resends too: "our shop never got the order" is their call.
	RoleSupport: set(ActionViewCheckouts, ActionViewSites, ActionCreateCheckout, ActionExpireCheckout, ActionRefund, ActionResendWebhook,
		ActionViewCatalog, ActionViewBilling, ActionCancelSubscription),
	RoleViewer: set(ActionViewCheckouts, ActionViewSites, ActionViewCatalog, ActionViewBilling),
}

func set(actions ...Action) map[Action]bool {
	m := make(map[Action]bool, len(actions))
	for _, a := range actions {
		m[a] = true
	}
	return m
}

// Allowed reports whether role may do action.
func Allowed(role Role, action Action) bool { return permissions[role][action] }
