package protocol

// Code is a production-interface result code (§5): six digits as a string.
type Code string

// The result codes of §5.
const (
	CodeSuccess          Code = "000000"
	CodeAuthFailed       Code = "000001"
	CodeInvalidParam     Code = "000002"
	CodeInstanceNotFound Code = "000003"
	CodeAccepted         Code = "000004" // accepted, still processing
	CodeInternal         Code = "000005"
	CodeNoResource       Code = "000100"
	CodeContactMissing   Code = "000101"
	CodeContactDuplicate Code = "000102"
	CodeRepeatPurchase   Code = "000103"
	CodeSellerInternal   Code = "000104"
	CodeBenefitExists    Code = "000105"
	CodeSoldOut          Code = "000106"
	CodeEmailDomainDup   Code = "000107"
)

var codeMeanings = map[Code]string{
	CodeSuccess:          "success",
	CodeAuthFailed:       "authentication failed",
	CodeInvalidParam:     "invalid parameter",
	CodeInstanceNotFound: "instance does not exist",
	CodeAccepted:         "accepted, still processing",
	CodeInternal:         "internal error of the seller",
	CodeNoResource:       "no instance resource available",
	CodeContactMissing:   "buyer contact missing",
	CodeContactDuplicate: "buyer contact duplicate",
	CodeRepeatPurchase:   "repeat purchase",
	CodeSellerInternal:   "seller internal error",
	CodeBenefitExists:    "benefit already subscribed",
	CodeSoldOut:          "sold out",
	CodeEmailDomainDup:   "e-mail domain duplicate",
}

// Meaning returns what the code means, or "" for a code §5 does not define.
func (c Code) Meaning() string { return codeMeanings[c] }

// Known reports whether §5 defines c.
func (c Code) Known() bool { _, ok := codeMeanings[c]; return ok }

// WellFormed reports whether c is six ASCII digits, the shape of every code.
func (c Code) WellFormed() bool {
	if len(c) != 6 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}
