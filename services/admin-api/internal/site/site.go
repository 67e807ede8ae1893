// Package site holds the rules of merchant sites: validation of branding,
// defaults, payment methods, tax rates and custom fields. No I/O.
package site

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/country"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Limits of site fields.
const (
	maxNameLen         = 100
	maxInstructionsLen = 2000
	maxTaxRates        = 100
	maxBPS             = 10_000 // 100 %
	maxRegionLen       = 10
	maxDisplayNameLen  = 50
	maxURLLen          = 2048
	// maxInstallmentPlans: eleven counts (2 – 12) for each of a few currencies.
	maxInstallmentPlans = 100
)

// Methods the hosted page can offer.
var Methods = []string{"card", "bank_transfer", "direct_debit", "mobile_money"}

var (
	colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	regionRE = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
)

// Validate checks a whole site (after defaults or an update are applied) and
// normalises it: currency and country codes upper case, colours lower case.
func Validate(s *adminv1.Site, live bool) error {
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		return errs.Missing("name")
	}
	if utf8.RuneCountInString(s.Name) > maxNameLen {
		return errs.Param("name", "parameter_invalid", "name is limited to %d characters.", maxNameLen)
	}
	if s.Branding == nil {
		s.Branding = &adminv1.Branding{}
	}
	if u := s.Branding.LogoUrl; u != "" {
		if err := checkURL("branding[logo_url]", u, true); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		param string
		value *string
	}{{"branding[primary_color]", &s.Branding.PrimaryColor}, {"branding[accent_color]", &s.Branding.AccentColor}} {
		if *c.value != "" && !colourRE.MatchString(*c.value) {
			return errs.Param(c.param, "parameter_invalid", "Colours are given as #rrggbb, got %q.", *c.value)
		}
		*c.value = strings.ToLower(*c.value)
	}
	if s.DefaultCurrency == "" {
		return errs.Missing("default_currency")
	}
	cur, err := money.ParseCurrency(s.DefaultCurrency)
	if err != nil {
		return errs.Param("default_currency", "parameter_invalid", "%s.", err)
	}
	s.DefaultCurrency = cur.Code()
	for _, u := range []struct{ param, value string }{{"default_success_url", s.DefaultSuccessUrl}, {"default_cancel_url", s.DefaultCancelUrl}} {
		if u.value != "" {
			if err := checkURL(u.param, strings.ReplaceAll(u.value, "{CHECKOUT_SESSION_ID}", "cs_x"), live); err != nil {
				return err
			}
		}
	}
	if len(s.PaymentMethodTypes) == 0 {
		return errs.Param("payment_method_types", "parameter_invalid", "Enable at least one payment method (%s).", strings.Join(Methods, ", "))
	}
	var methods []string
	for i, m := range s.PaymentMethodTypes {
		if !slices.Contains(Methods, m) {
			return errs.Param(fmt.Sprintf("payment_method_types[%d]", i), "parameter_invalid", "Unknown payment method %q; known: %s.", m, strings.Join(Methods, ", "))
		}
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	s.PaymentMethodTypes = methods
	if utf8.RuneCountInString(s.BankTransferInstructions) > maxInstructionsLen {
		return errs.Param("bank_transfer_instructions", "parameter_invalid", "At most %d characters.", maxInstructionsLen)
	}
	if slices.Contains(methods, "bank_transfer") && strings.TrimSpace(s.BankTransferInstructions) == "" {
		return errs.Param("bank_transfer_instructions", "parameter_missing", "Bank transfers need instructions telling payers where to send the money.")
	}
	if err := validateTaxRates(s.TaxRates); err != nil {
		return err
	}
	if err := validateInstallmentPlans(s.InstallmentPlans); err != nil {
		return err
	}
	if err := validateCustomFields(s.CustomFields); err != nil {
		return err
	}
	if err := Reparam(validateCustomFields(s.SubscriptionCustomFields), "custom_fields", "subscription_custom_fields"); err != nil {
		return err
	}
	return validateDunningEnd(s)
}

// DunningEnds are what the end of dunning (the last retry of a renewal
// failed) may do to a subscription, Stripe's three choices: cancel it (the
// default), mark it unpaid, or leave it past_due.
var DunningEnds = []string{"cancel", "unpaid", "past_due"}

