package web

import (
	"fmt"
	"strings"

	"golang.org/x/text/language"
)

// The hosted page speaks English and French. Messages live in two Go maps
// with the same keys (a test checks it); French typography uses a no-break
// space (\u00a0) before ":" "?" "!" and inside "« »".

// defaultLang is the page language when nothing better is known.
const defaultLang = "en"

// supportedLangs are the page languages, the default first: the matcher
// falls back to the first entry.
var supportedLangs = []language.Tag{language.English, language.French}

// langMatcher picks the page language from an Accept-Language header. It is
// built once: a Matcher is safe for concurrent use.
var langMatcher = language.NewMatcher(supportedLangs)

// negotiateLang chooses "en" or "fr": the session's locale when it names
// one of them (a region or script is ignored, so "fr-CA" means "fr"),
// otherwise the browser's best Accept-Language match, otherwise "en".
func negotiateLang(sessionLocale, acceptLanguage string) string {
	if l := baseLang(sessionLocale); l != "" {
		return l
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return defaultLang
	}
	_, idx, conf := langMatcher.Match(tags...)
	if conf == language.No || idx < 0 || idx >= len(supportedLangs) {
		return defaultLang
	}
	base, _ := supportedLangs[idx].Base()
	return base.String()
}

// baseLang returns "en" or "fr" when locale is a well-formed tag whose
// language is one of them, and "" otherwise (empty, "auto", "de", junk).
func baseLang(locale string) string {
	locale = strings.TrimSpace(strings.ReplaceAll(locale, "_", "-"))
	// 35 characters is far more than any real tag needs ("fr-Latn-CA-x-…");
	// longer input is not worth parsing.
	if locale == "" || len(locale) > 35 {
		return ""
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return ""
	}
	base, conf := tag.Base()
	if conf != language.Exact {
		return ""
	}
	switch l := base.String(); l {
	case "en", "fr":
		return l
	}
	return ""
}

// translator looks messages up in one language's catalog.
type translator struct {
	lang string
	msgs map[string]string
}

// newTranslator returns the translator for lang ("en" or "fr"); any other
// value gets English.
func newTranslator(lang string) translator {
	msgs, ok := catalogs[lang]
	if !ok {
		lang, msgs = defaultLang, catalogs[defaultLang]
	}
	return translator{lang: lang, msgs: msgs}
}

