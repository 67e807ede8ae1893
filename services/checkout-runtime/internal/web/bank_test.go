package web

import "testing"

func TestFindIBAN(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"Bank: Banque Exemple\nIBAN: FR76 3000 6000 0112 3456 7890 189\nBIC: BEXAFRPPXXX", "FR76 3000 6000 0112 3456 7890 189"},
		{"IBAN FR7630006000011234567890189 BIC BEXAFRPP", "FR76 3000 6000 0112 3456 7890 189"},
		{"Pay to GB82 WEST 1234 5698 7654 32 please", "GB82 WEST 1234 5698 7654 32"},
		{"iban de89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"},
		{"IBAN FR76 3000 6000 0112 3456 7890 188", ""}, // a wrong check digit
		{"Account 12345678, sort code 12-34-56", ""},
		{"", ""},
	} {
		if got := findIBAN(c.text); got != c.want {
			t.Errorf("findIBAN(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	for in, want := range map[string]string{
		"12/34": "12/34", "12 / 34": "12/34", "1/34": "01/34", "01 / 2034": "01/34", "1234": "12/34", "122034": "12/34",
		"13/34": "", "00/34": "", "12/3": "", "12-34": "", "": "", "ab/cd": "",
	} {
		got, ok := parseExpiry(in)
		if got != want || ok != (want != "") {
			t.Errorf("parseExpiry(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"12/34", "1 / 2034", "1234", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		exp, ok := parseExpiry(s)
		if ok && (len(exp) != 5 || exp[2] != '/' || exp[:2] < "01" || exp[:2] > "12") {
			t.Errorf("parseExpiry(%q) = %q", s, exp)
		}
	})
}