// validateDunningEnd checks s.SubscriptionDunningEnd, "" meaning the
// default, cancel.
func validateDunningEnd(s *adminv1.Site) error {
	s.SubscriptionDunningEnd = strings.TrimSpace(s.SubscriptionDunningEnd)
	if s.SubscriptionDunningEnd == "" {
		s.SubscriptionDunningEnd = DunningEnds[0]
	}
	if !slices.Contains(DunningEnds, s.SubscriptionDunningEnd) {
		return errs.Param("subscription_dunning_end", "parameter_invalid", "subscription_dunning_end must be one of %s, got %q.",
			strings.Join(DunningEnds, ", "), s.SubscriptionDunningEnd)
	}
	return nil
}

// validateInstallmentPlans checks a site's installment plans (counts 2 –
// 12, monthly rates 0 – 100 %, one plan per currency and count) and
// normalises their currency codes.
func validateInstallmentPlans(plans []*adminv1.InstallmentPlan) error {
	if len(plans) > maxInstallmentPlans {
		return errs.Param("installment_plans", "parameter_invalid", "At most %d installment plans.", maxInstallmentPlans)
	}
	seen := map[string]bool{}
	for i, p := range plans {
		param := func(f string) string { return fmt.Sprintf("installment_plans[%d][%s]", i, f) }
		cur, err := money.ParseCurrency(p.GetCurrency())
		if err != nil {
			return errs.Param(param("currency"), "parameter_invalid", "%s.", err)
		}
		p.Currency = cur.Code()
		if p.GetCount() < 2 || p.GetCount() > money.MaxInstallments {
			return errs.Param(param("count"), "parameter_invalid", "Installment counts are from 2 to %d.", money.MaxInstallments)
		}
		if p.GetMonthlyInterestBps() < 0 || p.GetMonthlyInterestBps() > maxBPS {
			return errs.Param(param("monthly_interest_bps"), "parameter_invalid", "Monthly rates are in basis points from 0 to %d (100 %%).", maxBPS)
		}
		key := fmt.Sprintf("%s/%d", p.Currency, p.GetCount())
		if seen[key] {
			return errs.Param(param("count"), "parameter_invalid", "Two installment plans of %d for %s.", p.GetCount(), p.Currency)
		}
		seen[key] = true
	}
	return nil
}

func validateTaxRates(rates []*adminv1.TaxRate) error {
	if len(rates) > maxTaxRates {
		return errs.Param("tax_rates", "parameter_invalid", "At most %d tax rates.", maxTaxRates)
	}
	seen := map[string]bool{}
	for i, r := range rates {
		p := func(f string) string { return fmt.Sprintf("tax_rates[%d][%s]", i, f) }
		code, ok := country.Parse(r.GetCountry())
		if !ok {
			return errs.Param(p("country"), "parameter_invalid", "Not an ISO 3166-1 alpha-2 country code: %q.", r.GetCountry())
		}
		r.Country = code
		r.Region = strings.ToUpper(strings.TrimSpace(r.GetRegion()))
		if len(r.Region) > maxRegionLen || (r.Region != "" && !regionRE.MatchString(r.Region)) {
			return errs.Param(p("region"), "parameter_invalid", "Regions are codes of up to %d letters, digits or dashes.", maxRegionLen)
		}
		if r.GetPercentageBps() < 0 || r.GetPercentageBps() > maxBPS {
			return errs.Param(p("percentage_bps"), "parameter_invalid", "Rates are in basis points from 0 to %d (100 %%).", maxBPS)
		}
		if n := utf8.RuneCountInString(r.GetDisplayName()); n == 0 || n > maxDisplayNameLen {
			return errs.Param(p("display_name"), "parameter_invalid", "Give a display name of 1 to %d characters, such as VAT.", maxDisplayNameLen)
		}
		key := r.Country + "/" + r.Region
		if seen[key] {
			return errs.Param(p("region"), "parameter_invalid", "Two tax rates for %s.", key)
		}
		seen[key] = true
	}
	return nil
}

func checkURL(param, raw string, httpsOnly bool) error {
	u, err := url.Parse(raw)
	if len(raw) > maxURLLen || err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return errs.Param(param, "url_invalid", "Not a valid absolute URL: %q.", raw)
	}
	if httpsOnly && u.Scheme != "https" {
		return errs.Param(param, "url_invalid", "%s must be an https URL.", param)
	}
	return nil
}

// RateFor returns the tax rate for a billing address: the region's own rate
// if the site has one, else the country-wide one, else nil.
func RateFor(rates []*adminv1.TaxRate, country, region string) *adminv1.TaxRate {
	var countryWide *adminv1.TaxRate
	for _, r := range rates {
		if !strings.EqualFold(r.GetCountry(), country) {
			continue
		}
		if r.GetRegion() == "" {
			countryWide = r
		} else if strings.EqualFold(r.GetRegion(), region) {
			return r
		}
	}
	return countryWide
}