// T returns the message for key, formatted with args (fmt verbs) when there
// are any. A key missing from the language falls back to English, then to
// the key itself, so a gap shows up on the page instead of failing it.
func (tr translator) T(key string, args ...any) string {
	msg, ok := tr.msgs[key]
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

// catalogs holds every page message by language, then key. Keys are
// grouped by prefix: err.* (form validation), decline.* (provider results,
// shown as the form error), state.* (what happened to the session), and the
// page texts by view.
var catalogs = map[string]map[string]string{
	"en": {
		// Form validation, shown next to the field and in the summary.
		"err.summary":            "There is a problem",
		"err.item":               "%s: %s",
		"err.required":           "This field is required.",
		"err.too_long":           "This is too long (at most %d characters).",
		"err.name":               "Enter your full name.",
		"err.email":              "Enter a valid email address, like name@example.com.",
		"err.country":            "Choose a country from the list.",
		"err.postal_code":        "Enter a valid postal code for this country.",
		"err.region":             "Enter the state or province code, like CA or QC, or leave it empty.",
		"err.form":               "The form could not be read. Nothing was charged; please try again.",
		"err.card_number":        "Enter a valid card number.",
		"err.card_exp":           "Enter the expiry date as MM/YY.",
		"err.card_cvc":           "Enter the 3 or 4 digit security code.",
		"err.method":             "Choose a payment method.",
		"err.csrf":               "Your session on this page expired; please try again.",
		"err.rate_limited":       "Too many payment attempts. Wait a few minutes before trying again.",
		"err.total_too_large":    "With the tax for this address the total is more than can be paid in one payment. Nothing was charged.",
		"err.unavailable":        "Payments are temporarily unavailable. Nothing was charged; please try again in a moment.",
		"err.characters":         "This contains characters that cannot be used.",
		"err.card_live":          "Card details cannot be entered on this page. Choose another payment method.",
		"err.confirmation_token": "Card payment needs JavaScript. Turn it on and reload the page, or choose another payment method.",

		// Provider results, shown as the form error.
		"decline.card_declined":          "Your card was declined. Try another card or payment method.",
		"decline.insufficient_funds":     "Your card has insufficient funds. Try another card or payment method.",
		"decline.authentication_failed":  "Your bank could not authenticate the payment. Nothing was charged; try again or use another card.",
		"decline.test_card_unknown":      "Only the test cards listed above work in test mode.",
		"decline.invalid_number":         "The card number is not valid. Check it and try again.",
		"decline.expired_card":           "Your card has expired. Try another card.",
		"decline.invalid_expiry":         "The expiry date is not valid. Check it and try again.",
		"decline.invalid_cvc":            "The security code is not valid. Check it and try again.",
		"decline.generic":                "The payment could not be completed. Nothing was charged; try again or use another payment method.",
		"decline.payment_not_authorised": "The Direct Debit was not set up, so nothing will be collected. Try again or use another payment method.",
		"decline.direct_debit_failed":    "The Direct Debit could not be collected from your bank account. Try again or use another payment method.",

		// What happened to the session meanwhile.
		"state.closed": "This checkout was completed or expired in the meantime. Nothing was charged.",

		// Every page.
		"page.title":            "Pay %s",
		"page.error_prefix":     "Error:",
		"page.footer":           "Secure checkout",
		"test.banner":           "Test mode: no real payment is made.",
		"test.cards":            "Test cards",
		"test.cards_hint":       "Use any future expiry date and any 3-digit security code.",
		"test.col_number":       "Card number",
		"test.col_result":       "Result",
		"test.success":          "Succeeds",
		"test.declined":         "Declined",
		"test.insufficient":     "Insufficient funds",
		"test.challenge":        "Asks for authentication",
		"test.async":            "Succeeds later",
		"test.renewals_fail":    "Succeeds; its renewals are declined",
		"test.processing_error": "Processing error on a route's first account, then succeeds on the next",
		"nav.return":            "Return to %s",
		"payment.card":          "%s ending in %s",
		"payment.brand.card":    "Card",

		// The payment form.
		"summary.heading":                   "Order summary",
		"summary.reference":                 "Reference",
		"items.caption":                     "Items",
		"items.item":                        "Item",
		"items.amount":                      "Amount",
		"items.qty":                         "%d × %s",
		"items.quantity":                    "Quantity",
		"items.update_quantity":             "Update",
		"err.quantity_range":                "Choose a quantity from %d to %d.",
		"err.quantity_total":                "With this quantity the total is more than can be paid in one payment.",
		"err.quantity_discount":             "With this quantity the order no longer meets the discount's terms (its minimum amount, or something left to pay).",
		"totals.subtotal":                   "Subtotal",
		"totals.tax":                        "Tax",
		"totals.included":                   "Tax included",
		"totals.total":                      "Total",
		"totals.discount":                   "Discount",
		"field.promotion_code":              "Promotion code",
		"promo.apply":                       "Apply",
		"cf.legend":                         "Additional information",
		"cascade.heading":                   "Your payment was declined. You can take this offer instead:",
		"cascade.switch":                    "Switch to this offer",
		"cascade.unavailable":               "This offer is no longer available.",
		"cf.optional":                       "(optional)",
		"cf.choose":                         "Choose…",
		"cf.missing":                        "Fill in this field.",
		"cf.too_long":                       "This answer is too long.",
		"cf.not_numeric":                    "Enter digits only.",
		"cf.not_an_option":                  "Choose one of the options.",
		"cf.invalid":                        "This answer is not valid.",
		"promo.discount_unknown":            "This promotion code is not valid.",
		"promo.discount_inactive":           "This promotion code is no longer active.",
		"promo.discount_expired":            "This promotion code has expired.",
		"promo.discount_used_up":            "This promotion code has been used up.",
		"promo.discount_not_applicable":     "This promotion code does not apply to this order.",
		"promo.discount_minimum_amount":     "This promotion code needs a larger order.",
		"promo.discount_first_time_only":    "This promotion code is for first-time customers only.",
		"promo.discount_other_customer":     "This promotion code is for another customer.",
		"promo.discount_already_applied":    "A discount is already applied to this order.",
		"promo.promotion_codes_not_allowed": "This checkout does not take promotion codes.",
		"form.heading":                      "Payment details",
		"form.billing":                      "Billing details",
		"form.update_total":                 "Update total",
		"form.cancel":                       "Cancel and return to %s",
		"form.no_methods":                   "Payment is not yet available for this checkout: none of its payment methods can be used here yet. Nothing was charged. Please contact the seller.",
		"field.name":                        "Full name",
		"field.email":                       "Email",
		"field.country":                     "Country",
		"field.choose_country":              "Choose a country",
		"field.postal_code":                 "Postal code",
		"field.region":                      "State or province code, e.g. CA (optional)",
		"field.card_number":                 "Card number",
		"field.card_exp":                    "Expiry date (MM/YY)",
		"field.card_exp_placeholder":        "MM/YY",
		"field.card_cvc":                    "Security code (CVC)",
		"method.legend":                     "Payment method",
		"method.card":                       "Card",
		"method.bank_transfer":              "Bank transfer",
		"method.direct_debit":               "Direct Debit",
		"dd.explain":                        "After you continue, GoCardless asks for your bank details to set up the Direct Debit, then brings you back here. The payment is collected from your bank account in a few working days.",
		"card.legend":                       "Card details",
		"stripe.noscript":                   "Card payment needs JavaScript, which is off in this browser. Turn it on and reload the page, or choose another payment method.",
		"stripe.unavailable":                "Card payment could not be loaded. Check your connection and reload the page, or choose another payment method. Nothing was charged.",
		"stripe.failed":                     "The card payment did not go through. Nothing was charged; please try again.",
		"bank.explain":                      "After you continue, we show the bank details and a reference to include with your transfer. Your order is confirmed when the money arrives.",
		"pay.button":                        "Pay %s",
		"pay.button_plan":                   "Pay",
		"pay.busy":                          "Processing…",

		// The authentication step.
		"challenge.heading": "Confirm your payment",
		"challenge.explain": "Your bank asks you to confirm the payment of %s to %s.",
		"challenge.test":    "Test mode: choose whether the authentication succeeds.",
		"challenge.approve": "Approve",
		"challenge.fail":    "Fail",

		// A payment whose result comes later.
		"processing.heading": "Payment processing",
		"processing.explain": "We are waiting for the confirmation of your payment of %s. There is nothing more to do.",
		"processing.refresh": "This page updates itself.",

		// Mobile money (Paystack).
		"field.network":                 "Network",
		"field.phone":                   "Mobile-money number",
		"field.otp":                     "Code",
		"method.mobile_money":           "Mobile money",
		"mm.legend":                     "Mobile money",
		"mm.network":                    "Network",
		"mm.network_choose":             "Choose your network",
		"mm.phone":                      "Mobile-money number",
		"mm.explain":                    "After you continue, your network sends a prompt or a code to this phone.",
		"err.mm_phone_required":         "Enter your mobile-money phone number.",
		"err.mm_phone_invalid":          "Enter a mobile number of this country: 0 and 9 digits, or the + international format.",
		"err.mm_network_required":       "Choose your mobile-money network.",
		"err.mm_network_invalid":        "Choose one of the networks listed.",
		"err.mm_currency_not_supported": "Mobile money is not available for this currency.",
		"err.otp":                       "Enter the code you received, digits only.",
		"decline.mobile_money_declined": "Your mobile-money payment was declined. Nothing was charged; try again or use another payment method.",
		"decline.payment_timeout":       "The payment was not approved in time. Nothing was charged; you can try again.",
		"mm.otp_heading":                "Enter the code",
		"mm.otp_explain":                "Your network sent a code to your phone to confirm the payment of %s.",
		"mm.otp_submit":                 "Confirm",
		"mm.wait_heading":               "Approve the payment on your phone",
		"mm.wait_explain":               "A prompt to pay %s was sent to your phone. Approve it there, with your mobile-money PIN.",
		"mm.wait_refresh":               "This page updates itself until the payment is confirmed.",
		"mm.wait_check":                 "Check now",
		"processing.check":              "Check again",
		"processing.dd":                 "Your Direct Debit is set up. The payment is collected from your bank account in a few working days; your order is confirmed then.",

		// Bank transfer instructions.
		"bank.heading":      "Pay by bank transfer",
		"bank.intro":        "To complete your order, send a bank transfer with these details.",
		"bank.amount":       "Exact amount to send",
		"bank.reference":    "Reference to include with the transfer",
		"bank.instructions": "Bank details",
		"bank.after":        "Your order is confirmed when the transfer arrives, which can take a few working days.",

		// Receipt and closed sessions.
		"paid.heading":        "Payment successful",
		"paid.explain":        "Thank you. Your payment to %s is complete.",
		"paid.amount":         "Amount paid",
		"paid.method":         "Paid with",
		"paid.payment_id":     "Payment ID",
		"paid.continue":       "Continue to %s",
		"return.heading":      "Returning you to the seller",
		"return.explain":      "Your payment to %s is complete. If you are not taken back automatically, continue below.",
		"installments.legend": "Installments",
		"installments.single": "Single payment of %s",
		"installments.even":   "%d installments of %s (total %s)",
		"installments.uneven": "%d installments: %d of %s and a last one of %s (total %s)",
		"err.installments":    "Choose one of the installment options offered.",
		"completed.heading":   "Already paid",
		"completed.explain":   "This checkout has already been completed. There is nothing more to pay.",
		"expired.heading":     "This checkout has expired",
		"expired.explain":     "Nothing was charged. Return to %s to start again.",
		"expired.explain_no":  "Nothing was charged. Go back to the seller's site to start again.",
		"notfound.heading":    "Page not found",
		"notfound.explain":    "This payment link is not valid. Check the link you were given, or contact the seller.",
		"unavailable.heading": "Temporarily unavailable",
		"unavailable.retry":   "Try again",
	},
	"fr": {
		"err.summary":            "Il y a un problème",
		"err.item":               "%s\u00a0: %s",
		"err.required":           "Ce champ est obligatoire.",
		"err.too_long":           "Ce texte est trop long (%d caractères au maximum).",
		"err.name":               "Saisissez votre nom complet.",
		"err.email":              "Saisissez une adresse e-mail valide, par exemple nom@exemple.fr.",
		"err.country":            "Choisissez un pays dans la liste.",
		"err.postal_code":        "Saisissez un code postal valide pour ce pays.",
		"err.region":             "Saisissez le code de l’État ou de la province, par exemple CA ou QC, ou laissez le champ vide.",
		"err.form":               "Le formulaire n’a pas pu être lu. Aucun montant n’a été débité\u00a0; veuillez réessayer.",
		"err.card_number":        "Saisissez un numéro de carte valide.",
		"err.card_exp":           "Saisissez la date d’expiration au format MM/AA.",
		"err.card_cvc":           "Saisissez le cryptogramme de 3 ou 4 chiffres.",
		"err.method":             "Choisissez un moyen de paiement.",
		"err.csrf":               "Votre session sur cette page a expiré\u00a0; veuillez réessayer.",
		"err.rate_limited":       "Trop de tentatives de paiement. Patientez quelques minutes avant de réessayer.",
		"err.total_too_large":    "Avec la taxe applicable à cette adresse, le total dépasse ce qui peut être payé en une fois. Aucun montant n’a été débité.",
		"err.unavailable":        "Les paiements sont momentanément indisponibles. Aucun montant n’a été débité\u00a0; réessayez dans un instant.",
		"err.characters":         "Ce champ contient des caractères non autorisés.",
		"err.card_live":          "Les données de carte ne peuvent pas être saisies sur cette page. Choisissez un autre moyen de paiement.",
		"err.confirmation_token": "Le paiement par carte nécessite JavaScript. Activez-le et rechargez la page, ou choisissez un autre moyen de paiement.",

		"decline.card_declined":          "Votre carte a été refusée. Essayez une autre carte ou un autre moyen de paiement.",
		"decline.insufficient_funds":     "Le solde de votre carte est insuffisant. Essayez une autre carte ou un autre moyen de paiement.",
		"decline.authentication_failed":  "Votre banque n’a pas pu authentifier le paiement. Aucun montant n’a été débité\u00a0; réessayez ou utilisez une autre carte.",
		"decline.test_card_unknown":      "En mode test, seules les cartes de test indiquées ci-dessus fonctionnent.",
		"decline.invalid_number":         "Le numéro de carte n’est pas valide. Vérifiez-le et réessayez.",
		"decline.expired_card":           "Votre carte a expiré. Essayez une autre carte.",
		"decline.invalid_expiry":         "La date d’expiration n’est pas valide. Vérifiez-la et réessayez.",
		"decline.invalid_cvc":            "Le cryptogramme n’est pas valide. Vérifiez-le et réessayez.",
		"decline.generic":                "Le paiement n’a pas pu aboutir. Aucun montant n’a été débité\u00a0; réessayez ou utilisez un autre moyen de paiement.",
		"decline.payment_not_authorised": "Le prélèvement n’a pas été mis en place\u00a0: rien ne sera prélevé. Réessayez ou utilisez un autre moyen de paiement.",
		"decline.direct_debit_failed":    "Le prélèvement n’a pas pu être effectué sur votre compte. Réessayez ou utilisez un autre moyen de paiement.",

		"state.closed": "Ce paiement a été finalisé ou a expiré entre-temps. Aucun montant n’a été débité.",

		"page.title":            "Payer %s",
		"page.error_prefix":     "Erreur\u00a0:",
		"page.footer":           "Paiement sécurisé",
		"test.banner":           "Mode test\u00a0: aucun paiement réel n’est effectué.",
		"test.cards":            "Cartes de test",
		"test.cards_hint":       "Utilisez n’importe quelle date d’expiration future et n’importe quel cryptogramme à 3 chiffres.",
		"test.col_number":       "Numéro de carte",
		"test.col_result":       "Résultat",
		"test.success":          "Acceptée",
		"test.declined":         "Refusée",
		"test.insufficient":     "Fonds insuffisants",
		"test.challenge":        "Demande une authentification",
		"test.async":            "Acceptée plus tard",
		"test.renewals_fail":    "Acceptée ; ses renouvellements sont refusés",
		"test.processing_error": "Erreur de traitement sur le premier compte d'une route, puis acceptée sur le suivant",
		"nav.return":            "Revenir à %s",
		"payment.card":          "%s se terminant par %s",
		"payment.brand.card":    "Carte",

		"summary.heading":                   "Récapitulatif de la commande",
		"summary.reference":                 "Référence",
		"items.caption":                     "Articles",
		"items.item":                        "Article",
		"items.amount":                      "Montant",
		"items.qty":                         "%d × %s",
		"items.quantity":                    "Quantité",
		"items.update_quantity":             "Mettre à jour",
		"err.quantity_range":                "Choisissez une quantité de %d à %d.",
		"err.quantity_total":                "Avec cette quantité, le total dépasse ce qui peut être payé en une fois.",
		"err.quantity_discount":             "Avec cette quantité, la commande ne remplit plus les conditions de la remise (son montant minimum, ou un reste à payer).",
		"totals.subtotal":                   "Sous-total",
		"totals.tax":                        "Taxes",
		"totals.included":                   "Dont taxes",
		"totals.total":                      "Total",
		"totals.discount":                   "Remise",
		"field.promotion_code":              "Code promotionnel",
		"promo.apply":                       "Appliquer",
		"cf.legend":                         "Informations complémentaires",
		"cascade.heading":                   "Votre paiement a été refusé. Vous pouvez choisir cette offre à la place :",
		"cascade.switch":                    "Passer à cette offre",
		"cascade.unavailable":               "Cette offre n’est plus disponible.",
		"cf.optional":                       "(facultatif)",
		"cf.choose":                         "Choisir…",
		"cf.missing":                        "Veuillez remplir ce champ.",
		"cf.too_long":                       "Cette réponse est trop longue.",
		"cf.not_numeric":                    "Saisissez uniquement des chiffres.",
		"cf.not_an_option":                  "Choisissez l’une des options.",
		"cf.invalid":                        "Cette réponse n’est pas valide.",
		"promo.discount_unknown":            "Ce code promotionnel n’est pas valide.",
		"promo.discount_inactive":           "Ce code promotionnel n’est plus actif.",
		"promo.discount_expired":            "Ce code promotionnel a expiré.",
		"promo.discount_used_up":            "Ce code promotionnel a atteint sa limite d’utilisation.",
		"promo.discount_not_applicable":     "Ce code promotionnel ne s’applique pas à cette commande.",
		"promo.discount_minimum_amount":     "Ce code promotionnel demande une commande plus importante.",
		"promo.discount_first_time_only":    "Ce code promotionnel est réservé aux nouveaux clients.",
		"promo.discount_other_customer":     "Ce code promotionnel est destiné à un autre client.",
		"promo.discount_already_applied":    "Une remise est déjà appliquée à cette commande.",
		"promo.promotion_codes_not_allowed": "Cette commande n’accepte pas de code promotionnel.",
		"form.heading":                      "Informations de paiement",
		"form.billing":                      "Coordonnées de facturation",
		"form.update_total":                 "Mettre à jour le total",
		"form.cancel":                       "Annuler et revenir à %s",
		"form.no_methods":                   "Le paiement n’est pas encore disponible pour cette commande\u00a0: aucun de ses moyens de paiement n’est encore utilisable ici. Aucun montant n’a été débité. Veuillez contacter le vendeur.",
		"field.name":                        "Nom complet",
		"field.email":                       "Adresse e-mail",
		"field.country":                     "Pays",
		"field.choose_country":              "Choisissez un pays",
		"field.postal_code":                 "Code postal",
		"field.region":                      "Code de l’État ou de la province, p. ex. QC (facultatif)",
		"field.card_number":                 "Numéro de carte",
		"field.card_exp":                    "Date d’expiration (MM/AA)",
		"field.card_exp_placeholder":        "MM/AA",
		"field.card_cvc":                    "Cryptogramme (CVC)",
		"method.legend":                     "Moyen de paiement",
		"method.card":                       "Carte bancaire",
		"method.bank_transfer":              "Virement bancaire",
		"method.direct_debit":               "Prélèvement",
		"dd.explain":                        "Après avoir continué, GoCardless vous demande vos coordonnées bancaires pour mettre en place le prélèvement, puis vous ramène ici. Le paiement est prélevé sur votre compte sous quelques jours ouvrés.",
		"card.legend":                       "Informations de la carte",
		"stripe.noscript":                   "Le paiement par carte nécessite JavaScript, désactivé dans ce navigateur. Activez-le et rechargez la page, ou choisissez un autre moyen de paiement.",
		"stripe.unavailable":                "Le paiement par carte n’a pas pu être chargé. Vérifiez votre connexion et rechargez la page, ou choisissez un autre moyen de paiement. Rien n’a été débité.",
		"stripe.failed":                     "Le paiement par carte n’a pas abouti. Rien n’a été débité ; veuillez réessayer.",
		"bank.explain":                      "Après avoir continué, vous verrez les coordonnées bancaires et une référence à indiquer dans votre virement. Votre commande est confirmée à réception des fonds.",
		"pay.button":                        "Payer %s",
		"pay.button_plan":                   "Payer",
		"pay.busy":                          "Traitement…",

		"challenge.heading": "Confirmez votre paiement",
		"challenge.explain": "Votre banque vous demande de confirmer le paiement de %s à %s.",
		"challenge.test":    "Mode test\u00a0: choisissez si l’authentification réussit.",
		"challenge.approve": "Approuver",
		"challenge.fail":    "Faire échouer",

		"processing.heading": "Paiement en cours de traitement",
		"processing.explain": "Nous attendons la confirmation de votre paiement de %s. Vous n’avez plus rien à faire.",
		"processing.refresh": "Cette page se met à jour automatiquement.",

		// Mobile money (Paystack).
		"field.network":                 "Réseau",
		"field.phone":                   "Numéro mobile money",
		"field.otp":                     "Code",
		"method.mobile_money":           "Mobile money",
		"mm.legend":                     "Mobile money",
		"mm.network":                    "Réseau",
		"mm.network_choose":             "Choisissez votre réseau",
		"mm.phone":                      "Numéro mobile money",
		"mm.explain":                    "Après avoir continué, votre opérateur envoie une demande ou un code sur ce téléphone.",
		"err.mm_phone_required":         "Saisissez votre numéro de téléphone mobile money.",
		"err.mm_phone_invalid":          "Saisissez un numéro mobile de ce pays : 0 suivi de 9 chiffres, ou le format international avec +.",
		"err.mm_network_required":       "Choisissez votre réseau mobile money.",
		"err.mm_network_invalid":        "Choisissez l’un des réseaux proposés.",
		"err.mm_currency_not_supported": "Le mobile money n’est pas disponible dans cette devise.",
		"err.otp":                       "Saisissez le code reçu, en chiffres uniquement.",
		"decline.mobile_money_declined": "Votre paiement mobile money a été refusé. Aucun montant n’a été débité ; réessayez ou utilisez un autre moyen de paiement.",
		"decline.payment_timeout":       "Le paiement n’a pas été approuvé à temps. Aucun montant n’a été débité ; vous pouvez réessayer.",
		"mm.otp_heading":                "Saisissez le code",
		"mm.otp_explain":                "Votre opérateur a envoyé un code sur votre téléphone pour confirmer le paiement de %s.",
		"mm.otp_submit":                 "Confirmer",
		"mm.wait_heading":               "Approuvez le paiement sur votre téléphone",
		"mm.wait_explain":               "Une demande de paiement de %s a été envoyée sur votre téléphone. Approuvez-la avec votre code mobile money.",
		"mm.wait_refresh":               "Cette page se met à jour jusqu’à la confirmation du paiement.",
		"mm.wait_check":                 "Vérifier maintenant",
		"processing.check":              "Vérifier à nouveau",
		"processing.dd":                 "Votre prélèvement est en place. Le paiement est prélevé sur votre compte sous quelques jours ouvrés ; votre commande est confirmée à ce moment-là.",

		"bank.heading":      "Payer par virement bancaire",
		"bank.intro":        "Pour finaliser votre commande, effectuez un virement avec les informations suivantes.",
		"bank.amount":       "Montant exact à virer",
		"bank.reference":    "Référence à indiquer dans le virement",
		"bank.instructions": "Coordonnées bancaires",
		"bank.after":        "Votre commande est confirmée à réception du virement, ce qui peut prendre quelques jours ouvrés.",

		"paid.heading":        "Paiement réussi",
		"paid.explain":        "Merci. Votre paiement à %s est effectué.",
		"paid.amount":         "Montant payé",
		"paid.method":         "Payé avec",
		"paid.payment_id":     "Identifiant du paiement",
		"paid.continue":       "Continuer vers %s",
		"return.heading":      "Retour vers le vendeur",
		"return.explain":      "Votre paiement à %s est effectué. Si vous n’êtes pas redirigé automatiquement, continuez ci-dessous.",
		"installments.legend": "Paiement en plusieurs fois",
		"installments.single": "Paiement unique de %s",
		"installments.even":   "%d mensualités de %s (total %s)",
		"installments.uneven": "%d mensualités : %d de %s et une dernière de %s (total %s)",
		"err.installments":    "Choisissez l’une des options de paiement en plusieurs fois proposées.",
		"completed.heading":   "Déjà payé",
		"completed.explain":   "Ce paiement a déjà été effectué. Il n’y a plus rien à payer.",
		"expired.heading":     "Ce lien de paiement a expiré",
		"expired.explain":     "Aucun montant n’a été débité. Revenez sur %s pour recommencer.",
		"expired.explain_no":  "Aucun montant n’a été débité. Revenez sur le site du vendeur pour recommencer.",
		"notfound.heading":    "Page introuvable",
		"notfound.explain":    "Ce lien de paiement n’est pas valide. Vérifiez le lien reçu ou contactez le vendeur.",
		"unavailable.heading": "Service momentanément indisponible",
		"unavailable.retry":   "Réessayer",
	},
}
