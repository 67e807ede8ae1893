package dashboard

import (
	"fmt"
	"net/http"

	"golang.org/x/text/language"
)

// The dashboard speaks English and French: the language cookie set by the
// footer's switch, else the browser's Accept-Language, else English. French
// typography puts a no-break space (\u00a0) before ":" "?" "!".

const defaultLang = "en"

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.French})

// pageLang is the language of the page for r.
func pageLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		if _, ok := catalogs[c.Value]; ok {
			return c.Value
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return defaultLang
	}
	_, idx, conf := langMatcher.Match(tags...)
	if conf == language.No || idx == 0 {
		return defaultLang
	}
	return "fr"
}

// setLang remembers the chosen language for a year and goes back to the
// page it was chosen on. A GET: it changes a display preference only.
func (h *Handler) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.URL.Query().Get("to")
	if _, ok := catalogs[lang]; ok {
		http.SetCookie(w, h.cookie(langCookie, lang, 365*24*3600))
	}
	back := r.URL.Query().Get("back")
	if back != Prefix+"/login" && back != Prefix+"/login?" {
		back = safeNext(back)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// translator looks messages up in one language.
type translator string

// T returns the message for key in the language, formatted with args; a
// key missing there falls back to English, then to the key itself.
func (tr translator) T(key string, args ...any) string {
	msg, ok := catalogs[string(tr)][key]
	if !ok {
		if msg, ok = catalogs[defaultLang][key]; !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// catalogs holds every message by language, then key (a test checks that
// both languages have the same keys).
var catalogs = map[string]map[string]string{
	"en": {
		"app.name":                    "Tillpoint",
		"nav.skip":                    "Skip to content",
		"nav.checkouts":               "Checkouts",
		"nav.create":                  "Create checkout",
		"nav.signed_in":               "Signed in as %s (%s)",
		"nav.logout":                  "Log out",
		"nav.logout_all":              "Log out everywhere",
		"nav.mode":                    "Mode",
		"mode.test":                   "Test mode",
		"mode.live":                   "Live mode",
		"mode.to_live":                "Switch to live mode",
		"mode.to_test":                "Switch to test mode",
		"mode.banner":                 "Test mode: you are looking at test data. No real money moves.",
		"lang.switch":                 "Français",
		"lang.label":                  "Langue",
		"role.owner":                  "owner",
		"role.developer":              "developer",
		"role.support":                "support",
		"role.viewer":                 "viewer",
		"login.title":                 "Sign in",
		"login.heading":               "Sign in to your dashboard",
		"login.email":                 "Email",
		"login.password":              "Password",
		"login.submit":                "Sign in",
		"login.failed":                "The email or password is not right.",
		"login.limited":               "Too many sign-in attempts. Wait a few minutes, then try again.",
		"login.expired":               "The form expired. Please sign in again.",
		"login.loggedout":             "You are signed out.",
		"list.title":                  "Checkouts",
		"list.filters":                "Filters",
		"list.search":                 "Search",
		"list.search_hint":            "Session id, payment id, order id, reference or customer email",
		"list.site":                   "Site",
		"list.any":                    "Any",
		"list.status":                 "Status",
		"list.payment":                "Payment",
		"list.from":                   "Created from (UTC)",
		"list.to":                     "Created to (UTC)",
		"list.apply":                  "Apply",
		"list.reset":                  "Reset",
		"list.empty":                  "No checkouts match.",
		"list.caption":                "Checkouts, newest first",
		"list.col_created":            "Created",
		"list.col_id":                 "Session",
		"list.col_amount":             "Amount",
		"list.col_status":             "Status",
		"list.col_customer":           "Customer",
		"list.col_site":               "Site",
		"list.newer":                  "Newer",
		"list.older":                  "Older",
		"list.pages":                  "Pages",
		"status.open":                 "Open",
		"status.complete":             "Complete",
		"status.expired":              "Expired",
		"status.paid":                 "Paid",
		"pay.unpaid":                  "Unpaid",
		"pay.paid":                    "Paid",
		"detail.title":                "Checkout %s",
		"detail.back":                 "All checkouts",
		"detail.share":                "Payment link",
		"detail.share_hint":           "Send this link to the customer, or let them scan the code.",
		"detail.copy":                 "Copy link",
		"detail.copied":               "Copied",
		"detail.open":                 "Open payment page",
		"detail.qr":                   "QR code of the payment link",
		"detail.created":              "The checkout was created.",
		"detail.expired":              "The checkout was expired; it can no longer be paid.",
		"detail.summary":              "Summary",
		"detail.items":                "Items",
		"detail.item":                 "Item",
		"detail.qty":                  "Quantity",
		"detail.unit":                 "Unit price",
		"detail.amount":               "Amount",
		"detail.subtotal":             "Subtotal",
		"detail.tax":                  "Tax",
		"detail.total":                "Total",
		"detail.customer":             "Customer",
		"detail.email":                "Email",
		"detail.customer_id":          "Customer id",
		"detail.phone":                "Phone",
		"detail.none":                 "None",
		"detail.details":              "Details",
		"detail.site":                 "Site",
		"detail.status":               "Status",
		"detail.payment_status":       "Payment status",
		"detail.reference":            "Reference",
		"detail.order_id":             "Order id",
		"detail.created_at":           "Created",
		"detail.expires_at":           "Expires",
		"detail.completed_at":         "Completed",
		"detail.mode":                 "Mode",
		"detail.locale":               "Page language",
		"detail.methods":              "Payment methods",
		"detail.urls":                 "URLs",
		"detail.success_url":          "Success URL",
		"detail.cancel_url":           "Cancel URL",
		"detail.notify_url":           "Notify URL",
		"detail.metadata":             "Metadata",
		"detail.key":                  "Key",
		"detail.value":                "Value",
		"detail.payments":             "Payments",
		"detail.no_payments":          "No payment yet.",
		"detail.payments_unavailable": "Payments could not be loaded just now. Reload the page to try again.",
		"detail.pay_id":               "Payment",
		"detail.pay_method":           "Method",
		"detail.pay_status":           "Status",
		"detail.expire":               "Expire checkout",
		"detail.expire_hint":          "The customer will no longer be able to pay this checkout.",
		"new.title":                   "Create checkout",
		"new.intro":                   "Create a payment link for an invoice or a personal order. The customer pays on the hosted page.",
		"new.site":                    "Site",
		"new.currency":                "Currency",
		"new.currency_hint":           "Three-letter code, like EUR. Empty: the site's currency.",
		"new.items":                   "Line items",
		"new.item_name":               "Item %d name",
		"new.item_price":              "Item %d unit price",
		"new.item_qty":                "Item %d quantity",
		"new.name":                    "Name",
		"new.price":                   "Unit price",
		"new.qty":                     "Quantity",
		"new.remove":                  "Remove item %d",
		"new.add":                     "Add an item",
		"new.email":                   "Customer email (optional)",
		"new.expiry":                  "Expires in (hours)",
		"new.expiry_hint":             "1 to 720 hours. Empty: 24 hours.",
		"new.order_id":                "Order id (optional)",
		"new.metadata":                "Metadata (optional)",
		"new.metadata_hint":           "One key=value per line.",
		"new.submit":                  "Create checkout",
		"new.errors":                  "There is a problem",
		"new.no_sites":                "This organization has no site in this mode yet. A site is needed to take payments.",
		"err.required":                "Enter a value.",
		"err.amount":                  "Enter an amount like 12.50, with at most %d decimals for %s.",
		"err.integer":                 "Enter a whole number.",
		"err.metadata":                "Write each line as key=value.",
		"error.title.403":             "Not allowed",
		"error.title.404":             "Page not found",
		"error.title.429":             "Too many requests",
		"error.title.500":             "Something went wrong",
		"error.text.403":              "Your role does not allow this, or the form expired. Go back, reload the page, and try again.",
		"error.text.404":              "There is nothing here, or it belongs to another organization or mode.",
		"error.text.429":              "Wait a moment, then try again.",
		"error.text.500":              "An internal error occurred. Try again in a moment.",
		"error.home":                  "Go to Checkouts",
	},
	"fr": {
		"app.name":                    "Tillpoint",
		"nav.skip":                    "Aller au contenu",
		"nav.checkouts":               "Paiements",
		"nav.create":                  "Créer un paiement",
		"nav.signed_in":               "Connecté en tant que %s (%s)",
		"nav.logout":                  "Se déconnecter",
		"nav.logout_all":              "Se déconnecter partout",
		"nav.mode":                    "Mode",
		"mode.test":                   "Mode test",
		"mode.live":                   "Mode réel",
		"mode.to_live":                "Passer en mode réel",
		"mode.to_test":                "Passer en mode test",
		"mode.banner":                 "Mode test\u00a0: ce sont des données de test. Aucun argent réel ne circule.",
		"lang.switch":                 "English",
		"lang.label":                  "Language",
		"role.owner":                  "propriétaire",
		"role.developer":              "développeur",
		"role.support":                "support",
		"role.viewer":                 "lecteur",
		"login.title":                 "Connexion",
		"login.heading":               "Connexion au tableau de bord",
		"login.email":                 "E-mail",
		"login.password":              "Mot de passe",
		"login.submit":                "Se connecter",
		"login.failed":                "L’e-mail ou le mot de passe est incorrect.",
		"login.limited":               "Trop de tentatives de connexion. Patientez quelques minutes puis réessayez.",
		"login.expired":               "Le formulaire a expiré. Veuillez vous reconnecter.",
		"login.loggedout":             "Vous êtes déconnecté.",
		"list.title":                  "Paiements",
		"list.filters":                "Filtres",
		"list.search":                 "Rechercher",
		"list.search_hint":            "Identifiant de session, de paiement, de commande, référence ou e-mail du client",
		"list.site":                   "Site",
		"list.any":                    "Tous",
		"list.status":                 "Statut",
		"list.payment":                "Paiement",
		"list.from":                   "Créé à partir du (UTC)",
		"list.to":                     "Créé jusqu’au (UTC)",
		"list.apply":                  "Appliquer",
		"list.reset":                  "Réinitialiser",
		"list.empty":                  "Aucun paiement ne correspond.",
		"list.caption":                "Paiements, du plus récent au plus ancien",
		"list.col_created":            "Créé le",
		"list.col_id":                 "Session",
		"list.col_amount":             "Montant",
		"list.col_status":             "Statut",
		"list.col_customer":           "Client",
		"list.col_site":               "Site",
		"list.newer":                  "Plus récents",
		"list.older":                  "Plus anciens",
		"list.pages":                  "Pages",
		"status.open":                 "Ouvert",
		"status.complete":             "Terminé",
		"status.expired":              "Expiré",
		"status.paid":                 "Payé",
		"pay.unpaid":                  "Non payé",
		"pay.paid":                    "Payé",
		"detail.title":                "Paiement %s",
		"detail.back":                 "Tous les paiements",
		"detail.share":                "Lien de paiement",
		"detail.share_hint":           "Envoyez ce lien au client, ou faites-lui scanner le code.",
		"detail.copy":                 "Copier le lien",
		"detail.copied":               "Copié",
		"detail.open":                 "Ouvrir la page de paiement",
		"detail.qr":                   "QR code du lien de paiement",
		"detail.created":              "Le paiement a été créé.",
		"detail.expired":              "Le paiement a été expiré\u00a0; il ne peut plus être payé.",
		"detail.summary":              "Résumé",
		"detail.items":                "Articles",
		"detail.item":                 "Article",
		"detail.qty":                  "Quantité",
		"detail.unit":                 "Prix unitaire",
		"detail.amount":               "Montant",
		"detail.subtotal":             "Sous-total",
		"detail.tax":                  "Taxe",
		"detail.total":                "Total",
		"detail.customer":             "Client",
		"detail.email":                "E-mail",
		"detail.customer_id":          "Identifiant client",
		"detail.phone":                "Téléphone",
		"detail.none":                 "Aucun",
		"detail.details":              "Détails",
		"detail.site":                 "Site",
		"detail.status":               "Statut",
		"detail.payment_status":       "Statut du paiement",
		"detail.reference":            "Référence",
		"detail.order_id":             "Identifiant de commande",
		"detail.created_at":           "Créé le",
		"detail.expires_at":           "Expire le",
		"detail.completed_at":         "Terminé le",
		"detail.mode":                 "Mode",
		"detail.locale":               "Langue de la page",
		"detail.methods":              "Moyens de paiement",
		"detail.urls":                 "URL",
		"detail.success_url":          "URL de succès",
		"detail.cancel_url":           "URL d’annulation",
		"detail.notify_url":           "URL de notification",
		"detail.metadata":             "Métadonnées",
		"detail.key":                  "Clé",
		"detail.value":                "Valeur",
		"detail.payments":             "Paiements reçus",
		"detail.no_payments":          "Aucun paiement pour l’instant.",
		"detail.payments_unavailable": "Les paiements n’ont pas pu être chargés. Rechargez la page pour réessayer.",
		"detail.pay_id":               "Paiement",
		"detail.pay_method":           "Moyen",
		"detail.pay_status":           "Statut",
		"detail.expire":               "Expirer le paiement",
		"detail.expire_hint":          "Le client ne pourra plus payer ce paiement.",
		"new.title":                   "Créer un paiement",
		"new.intro":                   "Créez un lien de paiement pour une facture ou une commande personnalisée. Le client paie sur la page hébergée.",
		"new.site":                    "Site",
		"new.currency":                "Devise",
		"new.currency_hint":           "Code à trois lettres, comme EUR. Vide\u00a0: la devise du site.",
		"new.items":                   "Articles",
		"new.item_name":               "Nom de l’article %d",
		"new.item_price":              "Prix unitaire de l’article %d",
		"new.item_qty":                "Quantité de l’article %d",
		"new.name":                    "Nom",
		"new.price":                   "Prix unitaire",
		"new.qty":                     "Quantité",
		"new.remove":                  "Retirer l’article %d",
		"new.add":                     "Ajouter un article",
		"new.email":                   "E-mail du client (facultatif)",
		"new.expiry":                  "Expire dans (heures)",
		"new.expiry_hint":             "De 1 à 720 heures. Vide\u00a0: 24 heures.",
		"new.order_id":                "Identifiant de commande (facultatif)",
		"new.metadata":                "Métadonnées (facultatif)",
		"new.metadata_hint":           "Une ligne clé=valeur par entrée.",
		"new.submit":                  "Créer le paiement",
		"new.errors":                  "Il y a un problème",
		"new.no_sites":                "Cette organisation n’a pas encore de site dans ce mode. Un site est nécessaire pour encaisser.",
		"err.required":                "Saisissez une valeur.",
		"err.amount":                  "Saisissez un montant comme 12,50 ou 12.50, avec au plus %d décimales pour %s.",
		"err.integer":                 "Saisissez un nombre entier.",
		"err.metadata":                "Écrivez chaque ligne sous la forme clé=valeur.",
		"error.title.403":             "Action non autorisée",
		"error.title.404":             "Page introuvable",
		"error.title.429":             "Trop de requêtes",
		"error.title.500":             "Une erreur est survenue",
		"error.text.403":              "Votre rôle ne le permet pas, ou le formulaire a expiré. Revenez en arrière, rechargez la page et réessayez.",
		"error.text.404":              "Il n’y a rien ici, ou cela appartient à une autre organisation ou à un autre mode.",
		"error.text.429":              "Patientez un instant, puis réessayez.",
		"error.text.500":              "Une erreur interne est survenue. Réessayez dans un instant.",
		"error.home":                  "Aller aux paiements",
	},
}
